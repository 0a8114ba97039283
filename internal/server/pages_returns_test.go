package server_test

import (
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/lifecycle"
)

// A delivered device comes back: the school asks for it by its tag (a
// wrong tag and a missing reason refused with field errors), the workshop
// sees the request on the handover and records the device back from its
// return page, the school's reason proposed; the device is returned, in a
// new cycle, and the reason is in its history. Other workshops, schools
// and donors cannot.
func TestReturnPages(t *testing.T) {
	f := mustHandoverFix(t, 2)
	path := f.mustPreparePage(t, f.reservations...)
	ret := devicePath(f.devices[0], "/return")

	// Not delivered yet: nothing to record.
	_, body := f.tech.Get(ret)
	mustContain(t, "not delivered", html.UnescapeString(body), "Seul un appareil remis")
	if strings.Contains(body, `name="reason"`) {
		t.Fatal("a return form for a device not delivered")
	}
	f.teacher.Get(path)
	if resp, body := f.teacher.PostForm(path+"/confirm", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d\n%s", resp.StatusCode, body)
	}

	f.teacher.Get(path)
	resp, body := f.teacher.PostForm(path+"/returns", url.Values{"tag": {"ZZZZ-ZZZZ"}, "reason": {"Écran"}})
	wantStatus(t, "bad request", resp, body, http.StatusBadRequest)
	mustContain(t, "bad request", html.UnescapeString(body), `href="#f-tag"`, "Aucun appareil remis par cette remise ne porte cette étiquette")
	resp, body = f.teacher.PostForm(path+"/returns", url.Values{"tag": {f.tags[0]}, "reason": {""}})
	wantStatus(t, "no reason", resp, body, http.StatusBadRequest)
	mustContain(t, "no reason", html.UnescapeString(body), `href="#f-reason"`, "Indiquez pourquoi", `value="`+f.tags[0]+`"`)
	resp, body = f.teacher.PostForm(path+"/returns", url.Values{"tag": {strings.ToLower(strings.ReplaceAll(f.tags[0], "-", ""))},
		"reason": {"L'écran clignote au démarrage"}})
	wantRedirect(t, "ask", resp, body, path)
	_, body = f.teacher.Get(path)
	mustContain(t, "asked", html.UnescapeString(body), "Retour demandé", "retour demandé")
	resp, body = f.teacher.PostForm(path+"/returns", url.Values{"tag": {f.tags[0]}, "reason": {"Encore"}})
	wantStatus(t, "twice", resp, body, http.StatusConflict)
	f.otherTeach.Get("/handovers")
	resp, body = f.otherTeach.PostForm(path+"/returns", url.Values{"tag": {f.tags[1]}, "reason": {"Pas à nous"}})
	wantStatus(t, "other school", resp, body, http.StatusNotFound)

	// The workshop sees the request and records the return.
	_, body = f.tech.Get(path)
	mustContain(t, "workshop's page", html.UnescapeString(body), "Demandes de retour", ret, "L'écran clignote au démarrage")
	_, body = f.tech.Get(ret)
	body = html.UnescapeString(body)
	mustContain(t, "return page", body, "Retour demandé par le bénéficiaire", ">L'écran clignote au démarrage</textarea>", path,
		`name="version"`)
	resp, body = f.otherTech.Get(ret)
	wantStatus(t, "other workshop", resp, body, http.StatusNotFound)
	resp, body = f.donor.Get(ret)
	wantStatus(t, "donor", resp, body, http.StatusForbidden)
	_, version := deviceVersion(t, f.env, f.devices[0])
	resp, body = f.tech.PostForm(ret, url.Values{"reason": {"  "}, "version": {strconv.Itoa(version)}})
	wantStatus(t, "no reason", resp, body, http.StatusBadRequest)
	mustContain(t, "no reason", html.UnescapeString(body), `href="#f-reason"`, "Indiquez pourquoi l'appareil revient")
	resp, body = f.tech.PostForm(ret, url.Values{"reason": {"Écran défectueux"}, "version": {strconv.Itoa(version - 1)}})
	wantStatus(t, "stale", resp, body, http.StatusConflict)
	resp, body = f.tech.PostForm(ret, url.Values{"reason": {"Écran défectueux"}, "version": {strconv.Itoa(version)}})
	wantRedirect(t, "return", resp, body, devicePath(f.devices[0]))
	if st := handoverDeviceState(t, f.env, f.devices[0]); st != lifecycle.Returned {
		t.Fatalf("device %s", st)
	}
	_, body = f.tech.Get(devicePath(f.devices[0], "/history"))
	mustContain(t, "history", html.UnescapeString(body), "Écran défectueux", "Retour demandé", "Remise")
	_, body = f.tech.Get(path)
	if strings.Contains(html.UnescapeString(body), "Demandes de retour") {
		t.Error("a settled return request is still listed")
	}
	resp, body = f.tech.PostForm(ret, url.Values{"reason": {"Encore"}, "version": {strconv.Itoa(version + 1)}})
	wantStatus(t, "returned twice", resp, body, http.StatusConflict)
}
