package server_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/berriz/berriz/internal/report"
	"github.com/berriz/berriz/internal/server/servertest"
)

type reportFixture struct {
	env                    *servertest.Env
	seed                   pgtest.DonorSeed
	donor, other, op, tech *servertest.Browser
	school, anon, donorAPI *servertest.Browser
	base, otherBase        string
}

func mustReportFixture(t *testing.T) reportFixture {
	t.Helper()
	env := servertest.MustStart(t, servertest.Options{})
	s := pgtest.MustDonorSeed(t, env.DB.SQL())
	f := reportFixture{env: env, seed: s}
	du := env.MustUser(t, s.Donor, "Donor", false)
	f.donor = env.SignIn(t, du.Email)
	f.donorAPI = env.API(t, env.MustToken(t, s.Donor, du.ID, "read"))
	f.other = env.SignIn(t, env.MustUser(t, s.OtherDonor, "Other donor", false).Email)
	opOrg := env.MustOrg(t, account.KindOperator, "Opérateur")
	f.op = env.SignIn(t, env.MustUser(t, opOrg.ID, "Operator", false).Email)
	f.tech = env.SignIn(t, env.MustUser(t, s.Workshop, "Tech", false).Email)
	f.school = env.SignIn(t, env.MustUser(t, s.School, "Teacher", false).Email)
	f.anon = env.Anonymous(t)
	f.base = "/reports/donor/" + strconv.FormatInt(s.Donor, 10) + "/2026"
	f.otherBase = "/reports/donor/" + strconv.FormatInt(s.OtherDonor, 10) + "/2026"
	return f
}

