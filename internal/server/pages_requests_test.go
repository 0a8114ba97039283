package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

type requestFixture struct {
	env                           *servertest.Env
	school, assoc, shop, donorOrg account.Organisation
	teacherUser, opUser           account.User
	teacher, volunteer, op        *servertest.Browser
	tech, donor                   *servertest.Browser
	schoolScope                   postgres.RequestScope
}

func mustRequestFixture(t *testing.T) requestFixture {
	t.Helper()
	env := servertest.MustStart(t, servertest.Options{})
	f := requestFixture{env: env,
		school:   env.MustOrg(t, account.KindSchool, "École Jules Ferry"),
		assoc:    env.MustOrg(t, account.KindAssociation, "Emmaüs Connect"),
		shop:     env.MustOrg(t, account.KindWorkshop, "Atelier Berriz"),
		donorOrg: env.MustOrg(t, account.KindCommune, "Mairie d'Anglet"),
	}
	opOrg := env.MustOrg(t, account.KindOperator, "Agence")
	f.teacherUser = env.MustUser(t, f.school.ID, "Amaia Irakaslea", false)
	f.opUser = env.MustUser(t, opOrg.ID, "Maddi Operator", true)
	f.teacher = env.SignIn(t, f.teacherUser.Email)
	f.volunteer = env.SignIn(t, env.MustUser(t, f.assoc.ID, "Peio Volunteer", false).Email)
	f.op = env.SignIn(t, f.opUser.Email)
	f.tech = env.SignIn(t, env.MustUser(t, f.shop.ID, "Ane Tech", false).Email)
	f.donor = env.SignIn(t, env.MustUser(t, f.donorOrg.ID, "Donor", false).Email)
	f.schoolScope = postgres.RequestScope{BeneficiaryOrgID: f.school.ID}
	return f
}

