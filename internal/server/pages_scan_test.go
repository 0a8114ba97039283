package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/internal/tag"
)

type scanFixture struct {
	env                            *servertest.Env
	tech, other, op, donor, school *servertest.Browser
	anon                           *servertest.Browser
	shop                           account.Organisation
	don                            postgres.Donation
	devices                        []postgres.Device
	codes                          []tag.Code
}

// mustScanFixture: a donation of 3 laptops (serial SECRET-n) assigned to
// the workshop, 10 blank tags of the workshop, and a browser for every kind
// of visitor.
func mustScanFixture(t *testing.T) scanFixture {
	t.Helper()
	ctx := context.Background()
	env := servertest.MustStart(t, servertest.Options{})
	f := scanFixture{env: env}
	f.shop = env.MustOrg(t, account.KindWorkshop, "Atelier Berriz")
	otherShop := env.MustOrg(t, account.KindWorkshop, "Atelier Voisin")
	op := env.MustOrg(t, account.KindOperator, "Opérateur")
	donorOrg := env.MustOrg(t, account.KindCompany, "Donateur Secret SA")
	school := env.MustOrg(t, account.KindSchool, "École")
	techUser := env.MustUser(t, f.shop.ID, "Ane Tech", false)
	f.tech = env.SignIn(t, techUser.Email)
	f.other = env.SignIn(t, env.MustUser(t, otherShop.ID, "Jon Voisin", false).Email)
	f.op = env.SignIn(t, env.MustUser(t, op.ID, "Maddi Op", true).Email)
	f.donor = env.SignIn(t, env.MustUser(t, donorOrg.ID, "Don Ateur", true).Email)
	f.school = env.SignIn(t, env.MustUser(t, school.ID, "Irakasle", false).Email)
	f.anon = env.Anonymous(t)
	var err error
	f.don, err = env.DB.CreateDonation(ctx, donorOrg.ID, nil, "Parc 2019", "", []donation.Line{
		{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "SECRET-1", Year: 2019, Quantity: 1, WeightKg: 1.9},
		{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "SECRET-2", Quantity: 1, WeightKg: 1.9},
		{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "SECRET-3", Quantity: 1, WeightKg: 1.9}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, f.don.ID, f.shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	f.devices, _, err = env.DB.DonationDevices(ctx, f.don.ID, postgres.DonationScope{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, f.codes = mustServerBatch(t, env.DB, f.shop.ID, techUser.ID, 10)
	return f
}

func wantRedirect(t *testing.T, what string, resp *http.Response, body, location string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != location {
		t.Fatalf("%s: %d to %q, want 303 to %q\n%s", what, resp.StatusCode, resp.Header.Get("Location"), location, body)
	}
}

func (f scanFixture) mustIntake(t *testing.T, code tag.Code, deviceID int64) {
	t.Helper()
	f.tech.Get("/scan")
	resp, body := f.tech.PostForm("/scan/intake", url.Values{"code": {code.String()}, "device": {fmt.Sprint(deviceID)}})
	wantRedirect(t, "intake", resp, body, "/scan?code="+code.String())
}

func TestTagLookupBlankAndMalformed(t *testing.T) {
	f := mustScanFixture(t)
	blank := f.codes[0]
	lower := strings.ToLower(blank.Compact())
	for _, b := range []*servertest.Browser{f.anon, f.donor, f.school, f.other} {
		resp, body := b.Get("/t/" + lower)
		adminWantStatus(t, "blank tag", resp, body, http.StatusOK)
		mustContain(t, "blank tag", body, "n&#39;est pas encore utilisée", blank.String())
	}
	resp, body := f.tech.Get("/t/" + blank.String())
	wantRedirect(t, "technician, blank tag", resp, body, "/scan?code="+blank.String())
	resp, body = f.op.Get("/eu/t/" + lower)
	wantRedirect(t, "operator, blank tag", resp, body, "/eu/scan?code="+blank.String())

	for _, bad := range []string{"nope", "7KQ2-M9X", "7KQ2M9XDD", "UUUUUUUU", "%3Cscript%3E", "ZZZZ-ZZZZ", "zzzzzzzz"} {
		resp, body := f.anon.Get("/t/" + bad)
		adminWantStatus(t, "/t/"+bad, resp, body, http.StatusNotFound)
		mustContain(t, "/t/"+bad, body, `<label for="f-code">`, `action="/t"`)
		if strings.Contains(body, "<script>") {
			t.Fatal("input echoed unescaped")
		}
	}
	resp, body = f.anon.Get("/t?code=" + url.QueryEscape("https://berriz.example/t/"+lower))
	wantRedirect(t, "lookup field, full URL", resp, body, "/t/"+blank.String())
	resp, body = f.anon.Get("/en/t?code=" + url.QueryEscape(" "+blank.Compact()+" "))
	wantRedirect(t, "lookup field, compact", resp, body, "/en/t/"+blank.String())
	resp, body = f.anon.Get("/t?code=garbage")
	adminWantStatus(t, "lookup garbage", resp, body, http.StatusNotFound)
	resp, body = f.anon.Get("/t")
	adminWantStatus(t, "lookup empty", resp, body, http.StatusOK)
}

func TestTagLookupPassport(t *testing.T) {
	f := mustScanFixture(t)
	code := f.codes[1]
	f.mustIntake(t, code, f.devices[0].ID)
	device := fmt.Sprintf("/devices/%d", f.devices[0].ID)
	resp, body := f.tech.Get("/t/" + code.Compact())
	wantRedirect(t, "technician", resp, body, device)
	resp, body = f.op.Get("/en/t/" + code.String())
	wantRedirect(t, "operator", resp, body, "/en"+device)
	for name, b := range map[string]*servertest.Browser{"anonymous": f.anon, "donor": f.donor, "school": f.school, "other workshop": f.other} {
		resp, body := b.Get("/t/" + strings.ToLower(code.String()))
		adminWantStatus(t, name, resp, body, http.StatusOK)
		mustContain(t, name, body, "Passeport de l&#39;appareil", "Ordinateur portable", "Dell Latitude 5490", "Réceptionné", "Pas encore évalué", "2019")
		for _, private := range []string{"SECRET-1", "Donateur Secret", "Parc 2019", "Atelier Berriz", "Ane Tech"} {
			if strings.Contains(body, private) {
				t.Errorf("%s: the passport shows %q", name, private)
			}
		}
	}
	resp, body = f.anon.Get("/eu/t/" + code.String())
	mustContain(t, "basque passport", body, "Gailuaren pasaportea", "Ordenagailu eramangarria")

	// The session is read with the tag (auth_joined.go): signed out, the
	// technician is a visitor like any other, shown the passport, and an
	// unknown code is the same friendly page.
	resp, body = f.tech.PostForm("/logout", nil)
	adminWantStatus(t, "logout", resp, body, http.StatusSeeOther)
	resp, body = f.tech.Get("/t/" + code.Compact())
	adminWantStatus(t, "signed out", resp, body, http.StatusOK)
	mustContain(t, "signed out", body, "Passeport de l&#39;appareil", "Dell Latitude 5490")
	resp, body = f.op.Get("/t/ZZZZZZZZ")
	adminWantStatus(t, "unknown code", resp, body, http.StatusNotFound)
}

var deviceButtonRE = regexp.MustCompile(`name="device" value="(\d+)"`)

func TestScanStationIntake(t *testing.T) {
	f := mustScanFixture(t)
	resp, body := f.tech.Get("/scan")
	adminWantStatus(t, "station", resp, body, http.StatusOK)
	mustContain(t, "station", body, `<label for="f-code">`, `action="/scan"`, "/static/js/scan.", "Aucun scan pour l&#39;instant.")

	// A scanner types the full URL of a blank tag, in lower case.
	code := f.codes[2]
	resp, body = f.tech.PostForm("/scan", url.Values{"code": {"https://berriz.example/t/" + strings.ToLower(code.String())}})
	wantRedirect(t, "scan blank", resp, body, "/scan?code="+code.String())
	_, body = f.tech.Get("/scan?code=" + code.String())
	mustContain(t, "intake choice", body, "Étiquette vierge", "Lier cette étiquette", ": 3</caption>", "étiquette vierge, choisissez l&#39;appareil",
		"Appareil trouvé dans le lot")
	if n := len(deviceButtonRE.FindAllString(body, -1)); n != 3 {
		t.Fatalf("%d devices offered", n)
	}
	f.mustIntake(t, code, f.devices[1].ID)
	_, body = f.tech.Get("/scan?code=" + code.String())
	mustContain(t, "after intake", body, "étiquette liée, appareil réceptionné", "SECRET-2", fmt.Sprintf(`href="/devices/%d"`, f.devices[1].ID))

	// The same tag on another device, and another tag on the same device.
	f.mustIntake(t, code, f.devices[2].ID)
	_, body = f.tech.Get("/scan")
	mustContain(t, "tag twice", body, "déjà liée à un appareil")
	f.mustIntake(t, f.codes[3], f.devices[1].ID)
	_, body = f.tech.Get("/scan")
	mustContain(t, "second tag", body, "a déjà une étiquette")

	// Another workshop sees neither the tag nor the device.
	f.other.Get("/scan")
	resp, body = f.other.PostForm("/scan/intake", url.Values{"code": {f.codes[4].String()}, "device": {fmt.Sprint(f.devices[2].ID)}})
	wantRedirect(t, "other workshop", resp, body, "/scan?code="+f.codes[4].String())
	_, body = f.other.Get("/scan?code=" + f.codes[4].String())
	mustContain(t, "other workshop", body, "Aucune étiquette ne porte ce code.")
	if strings.Contains(body, "SECRET") {
		t.Fatal("another workshop sees the devices")
	}

	// A device found in the box.
	resp, body = f.tech.PostForm("/scan/new", url.Values{"code": {f.codes[5].String()}, "donation": {fmt.Sprint(f.don.ID)},
		"category": {"mouse"}, "brand": {"Logitech"}})
	wantRedirect(t, "found in the box", resp, body, "/scan?code="+f.codes[5].String())
	_, body = f.tech.Get("/scan?code=" + f.codes[5].String())
	mustContain(t, "found in the box", body, "appareil ajouté, étiquette liée, réceptionné", "Logitech")
	resp, body = f.tech.PostForm("/scan/new", url.Values{"code": {f.codes[6].String()}, "donation": {"x"}, "category": {"toaster"}, "brand": {"Logi"}})
	adminWantStatus(t, "bad new device", resp, body, http.StatusBadRequest)
	mustContain(t, "bad new device", body, `class="error-summary"`, `value="Logi"`)

	// The last declared device in: the donation is received.
	f.mustIntake(t, f.codes[7], f.devices[0].ID)
	f.mustIntake(t, f.codes[8], f.devices[2].ID)
	d, err := f.env.DB.Donation(context.Background(), f.don.ID, postgres.DonationScope{})
	if err != nil || d.State != donation.Received {
		t.Fatalf("donation %s, %v", d.State, err)
	}
}

func TestScanStationGarbage(t *testing.T) {
	f := mustScanFixture(t)
	f.tech.Get("/scan")
	for _, junk := range []string{"", "<script>alert(1)</script>", "UUUUUUUU", strings.Repeat("A", 5000), "http://x/t/", "/a/explode", "\x00\xff"} {
		resp, body := f.tech.PostForm("/scan", url.Values{"code": {junk}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("scan %.20q: status %d", junk, resp.StatusCode)
		}
		if strings.Contains(body, "<script>alert") {
			t.Fatal("input echoed unescaped")
		}
	}
	// Every piece of junk is in the last scans, as unreadable.
	_, body := f.tech.Get("/scan")
	_, recent, _ := strings.Cut(body, `id="scan-recent"`)
	if n := strings.Count(recent, ": code illisible</li>"); n != 7 {
		t.Errorf("%d unreadable codes logged, want 7", n)
	}
	for _, v := range []url.Values{{"code": {"garbage"}, "device": {"1"}}, {"code": {f.codes[0].String()}, "device": {"x"}},
		{"code": {f.codes[0].String()}, "device": {"999999999"}}, {}} {
		resp, body := f.tech.PostForm("/scan/intake", v)
		if resp.StatusCode >= 500 {
			t.Errorf("intake %v: %d\n%s", v, resp.StatusCode, body)
		}
	}
	for _, q := range []string{"garbage", "%00", "ZZZZZZZZ", f.codes[0].String() + "&page=-4"} {
		resp, body := f.tech.Get("/scan?code=" + q)
		adminWantStatus(t, "station ?code="+q, resp, body, http.StatusOK)
	}
}

func TestScanActionCard(t *testing.T) {
	f := mustScanFixture(t)
	ctx := context.Background()
	// A tag printed for a chosen declared device is linked, not received.
	pre := f.codes[0]
	if _, err := f.env.DB.SQL().ExecContext(ctx, `UPDATE tags SET device_id = $1, linked_at = now() WHERE code = $2`,
		f.devices[0].ID, string(pre)); err != nil {
		t.Fatal(err)
	}
	resp, body := f.tech.Get("/scan/cards")
	adminWantStatus(t, "cards", resp, body, http.StatusOK)
	mustContain(t, "cards", body, "<svg", f.env.Config.PublicURL.String()+"/a/receive", "/a/stop")

	f.tech.Get("/scan")
	resp, body = f.tech.PostForm("/scan", url.Values{"code": {strings.ToUpper(f.env.Config.PublicURL.String()) + "/A/RECEIVE"}})
	wantRedirect(t, "receive card", resp, body, "/scan")
	_, body = f.tech.Get("/scan")
	mustContain(t, "receive on", body, receiveBanner, "carte « Réceptionner » activée")

	resp, body = f.tech.PostForm("/scan", url.Values{"code": {pre.Compact()}})
	wantRedirect(t, "receive", resp, body, "/scan?code="+pre.String())
	_, body = f.tech.Get("/scan?code=" + pre.String())
	mustContain(t, "received", body, pre.String()+" : appareil réceptionné")
	td, err := f.env.DB.DeviceByTag(ctx, pre)
	if err != nil || td.Device.State != "received" {
		t.Fatalf("device %+v, %v", td.Device, err)
	}
	f.tech.PostForm("/scan", url.Values{"code": {pre.String()}})
	_, body = f.tech.Get("/scan")
	mustContain(t, "twice", body, "Cet appareil est déjà réceptionné.")
	f.tech.PostForm("/scan", url.Values{"code": {f.codes[1].String()}})
	_, body = f.tech.Get("/scan?code=" + f.codes[1].String())
	mustContain(t, "blank under receive", body, "Étiquette vierge : la carte", "Lier cette étiquette")

	resp, body = f.tech.PostForm("/scan", url.Values{"code": {"/a/stop"}})
	wantRedirect(t, "stop card", resp, body, "/scan")
	_, body = f.tech.Get("/scan")
	if strings.Contains(body, receiveBanner) || !strings.Contains(body, `<div id="scan-action" class="flash flash-success" role="status" hidden>`) {
		t.Fatal("the action outlived the stop card")
	}
	// A phone opening the card's URL gets a confirmation: the GET changes
	// nothing, the button's POST sets the action.
	resp, body = f.tech.Get("/a/receive")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="/a/receive"`) {
		t.Fatalf("card URL: %d", resp.StatusCode)
	}
	_, scanPage := f.tech.Get("/scan")
	if strings.Contains(scanPage, receiveBanner) {
		t.Fatal("opening the card's URL switched the mode without confirmation")
	}
	f.tech.Get("/a/receive")
	resp, body = f.tech.PostForm("/a/receive", nil)
	wantRedirect(t, "card URL", resp, body, "/scan")
	_, body = f.tech.Get("/scan")
	mustContain(t, "card URL", body, receiveBanner)
}

// receiveBanner is the station's banner while the "receive" card is on.
const receiveBanner = `<strong id="scan-action-text">Carte « Réceptionner » active.</strong>`

var scriptRE = regexp.MustCompile(`<script[^>]*>`)

// scan.js and scan-queue.js are loaded on the station and nowhere else,
// and stay small.
func TestOnlyScanStationLoadsScript(t *testing.T) {
	f := mustScanFixture(t)
	_, body := f.tech.Get("/scan")
	if s := scriptRE.FindAllString(body, -1); len(s) != 2 || !strings.Contains(s[0], `src="/static/js/scan.`) ||
		!strings.Contains(s[1], `src="/static/js/scan-queue.`) {
		t.Fatalf("station scripts: %v", s)
	}
	resp, js := f.tech.Get(regexp.MustCompile(`/static/js/scan\.[0-9a-f]+\.js`).FindString(body))
	adminWantStatus(t, "scan.js", resp, js, http.StatusOK)
	if len(js) > 3072 || !strings.Contains(js, "BarcodeDetector") {
		t.Fatalf("scan.js: %d bytes", len(js))
	}
	resp, js = f.tech.Get(regexp.MustCompile(`/static/js/scan-queue\.[0-9a-f]+\.js`).FindString(body))
	adminWantStatus(t, "scan-queue.js", resp, js, http.StatusOK)
	if len(js) > 8192 || !strings.Contains(js, "indexedDB") || !strings.Contains(js, "randomUUID") || strings.Contains(js, "eval(") {
		t.Fatalf("scan-queue.js: %d bytes", len(js))
	}
	for _, p := range []string{"/", "/tags", "/donations", "/scan/cards", "/scan/locations", "/recycling", "/t/" + f.codes[0].String(), "/t/nope", "/scan?code=" + f.codes[0].String()} {
		_, body := f.tech.Get(p)
		if p == "/scan?code="+f.codes[0].String() {
			continue
		}
		if s := scriptRE.FindAllString(body, -1); len(s) != 0 {
			t.Errorf("%s loads %v", p, s)
		}
	}
	_, body = f.anon.Get("/t/" + f.codes[0].String())
	if scriptRE.MatchString(body) {
		t.Error("the blank tag page loads a script")
	}
}
