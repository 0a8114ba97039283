package server_test

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/internal/tag"
)

type tagFixture struct {
	env                 *servertest.Env
	tech, other, op     *servertest.Browser
	donor, anon         *servertest.Browser
	techUser, opUser    account.User
	workshop, otherShop account.Organisation
	batch               postgres.TagBatch // the workshop's
	codes               []tag.Code
	otherBatch          postgres.TagBatch // the other workshop's
	otherCodes          []tag.Code
}

func mustTagFixture(t *testing.T) tagFixture {
	t.Helper()
	env := servertest.MustStart(t, servertest.Options{})
	f := tagFixture{env: env}
	f.workshop = env.MustOrg(t, account.KindWorkshop, "Atelier Berriz")
	f.otherShop = env.MustOrg(t, account.KindWorkshop, "Atelier Voisin")
	op := env.MustOrg(t, account.KindOperator, "Opérateur")
	donor := env.MustOrg(t, account.KindCompany, "Donateur")
	f.techUser = env.MustUser(t, f.workshop.ID, "Ane Tech", false)
	other := env.MustUser(t, f.otherShop.ID, "Jon Voisin", false)
	f.opUser = env.MustUser(t, op.ID, "Maddi Op", true)
	d := env.MustUser(t, donor.ID, "Don Ateur", true)
	f.tech, f.other, f.op, f.donor = env.SignIn(t, f.techUser.Email), env.SignIn(t, other.Email), env.SignIn(t, f.opUser.Email), env.SignIn(t, d.Email)
	f.anon = env.Anonymous(t)
	f.batch, f.codes = mustServerBatch(t, env.DB, f.workshop.ID, f.techUser.ID, 30)
	f.otherBatch, f.otherCodes = mustServerBatch(t, env.DB, f.otherShop.ID, other.ID, 2)
	return f
}

func mustServerBatch(t *testing.T, db *postgres.DB, orgID, userID int64, n int) (postgres.TagBatch, []tag.Code) {
	t.Helper()
	gen := func() (tag.Code, error) { return tag.Generate(rand.Reader) }
	b, codes, err := db.CreateTagBatch(context.Background(), orgID, userID, n, gen)
	if err != nil {
		t.Fatal(err)
	}
	return b, codes
}

func tagBatchPath(id int64) string { return fmt.Sprintf("/tags/%d", id) }

func TestTagBatchesList(t *testing.T) {
	f := mustTagFixture(t)
	resp, body := f.tech.Get("/tags")
	adminWantStatus(t, "workshop", resp, body, http.StatusOK)
	mustContain(t, "workshop list", body, "<h1>Étiquettes QR</h1>", `<caption>`, ": 1 lots", `href="`+tagBatchPath(f.batch.ID)+`"`,
		"Lot n° "+fmt.Sprint(f.batch.ID), "Ane Tech", `<label for="f-count">`, `action="/tags/calibration.pdf"`,
		"A4, 3 × 8 étiquettes de 70 × 37 mm", "A4, 4 × 10 étiquettes de 48,5 × 25,4 mm", "A4, 3 × 7 étiquettes de 63,5 × 38,1 mm")
	if strings.Contains(body, tagBatchPath(f.otherBatch.ID)+`"`) {
		t.Error("a workshop sees another workshop's batch")
	}
	resp, body = f.op.Get("/eu/tags")
	adminWantStatus(t, "operator", resp, body, http.StatusOK)
	mustContain(t, "operator list", body, "QR etiketak", ": 2 sorta", tagBatchPath(f.batch.ID), tagBatchPath(f.otherBatch.ID), "Atelier Voisin")

	resp, body = f.donor.Get("/tags")
	adminWantStatus(t, "donor", resp, body, http.StatusForbidden)
	resp, body = f.anon.Get("/tags")
	adminWantRedirect(t, "anonymous", resp, body, "/login?next=%2Ftags")
}

