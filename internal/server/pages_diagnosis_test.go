package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/web"
)

// laptopForm answers the laptop checklist: every test passes except the
// failed ones, with a note each; cosmetic as given.
func laptopForm(failed []string, cosmetic string) url.Values {
	c, _ := diagnosis.ForCategory("laptop")
	v := url.Values{"cosmetic": {cosmetic}, "notes": {"Clavier AZERTY, chargeur 65 W d'origine."}}
	for _, it := range c.Items {
		v.Set("result_"+it.ID, "pass")
		for _, f := range failed {
			if f == it.ID {
				v.Set("result_"+it.ID, "fail")
				v.Set("note_"+it.ID, "Ne fonctionne pas")
			}
		}
	}
	return v
}

// Every test name and every reason of the rules is in the catalogs (the
// catalogs' own tests cannot see keys held in tables).
func TestDiagnosisKeysAreTranslated(t *testing.T) {
	cat, err := i18n.Load(web.Catalogs())
	if err != nil {
		t.Fatal(err)
	}
	keys := append(diagnosis.Labels(), diagnosis.ReasonKeys()...)
	for _, c := range diagnosis.Checklists() {
		for _, it := range c.Items {
			keys = append(keys, it.Label())
		}
	}
	for _, k := range keys {
		if !cat.Has(k) {
			t.Errorf("%q is in no catalog", k)
		}
	}
}

