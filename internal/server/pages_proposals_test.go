package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/server/servertest"
)

var (
	proposalLinkRE = regexp.MustCompile(`href="/proposals/(\d+)"`)
	lineLinkRE     = regexp.MustCompile(`href="/proposals/(\d+)\?line=(\d+)"`)
	removeRE       = regexp.MustCompile(`formaction="(/proposals/\d+/reservations/\d+/remove\?line=\d+)"`)
)

// The operator's journey through the proposal pages: matching run, the
// draft reviewed and edited (a device taken off, another added by its tag,
// refusals shown on the page), sent — one device taken meanwhile is dropped
// and shown — then the school answers and the operator releases.
func TestProposalPages(t *testing.T) {
	f := mustMatchFixture(t, servertest.Options{})
	now := time.Now()
	ids := f.mustAvailable(t, laptop8, laptop8, matchSpec{"laptop", 16, 512, 15.6, "A"}, matchSpec{"laptop", 4, 128, 13.3, "C"})
	code := f.mustTags(t, ids[3])[0]
	schoolReq, school := f.mustRequest(t, f.school.ID, 40, now.Add(-time.Hour), allocation.Line{Category: "laptop", Quantity: 2, MinRAMGB: 8})
	_, assoc := f.mustRequest(t, f.assoc.ID, 20, now.Add(-72*time.Hour), allocation.Line{Category: "laptop", Quantity: 2})

	resp, body := f.teacher.Get("/proposals")
	wantStatus(t, "beneficiary", resp, body, http.StatusForbidden)
	resp, body = f.op.Get("/proposals")
	wantStatus(t, "list", resp, body, http.StatusOK)
	mustContain(t, "list", body, "Aucune proposition", "Lancer l&#39;appariement")
	resp, body = f.op.PostForm("/proposals", nil)
	wantStatus(t, "run", resp, body, http.StatusSeeOther)
	m := regexp.MustCompile(`/proposals/(\d+)$`).FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirect to %s", resp.Header.Get("Location"))
	}
	draft := "/proposals/" + m[1]
	resp, body = f.op.Get(draft)
	wantStatus(t, "draft", resp, body, http.StatusOK)
	mustContain(t, "draft", body, "Appariement fait", "Brouillon", "4 appareil(s) pour 2 ligne(s) de 2 organisation(s)",
		"Collège Marracq — Demande n°", "Ordinateur portable · mémoire ≥ 8 Go", "2 proposé(s) · 2 encore attendu(s)", "réservés pour 7 jours")
	lines := lineLinkRE.FindAllStringSubmatch(body, -1)
	if len(lines) != 2 || lines[0][2] != fmt.Sprint(school[0]) || lines[1][2] != fmt.Sprint(assoc[0]) {
		t.Fatalf("lines %v", lines)
	}
	// A second run is refused while the draft exists; the list links it.
	resp, body = f.op.PostForm("/proposals", nil)
	wantStatus(t, "second run", resp, body, http.StatusConflict)
	mustContain(t, "second run", body, "Une proposition en brouillon existe déjà", `href="`+draft+`"`)

	// The school's line: the two 8 GB laptops (best fit), the 16 GB one
	// went to the association with the 4 GB one.
	resp, body = f.op.Get(fmt.Sprintf("%s?line=%d", draft, school[0]))
	wantStatus(t, "line", resp, body, http.StatusOK)
	mustContain(t, "line", body, "Appareils pour cette ligne : 2", fmt.Sprintf(`href="/devices/%d"`, ids[0]),
		fmt.Sprintf(`href="/devices/%d"`, ids[1]), "Ajouter un appareil à cette ligne")
	removes := removeRE.FindAllStringSubmatch(body, -1)
	if len(removes) != 2 {
		t.Fatalf("%d remove buttons", len(removes))
	}
	resp, body = f.op.PostForm(removes[1][1], nil)
	wantStatus(t, "remove", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != fmt.Sprintf("%s?line=%d", draft, school[0]) {
		t.Fatalf("redirect to %s", loc)
	}
	addPath := fmt.Sprintf("%s/lines/%d/devices", draft, school[0])
	typed := strings.ToLower(code.String()) // as typed: lower case, with the dash
	resp, body = f.op.PostForm(addPath, url.Values{"device": {typed}})
	wantStatus(t, "add a proposed device", resp, body, http.StatusConflict)
	mustContain(t, "add a proposed device", body, "est déjà dans cette proposition", `value="`+typed+`"`,
		"Appareils pour cette ligne : 1")
	resp, body = f.op.PostForm(addPath, url.Values{"device": {""}})
	wantStatus(t, "add empty", resp, body, http.StatusBadRequest)
	mustContain(t, "add empty", body, `href="#f-device"`, "Indiquez l&#39;étiquette ou le numéro")
	resp, body = f.op.PostForm(addPath, url.Values{"device": {"ZZZZZZZZ"}})
	wantStatus(t, "add unknown", resp, body, http.StatusBadRequest)
	resp, body = f.op.PostForm(addPath, url.Values{"device": {fmt.Sprintf("#%d", ids[1])}})
	wantStatus(t, "add", resp, body, http.StatusSeeOther)
	_, body = f.op.Get(fmt.Sprintf("%s?line=%d", draft, school[0]))
	mustContain(t, "added", body, "Appareil ajouté à la ligne", "Appareils pour cette ligne : 2")

	// Meanwhile the association reserves the 16 GB laptop from the
	// catalogue... for its own line: the draft gave it to that line too,
	// so the send drops it as taken.
	resp, body = f.helper.PostForm(fmt.Sprintf("/catalogue/%d/reserve", ids[2]), url.Values{"line": {fmt.Sprint(assoc[0])}})
	wantStatus(t, "catalogue", resp, body, http.StatusSeeOther)
	resp, body = f.op.PostForm(draft+"/send", nil)
	wantStatus(t, "send", resp, body, http.StatusSeeOther)
	_, body = f.op.Get(draft)
	mustContain(t, "sent", body, "certains appareils ne pouvaient plus être réservés", "Envoyée", "Retirés à l&#39;envoi",
		"1 appareil(s) : les lignes disent lesquels et pourquoi", "(1 retiré(s))")
	_, body = f.op.Get(fmt.Sprintf("%s?line=%d", draft, assoc[0]))
	mustContain(t, "dropped", body, "Retiré à l&#39;envoi : plus disponible", "En attente de réponse")
	if strings.Contains(body, "Ajouter un appareil") || removeRE.MatchString(body) {
		t.Fatal("a sent proposal offers edits")
	}
	resp, body = f.op.PostForm(draft+"/send", nil)
	wantStatus(t, "sent twice", resp, body, http.StatusConflict)
	mustContain(t, "sent twice", body, "n&#39;est plus un brouillon")
	for _, id := range []int64{ids[0], ids[1], ids[3]} {
		if st := f.deviceState(t, id); st != "reserved" {
			t.Fatalf("device %d: %s", id, st)
		}
	}
	_ = schoolReq

	// The list: the sent proposal, and the button to run matching again.
	_, body = f.op.Get("/proposals")
	if !proposalLinkRE.MatchString(body) || !strings.Contains(body, "Lancer l&#39;appariement") ||
		!strings.Contains(body, "0 accepté(s), 3 en attente") {
		t.Fatalf("list after sending\n%s", body)
	}
	// Discarding: a new draft (nothing left to match: empty), discarded.
	resp, _ = f.op.PostForm("/proposals", nil)
	second := resp.Header.Get("Location")
	resp, body = f.op.PostForm(second+"/discard", nil)
	wantStatus(t, "discard", resp, body, http.StatusSeeOther)
	resp, body = f.op.PostForm(second+"/discard", nil)
	wantStatus(t, "discard twice", resp, body, http.StatusConflict)
	resp, body = f.op.Get("/proposals/999999")
	wantStatus(t, "missing", resp, body, http.StatusNotFound)
	resp, body = f.op.Get(draft + "?line=999999")
	wantStatus(t, "missing line", resp, body, http.StatusNotFound)
	if n := countSQL(t, f.env, `SELECT count(*) FROM notifications WHERE kind = 'notify.proposal_sent' AND user_id = $1`,
		f.teacherID); n != 1 {
		t.Fatalf("%d notices to the school", n)
	}
}

// countSQL runs a count.
func countSQL(t *testing.T, env *servertest.Env, q string, args ...any) int {
	t.Helper()
	var n int
	if err := env.DB.SQL().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
