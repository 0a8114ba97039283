package server_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/postgres"
)

const (
	goodCategories = "category,central_kg,low_kg,high_kg,ref_life_years,second_life_years,base_refurb_kg,typical_weight_kg,quality,source\n" +
		"laptop,200,150,300,5,3,4,2,A,ADEME 2026\n"
	goodParts     = "part,kg_new,source\nssd_256gb,20,Boavizta\n"
	badCategories = "category,central_kg,low_kg,high_kg,ref_life_years,second_life_years,base_refurb_kg,typical_weight_kg,quality,source\n" +
		"laptop,200,150,300,5,3,4,2,A,ADEME 2026\n" +
		"tablet,8O,41,121,3,2.5,3,0.5,A,ADEME\n"
)

// factorSetBody is the import form as multipart/form-data.
func factorSetBody(t *testing.T, fields map[string]string, categories, parts string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{"categories": categories, "parts": parts} {
		if data == "" {
			continue
		}
		fw, err := w.CreateFormFile(name, name+".csv")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(data))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, w.FormDataContentType()
}

func setCount(t *testing.T, f handoverFix) int {
	t.Helper()
	var n int
	if err := f.env.DB.SQL().QueryRow(`SELECT count(*) FROM factor_sets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// mustDeliveredFix delivers the fixture's device: prepared from the page,
// confirmed by the school.
func mustDeliveredFix(t *testing.T) handoverFix {
	t.Helper()
	f := mustHandoverFix(t, 1)
	loc := f.mustPreparePage(t, f.reservations...)
	var id int64
	fmt.Sscanf(loc, "/handovers/%d", &id)
	if _, err := f.env.DB.ConfirmHandover(context.Background(), id, postgres.HandoverScope{}, allocation.BoughtNew, f.teacherP); err != nil {
		t.Fatal(err)
	}
	return f
}

// A delivered device shows its result on its page and its passport, and
// through the API to whoever may see it.
func TestDeviceEmissionsShown(t *testing.T) {
	f := mustDeliveredFix(t)
	dev := fmt.Sprintf("/devices/%d", f.devices[0])
	resp, body := f.tech.Get(dev)
	adminWantStatus(t, "device page", resp, body, http.StatusOK)
	// 0.7 × 182.3 × 3/5 − 3 = 73.6; low 0.5 × 156 × 0.6 − 3, high 1.0 × 339 × 0.6 − 3.
	mustContain(t, "device page", body, "Émissions évitées", "73.6 kg CO2e (de 43.8 à 200.4)", "estimé", "fr-ademe-2025 v1")
	resp, body = f.env.Anonymous(t).Get("/t/" + strings.ReplaceAll(f.tags[0], "-", ""))
	adminWantStatus(t, "passport", resp, body, http.StatusOK)
	mustContain(t, "passport", body, "Environ 74 kg CO2e de fabrication évités (entre 44 et 200)")

	api := "/api/v1/devices/" + fmt.Sprint(f.devices[0]) + "/emissions"
	resp, body = f.env.API(t, f.techToken).Get(api)
	adminWantStatus(t, "api", resp, body, http.StatusOK)
	mustContain(t, "api", body, `"total":1`, `"status":"estimated"`, `"current":true`, `"factor_set":"fr-ademe-2025"`, `"d":0.7`)
	resp, body = f.env.API(t, f.otherTechToken).Get(api)
	adminWantStatus(t, "other workshop", resp, body, http.StatusNotFound)
}

// The operator imports a set (a bad file refused with its lines, nothing
// saved), chooses it (with confirmation), and the job adds its results;
// nobody else reaches these pages.
func TestFactorSetPages(t *testing.T) {
	f := mustDeliveredFix(t)
	resp, body := f.op.Get("/admin")
	mustContain(t, "hub", body, `href="/admin/factor-sets"`)
	resp, body = f.op.Get("/admin/factor-sets")
	adminWantStatus(t, "list", resp, body, http.StatusOK)
	mustContain(t, "list", body, "fr-ademe-2025", "26 catégories, 14 pièces", "Oui, sert aux calculs")
	resp, body = f.op.Get("/admin/factor-sets/fr-ademe-2025")
	adminWantStatus(t, "set", resp, body, http.StatusOK)
	mustContain(t, "set", body, "Ordinateur portable (laptop)", "182.3 (156–339)", "publicodes-acv-numerique")
	resp, body = f.op.Get("/admin/factor-sets/fr-ademe-2025?rows=parts")
	mustContain(t, "parts", body, "ssd_256gb", "Boavizta SSD formula")
	for _, b := range []struct {
		name string
		get  func(string, ...string) (*http.Response, string)
	}{{"tech", f.tech.Get}, {"donor", f.donor.Get}, {"teacher", f.teacher.Get}} {
		if resp, _ := b.get("/admin/factor-sets"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", b.name, resp.StatusCode)
		}
	}

	f.op.Get("/admin/factor-sets/new")
	fields := map[string]string{"csrf": f.op.CSRF, "id": "fr-test-2026", "version": "2026.1", "released_on": "2026-06-01"}
	body2, ct := factorSetBody(t, fields, badCategories, "")
	resp, body = f.op.Do(http.MethodPost, "/admin/factor-sets", body2, "Content-Type", ct)
	adminWantStatus(t, "bad import", resp, body, http.StatusBadRequest)
	mustContain(t, "bad import", body, "Choisissez le fichier CSV", "<th scope=\"row\">3</th><td>central_kg</td>",
		"« 8O » n&#39;est pas un nombre", `value="fr-test-2026"`)
	if n := setCount(t, f); n != 1 {
		t.Fatalf("%d sets after a refused import", n)
	}
	fields["csrf"] = f.op.CSRF
	body2, ct = factorSetBody(t, fields, goodCategories, goodParts)
	resp, body = f.op.Do(http.MethodPost, "/admin/factor-sets", body2, "Content-Type", ct)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/factor-sets/fr-test-2026" {
		t.Fatalf("import: %d %s\n%.1500s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, body = f.op.Get("/admin/factor-sets/fr-test-2026")
	mustContain(t, "new set", body, "Jeu de facteurs importé", "Rendre ce jeu actif")
	resp, body = f.op.PostForm("/admin/factor-sets/fr-test-2026/activate", nil)
	adminWantStatus(t, "unconfirmed", resp, body, http.StatusBadRequest)
	mustContain(t, "unconfirmed", body, "Cochez la case")
	resp, _ = f.op.PostForm("/admin/factor-sets/fr-test-2026/activate", map[string][]string{"confirm": {"on"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("activate: %d", resp.StatusCode)
	}
	_, body = f.op.Get("/admin/factor-sets/fr-test-2026")
	mustContain(t, "activated", body, "maintenant actif", "calcul des résultats des appareils déjà remis en cours")
	f.env.Server.RunJobsOnce(context.Background())
	_, body = f.op.Get("/admin/factor-sets/fr-test-2026")
	mustContain(t, "filled", body, "tous les appareils remis ont leur résultat")
	_, body = f.env.API(t, f.techToken).Get(fmt.Sprintf("/api/v1/devices/%d/emissions", f.devices[0]))
	mustContain(t, "both sets", body, `"total":2`, `"factor_set":"fr-test-2026"`, `"factor_set":"fr-ademe-2025"`)
}

// The JSON API of factor sets: operators only; a bad file is 400 with
// every line error and nothing written.
func TestFactorSetAPI(t *testing.T) {
	f := mustHandoverFix(t, 1)
	op := f.env.API(t, f.env.MustToken(t, f.opP.OrgID, f.opP.UserID, "write"))
	resp, body := op.Get("/api/v1/factor-sets")
	adminWantStatus(t, "list", resp, body, http.StatusOK)
	mustContain(t, "list", body, `"id":"fr-ademe-2025"`, `"active":true`, `"categories":26`, `"parts":14`)
	resp, body = op.Get("/api/v1/factor-sets/fr-ademe-2025")
	mustContain(t, "set", body, `"category":"laptop","central_kg":182.3`, `"part":"ssd_256gb","kg_new":17.7`)
	resp, body = op.Get("/api/v1/factor-sets/nope")
	adminWantStatus(t, "unknown", resp, body, http.StatusNotFound)
	for _, tok := range []string{f.techToken, f.teacherToken, f.donorToken} {
		resp, body = f.env.API(t, tok).Get("/api/v1/factor-sets")
		adminWantStatus(t, "not an operator", resp, body, http.StatusForbidden)
	}

	b, ct := factorSetBody(t, map[string]string{"id": "fr-test-2026", "version": ""}, badCategories, "part,kg_new\n")
	resp, body = op.Do(http.MethodPost, "/api/v1/factor-sets", b, "Content-Type", ct)
	adminWantStatus(t, "bad import", resp, body, http.StatusBadRequest)
	mustContain(t, "bad import", body, `"version":`, `"categories":`, `"parts":`, `"file":"categories","line":3,"column":"central_kg","value":"8O"`,
		`"file":"parts","line":1,"column":"3"`, "n'est pas un nombre")
	if n := setCount(t, f); n != 1 {
		t.Fatalf("%d sets after a refused import", n)
	}
	b, ct = factorSetBody(t, map[string]string{"id": "fr-test-2026", "version": "1"}, goodCategories, goodParts)
	resp, body = f.env.API(t, f.techToken).Do(http.MethodPost, "/api/v1/factor-sets", b, "Content-Type", ct)
	adminWantStatus(t, "technician", resp, body, http.StatusForbidden)
	b, ct = factorSetBody(t, map[string]string{"id": "fr-test-2026", "version": "1"}, goodCategories, goodParts)
	resp, body = op.Do(http.MethodPost, "/api/v1/factor-sets", b, "Content-Type", ct)
	adminWantStatus(t, "import", resp, body, http.StatusCreated)
	mustContain(t, "import", body, `"id":"fr-test-2026"`, `"active":false`, `"categories":1`)
	resp, body = f.env.API(t, f.techToken).Do(http.MethodPost, "/api/v1/factor-sets/fr-test-2026/activate", nil)
	adminWantStatus(t, "technician activates", resp, body, http.StatusForbidden)
	resp, body = op.Do(http.MethodPost, "/api/v1/factor-sets/fr-test-2026/activate", nil)
	adminWantStatus(t, "activate", resp, body, http.StatusOK)
	mustContain(t, "activate", body, `"active":true`)
	_, body = op.Get("/api/v1/factor-sets")
	if strings.Count(body, `"active":true`) != 1 {
		t.Fatalf("one active set: %s", body)
	}
}
