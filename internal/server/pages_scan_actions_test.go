package server_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
)

// mustHeldAtStation intakes the fixture's three laptops with tags 0-2.
func (f scanFixture) mustHeldAtStation(t *testing.T) {
	t.Helper()
	for i, d := range f.devices {
		f.mustIntake(t, f.codes[i], d.ID)
	}
}

// scanAs types a code at the station as a keyboard-wedge scanner would.
func scanAs(t *testing.T, f scanFixture, code string) string {
	t.Helper()
	resp, body := f.tech.PostForm("/scan", url.Values{"code": {code}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("scan %s: %d\n%s", code, resp.StatusCode, body)
	}
	_, body = f.tech.Get("/scan")
	return body
}

// lastScan is the station's newest line of last scans.
func lastScan(t *testing.T, body string) string {
	t.Helper()
	_, after, ok := strings.Cut(body, `<ol class="scans" id="scan-recent">`)
	if !ok {
		t.Fatal("no last scans")
	}
	line, _, _ := strings.Cut(after, "</li>")
	return line
}

func (f scanFixture) deviceOf(t *testing.T, code tag.Code) postgres.DeviceDetail {
	t.Helper()
	td, err := f.env.DB.DeviceByTag(context.Background(), code)
	if err != nil || td.Device == nil {
		t.Fatalf("device of %s: %v", code, err)
	}
	d, err := f.env.DB.Device(context.Background(), td.Device.ID, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Each action card applied to several devices, with mixed outcomes: each
// device is checked by the lifecycle and the last scans say what happened
// to it.
func TestScanActionCardsMixedOutcomes(t *testing.T) {
	f := mustScanFixture(t)
	ctx := context.Background()
	f.mustHeldAtStation(t)
	db := f.env.DB

	// Locations: the page adds them; each has its card.
	f.tech.Get("/scan/locations")
	resp, body := f.tech.PostForm("/scan/locations", url.Values{"name": {"Étagère A"}})
	wantRedirect(t, "add location", resp, body, "/scan/locations")
	resp, body = f.tech.PostForm("/scan/locations", url.Values{"name": {"Étagère A"}})
	adminWantStatus(t, "same name", resp, body, http.StatusBadRequest)
	mustContain(t, "same name", body, `class="error-summary"`, "déjà un emplacement de ce nom", `value="Étagère A"`)
	locs, _, err := db.Locations(ctx, f.shop.ID, 1)
	if err != nil || len(locs) != 1 {
		t.Fatalf("locations %v, %v", locs, err)
	}
	shelf := locs[0]
	otherShop, err := db.CreateLocation(ctx, f.otherShopID(t), "Étagère du voisin")
	if err != nil {
		t.Fatal(err)
	}
	_, body = f.tech.Get("/scan/cards")
	mustContain(t, "cards", body, fmt.Sprintf("/a/move/%d", shelf.ID), "/a/recycle", "/a/publish", "Étagère A")
	if strings.Contains(body, "Étagère du voisin") {
		t.Fatal("another workshop's location card is printed")
	}

	// Move.
	body = scanAs(t, f, f.env.Config.PublicURL.String()+fmt.Sprintf("/a/move/%d", shelf.ID))
	mustContain(t, "move on", body, "Carte « Ranger sur Étagère A » active.")
	body = scanAs(t, f, f.codes[0].String())
	mustContain(t, "moved", lastScan(t, body), f.codes[0].String()+" : rangé sur Étagère A", "Dell Latitude 5490")
	scanAs(t, f, f.codes[1].Compact())
	body = scanAs(t, f, f.codes[0].String())
	mustContain(t, "again", lastScan(t, body), "déjà sur Étagère A")
	body = scanAs(t, f, f.codes[5].String())
	mustContain(t, "blank", lastScan(t, body), "Étiquette vierge : cette carte")
	unknown, err := tag.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	body = scanAs(t, f, unknown.String())
	mustContain(t, "unknown", lastScan(t, body), "Aucune étiquette ne porte ce code.")
	// Another workshop's card is refused; the action stays.
	body = scanAs(t, f, fmt.Sprintf("/a/move/%d", otherShop.ID))
	mustContain(t, "other card", body, "Cet emplacement n&#39;existe pas dans votre atelier.", "Carte « Ranger sur Étagère A » active.")
	for i, want := range []string{"Étagère A", "Étagère A", ""} {
		if d := f.deviceOf(t, f.codes[i]); d.Location != want {
			t.Errorf("device %d at %q, want %q", i, d.Location, want)
		}
	}
	events, _, _ := db.DeviceEvents(ctx, f.deviceOf(t, f.codes[0]).ID, 1)
	if len(events) != 2 || events[0].Kind != postgres.EventMoved {
		t.Fatalf("events %+v", events)
	}

	// Publish: only a refurbished device becomes available.
	ready := f.deviceOf(t, f.codes[2]).ID
	mustSQL(t, f.env, `UPDATE devices SET state = 'refurbished', grade = 'B', os = 'Debian 13' WHERE id = $1`, ready)
	scanAs(t, f, "/a/publish")
	body = scanAs(t, f, f.codes[2].String())
	mustContain(t, "published", lastScan(t, body), "publié : disponible")
	body = scanAs(t, f, f.codes[0].String())
	mustContain(t, "not ready", lastScan(t, body), "ne peut pas passer à « Disponible » maintenant")
	body = scanAs(t, f, f.codes[2].String())
	mustContain(t, "twice", lastScan(t, body), "déjà « Disponible »")
	if d := f.deviceOf(t, f.codes[2]); d.State != "available" || d.Location != "" {
		t.Fatalf("published device %s", d.State)
	}

	// Recycle: a device with a drive not erased is refused, with the reason.
	unerased := f.deviceOf(t, f.codes[1]).ID
	mustSQL(t, f.env, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, 1, 'hdd', 500, 'WD-1')`, unerased)
	mustSQL(t, f.env, `UPDATE devices SET storage_drives = 1 WHERE id = $1`, unerased)
	scanAs(t, f, "/A/RECYCLE")
	body = scanAs(t, f, f.codes[0].String())
	mustContain(t, "recycled", lastScan(t, body), "ajouté au lot de recyclage n°")
	body = scanAs(t, f, f.codes[1].String())
	mustContain(t, "unerased", lastScan(t, body), "1 disque(s) sans effacement vérifié")
	body = scanAs(t, f, f.codes[2].String())
	mustContain(t, "available joins", lastScan(t, body), "ajouté au lot de recyclage n°")
	body = scanAs(t, f, f.codes[2].String())
	mustContain(t, "already in", lastScan(t, body), "attend déjà dans le lot de recyclage")
	batches, _, err := db.RecyclingBatches(ctx, f.shop.ID, 1)
	if err != nil || len(batches) != 1 || batches[0].Devices != 2 {
		t.Fatalf("batches %+v, %v", batches, err)
	}
	// Another workshop's technician reaches none of these devices.
	f.other.Get("/scan")
	f.other.PostForm("/scan", url.Values{"code": {"/a/recycle"}})
	f.other.PostForm("/scan", url.Values{"code": {f.codes[1].String()}})
	_, body = f.other.Get("/scan")
	mustContain(t, "other workshop", lastScan(t, body), "Aucune étiquette ne porte ce code.")
	if d := f.deviceOf(t, f.codes[1]); d.RecyclingBatchID != 0 {
		t.Fatal("another workshop sent a device to recycling")
	}

	// Stop: scans are looked up again.
	body = scanAs(t, f, "/a/stop")
	if strings.Contains(body, `id="scan-action-text">Carte`) {
		t.Fatal("the action outlived the stop card")
	}
	resp, body = f.tech.PostForm("/scan", url.Values{"code": {f.codes[1].String()}})
	wantRedirect(t, "lookup", resp, body, "/scan?code="+f.codes[1].String())
	_, body = f.tech.Get("/eu/scan?code=" + f.codes[1].String())
	mustContain(t, "basque", body, "gailua aurkitua", "Dell Latitude 5490")
	f.tech.Get("/fr/scan")

	// The cards' own pages: a confirmation, then the station.
	for _, p := range []string{"/a/recycle", "/a/publish", fmt.Sprintf("/a/move/%d", shelf.ID)} {
		resp, body := f.tech.Get(p)
		adminWantStatus(t, p, resp, body, http.StatusOK)
		mustContain(t, p, body, `action="`+p+`"`)
		resp, body = f.tech.PostForm(p, nil)
		wantRedirect(t, p, resp, body, "/scan")
	}
	_, body = f.tech.Get("/scan")
	mustContain(t, "move card page", body, "Carte « Ranger sur Étagère A » active.")
	for _, p := range []string{fmt.Sprintf("/a/move/%d", otherShop.ID), "/a/move/999999", "/a/move/abc"} {
		resp, body := f.tech.Get(p)
		adminWantStatus(t, p, resp, body, http.StatusNotFound)
		resp, body = f.tech.PostForm(p, nil)
		adminWantStatus(t, "post "+p, resp, body, http.StatusNotFound)
	}
	// A stale move cookie (its location gone from view) is no action.
	f.tech.PostForm("/scan", url.Values{"code": {"/a/stop"}})
	resp, body = f.donor.Get("/scan/locations")
	adminWantStatus(t, "donor", resp, body, http.StatusForbidden)
}

func (f scanFixture) otherShopID(t *testing.T) int64 {
	t.Helper()
	var id int64
	if err := f.env.DB.SQL().QueryRow(`SELECT id FROM organisations WHERE name = 'Atelier Voisin'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// The locations page: operators choose the workshop; bad input is shown
// again with its errors.
func TestScanLocationsPage(t *testing.T) {
	f := mustScanFixture(t)
	resp, body := f.op.Get("/scan/locations")
	adminWantStatus(t, "operator", resp, body, http.StatusOK)
	mustContain(t, "operator", body, `<select id="f-workshop" name="workshop">`, "Atelier Berriz", "Atelier Voisin")
	resp, body = f.op.PostForm("/scan/locations", url.Values{"name": {"Cage"}, "workshop": {"x"}})
	adminWantStatus(t, "no workshop", resp, body, http.StatusBadRequest)
	mustContain(t, "no workshop", body, "Choisissez un atelier actif.", `value="Cage"`)
	resp, body = f.op.PostForm("/scan/locations", url.Values{"name": {"Cage"}, "workshop": {fmt.Sprint(f.shop.ID)}})
	wantRedirect(t, "operator adds", resp, body, "/scan/locations")
	resp, body = f.tech.PostForm("/scan/locations", url.Values{"name": {strings.Repeat("x", 101)}})
	adminWantStatus(t, "long", resp, body, http.StatusBadRequest)
	f.tech.Get("/scan/locations")
	resp, body = f.tech.PostForm("/scan/locations", url.Values{"name": {""}, "workshop": {fmt.Sprint(f.otherShopID(t))}})
	adminWantStatus(t, "blank", resp, body, http.StatusBadRequest)
	_, body = f.tech.Get("/scan/locations")
	mustContain(t, "technician's list", body, "<th scope=\"row\">Cage</th>")
	_, body = f.other.Get("/scan/locations")
	if strings.Contains(body, "Cage") {
		t.Fatal("another workshop sees the locations")
	}
	// A technician naming another workshop adds to their own.
	f.other.PostForm("/scan/locations", url.Values{"name": {"Mine"}, "workshop": {fmt.Sprint(f.shop.ID)}})
	if locs, _, _ := f.env.DB.Locations(context.Background(), f.shop.ID, 1); len(locs) != 1 {
		t.Fatalf("the workshop has %d locations", len(locs))
	}
}