// The donor reads its 2026 report as a page, a CSV and a PDF, with the
// seed's exact figures.
func TestDonorReportDownloads(t *testing.T) {
	f := mustReportFixture(t)
	resp, body := f.donor.Get("/reports/donor")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, f.base+"/report.pdf") ||
		!strings.Contains(body, "/reports/donor/"+strconv.FormatInt(f.seed.Donor, 10)+"/2025/report.csv") {
		t.Fatalf("list: %d\n%s", resp.StatusCode, body)
	}
	resp, body = f.donor.Get(f.base)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Taux de réemploi : 60 % (3 appareils réemployés sur 5") ||
		!strings.Contains(body, "123,6 kg CO2e") || !strings.Contains(body, "WEEE-2026-017") ||
		!strings.Contains(body, "7KQ2-M9XD") || !strings.Contains(body, "décret n° 2023-266") {
		t.Fatalf("page: %d\n%s", resp.StatusCode, body)
	}
	// The décret's indicator: without B, the stock up to which the 2026
	// objective (50 %) is reached with A = 3; the exclusions; the articles.
	for _, want := range []string{"Objectif de 50 % atteint si votre stock de matériels informatiques réformés au 1er janvier 2026 ne dépassait pas 6 appareils.",
		"Objectif 2026 (article 3)", "Appareils comptés : 6, dont 3 remis ou préparés en vue du réemploi (A)",
		"Exclus du calcul : 1 de plus de dix ans à la date du don, 0 hors catégories 2° et 6°. Sans année déclarée : 1,",
		"article R. 543-172 du code de l", `name="stock"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// With B stated: the rate and whether the objective is reached, the
	// PDF link keeping B; a wrong B is shown as a field error.
	for stock, wants := range map[string][]string{
		"5": {"Taux du décret pour 2026 : 60 % (3 appareils réemployés ÷ 5 appareils en stock au 1er janvier", "Objectif de 50 % atteint.",
			"/report.pdf?stock=5", `value="5"`},
		"7":   {"Taux du décret pour 2026 : 42,9 % (3 appareils réemployés ÷ 7", "Objectif de 50 % non atteint."},
		"abc": {`aria-invalid="true"`, "Indiquez un nombre entier", "ne dépassait pas 6 appareils"},
	} {
		resp, body := f.donor.Get(f.base + "?stock=" + stock)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stock %s: %d", stock, resp.StatusCode)
		}
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("stock %s: page lacks %q", stock, want)
			}
		}
	}

	resp, body = f.donor.Get(f.base + "/report.csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 8 {
		t.Fatalf("csv rows %d, %v\n%s", len(rows), err, body)
	}
	if strings.Join(rows[0], ",") != strings.Join(report.CSVHeader, ",") || rows[0][0] != "donation_id" ||
		rows[0][len(rows[0])-1] != "decret_exclusion" {
		t.Fatalf("csv header %v", rows[0])
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	first, recycled, declared := rows[1], rows[4], rows[7]
	for k, want := range map[string]string{"tag": "7KQ2-M9XD", "category": "laptop", "serial": "SN-D1", "fate": "delivered",
		"reused": "true", "beneficiary_kind": "school", "delivery_commune": "64102", "delivered_on": "2026-05-04",
		"erasure_certificate": "BRZ-E-2026-000001", "net_kg_co2e": "73.6", "low_kg_co2e": "45.2", "high_kg_co2e": "140.4",
		"emissions_status": "estimated", "factor_set": "fr-ademe-2025", "year": "2019", "weee_category": "2",
		"decret_exclusion": ""} {
		if first[col[k]] != want {
			t.Errorf("csv first row %s = %q, want %q", k, first[col[k]], want)
		}
	}
	if !strings.HasSuffix(first[col["erasure_check_url"]], "/c/check-token-0001-aaaa") {
		t.Errorf("check url %q", first[col["erasure_check_url"]])
	}
	if recycled[col["fate"]] != "recycled" || recycled[col["reused"]] != "false" || recycled[col["recycling_certificate"]] != "WEEE-2026-017" ||
		recycled[col["net_kg_co2e"]] != "" || declared[col["fate"]] != "declared" || declared[col["serial"]] != "SN-D7" {
		t.Errorf("csv rows %v / %v", recycled, declared)
	}
	if tablet := rows[3]; tablet[col["year"]] != "" || tablet[col["decret_exclusion"]] != "" ||
		recycled[col["year"]] != "2015" || recycled[col["weee_category"]] != "6" || recycled[col["decret_exclusion"]] != "over_ten_years" {
		t.Errorf("csv décret columns %v / %v", tablet, recycled)
	}
	if strings.Contains(body, "Jules Ferry") || strings.Contains(body, "Lagunak") || strings.Contains(body, "SN-OTHER") {
		t.Errorf("csv names a beneficiary or another donor's device:\n%s", body)
	}

	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is missing")
	}
	resp, body = f.donor.Get(f.base + "/report.pdf?stock=5")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("pdf: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	text := strings.Join(strings.Fields(pdfText(t, []byte(body))), " ")
	for _, want := range []string{"Rapport donateur 2026 — Mairie d'Anglet", "Taux de réemploi : 60 % (3 appareils réemployés sur 5",
		"décret n° 2023-266", "123,6 kg CO2e évités (fourchette 75,2 – 240,4) pour 2 appareils remis, dont 1 consolidés",
		"7KQ2-M9XD", "SN-D1", "BRZ-E-2026-000001", "WEEE-2026-017", "Établissement scolaire,", "commune 64102",
		"Association, commune 64483", "73,6 kg (45,2 –", "50 kg (30 – 100),", "estimé", "consolidé", "Démonté pour pièces",
		"fr-ademe-2025", "Taux du décret pour 2026 : 60 % (3 appareils réemployés ÷ 5", "Objectif de 50 % atteint.",
		"Objectif 2026 (article 3)", "Exclus du calcul : 1 de plus de dix ans", "R. 543-172", "(article 1)",
		"page 1 sur 2", "page 2 sur 2"} { // the décret's section moves the devices' table on
		if !strings.Contains(text, want) {
			t.Errorf("pdf lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Jules Ferry") || strings.Contains(text, "999") {
		t.Errorf("pdf names a beneficiary or sums another set:\n%s", text)
	}
}

// Who may read which report: the donor its own, the operator any; another
// donor gets not found, other roles are refused by the policy.
func TestDonorReportAccess(t *testing.T) {
	f := mustReportFixture(t)
	api := "/api/v1" + f.base
	for _, c := range []struct {
		name string
		b    *servertest.Browser
		path string
		want int
	}{
		{"donor page", f.donor, f.base, http.StatusOK},
		{"donor api", f.donorAPI, api, http.StatusOK},
		{"donor api csv", f.donorAPI, api + "/report.csv", http.StatusOK},
		{"donor api pdf", f.donorAPI, api + "/report.pdf", http.StatusOK},
		{"donor other's", f.donor, f.otherBase, http.StatusNotFound},
		{"donor other's api", f.donorAPI, "/api/v1" + f.otherBase, http.StatusNotFound},
		{"donor bad year", f.donor, "/reports/donor/" + strconv.FormatInt(f.seed.Donor, 10) + "/abc", http.StatusNotFound},
		{"other donor page", f.other, f.base, http.StatusNotFound},
		{"other donor csv", f.other, f.base + "/report.csv", http.StatusNotFound},
		{"other donor pdf", f.other, f.base + "/report.pdf", http.StatusNotFound},
		{"other donor years", f.other, "/api/v1/reports/donor/" + strconv.FormatInt(f.seed.Donor, 10), http.StatusNotFound},
		{"operator page", f.op, f.base, http.StatusOK},
		{"operator csv", f.op, f.base + "/report.csv", http.StatusOK},
		{"operator not a donor", f.op, "/reports/donor/" + strconv.FormatInt(f.seed.School, 10) + "/2026", http.StatusNotFound},
		{"workshop", f.tech, f.base, http.StatusForbidden},
		{"beneficiary", f.school, f.base + "/report.csv", http.StatusForbidden},
		{"anonymous api", f.anon, api, http.StatusUnauthorized},
	} {
		resp, body := c.b.Get(c.path, "Accept", "application/json")
		if resp.StatusCode != c.want {
			t.Errorf("%s: GET %s = %d, want %d\n%.300s", c.name, c.path, resp.StatusCode, c.want, body)
		}
	}
	// The other donor's list shows its own year only; the operator picks.
	_, body := f.other.Get("/reports/donor")
	if !strings.Contains(body, f.otherBase) || strings.Contains(body, f.base) {
		t.Errorf("other donor's list:\n%s", body)
	}
	_, body = f.op.Get("/reports/donor?org=" + strconv.FormatInt(f.seed.Donor, 10))
	if !strings.Contains(body, f.base+"/report.csv") || !strings.Contains(body, "Entreprise Voisine") {
		t.Errorf("operator's list:\n%s", body)
	}
	_, body = f.donorAPI.Get(api)
	var r report.DonorReport
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Summary.ReuseRatePct == nil || *r.Summary.ReuseRatePct != 60 ||
		len(r.Devices) != 7 || r.Summary.NetKg != 123.6 {
		t.Errorf("api report %v: %s", err, body)
	}
	_, body = f.donorAPI.Get(api + "?stock=7")
	r = report.DonorReport{}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Summary.Decret.Stock == nil || *r.Summary.Decret.Stock != 7 ||
		r.Summary.Decret.RatePct == nil || *r.Summary.Decret.RatePct != 42.9 || r.Summary.Decret.Reached == nil ||
		*r.Summary.Decret.Reached || r.Summary.Decret.Reused != 3 || r.Devices[3].DecretExclusion != "over_ten_years" {
		t.Errorf("api report with stock %v: %s", err, body)
	}
	for _, path := range []string{api + "?stock=-1", api + "?stock=abc", api + "/report.pdf?stock=2000000"} {
		if resp, body := f.donorAPI.Get(path, "Accept", "application/json"); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s = %d, want 400\n%.300s", path, resp.StatusCode, body)
		}
	}
}
