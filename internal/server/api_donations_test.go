package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
)

// donationAPIFixture adds two donor organisations, with a write token
// each, to the API fixture.
type donationAPIFixture struct {
	*apiFixture
	doc                map[string]any
	donorA, donorB     account.Organisation
	donorTok, otherTok string
	techTok, donorRead string
}

func mustDonationAPIFixture(t *testing.T) *donationAPIFixture {
	t.Helper()
	f := &donationAPIFixture{apiFixture: mustAPIFixture(t)}
	f.doc = mustOpenAPI(t, f.env)
	f.donorA = f.env.MustOrg(t, account.KindCommune, "Ville de Bayonne")
	f.donorB = f.env.MustOrg(t, account.KindCompany, "Itsasoa Conseil")
	a := f.env.MustUser(t, f.donorA.ID, "Sophie Harriet", false)
	b := f.env.MustUser(t, f.donorB.ID, "Marc Duhalde", false)
	f.donorTok = f.env.MustToken(t, f.donorA.ID, a.ID, "write")
	f.donorRead = f.env.MustToken(t, f.donorA.ID, a.ID, "read")
	f.otherTok = f.env.MustToken(t, f.donorB.ID, b.ID, "write")
	f.techTok = f.env.MustToken(t, f.workshop.ID, f.otherUser.ID, "write")
	return f
}

type apiDonation struct {
	ID         int64   `json:"id"`
	DonorOrgID int64   `json:"donor_organisation_id"`
	WorkshopID int64   `json:"workshop_organisation_id"`
	State      string  `json:"state"`
	Devices    int     `json:"devices"`
	WeightKg   float64 `json:"weight_kg"`
}

// want checks the status and, on success, that the body conforms to the
// schema of the document.
func (f *donationAPIFixture) want(t *testing.T, name string, status int, schema string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: %d, want %d\n%s", name, resp.StatusCode, status, body)
	}
	if schema != "" {
		var v any
		mustDecodeJSON(t, body, &v)
		conformsTo(t, f.doc, name, schemaRef(schema), v)
	}
}

