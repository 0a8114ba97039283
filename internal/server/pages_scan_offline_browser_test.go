package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/chromedp/chromedp"
)

// Offline scanning in Chromium: the station loaded, the "receive" card on,
// the network cut; three scans typed are queued and shown as such, nothing
// reaches the server; back online, the queue replays in order and the page
// shows each outcome — two devices received, one conflict (already
// received) — and the database holds exactly one effect per scan.
func TestScanOfflineQueueInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	shop := env.MustOrg(t, account.KindWorkshop, "Atelier de reconditionnement du Pays basque intérieur")
	tech := env.MustUser(t, shop.ID, "Ane Etxeberria", false)
	donor := env.MustOrg(t, account.KindCommune, "Mairie de Hasparren")
	d, err := env.DB.CreateDonation(ctx, donor.ID, nil, "Parc de la mairie", "", []donation.Line{
		{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T480s", Quantity: 3, WeightKg: 1.4}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, d.ID, shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	devices, _, err := env.DB.DonationDevices(ctx, d.ID, postgres.DonationScope{}, 1)
	if err != nil || len(devices) != 3 {
		t.Fatalf("devices: %v", err)
	}
	_, codes := mustServerBatch(t, env.DB, shop.ID, tech.ID, 3)
	// Tags printed for these devices; the third device is already received.
	for i, dev := range devices {
		mustSQL(t, env, `UPDATE tags SET device_id = $1, linked_at = now() WHERE code = $2`, dev.ID, string(codes[i]))
	}
	p := &account.Principal{UserID: tech.ID, OrgID: shop.ID, OrgKind: shop.Kind}
	if _, err := env.DB.ReceiveTagged(ctx, codes[2], shop.ID, p); err != nil {
		t.Fatal(err)
	}

	tab := donationSignInTab(t, env, "/fr", tech.Email)
	if r := tab.CheckPage(env.URL + "/fr/scan"); r.Status != http.StatusOK {
		t.Fatalf("station: %d", r.Status)
	}
	waitFor(t, tab, `document.getElementById('scan-form') && window.indexedDB`)
	typeScan(t, tab, env.URL+"/a/receive")
	waitFor(t, tab, `!document.getElementById('scan-action').hidden &&
		document.getElementById('scan-action-text').textContent === 'Carte « Réceptionner » active.'`)
	waitFor(t, tab, `document.querySelectorAll('#scan-recent li[data-state=done]').length === 1`)

	setOffline(t, tab, true)
	waitFor(t, tab, `navigator.onLine === false`)
	for _, c := range codes {
		typeScan(t, tab, strings.ToLower(c.Compact()))
	}
	waitFor(t, tab, `document.querySelectorAll('#scan-recent li[data-state=queued]').length === 3`)
	if text := tab.Text("#scan-recent"); !strings.Contains(text, "en attente (hors ligne)") {
		t.Fatalf("queued lines: %q", text)
	}
	if text := tab.Text("#scan-net"); !strings.Contains(text, "Hors ligne") {
		t.Fatalf("offline notice: %q", text)
	}
	if n := queuedInBrowser(t, tab, tech.ID); n != 3 {
		t.Fatalf("%d scans in the browser's queue", n)
	}
	// Nothing reached the server: the two devices wait to be received.
	time.Sleep(300 * time.Millisecond)
	for i, want := range []string{"declared", "declared", "received"} {
		if got := deviceState(t, env, devices[i].ID); got != want {
			t.Fatalf("device %d is %s while offline", i, got)
		}
	}

	setOffline(t, tab, false)
	waitFor(t, tab, `document.querySelectorAll('#scan-recent li[data-state=queued]').length === 0 &&
		document.querySelectorAll('#scan-recent li[data-state=done]').length === 3 &&
		document.querySelectorAll('#scan-recent li[data-state=refused]').length === 1`)
	text := tab.Text("#scan-recent")
	for _, want := range []string{codes[0].String() + " : appareil réceptionné", codes[1].String() + " : appareil réceptionné",
		codes[2].String() + " : conflit — Cet appareil est déjà réceptionné."} {
		if !strings.Contains(text, want) {
			t.Errorf("after the replay, the page lacks %q:\n%s", want, text)
		}
	}
	waitFor(t, tab, `document.getElementById('scan-net').textContent.indexOf('2 réussis, 1 en conflit') >= 0`)
	if n := queuedInBrowser(t, tab, tech.ID); n != 0 {
		t.Fatalf("%d scans still queued", n)
	}

	// Exactly one effect per scan.
	for i, dev := range devices {
		if got := deviceState(t, env, dev.ID); got != "received" {
			t.Fatalf("device %d is %s", i, got)
		}
		events, _, err := env.DB.DeviceEvents(ctx, dev.ID, 1)
		if err != nil || len(events) != 1 {
			t.Fatalf("device %d: %d events, %v", i, len(events), err)
		}
	}
	var answers int
	if err := env.DB.SQL().QueryRow(`SELECT count(*) FROM scan_replays WHERE user_id = $1 AND status = 200`, tech.ID).
		Scan(&answers); err != nil || answers != 4 {
		t.Fatalf("%d answers kept, %v", answers, err)
	}
	// The station, loaded again, shows the same from the server's log.
	r := tab.CheckPage(env.URL + "/fr/scan")
	if r.Status != http.StatusOK || tab.Count(`#scan-recent li[data-state]`) != 0 || tab.Count(`#scan-recent li`) != 4 {
		t.Fatalf("reloaded station: %d, %s", r.Status, tab.Text("#scan-recent"))
	}

	// The server out of reach while the browser believes it is online: the
	// failed requests leave both scans queued, in order.
	setUnreachable(t, tab, true)
	typeScan(t, tab, "/a/stop")
	waitFor(t, tab, `document.querySelectorAll('#scan-recent li[data-state=queued]').length === 1`)
	typeScan(t, tab, "/a/publish")
	waitFor(t, tab, `document.querySelectorAll('#scan-recent li[data-state=queued]').length === 2`)
	if n := queuedInBrowser(t, tab, tech.ID); n != 2 {
		t.Fatalf("%d scans in the browser's queue", n)
	}
	// The server back and nothing more typed, no online event either: the
	// page tries again by itself within seconds (1 s after a failed try,
	// doubling up to 30 s) and sends both.
	setUnreachable(t, tab, false)
	waitFor(t, tab, `document.querySelectorAll('#scan-recent li[data-state=queued]').length === 0 &&
		document.querySelectorAll('#scan-recent li[data-state=done]').length === 2 &&
		document.getElementById('scan-action-text').textContent === 'Carte « Publier » active.'`)
	if n := queuedInBrowser(t, tab, tech.ID); n != 0 {
		t.Fatalf("%d scans still queued", n)
	}
	lines, err := env.DB.ScanLog(ctx, tech.ID)
	if err != nil || len(lines) < 2 || lines[0].Result != "scan.result.action_publish" || lines[1].Result != "scan.result.action_stop" {
		t.Fatalf("scan log %+v, %v", lines, err)
	}
}

func deviceState(t *testing.T, env *servertest.Env, id int64) string {
	t.Helper()
	d, err := env.DB.Device(context.Background(), id, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	return d.State
}

// queuedInBrowser reads how many scans the station's IndexedDB queue holds
// for the user.
func queuedInBrowser(t *testing.T, tab *browsertest.Tab, userID int64) int {
	t.Helper()
	js := `new Promise(function (ok) {
		var r = indexedDB.open('berriz-scan-` + strconv.FormatInt(userID, 10) + `', 1);
		r.onsuccess = function () {
			var c = r.result.transaction('queue').objectStore('queue').count();
			c.onsuccess = function () { r.result.close(); ok(c.result); };
			c.onerror = function () { ok(-1); };
		};
		r.onerror = function () { ok(-1); };
	})`
	return browsertest.RunValue(tab, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
}
