package server_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

type donationFixture struct {
	env                      *servertest.Env
	donorOrg, otherOrg, shop account.Organisation
	donor, other, op, tech   *servertest.Browser
}

func mustDonationFixture(t *testing.T) donationFixture {
	t.Helper()
	env := servertest.MustStart(t, servertest.Options{})
	f := donationFixture{env: env,
		donorOrg: env.MustOrg(t, account.KindCommune, "Mairie d'Anglet"),
		otherOrg: env.MustOrg(t, account.KindCompany, "Entreprise Voisine"),
		shop:     env.MustOrg(t, account.KindWorkshop, "Atelier Berriz"),
	}
	opOrg := env.MustOrg(t, account.KindOperator, "Agence")
	f.donor = env.SignIn(t, env.MustUser(t, f.donorOrg.ID, "Amaia Donor", false).Email)
	f.other = env.SignIn(t, env.MustUser(t, f.otherOrg.ID, "Other Donor", false).Email)
	f.op = env.SignIn(t, env.MustUser(t, opOrg.ID, "Maddi Operator", true).Email)
	f.tech = env.SignIn(t, env.MustUser(t, f.shop.ID, "Ane Tech", false).Email)
	return f
}

var donationLocRE = regexp.MustCompile(`^/(?:eu/)?donations/(\d+)$`)

func wantDonationRedirect(t *testing.T, what string, resp *http.Response, body string) string {
	t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !donationLocRE.MatchString(loc) {
		t.Fatalf("%s: status %d, location %q\n%.2000s", what, resp.StatusCode, loc, body)
	}
	return loc
}

func wantStatus(t *testing.T, what string, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d\n%.3000s", what, resp.StatusCode, status, body)
	}
}

// postMultipart uploads a CSV to the import form, with the remembered CSRF
// token.
func postMultipart(t *testing.T, b *servertest.Browser, path string, fields map[string]string, csv []byte) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("csrf", b.CSRF)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if csv != nil {
		fw, _ := w.CreateFormFile("file", "lot.csv")
		_, _ = fw.Write(csv)
	}
	_ = w.Close()
	return b.Do(http.MethodPost, path, &buf, "Content-Type", w.FormDataContentType())
}

func countDonations(t *testing.T, env *servertest.Env) (donations, devices int) {
	t.Helper()
	err := env.DB.SQL().QueryRowContext(context.Background(),
		`SELECT (SELECT count(*) FROM donations), (SELECT count(*) FROM devices)`).Scan(&donations, &devices)
	if err != nil {
		t.Fatal(err)
	}
	return donations, devices
}