// mustRequest files a request for org directly in the store.
func (f requestFixture) mustRequest(t *testing.T, org int64, lines int) postgres.Request {
	t.Helper()
	r := allocation.NewRequest{Purpose: "Classe mobile pour le CM2\nEt la bibliothèque", DeliveryCommune: "64102",
		Criteria: []allocation.Criterion{"rep_plus", "qpv"}}
	for i := range lines {
		r.Lines = append(r.Lines, allocation.Line{Category: "laptop", Quantity: 2 + i, MinRAMGB: 8, MinGrade: "B", Notes: "Avec chargeur"})
	}
	out, err := f.env.DB.CreateRequest(context.Background(), org, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f requestFixture) state(t *testing.T, id int64) (allocation.RequestState, int) {
	t.Helper()
	r, err := f.env.DB.Request(context.Background(), id, postgres.RequestScope{})
	if err != nil {
		t.Fatal(err)
	}
	return r.State, r.Version
}

var requestLocRE = regexp.MustCompile(`^/(?:eu/)?requests/(\d+)$`)

func wantRequestRedirect(t *testing.T, what string, resp *http.Response, body string) int64 {
	t.Helper()
	m := requestLocRE.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("%s: status %d, location %q\n%.2000s", what, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func TestRequestPagesAccess(t *testing.T) {
	f := mustRequestFixture(t)
	r := f.mustRequest(t, f.school.ID, 1)
	detail := fmt.Sprintf("/requests/%d", r.ID)
	anon := f.env.Anonymous(t)
	for _, p := range []string{"/requests", "/requests/new", detail} {
		resp, _ := anon.Get(p)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("anonymous %s: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
		}
		for name, b := range map[string]*servertest.Browser{"technician": f.tech, "donor": f.donor} {
			resp, body := b.Get(p)
			wantStatus(t, name+" "+p, resp, body, http.StatusForbidden)
		}
	}
	// Another beneficiary: not found, nothing changes.
	resp, body := f.volunteer.Get(detail)
	wantStatus(t, "other beneficiary's request", resp, body, http.StatusNotFound)
	resp, body = f.volunteer.PostForm(detail+"/cancel", url.Values{"version": {"1"}})
	wantStatus(t, "other beneficiary cancels", resp, body, http.StatusNotFound)
	f.volunteer.Get("/requests")
	resp, body = f.volunteer.PostForm(detail+"/decision", url.Values{"decision": {"approve"}, "version": {"1"}})
	wantStatus(t, "beneficiary decides", resp, body, http.StatusForbidden)
	resp, body = f.teacher.Get("/requests/abc")
	wantStatus(t, "bad id", resp, body, http.StatusNotFound)
	if st, v := f.state(t, r.ID); st != allocation.Submitted || v != 1 {
		t.Fatalf("request changed: %s v%d", st, v)
	}
	// The menu shows requests to beneficiaries and operators only.
	for name, b := range map[string]*servertest.Browser{"teacher": f.teacher, "operator": f.op, "technician": f.tech, "donor": f.donor} {
		_, body := b.Get("/account")
		if got := strings.Contains(body, `href="/requests"`); got != (name == "teacher" || name == "operator") {
			t.Errorf("%s sees the requests menu: %v", name, got)
		}
	}
}

func TestRequestList(t *testing.T) {
	f := mustRequestFixture(t)
	mine := f.mustRequest(t, f.school.ID, 1)
	theirs := f.mustRequest(t, f.assoc.ID, 2)
	if _, err := f.env.DB.DecideRequest(context.Background(), theirs.ID,
		postgres.RequestDecision{Decision: allocation.Approve, Version: 1}, nil); err != nil {
		t.Fatal(err)
	}
	resp, body := f.teacher.Get("/requests")
	wantStatus(t, "beneficiary's list", resp, body, http.StatusOK)
	mustContain(t, "beneficiary's list", body, fmt.Sprintf(`href="/requests/%d"`, mine.ID), "Vos demandes : 1",
		"Demande n° "+strconv.FormatInt(mine.ID, 10), "0 sur 2", "Déposée")
	if strings.Contains(body, fmt.Sprintf(`/requests/%d"`, theirs.ID)) || strings.Contains(body, "Emmaüs") {
		t.Error("a beneficiary sees another's request")
	}
	resp, body = f.op.Get("/requests")
	wantStatus(t, "queue", resp, body, http.StatusOK)
	mustContain(t, "queue", body, "Demandes : 2", "Emmaüs Connect", "École Jules Ferry", "<td>70</td>")
	_, body = f.op.Get("/requests?state=approved")
	mustContain(t, "filtered", body, "Demandes : 1", "Emmaüs Connect", `<option value="approved" selected>`)
	if strings.Contains(body, "École Jules Ferry") {
		t.Error("the filter let a submitted request through")
	}
	_, body = f.op.Get("/requests?state=bogus")
	mustContain(t, "unknown state: every state", body, "Demandes : 2")
	_, body = f.volunteer.Get("/eu/requests")
	mustContain(t, "Basque", body, "Zure eskaerak: 1", "Onartua")
}

func TestRequestForm(t *testing.T) {
	f := mustRequestFixture(t)
	resp, body := f.teacher.Get("/requests/new")
	wantStatus(t, "form", resp, body, http.StatusOK)
	mustContain(t, "form", body, `id="f-line_5_category"`, `name="rows" value="5"`, `value="64102"`, "Pour : École Jules Ferry",
		`name="criteria" value="rep_plus"`, "laptop (Ordinateur portable)", `href="/requests/new?lines=20"`,
		`aria-label="Ligne 5 : Mémoire vive minimale (Go)"`)
	if strings.Contains(body, `id="f-line_6_category"`) || strings.Contains(body, `name="beneficiary"`) {
		t.Error("6 lines, or a beneficiary choosing an organisation")
	}
	_, body = f.teacher.Get("/requests/new?lines=500")
	mustContain(t, "20 lines", body, `id="f-line_20_notes"`, `name="rows" value="20"`)
	if strings.Contains(body, `id="f-line_21_category"`) || strings.Contains(body, "?lines=20") {
		t.Error("more than 20 lines, or a link to more")
	}

	bad := url.Values{"rows": {"5"}, "purpose": {"  "}, "delivery_commune": {"64 102"}, "criteria": {"rep", "rich"},
		"line_1_category": {"laptop"}, "line_1_quantity": {"12"}, "line_1_min_ram_gb": {"8"},
		"line_3_category": {"toaster"}, "line_3_quantity": {"0"}, "line_3_min_screen_inches": {"15,6"}, "line_3_notes": {"Salle B"}}
	resp, body = f.teacher.PostForm("/requests", bad)
	wantStatus(t, "invalid", resp, body, http.StatusBadRequest)
	mustContain(t, "invalid", body, `class="error-summary"`, `href="#f-purpose"`, `href="#f-delivery_commune"`, `href="#f-criteria"`,
		`href="#f-line_3_category"`, `href="#f-line_3_quantity"`, "ligne 3 — Catégorie inconnue", `id="f-line_3-error"`,
		"Quantité : Un nombre entier de 1 à 500.", `value="toaster"`, `value="15,6"`, `value="Salle B"`, `value="12"`,
		`name="criteria" value="rep" checked`, `aria-invalid="true" aria-describedby="f-line_3-error"`)
	if strings.Contains(body, `id="f-line_1-error"`) {
		t.Error("a valid line shows errors")
	}
	resp, body = f.teacher.PostForm("/requests", url.Values{"rows": {"5"}, "purpose": {"Salle"}, "delivery_commune": {"64102"}})
	wantStatus(t, "no line", resp, body, http.StatusBadRequest)
	mustContain(t, "no line", body, `href="#f-lines"`, "Ajoutez au moins une ligne")
	if n := countRequestRows(t, f.env, "requests"); n != 0 {
		t.Fatalf("a failed form saved %d requests", n)
	}

	good := url.Values{"rows": {"20"}, "purpose": {"Équiper la classe de CM2\r\npour les évaluations"}, "delivery_commune": {"64445"},
		"criteria": {"qpv", "rep_plus"}, "line_2_category": {"laptop"}, "line_2_quantity": {"12"}, "line_2_min_ram_gb": {"8"},
		"line_2_min_storage_gb": {"256"}, "line_2_min_screen_inches": {"13,3"}, "line_2_min_grade": {"b"},
		"line_2_notes": {"Avec chargeur"}, "line_20_category": {"monitor_24"}, "line_20_quantity": {"2"}}
	resp, body = f.teacher.PostForm("/requests", good)
	id := wantRequestRedirect(t, "created", resp, body)
	r, err := f.env.DB.Request(context.Background(), id, f.schoolScope)
	if err != nil || r.Priority != 70 || r.DeliveryCommune != "64445" || len(r.Lines) != 2 || r.Lines[0].MinScreenInches != 13.3 ||
		r.Lines[0].MinGrade != "B" || r.Lines[1].Number != 2 || r.SubmittedByName != f.teacherUser.Name {
		t.Fatalf("stored %+v %v", r, err)
	}
	resp, body = f.teacher.Get(fmt.Sprintf("/requests/%d", id))
	wantStatus(t, "detail", resp, body, http.StatusOK)
	mustContain(t, "detail", body, "Demande déposée", "Équiper la classe de CM2<br>pour les évaluations",
		"8 Go de mémoire vive ou plus, 256 Go de stockage ou plus, écran de 13,3 pouces ou plus, état B ou mieux — Avec chargeur",
		"Écran 24 pouces", "0 réservé(s), 0 accepté(s)", "Déposée", "éducation prioritaire renforcé (REP")
	if n := countRequestRows(t, f.env, "notifications WHERE kind = 'notify.request_submitted' AND user_id = "+strconv.FormatInt(f.opUser.ID, 10)); n != 1 {
		t.Errorf("operator told %d times", n)
	}
}

func countRequestRows(t *testing.T, env *servertest.Env, tableAndWhere string) int {
	t.Helper()
	var n int
	if err := env.DB.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM `+tableAndWhere).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An operator first chooses the beneficiary, then files for it.
func TestRequestFiledByOperator(t *testing.T) {
	f := mustRequestFixture(t)
	resp, body := f.op.Get("/requests/new")
	wantStatus(t, "chooser", resp, body, http.StatusOK)
	mustContain(t, "chooser", body, `id="f-beneficiary"`, "École Jules Ferry", "Emmaüs Connect")
	if strings.Contains(body, "Atelier Berriz") || strings.Contains(body, `id="f-line_1_category"`) {
		t.Error("the chooser offers a workshop, or shows the form")
	}
	resp, body = f.op.Get(fmt.Sprintf("/requests/new?beneficiary=%d", f.shop.ID))
	wantStatus(t, "a workshop", resp, body, http.StatusBadRequest)
	mustContain(t, "a workshop", body, "Choisissez une école, une association ou une structure sociale active.", `id="f-beneficiary-error"`)
	resp, body = f.op.Get(fmt.Sprintf("/requests/new?beneficiary=%d", f.assoc.ID))
	wantStatus(t, "form", resp, body, http.StatusOK)
	mustContain(t, "form", body, "Pour : Emmaüs Connect", fmt.Sprintf(`name="beneficiary" value="%d"`, f.assoc.ID),
		fmt.Sprintf(`href="/requests/new?lines=20&amp;beneficiary=%d"`, f.assoc.ID))

	form := url.Values{"rows": {"5"}, "purpose": {"Atelier numérique"}, "delivery_commune": {"64102"},
		"line_1_category": {"desktop"}, "line_1_quantity": {"4"}}
	form.Set("beneficiary", strconv.FormatInt(f.shop.ID, 10))
	resp, body = f.op.PostForm("/requests", form)
	wantStatus(t, "for a workshop", resp, body, http.StatusBadRequest)
	mustContain(t, "for a workshop", body, `id="f-beneficiary-error"`)
	form.Set("beneficiary", strconv.FormatInt(f.assoc.ID, 10))
	resp, body = f.op.PostForm("/requests", form)
	id := wantRequestRedirect(t, "filed", resp, body)
	r, err := f.env.DB.Request(context.Background(), id, postgres.RequestScope{BeneficiaryOrgID: f.assoc.ID})
	if err != nil || r.SubmittedByName != f.opUser.Name {
		t.Fatalf("filed for the association: %+v %v", r, err)
	}
	// A beneficiary naming another organisation files for its own.
	form.Set("beneficiary", strconv.FormatInt(f.assoc.ID, 10))
	form.Del("csrf") // the operator's, set by PostForm
	resp, body = f.teacher.PostForm("/requests", form)
	id = wantRequestRedirect(t, "beneficiary", resp, body)
	if _, err := f.env.DB.Request(context.Background(), id, f.schoolScope); err != nil {
		t.Fatalf("not filed for the school: %v", err)
	}
}

func TestRequestDecisionPage(t *testing.T) {
	f := mustRequestFixture(t)
	r := f.mustRequest(t, f.school.ID, 3)
	detail := fmt.Sprintf("/requests/%d", r.ID)
	resp, body := f.op.Get(detail)
	wantStatus(t, "operator's view", resp, body, http.StatusOK)
	mustContain(t, "operator's view", body, `action="/requests/`+strconv.FormatInt(r.ID, 10)+`/decision"`, `name="version" value="1"`,
		`value="decline"`, "0 dans le brouillon, 0 réservé(s), 0 accepté(s)", `action="/requests/`+strconv.FormatInt(r.ID, 10)+`/cancel"`)
	_, body = f.teacher.Get(detail)
	if strings.Contains(body, "/decision") || !strings.Contains(body, "/cancel") {
		t.Error("the beneficiary's view: a decision form, or no cancel form")
	}

	resp, body = f.op.PostForm(detail+"/decision", url.Values{"decision": {"decline"}, "reason": {" "}, "version": {"1"}})
	wantStatus(t, "decline without reason", resp, body, http.StatusBadRequest)
	mustContain(t, "decline without reason", body, `href="#f-reason"`, `id="f-reason-error"`, "Indiquez le motif du refus")
	resp, body = f.op.PostForm(detail+"/decision", url.Values{"decision": {"maybe"}, "version": {"1"}})
	wantStatus(t, "unknown decision", resp, body, http.StatusBadRequest)
	mustContain(t, "unknown decision", body, `href="#f-decision"`)
	resp, body = f.op.PostForm(detail+"/decision", url.Values{"decision": {"approve"}, "version": {"7"}})
	wantStatus(t, "stale", resp, body, http.StatusConflict)
	mustContain(t, "stale", body, "Quelqu&#39;un a modifié cette demande entre-temps : elle est maintenant « Déposée »")
	if st, v := f.state(t, r.ID); st != allocation.Submitted || v != 1 {
		t.Fatalf("refused decisions changed the request: %s v%d", st, v)
	}
	resp, body = f.op.PostForm(detail+"/decision", url.Values{"decision": {"approve"}, "reason": {"Livraison en mars"}, "version": {"1"}})
	wantRequestRedirect(t, "approve", resp, body)
	_, body = f.op.Get(detail)
	mustContain(t, "approved", body, "Demande acceptée", "Acceptée", "Livraison en mars", "Maddi Operator (Agence) : Acceptée — Livraison en mars")
	if strings.Contains(body, "/decision") {
		t.Error("a decision form on an approved request")
	}
	resp, body = f.op.PostForm(detail+"/decision", url.Values{"decision": {"decline"}, "reason": {"Trop tard"}, "version": {"2"}})
	wantStatus(t, "decided twice", resp, body, http.StatusConflict)
	mustContain(t, "decided twice", body, "Une demande « Acceptée » ne peut pas devenir « Refusée ».")

	d := f.mustRequest(t, f.school.ID, 1)
	resp, body = f.op.PostForm(fmt.Sprintf("/requests/%d/decision", d.ID), url.Values{"decision": {"decline"},
		"reason": {"Déjà équipés cette année"}, "version": {"1"}})
	wantRequestRedirect(t, "decline", resp, body)
	if st, _ := f.state(t, d.ID); st != allocation.Declined {
		t.Fatalf("declined: %s", st)
	}
	_, body = f.teacher.Get(fmt.Sprintf("/eu/requests/%d", d.ID))
	mustContain(t, "beneficiary reads the reason", body, "Ukatua", "Déjà équipés cette année")
	if strings.Contains(body, "/cancel") {
		t.Error("a cancel form on a declined request")
	}
}

func TestRequestCancelPage(t *testing.T) {
	f := mustRequestFixture(t)
	r := f.mustRequest(t, f.school.ID, 1)
	detail := fmt.Sprintf("/requests/%d", r.ID)
	f.teacher.Get(detail)
	resp, body := f.teacher.PostForm(detail+"/cancel", url.Values{"version": {"1"}, "cancel_reason": {"no"}})
	wantStatus(t, "short reason", resp, body, http.StatusBadRequest)
	mustContain(t, "short reason", body, `href="#f-cancel_reason"`, `id="f-cancel_reason-error"`, `value="no"`)
	resp, body = f.teacher.PostForm(detail+"/cancel", url.Values{"version": {"1"}, "cancel_reason": {"Projet reporté"}})
	wantRequestRedirect(t, "cancel", resp, body)
	_, body = f.teacher.Get(detail)
	mustContain(t, "cancelled", body, "Demande annulée", "Annulée", "Amaia Irakaslea (École Jules Ferry) : Annulée — Projet reporté")
	if strings.Contains(body, "/cancel") {
		t.Error("a cancel form on a cancelled request")
	}
	resp, body = f.teacher.PostForm(detail+"/cancel", url.Values{"version": {"2"}})
	wantStatus(t, "cancelled twice", resp, body, http.StatusConflict)
	mustContain(t, "cancelled twice", body, `class="error-summary"`, "Une demande « Annulée » ne peut pas devenir « Annulée ».")
	// The operator cancels too, and the beneficiary is told.
	o := f.mustRequest(t, f.school.ID, 1)
	f.op.Get("/requests")
	resp, body = f.op.PostForm(fmt.Sprintf("/requests/%d/cancel", o.ID), url.Values{"version": {"1"}})
	wantRequestRedirect(t, "operator cancels", resp, body)
	if n := countRequestRows(t, f.env, "notifications WHERE kind = 'notify.request_cancelled' AND user_id = "+strconv.FormatInt(f.teacherUser.ID, 10)); n != 1 {
		t.Errorf("beneficiary told %d times", n)
	}
}