func wantErrorCode(t *testing.T, name, body, code string) {
	t.Helper()
	var e struct {
		Error struct {
			Code   string            `json:"code"`
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	mustDecodeJSON(t, body, &e)
	if e.Error.Code != code {
		t.Errorf("%s: error code %q, want %q\n%s", name, e.Error.Code, code, body)
	}
}

var sampleDonation = map[string]any{
	"title": "Renouvellement du parc de la mairie",
	"notes": "À prendre au service informatique",
	"lines": []map[string]any{
		{"category": "laptop", "brand": "Lenovo", "model": "ThinkPad T480", "year": 2019, "quantity": 3, "storage_drives": 1},
		{"category": "monitor_24", "brand": "Dell", "model": "P2419H", "serial": "CN0XYZ123", "weight_kg": 4.5},
	},
}

func TestAPIDonationsLifecycle(t *testing.T) {
	f := mustDonationAPIFixture(t)

	// A donor declares, for its own organisation.
	resp, body := f.call(t, f.donorTok, http.MethodPost, "/api/v1/donations", sampleDonation)
	f.want(t, "create", http.StatusCreated, "Donation", resp, body)
	var d apiDonation
	mustDecodeJSON(t, body, &d)
	if d.DonorOrgID != f.donorA.ID || d.State != "declared" || d.Devices != 4 || d.WeightKg <= 4.5 {
		t.Errorf("created %+v", d)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/v1/donations/"+idStr(d.ID) {
		t.Errorf("Location %q", loc)
	}
	path := "/api/v1/donations/" + idStr(d.ID)

	// Its owner reads it, its devices and its list.
	resp, body = f.call(t, f.donorTok, http.MethodGet, path, nil)
	f.want(t, "get", http.StatusOK, "Donation", resp, body)
	resp, body = f.call(t, f.donorRead, http.MethodGet, path+"/devices", nil)
	f.want(t, "devices", http.StatusOK, "DevicePage", resp, body)
	wantPageTotal(4)(t, resp, body)
	resp, body = f.call(t, f.donorTok, http.MethodGet, "/api/v1/donations?state=declared", nil)
	f.want(t, "list", http.StatusOK, "DonationPage", resp, body)
	wantPageTotal(1)(t, resp, body)
	resp, body = f.call(t, f.donorTok, http.MethodGet, "/api/v1/donations?state=collected", nil)
	wantPageTotal(0)(t, resp, body)
	resp, body = f.call(t, f.donorTok, http.MethodGet, "/api/v1/donations?state=bogus", nil)
	f.want(t, "bad state filter", http.StatusBadRequest, "Error", resp, body)

	// Another donor, and the workshop before assignment, see nothing.
	for _, tok := range []string{f.otherTok, f.techTok} {
		for _, p := range []string{path, path + "/devices"} {
			resp, body = f.call(t, tok, http.MethodGet, p, nil)
			f.want(t, "foreign "+p, http.StatusNotFound, "Error", resp, body)
		}
		resp, body = f.call(t, tok, http.MethodGet, "/api/v1/donations", nil)
		wantPageTotal(0)(t, resp, body)
	}
	resp, body = f.call(t, f.techTok, http.MethodPost, path+"/state", map[string]string{"state": "collected"})
	f.want(t, "state before assignment", http.StatusNotFound, "Error", resp, body)

	// The operator assigns it; a donor may not.
	resp, body = f.call(t, f.donorTok, http.MethodPost, path+"/workshop", map[string]int64{"workshop_id": f.workshop.ID})
	f.want(t, "donor assigns", http.StatusForbidden, "Error", resp, body)
	resp, body = f.call(t, f.op, http.MethodPost, path+"/workshop", map[string]int64{"workshop_id": f.school.ID})
	f.want(t, "assign to a school", http.StatusBadRequest, "Error", resp, body)
	if !strings.Contains(body, `"workshop_id"`) {
		t.Errorf("assign to a school: %s", body)
	}
	resp, body = f.call(t, f.op, http.MethodPost, path+"/workshop", map[string]int64{"workshop_id": f.workshop.ID})
	f.want(t, "assign", http.StatusOK, "Donation", resp, body)
	mustDecodeJSON(t, body, &d)
	if d.WorkshopID != f.workshop.ID {
		t.Errorf("assigned %+v", d)
	}

	// The workshop now sees it and moves it on, once.
	resp, body = f.call(t, f.techTok, http.MethodGet, path+"/devices", nil)
	wantPageTotal(4)(t, resp, body)
	resp, body = f.call(t, f.techTok, http.MethodPost, path+"/state", map[string]string{"state": "collected", "from": "declared"})
	f.want(t, "collect", http.StatusOK, "Donation", resp, body)
	mustDecodeJSON(t, body, &d)
	if d.State != "collected" {
		t.Errorf("collected %+v", d)
	}
	resp, body = f.call(t, f.techTok, http.MethodPost, path+"/state", map[string]string{"state": "collected", "from": "declared"})
	f.want(t, "collect twice", http.StatusConflict, "Error", resp, body)
	resp, body = f.call(t, f.techTok, http.MethodPost, path+"/state", map[string]string{"state": "closed"})
	f.want(t, "skip a state", http.StatusConflict, "Error", resp, body)
	resp, body = f.call(t, f.techTok, http.MethodPost, path+"/state", map[string]string{"state": "gone"})
	f.want(t, "unknown state", http.StatusBadRequest, "Error", resp, body)
	// The donor follows it but may not move it.
	resp, body = f.call(t, f.donorTok, http.MethodPost, path+"/state", map[string]string{"state": "received"})
	f.want(t, "donor moves", http.StatusForbidden, "Error", resp, body)
}

// Beneficiaries and the observatory are refused by the policy; read-only
// tokens may not write.
func TestAPIDonationsRefused(t *testing.T) {
	f := mustDonationAPIFixture(t)
	resp, body := f.call(t, f.donorTok, http.MethodPost, "/api/v1/donations", sampleDonation)
	f.want(t, "create", http.StatusCreated, "Donation", resp, body)
	var d apiDonation
	mustDecodeJSON(t, body, &d)
	path := "/api/v1/donations/" + idStr(d.ID)

	for _, tc := range []struct {
		name, tok, method, path string
		body                    any
		code                    string
	}{
		{"beneficiary lists", f.memberTok, http.MethodGet, "/api/v1/donations", nil, "forbidden"},
		{"beneficiary reads", f.admin, http.MethodGet, path, nil, "forbidden"},
		{"beneficiary declares", f.memberTok, http.MethodPost, "/api/v1/donations", sampleDonation, "forbidden"},
		{"observatory lists", f.obs, http.MethodGet, "/api/v1/donations", nil, "forbidden"},
		{"observatory declares", f.obs, http.MethodPost, "/api/v1/donations", sampleDonation, "forbidden"},
		{"observatory imports", f.obs, http.MethodPost, "/api/v1/donations/import?title=x", "category\nlaptop\n", "forbidden"},
		{"read token declares", f.donorRead, http.MethodPost, "/api/v1/donations", sampleDonation, "forbidden"},
		{"read operator assigns", f.opRead, http.MethodPost, path + "/workshop", map[string]int64{"workshop_id": f.workshop.ID}, "forbidden"},
	} {
		headers := []string{}
		if strings.Contains(tc.path, "import") {
			headers = []string{"Content-Type", "text/csv"}
		}
		resp, body := f.call(t, tc.tok, tc.method, tc.path, tc.body, headers...)
		f.want(t, tc.name, http.StatusForbidden, "Error", resp, body)
		wantErrorCode(t, tc.name, body, tc.code)
	}
	// Nothing changed.
	resp, body = f.call(t, f.op, http.MethodGet, "/api/v1/donations", nil)
	wantPageTotal(1)(t, resp, body)
}

func TestAPIDonationCreateInvalid(t *testing.T) {
	f := mustDonationAPIFixture(t)
	for _, tc := range []struct {
		name, tok string
		body      any
		field     string
	}{
		{"unknown category", f.donorTok, map[string]any{"title": "Lot", "lines": []map[string]any{{"category": "toaster"}}}, "lines[0].category"},
		{"serial with quantity", f.donorTok, map[string]any{"title": "Lot", "lines": []map[string]any{{"category": "laptop"}, {"category": "laptop", "serial": "A1", "quantity": 2}}}, "lines[1].quantity"},
		{"no lines", f.donorTok, map[string]any{"title": "Lot", "lines": []any{}}, "lines"},
		{"no title", f.donorTok, map[string]any{"lines": []map[string]any{{"category": "laptop"}}}, "title"},
		{"weight", f.donorTok, map[string]any{"title": "Lot", "lines": []map[string]any{{"category": "laptop", "weight_kg": -1}}}, "lines[0].weight_kg"},
		{"other donor", f.donorTok, map[string]any{"title": "Lot", "donor_organisation_id": f.donorB.ID, "lines": []map[string]any{{"category": "laptop"}}}, "donor_organisation_id"},
		{"operator without donor", f.op, map[string]any{"title": "Lot", "lines": []map[string]any{{"category": "laptop"}}}, "donor_organisation_id"},
		{"operator for a workshop", f.op, map[string]any{"title": "Lot", "donor_organisation_id": f.workshop.ID, "lines": []map[string]any{{"category": "laptop"}}}, "donor_organisation_id"},
		{"unknown field", f.donorTok, map[string]any{"title": "Lot", "lines": []map[string]any{{"category": "laptop", "colour": "red"}}}, "colour"},
		{"wrong type", f.donorTok, `{"title": "Lot", "lines": [{"category": "laptop", "quantity": "two"}]}`, "lines.quantity"},
	} {
		resp, body := f.call(t, tc.tok, http.MethodPost, "/api/v1/donations", tc.body)
		f.want(t, tc.name, http.StatusBadRequest, "Error", resp, body)
		var e struct {
			Error struct{ Fields map[string]string } `json:"error"`
		}
		mustDecodeJSON(t, body, &e)
		if e.Error.Fields[tc.field] == "" {
			t.Errorf("%s: no error on %s: %s", tc.name, tc.field, body)
		}
	}
	for _, bad := range []string{"", "[]", "{", `{"title": "a"} {}`, "null"} {
		resp, body := f.call(t, f.donorTok, http.MethodPost, "/api/v1/donations", bad)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("body %q: %d %s", bad, resp.StatusCode, body)
		}
	}
	// The operator declares for a donor.
	resp, body := f.call(t, f.op, http.MethodPost, "/api/v1/donations",
		map[string]any{"title": "Lot", "donor_organisation_id": f.donorB.ID, "lines": []map[string]any{{"category": "smartphone", "quantity": 10}}})
	f.want(t, "operator declares", http.StatusCreated, "Donation", resp, body)
	resp, body = f.call(t, f.otherTok, http.MethodGet, "/api/v1/donations", nil)
	wantPageTotal(1)(t, resp, body)
	resp, body = f.call(t, f.donorTok, http.MethodGet, "/api/v1/donations", nil)
	wantPageTotal(0)(t, resp, body)
}

const goodCSV = "category;brand;model;serial;year;quantity;storage_drives;weight_kg;notes\n" +
	"laptop;HP;EliteBook 840 G5;5CG8123ABC;2018;1;1;1,5;\n" +
	"desktop;Dell;OptiPlex 7060;;2018;2;1;;bureau\n" +
	"smartphone;Samsung;Galaxy A52;;2021;3;0;;\n"

func TestAPIDonationImport(t *testing.T) {
	f := mustDonationAPIFixture(t)
	csvHeaders := []string{"Content-Type", "text/csv; charset=utf-8"}

	resp, body := f.call(t, f.donorTok, http.MethodPost, "/api/v1/donations/import?title=Parc+2018", goodCSV, csvHeaders...)
	f.want(t, "import", http.StatusCreated, "Donation", resp, body)
	var d apiDonation
	mustDecodeJSON(t, body, &d)
	if d.Devices != 6 || d.DonorOrgID != f.donorA.ID || resp.Header.Get("Location") != "/api/v1/donations/"+idStr(d.ID) {
		t.Errorf("imported %+v", d)
	}

	// A file with mistakes: every one with its line and column, translated,
	// and nothing saved.
	bad := "category,brand,quantity,year\nlaptop,HP,1,2019\ntoaster,Moulinex,1,2019\nlaptop,HP,zero,1970\n"
	resp, body = f.call(t, f.donorTok, http.MethodPost, "/en/api/v1/donations/import?title=Lot", bad, csvHeaders...)
	if resp.StatusCode == http.StatusNotFound {
		resp, body = f.call(t, f.donorTok, http.MethodPost, "/api/v1/donations/import?title=Lot", bad, append(csvHeaders, "Accept-Language", "en")...)
	}
	f.want(t, "faulty file", http.StatusBadRequest, "Error", resp, body)
	var e struct {
		Error struct {
			Code  string `json:"code"`
			Lines []struct {
				Line    int    `json:"line"`
				Column  string `json:"column"`
				Message string `json:"message"`
				Hint    string `json:"hint"`
			} `json:"lines"`
		} `json:"error"`
	}
	mustDecodeJSON(t, body, &e)
	found := map[string]bool{}
	for _, l := range e.Error.Lines {
		found[idStr(int64(l.Line))+":"+l.Column] = true
		if l.Message == "" || l.Hint == "" || strings.HasPrefix(l.Message, "donation.") || strings.HasPrefix(l.Hint, "donation.") {
			t.Errorf("untranslated line error %+v", l)
		}
	}
	for _, want := range []string{"3:category", "4:quantity", "4:year"} {
		if !found[want] {
			t.Errorf("no error at %s: %s", want, body)
		}
	}
	if e.Error.Code != "invalid" || len(e.Error.Lines) < 3 {
		t.Errorf("faulty file: %s", body)
	}

	// Whatever the body, a clear 4xx and nothing saved.
	for _, tc := range []struct {
		name, query, body string
		headers           []string
		status            int
	}{
		{"empty", "title=Lot", "", csvHeaders, http.StatusBadRequest},
		{"header only", "title=Lot", "category\n", csvHeaders, http.StatusBadRequest},
		{"unknown column", "title=Lot", "category,colour\nlaptop,red\n", csvHeaders, http.StatusBadRequest},
		{"binary", "title=Lot", "\xff\xfe\x00c\x00a", csvHeaders, http.StatusBadRequest},
		{"no title", "", goodCSV, csvHeaders, http.StatusBadRequest},
		{"JSON body", "title=Lot", `{"lines": []}`, []string{"Content-Type", "application/json"}, http.StatusUnsupportedMediaType},
		{"other donor", "title=Lot&donor_organisation_id=" + idStr(f.donorB.ID), goodCSV, csvHeaders, http.StatusBadRequest},
		{"bad donor id", "title=Lot&donor_organisation_id=abc", goodCSV, csvHeaders, http.StatusBadRequest},
		{"too large", "title=Lot", "category\n" + strings.Repeat("laptop\n", 700000), csvHeaders, http.StatusRequestEntityTooLarge},
	} {
		resp, body := f.call(t, f.donorTok, http.MethodPost, "/api/v1/donations/import?"+tc.query, tc.body, tc.headers...)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d\n%.300s", tc.name, resp.StatusCode, tc.status, body)
			continue
		}
		var v any
		if json.Unmarshal([]byte(body), &v) != nil {
			t.Errorf("%s: not JSON: %.300s", tc.name, body)
			continue
		}
		conformsTo(t, f.doc, tc.name, schemaRef("Error"), v)
	}
	resp, body = f.call(t, f.op, http.MethodGet, "/api/v1/donations", nil)
	wantPageTotal(1)(t, resp, body)

	// An operator imports for a donor it names, and must name one.
	resp, body = f.call(t, f.op, http.MethodPost, "/api/v1/donations/import?title=Lot", goodCSV, csvHeaders...)
	f.want(t, "operator without donor", http.StatusBadRequest, "Error", resp, body)
	resp, body = f.call(t, f.op, http.MethodPost, "/api/v1/donations/import?title=Lot&donor_organisation_id="+idStr(f.donorB.ID), goodCSV, csvHeaders...)
	f.want(t, "operator import", http.StatusCreated, "Donation", resp, body)
	mustDecodeJSON(t, body, &d)
	if d.DonorOrgID != f.donorB.ID {
		t.Errorf("operator import %+v", d)
	}
}