func TestDonationPagesNeedSignIn(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	b := env.Anonymous(t)
	for _, p := range []string{"/donations", "/donations/new", "/donations/import", "/donations/template.csv", "/donations/1"} {
		resp, _ := b.Get(p)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("%s: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestDonationForm(t *testing.T) {
	f := mustDonationFixture(t)
	resp, body := f.donor.Get("/donations/new")
	wantStatus(t, "form", resp, body, http.StatusOK)
	mustContain(t, "form", body, `id="f-d5_category"`, `laptop (Ordinateur portable)`)
	if strings.Contains(body, `id="f-donor"`) {
		t.Error("a donor is offered a choice of donor")
	}
	_, body = f.donor.Get("/donations/new?lines=50")
	mustContain(t, "10 lines", body, `id="f-d10_notes"`)

	bad := url.Values{"rows": {"5"}, "title": {"Renouvellement"}, "notes": {"Au 2e étage"},
		"d1_category": {"laptop"}, "d1_brand": {"Dell"}, "d1_serial": {"SN1"}, "d1_quantity": {"2"},
		"d3_category": {"toaster"}, "d3_year": {"1989"}, "d3_weight_kg": {"3,5"}}
	resp, body = f.donor.PostForm("/donations", bad)
	wantStatus(t, "invalid", resp, body, http.StatusBadRequest)
	mustContain(t, "invalid", body, `class="error-summary"`, `href="#f-d1_quantity"`, `href="#f-d3_category"`, `href="#f-d3_year"`,
		"ligne 1 — Une ligne avec un numéro de série décrit un seul appareil.", "ligne 3 — Catégorie inconnue.",
		`id="f-d1_quantity-error"`, `value="Dell"`, `value="toaster"`, `value="3,5"`, `value="Renouvellement"`, "Au 2e étage")
	if n, _ := countDonations(t, f.env); n != 0 {
		t.Fatal("a failed form saved something")
	}
	resp, body = f.donor.PostForm("/donations", url.Values{"rows": {"5"}, "title": {""}})
	wantStatus(t, "empty", resp, body, http.StatusBadRequest)
	mustContain(t, "empty", body, `href="#f-title"`, "Ce champ est obligatoire.")
	resp, body = f.donor.PostForm("/donations", url.Values{"rows": {"5"}, "title": {"Rien"}})
	wantStatus(t, "no lines", resp, body, http.StatusBadRequest)
	mustContain(t, "no lines", body, "Décrivez au moins un appareil.")

	good := url.Values{"rows": {"5"}, "title": {"Renouvellement"}, "d1_category": {"laptop"}, "d1_brand": {"Dell"}, "d1_serial": {"SN1"},
		"d2_category": {"monitor_24"}, "d2_quantity": {"3"}}
	resp, body = f.donor.PostForm("/donations", good)
	loc := wantDonationRedirect(t, "create", resp, body)
	_, body = f.donor.Get(loc)
	mustContain(t, "detail", body, "<h1>Renouvellement</h1>", "Don déclaré. Merci !", "4 appareils, 15.5 kg", "Pas encore attribué",
		"Écran 24 pouces", "SN1", "Mairie d&#39;Anglet")
	if strings.Contains(body, `action="/donations/`) {
		t.Error("a donor is offered donation actions")
	}
}

func TestDonationImport(t *testing.T) {
	f := mustDonationFixture(t)
	resp, body := f.donor.Get("/donations/import")
	wantStatus(t, "form", resp, body, http.StatusOK)
	mustContain(t, "form", body, `enctype="multipart/form-data"`, "4096 Kio et 10000 lignes", `accept=".csv,text/csv"`, "monitor_24 (Écran 24 pouces)")

	resp, body = f.donor.Get("/donations/template.csv")
	wantStatus(t, "template", resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(body, "catégorie;marque") {
		t.Fatalf("template: %s %q", ct, body)
	}
	if _, body := f.other.Get("/eu/donations/template.csv"); !strings.Contains(body, "kategoria;marka") {
		t.Fatalf("Basque template: %q", body)
	}
	f.donor.Get("/donations/import")

	// Mistakes: the table of errors, nothing saved.
	faulty := "catégorie;quantité;année;numéro_de_série\nlaptop;1;2019;A1\ntoaster;1;;\nlaptop;2;1980;A2\n"
	resp, body = postMultipart(t, f.donor, "/donations/import", map[string]string{"title": "Lot"}, []byte(faulty))
	wantStatus(t, "faulty", resp, body, http.StatusBadRequest)
	mustContain(t, "faulty", body, "4 erreurs trouvées, rien n&#39;a été enregistré", "Catégorie inconnue.",
		"(valeur lue : « toaster »)", "Utilisez un code de la liste des catégories", "<th scope=\"row\">4</th>", "Année hors limites")
	if n, _ := countDonations(t, f.env); n != 0 {
		t.Fatal("a faulty import saved something")
	}
	resp, body = postMultipart(t, f.donor, "/donations/import", map[string]string{"title": "Lot"}, nil)
	wantStatus(t, "no file", resp, body, http.StatusBadRequest)
	mustContain(t, "no file", body, `href="#f-file"`, "Choisissez un fichier CSV.")
	resp, body = postMultipart(t, f.donor, "/donations/import", map[string]string{"title": "Lot"}, []byte("category\nCaf\xe9\n"))
	wantStatus(t, "latin-1", resp, body, http.StatusBadRequest)
	mustContain(t, "latin-1", body, "pas encodé en UTF-8", "CSV UTF-8")

	// A valid file: the preview, then the confirmation saves it all.
	var csv strings.Builder
	csv.WriteString("category,brand,model,serial,year,quantity,storage_drives,weight_kg,notes\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&csv, "laptop,Lenovo,ThinkPad T480,PF%04d,2018,1,1,1.6,\n", i)
	}
	csv.WriteString("mouse,,,,,20,0,,Lot de souris\n")
	resp, body = postMultipart(t, f.donor, "/donations/import", map[string]string{"title": "Parc 2018", "notes": "Salle 3"}, []byte(csv.String()))
	wantStatus(t, "preview", resp, body, http.StatusOK)
	mustContain(t, "preview", body, "31 lignes, 50 appareils, 50.0 kg", "Les 25 premières lignes sur 31", "PF0025", "Confirmer le don de 50 appareils")
	if strings.Contains(body, "PF0026") {
		t.Error("the preview shows more than 25 lines")
	}
	if n, _ := countDonations(t, f.env); n != 0 {
		t.Fatal("the preview saved something")
	}
	hidden := map[string]string{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`).FindAllStringSubmatch(body, -1) {
		hidden[m[1]] = strings.ReplaceAll(m[2], "&#43;", "+")
	}
	confirm := url.Values{}
	for k, v := range hidden {
		confirm.Set(k, v)
	}
	tampered := url.Values{}
	for k, v := range hidden {
		tampered.Set(k, v)
	}
	tampered.Set("signature", strings.Repeat("0", 64))
	resp, body = f.donor.PostForm("/donations/import/confirm", tampered)
	wantStatus(t, "tampered", resp, body, http.StatusBadRequest)
	mustContain(t, "tampered", body, "déposez à nouveau le fichier")
	// Another donor cannot confirm this donor's preview.
	f.other.Get("/fr/donations/import")
	confirm.Set("csrf", f.other.CSRF)
	resp, body = f.other.PostForm("/donations/import/confirm", confirm)
	wantStatus(t, "other donor", resp, body, http.StatusBadRequest)

	confirm.Set("csrf", f.donor.CSRF)
	resp, body = f.donor.PostForm("/donations/import/confirm", confirm)
	loc := wantDonationRedirect(t, "confirm", resp, body)
	if d, n := countDonations(t, f.env); d != 1 || n != 50 {
		t.Fatalf("%d donations, %d devices", d, n)
	}
	_, body = f.donor.Get(loc)
	mustContain(t, "detail", body, "<h1>Parc 2018</h1>", "Don importé. Merci !", "50 appareils, 50.0 kg", "Salle 3", "PF0025", `rel="next"`)
	_, body = f.donor.Get(loc + "?page=2")
	mustContain(t, "page 2", body, "PF0026", "Souris")
}

func TestDonationScopingAndActions(t *testing.T) {
	f := mustDonationFixture(t)
	ctx := context.Background()
	line := []donation.Line{{Category: "laptop", Quantity: 2, WeightKg: 2}}
	mine, err := f.env.DB.CreateDonation(ctx, f.donorOrg.ID, nil, "Mon don", "", line)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := f.env.DB.CreateDonation(ctx, f.otherOrg.ID, nil, "Leur don", "", line)
	if err != nil {
		t.Fatal(err)
	}
	minePath, theirsPath := fmt.Sprintf("/donations/%d", mine.ID), fmt.Sprintf("/donations/%d", theirs.ID)

	_, body := f.donor.Get("/donations")
	mustContain(t, "donor list", body, "Mon don", "1 dons")
	if strings.Contains(body, "Leur don") {
		t.Error("a donor lists another donor's donation")
	}
	if resp, _ := f.donor.Get(theirsPath); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another donor's donation: %d", resp.StatusCode)
	}
	_, body = f.tech.Get("/donations")
	mustContain(t, "technician list", body, "Aucun don pour l&#39;instant.")
	if resp, _ := f.tech.Get(minePath); resp.StatusCode != http.StatusNotFound {
		t.Errorf("technician reads an unassigned donation: %d", resp.StatusCode)
	}
	_, body = f.op.Get("/donations?state=declared")
	mustContain(t, "operator list", body, "Mon don", "Leur don", "2 dons")

	// The operator assigns; a bad choice keeps the page with the error.
	_, body = f.op.Get(minePath)
	mustContain(t, "operator detail", body, `<option value="`+fmt.Sprint(f.shop.ID)+`">Atelier Berriz</option>`)
	if strings.Contains(body, `action="`+minePath+`/state"`) {
		t.Error("state change offered before any workshop")
	}
	resp, body := f.op.PostForm(minePath+"/workshop", url.Values{"workshop": {fmt.Sprint(f.otherOrg.ID)}})
	wantStatus(t, "bad workshop", resp, body, http.StatusBadRequest)
	mustContain(t, "bad workshop", body, `href="#f-workshop"`, "Choisissez un atelier actif.")
	resp, body = f.op.PostForm(minePath+"/workshop", url.Values{"workshop": {fmt.Sprint(f.shop.ID)}})
	wantDonationRedirect(t, "assign", resp, body)
	resp, _ = f.donor.PostForm(minePath+"/workshop", url.Values{"workshop": {fmt.Sprint(f.shop.ID)}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor assigns: %d", resp.StatusCode)
	}

	// The technician now sees it and moves it on; a stale form conflicts.
	_, body = f.tech.Get("/donations")
	mustContain(t, "technician list", body, "Mon don", "Atelier Berriz")
	_, body = f.tech.Get(minePath)
	mustContain(t, "technician detail", body, "Marquer comme collecté", `name="from" value="declared"`)
	if strings.Contains(body, `action="`+minePath+`/workshop"`) {
		t.Error("a technician is offered the assignment")
	}
	resp, body = f.tech.PostForm(minePath+"/state", url.Values{"from": {"declared"}, "to": {"collected"}})
	wantDonationRedirect(t, "collected", resp, body)
	resp, body = f.tech.PostForm(minePath+"/state", url.Values{"from": {"declared"}, "to": {"collected"}})
	wantStatus(t, "stale", resp, body, http.StatusConflict)
	mustContain(t, "stale", body, "Quelqu&#39;un a modifié ce don entre-temps", "Marquer comme réceptionné")
	resp, body = f.tech.PostForm(minePath+"/state", url.Values{"from": {"collected"}, "to": {"closed"}})
	wantStatus(t, "skip", resp, body, http.StatusConflict)
	if resp, _ := f.tech.PostForm(theirsPath+"/state", url.Values{"from": {"declared"}, "to": {"collected"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("technician moves an unassigned donation: %d", resp.StatusCode)
	}
	resp, _ = f.donor.PostForm(minePath+"/state", url.Values{"from": {"collected"}, "to": {"received"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor changes state: %d", resp.StatusCode)
	}
	_, body = f.donor.Get(minePath)
	mustContain(t, "donor follows", body, "Collecté", "Atelier Berriz")

	// Other roles have no donations area: the policy refuses them.
	school := f.env.MustOrg(t, account.KindSchool, "Collège")
	b := f.env.SignIn(t, f.env.MustUser(t, school.ID, "Prof", false).Email)
	for _, p := range []string{"/donations", minePath} {
		if resp, _ := b.Get(p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("beneficiary %s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := b.Get("/donations/new"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("beneficiary declares: %d", resp.StatusCode)
	}
	d, err := f.env.DB.Donation(ctx, mine.ID, postgres.DonationScope{})
	if err != nil || d.State != donation.Collected {
		t.Fatalf("stored %+v %v", d, err)
	}
}