func TestTagBatchCreate(t *testing.T) {
	f := mustTagFixture(t)
	for _, count := range []string{"", "0", "1001", "-3", "douze", "1e3"} {
		resp, body := f.tech.PostForm("/tags", url.Values{"count": {count}})
		adminWantStatus(t, "count "+count, resp, body, http.StatusBadRequest)
		mustContain(t, "count "+count, body, `class="error-summary"`, `href="#f-count"`, `id="f-count-error"`,
			"Indiquez un nombre d&#39;étiquettes entre 1 et 1000.", `value="`+count+`"`)
	}
	resp, body := f.tech.PostForm("/eu/tags", url.Values{"count": {" 24 "}})
	adminWantStatus(t, "create", resp, body, http.StatusSeeOther)
	loc := resp.Header.Get("Location")
	if !regexp.MustCompile(`^/eu/tags/\d+$`).MatchString(loc) {
		t.Fatalf("redirected to %q", loc)
	}
	resp, body = f.tech.Get(loc)
	adminWantStatus(t, "new batch", resp, body, http.StatusOK)
	mustContain(t, "new batch", body, "Etiketa sorta sortu da.", "Atelier Berriz", "Sortako kodeak (24 etiketa)")
	if n := adminRows(body); n != 24 {
		t.Errorf("%d rows, want 24", n)
	}
	batches, _, err := f.env.DB.TagBatches(context.Background(), f.workshop.ID, 1)
	if err != nil || len(batches) != 2 || batches[0].Count != 24 || batches[0].CreatedByName != "Ane Tech" {
		t.Fatalf("batches: %+v, %v", batches, err)
	}
	// Operators generate batches for their own organisation; donors cannot.
	resp, body = f.op.PostForm("/tags", url.Values{"count": {"1"}})
	adminWantStatus(t, "operator", resp, body, http.StatusSeeOther)
	resp, body = f.donor.PostForm("/tags", url.Values{"count": {"1"}})
	adminWantStatus(t, "donor", resp, body, http.StatusForbidden)
}

func TestTagBatchPage(t *testing.T) {
	f := mustTagFixture(t)
	path := tagBatchPath(f.batch.ID)
	resp, body := f.tech.Get(path)
	adminWantStatus(t, "batch", resp, body, http.StatusOK)
	first := f.codes[0]
	for _, c := range f.codes[1:] {
		if c < first {
			first = c
		}
	}
	mustContain(t, "batch", body, "<h1>Lot n° "+fmt.Sprint(f.batch.ID)+"</h1>", "Codes du lot (30 étiquettes)", "Vierge",
		`<th scope="col">Code</th>`, first.String(), `href="/tags/code/`+first.String()+`/label.png"`,
		`href="/tags/code/`+first.String()+`/label.svg"`, `action="`+path+`/sheet.pdf"`, `<label for="sheet-format">`, "rel=\"next\"")
	if n := adminRows(body); n != 25 {
		t.Errorf("page 1: %d rows, want 25", n)
	}
	_, body = f.tech.Get(path + "?page=2")
	if n := adminRows(body); n != 5 {
		t.Errorf("page 2: %d rows, want 5", n)
	}
	resp, body = f.op.Get(path)
	adminWantStatus(t, "operator", resp, body, http.StatusOK)
	for who, b := range map[string]*servertest.Browser{"other workshop": f.other} {
		resp, body = b.Get(path)
		adminWantStatus(t, who, resp, body, http.StatusNotFound)
		mustContain(t, who, body, "Ce lot d&#39;étiquettes n&#39;existe pas.")
	}
	for _, p := range []string{"/tags/999999", "/tags/abc", "/tags/0"} {
		resp, body = f.tech.Get(p)
		adminWantStatus(t, p, resp, body, http.StatusNotFound)
	}
	resp, body = f.donor.Get(path)
	adminWantStatus(t, "donor", resp, body, http.StatusForbidden)
	resp, body = f.anon.Get(path)
	adminWantRedirect(t, "anonymous", resp, body, "/login?next="+url.QueryEscape(path))
}