// The checklist page as the workshop, the donor and strangers see it; a
// refused form keeps what was typed; a partial diagnosis stays on the
// page, a complete one opens "Mark diagnosed" on the device page, which
// works.
func TestDiagnosisPage(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	mustReceiveDevice(t, f.env, f.device, 1)
	mustSQL(t, f.env, `UPDATE devices SET battery_health_pct = 72 WHERE id = $1`, f.device)
	path := devicePath(f.device, "/diagnosis")

	resp, body := f.tech.Get(path)
	wantStatus(t, "workshop", resp, body, http.StatusOK)
	mustContain(t, "form", body, `action="`+path+`"`, `<legend>Écran (affichage, rétroéclairage) (essentiel)</legend>`,
		`id="f-result_camera-na"`, `name="note_camera"`, `name="cosmetic"`, "Aucun diagnostic enregistré", "laptop/v1",
		"Santé de la batterie (caractéristiques) : 72 %.")
	if strings.Count(body, "<fieldset") != 16 || strings.Contains(body, `id="f-result_keyboard-na"`) {
		t.Errorf("15 tests and the cosmetic fieldset expected, n.a. only where the part may be absent")
	}
	resp, body = f.donor.Get(path)
	wantStatus(t, "donor", resp, body, http.StatusOK)
	if strings.Contains(body, `name="result_power"`) || !strings.Contains(body, "Aucun diagnostic enregistré") {
		t.Errorf("the donor gets a form:\n%s", body)
	}
	for name, b := range map[string]*servertest.Browser{"other donor": f.other, "other workshop": f.tech2} {
		if resp, _ := b.Get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	if resp, _ := f.donor.PostForm(path, laptopForm(nil, "A")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor post: %d", resp.StatusCode)
	}
	if resp, _ := f.tech2.PostForm(path, laptopForm(nil, "A")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop post: %d", resp.StatusCode)
	}

	// Refused: n.a. where the part is always there, a note too long; what
	// was typed stays.
	bad := laptopForm([]string{"camera"}, "B")
	bad.Set("result_keyboard", "na")
	bad.Set("note_audio", strings.Repeat("a", 201))
	resp, body = f.tech.PostForm(path, bad)
	wantStatus(t, "refused", resp, body, http.StatusBadRequest)
	mustContain(t, "refused", html.UnescapeString(body), `href="#f-result_keyboard"`, `href="#f-note_audio"`,
		"toujours présent sur ce type d'appareil", `id="f-result_keyboard-error"`, "Ne fonctionne pas")
	mustContain(t, "kept", body, `value="fail" checked`, `id="f-cosmetic-b" name="cosmetic" value="B" checked`)

	// Partial: back to the checklist.
	partial := url.Values{"result_power": {"pass"}, "result_screen": {"pass"}}
	resp, _ = f.tech.PostForm(path, partial)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path {
		t.Fatalf("partial: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = f.tech.Get(path)
	mustContain(t, "partial", html.UnescapeString(body), "Diagnostic partiel enregistré", "Pas encore de suggestion",
		"Il manque encore 14 réponse(s)", `id="f-result_power" name="result_power" value="pass" checked`)
	_, body = f.tech.Get(devicePath(f.device))
	if strings.Contains(body, `name="to" value="diagnosed"`) {
		t.Fatal("Mark diagnosed after a partial diagnosis")
	}

	// Complete: the device page, where the next step appears and works.
	resp, _ = f.tech.PostForm(path, laptopForm([]string{"camera"}, "A"))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != devicePath(f.device) {
		t.Fatalf("complete: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = f.tech.Get(devicePath(f.device))
	mustContain(t, "device page", body, "Diagnostic enregistré.", `<input type="hidden" name="to" value="diagnosed">`)
	_, version := deviceVersion(t, f.env, f.device)
	resp, _ = f.tech.PostForm(devicePath(f.device, "/state"), url.Values{"to": {"diagnosed"}, "version": {strconv.Itoa(version)}})
	if st, _ := deviceVersion(t, f.env, f.device); resp.StatusCode != http.StatusSeeOther || st != "diagnosed" {
		t.Fatalf("mark diagnosed: %d, %s", resp.StatusCode, st)
	}

	// The page again: pre-filled with the latest, its suggestion in words.
	_, body = f.tech.Get(path)
	mustContain(t, "pre-filled", html.UnescapeString(body), "Dernier diagnostic : Ane Tech", "(2 dans ce cycle)",
		"Note suggérée : B.", "Un défaut mineur : Caméra (B au mieux).", "Batterie à 72 % : il en faut au moins 80 %.",
		`id="f-result_camera-fail" name="result_camera" value="fail" checked`, `value="Ne fonctionne pas"`)
	_, body = f.donor.Get("/eu" + path)
	mustContain(t, "donor results", body, `<caption id="results-caption">Azken diagnostikoaren emaitzak (laptop/v1)</caption>`, "Akatsa", "Ne fonctionne pas")
	if strings.Contains(body, "<form method=\"post\" action=\"/eu"+path) {
		t.Error("the donor gets a form")
	}

	// Published devices are not diagnosed any more: why, no form.
	mustSQL(t, f.env, `UPDATE devices SET state = 'available' WHERE id = $1`, f.device)
	_, body = f.tech.Get(path)
	if strings.Contains(body, `name="result_power"`) || !strings.Contains(html.UnescapeString(body), "Cet appareil est « Disponible »") {
		t.Errorf("closed page:\n%s", body)
	}
	resp, body = f.tech.PostForm(path, laptopForm(nil, "A"))
	wantStatus(t, "closed post", resp, body, http.StatusConflict)
	mustContain(t, "closed post", html.UnescapeString(body), "un diagnostic s'enregistre quand il est à l'atelier")
}

// The grade page: the suggestion and its reasons, the grade given with a
// reason when it differs, a stale tab refused with the fresh page; then
// the device page offers the next step.
func TestGradePage(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	mustReceiveDevice(t, f.env, f.device, 1)
	mustSQL(t, f.env, `UPDATE devices SET battery_health_pct = 90, os = 'Debian 13' WHERE id = $1`, f.device)
	path := devicePath(f.device, "/grade")
	resp, body := f.tech.Get(path)
	wantStatus(t, "before diagnosis", resp, body, http.StatusOK)
	mustContain(t, "before diagnosis", html.UnescapeString(body), "Cet appareil est « Réceptionné » : la note se donne après l'effacement")
	if strings.Contains(body, `name="grade"`) {
		t.Fatal("a grade form before erasure")
	}
	if resp, _ := f.tech.PostForm(devicePath(f.device, "/diagnosis"), laptopForm([]string{"touchpad"}, "A")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("diagnosis: %d", resp.StatusCode)
	}
	mustSQL(t, f.env, `UPDATE devices SET state = 'wiped' WHERE id = $1`, f.device)
	mustSQL(t, f.env, `INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb, drive_serial, method, tool,
		passes, verification, started_at, ended_at, technician_name) VALUES ($1, 1, 1, 'ssd', 256, 'SN-1', 'purge_crypto_erase', 'nvme_format',
		1, 'passed', now(), now(), 'Ane Tech')`, f.device)
	_, version := deviceVersion(t, f.env, f.device)

	resp, body = f.tech.Get(path)
	wantStatus(t, "grade page", resp, body, http.StatusOK)
	mustContain(t, "grade page", html.UnescapeString(body), "Note suggérée : B.", "<li>Un défaut mineur : Pavé tactile (B au mieux).</li>",
		`<input type="hidden" name="version" value="`+strconv.Itoa(version)+`">`, `value="B" checked`,
		"Obligatoire si vous choisissez une autre note que B")
	resp, body = f.donor.Get(path)
	wantStatus(t, "donor", resp, body, http.StatusOK)
	if strings.Contains(body, `name="grade"`) || !strings.Contains(body, "Note suggérée") {
		t.Errorf("donor grade page:\n%s", body)
	}
	if resp, _ := f.tech2.Get(path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop: %d", resp.StatusCode)
	}
	form := func(grade, reason string, v int) url.Values {
		return url.Values{"grade": {grade}, "reason": {reason}, "version": {strconv.Itoa(v)}}
	}
	if resp, _ := f.donor.PostForm(path, form("B", "", version)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor post: %d", resp.StatusCode)
	}
	if resp, _ := f.tech2.PostForm(path, form("B", "", version)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop post: %d", resp.StatusCode)
	}

	// Another grade without a reason: refused, the choice kept.
	resp, body = f.tech.PostForm(path, form("A", "", version))
	wantStatus(t, "no reason", resp, body, http.StatusBadRequest)
	mustContain(t, "no reason", html.UnescapeString(body), `href="#f-reason"`, "Cette note diffère de la note suggérée", `value="A" checked`)
	resp, body = f.tech.PostForm(path, form("Z", "", version))
	wantStatus(t, "bad grade", resp, body, http.StatusBadRequest)
	mustContain(t, "bad grade", body, `href="#f-grade"`)
	// A stale tab: the page again, fresh, with why.
	resp, body = f.tech.PostForm(path, form("B", "", version-1))
	wantStatus(t, "stale", resp, body, http.StatusConflict)
	mustContain(t, "stale", html.UnescapeString(body), "Quelqu'un a modifié cet appareil entre-temps", `name="version" value="`+strconv.Itoa(version)+`"`)
	if resp, _ := f.tech.PostForm(path, url.Values{"grade": {"B"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("no version: %d", resp.StatusCode)
	}

	resp, _ = f.tech.PostForm(path, form("A", "Pavé tactile remplacé après le diagnostic", version))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != devicePath(f.device) {
		t.Fatalf("grade: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	d, err := f.env.DB.Device(context.Background(), f.device, postgres.DonationScope{})
	if err != nil || d.Grade != "A" || d.GradeReason != "Pavé tactile remplacé après le diagnostic" || d.Version != version+1 {
		t.Fatalf("device %+v %v", d, err)
	}
	_, body = f.tech.Get(devicePath(f.device))
	mustContain(t, "device page", body, "Note enregistrée.", `<input type="hidden" name="to" value="refurbished">`)
}