func TestTagSheetAndCalibration(t *testing.T) {
	f := mustTagFixture(t)
	sheet := tagBatchPath(f.batch.ID) + "/sheet.pdf"
	ok := []string{
		sheet,
		sheet + "?format=4x10-48.5x25.4&offset_x=1.5&offset_y=-2",
		sheet + "?format=3x7-63.5x38.1&offset_x=-20&offset_y=20",
		sheet + "?format=3x8-70x37&offset_x=0,5&offset_y=",
		"/tags/calibration.pdf", "/tags/calibration.pdf?format=3x7-63.5x38.1&offset_x=2&offset_y=-1.25",
		"/eu/tags/calibration.pdf?format=4x10-48.5x25.4",
	}
	for _, p := range ok {
		for who, b := range map[string]*servertest.Browser{"workshop": f.tech, "operator": f.op} {
			resp, body := b.Get(p)
			adminWantStatus(t, who+" "+p, resp, "", http.StatusOK)
			if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
				t.Errorf("%s: Content-Type %q", p, ct)
			}
			if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="berriz-`) || !strings.HasSuffix(cd, `.pdf"`) {
				t.Errorf("%s: Content-Disposition %q", p, cd)
			}
			if !strings.HasPrefix(body, "%PDF-1.4") || !strings.HasSuffix(body, "%%EOF\n") {
				t.Errorf("%s: not a PDF", p)
			}
		}
	}
	bad := map[string]string{
		sheet + "?format=2x2":                      "Ce format de planche n&#39;est pas proposé.",
		sheet + "?offset_x=20.5":                   "Le décalage doit être un nombre de millimètres entre -20 et 20.",
		sheet + "?offset_y=-21":                    "Le décalage doit être",
		sheet + "?offset_x=NaN":                    "Le décalage doit être",
		sheet + "?offset_x=Inf":                    "Le décalage doit être",
		sheet + "?offset_y=abc":                    "Le décalage doit être",
		"/tags/calibration.pdf?format=A4":          "Ce format de planche",
		"/tags/calibration.pdf?offset_x=1e9":       "Le décalage doit être",
		"/eu/tags/calibration.pdf?offset_x=-20.01": "Desplazamenduak -20 eta 20",
	}
	for p, msg := range bad {
		if !strings.HasPrefix(p, "/eu/") {
			p = "/fr" + p // a Basque page visited before is remembered
		}
		resp, body := f.tech.Get(p)
		adminWantStatus(t, p, resp, body, http.StatusBadRequest)
		if !strings.Contains(body, msg) {
			t.Errorf("%s: %q not in\n%s", p, msg, body)
		}
	}
	resp, body := f.other.Get(sheet)
	adminWantStatus(t, "other workshop", resp, body, http.StatusNotFound)
	resp, body = f.donor.Get(sheet)
	adminWantStatus(t, "donor", resp, body, http.StatusForbidden)
	resp, body = f.donor.Get("/tags/calibration.pdf")
	adminWantStatus(t, "donor calibration", resp, body, http.StatusForbidden)
	resp, body = f.anon.Get(sheet)
	adminWantRedirect(t, "anonymous", resp, body, "/login?next="+url.QueryEscape(sheet))
}

func TestTagSingleLabels(t *testing.T) {
	f := mustTagFixture(t)
	code := f.codes[0]
	// Any way of writing the code names the same label.
	for _, written := range []string{code.String(), code.Compact(), strings.ToLower(code.String())} {
		resp, body := f.tech.Get("/tags/code/" + written + "/label.png")
		adminWantStatus(t, "png "+written, resp, "", http.StatusOK)
		img, err := png.Decode(strings.NewReader(body))
		if err != nil || resp.Header.Get("Content-Type") != "image/png" || img.Bounds().Dx() != 696 {
			t.Fatalf("png: %v %q %v", err, resp.Header.Get("Content-Type"), img)
		}
	}
	resp, body := f.tech.Get("/tags/code/" + code.String() + "/label.png?width=300")
	adminWantStatus(t, "png width", resp, "", http.StatusOK)
	if img, err := png.Decode(strings.NewReader(body)); err != nil || img.Bounds().Dx() != 300 {
		t.Fatalf("png width 300: %v", err)
	}
	for _, w := range []string{"10", "99999", "wide"} {
		resp, body = f.tech.Get("/tags/code/" + code.String() + "/label.png?width=" + w)
		adminWantStatus(t, "png width "+w, resp, body, http.StatusBadRequest)
		mustContain(t, "png width "+w, body, "entre 200 et 4000 pixels")
	}
	resp, body = f.op.Get("/tags/code/" + code.String() + "/label.svg")
	adminWantStatus(t, "svg", resp, "", http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "image/svg+xml" {
		t.Errorf("svg Content-Type %q", ct)
	}
	var svg struct {
		ViewBox string   `xml:"viewBox,attr"`
		Texts   []string `xml:"text"`
	}
	if err := xml.Unmarshal([]byte(body), &svg); err != nil || svg.ViewBox == "" || len(svg.Texts) != 2 || svg.Texts[0] != code.String() {
		t.Fatalf("svg: %v %+v", err, svg)
	}

	// Another workshop's tag, an unknown tag and a malformed code are all
	// unknown here.
	for _, p := range []string{
		"/tags/code/" + f.otherCodes[0].String() + "/label.png",
		"/tags/code/" + f.otherCodes[0].String() + "/label.svg",
		"/tags/code/ZZZZ-ZZZZ/label.png",
		"/tags/code/not-a-code!/label.svg",
		"/tags/code/UUUU-UUUU/label.png",
	} {
		resp, body = f.tech.Get(p)
		adminWantStatus(t, p, resp, body, http.StatusNotFound)
		mustContain(t, p, body, "Aucune étiquette ne porte ce code.")
	}
	resp, body = f.op.Get("/tags/code/" + f.otherCodes[0].String() + "/label.png")
	adminWantStatus(t, "operator, any tag", resp, "", http.StatusOK)
	resp, body = f.donor.Get("/tags/code/" + code.String() + "/label.png")
	adminWantStatus(t, "donor", resp, body, http.StatusForbidden)
	resp, body = f.anon.Get("/tags/code/" + code.String() + "/label.svg")
	adminWantStatus(t, "anonymous", resp, body, http.StatusSeeOther)
}

// The tag pages in French and Basque, with full lists: within the budgets,
// zero axe violations, no console error.
func TestTagPagesInBrowser(t *testing.T) {
	f := mustTagFixture(t)
	for i := 0; i < 30; i++ {
		mustServerBatch(t, f.env.DB, f.workshop.ID, f.techUser.ID, 1+i)
	}
	for _, lang := range []string{"", "/eu"} {
		t.Run("lang"+lang, func(t *testing.T) {
			for who, u := range map[string]account.User{"workshop": f.techUser, "operator": f.opUser} {
				tab := tagSignInTab(t, f.env, u.Email)
				for _, p := range []string{"/tags", "/tags?page=2", tagBatchPath(f.batch.ID), tagBatchPath(f.batch.ID) + "?page=2"} {
					r := tab.CheckPage(f.env.URL + lang + p)
					if r.Status != http.StatusOK {
						t.Errorf("%s %s: status %d", who, lang+p, r.Status)
					}
				}
				tab.Navigate(f.env.URL + lang + "/tags")
				if n := tab.Count("tbody tr"); n != 25 {
					t.Errorf("%s: %d batch rows, want 25", who, n)
				}
			}
		})
	}
}

func tagSignInTab(t *testing.T, env *servertest.Env, email string) *browsertest.Tab {
	t.Helper()
	tab := browsertest.MustTab(t)
	tab.Navigate(env.URL + "/login")
	tab.Fill("#f-email", email)
	tab.Fill("#f-password", servertest.Password)
	tab.Click(`main form button[type=submit]`)
	tab.Measure()
	return tab
}
