package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
)

var printedCodeRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

type apiTagBatchCodes struct {
	Batch struct {
		ID    int64 `json:"id"`
		OrgID int64 `json:"organisation_id"`
		Count int   `json:"count"`
	} `json:"batch"`
	Codes []string `json:"codes"`
}

func TestAPITagBatches(t *testing.T) {
	f := mustDonationAPIFixture(t)
	otherShop := f.env.MustOrg(t, account.KindWorkshop, "Insertion numérique Hendaye")
	otherTech := f.env.MustUser(t, otherShop.ID, "Kevin Olhagaray", false)
	otherTok := f.env.MustToken(t, otherShop.ID, otherTech.ID, "write")

	resp, body := f.call(t, f.techTok, http.MethodPost, "/api/v1/tags/batches", map[string]int{"count": 30})
	f.want(t, "create", http.StatusCreated, "TagBatchCodes", resp, body)
	var created apiTagBatchCodes
	mustDecodeJSON(t, body, &created)
	if created.Batch.OrgID != f.workshop.ID || created.Batch.Count != 30 || len(created.Codes) != 30 {
		t.Fatalf("created %+v", created)
	}
	seen := map[string]bool{}
	for _, c := range created.Codes {
		if !printedCodeRE.MatchString(c) || seen[c] {
			t.Errorf("code %q malformed or repeated", c)
		}
		seen[c] = true
	}
	path := "/api/v1/tags/batches/" + idStr(created.Batch.ID)
	if loc := resp.Header.Get("Location"); loc != path {
		t.Errorf("Location %q", loc)
	}

	resp, body = f.call(t, f.techTok, http.MethodGet, "/api/v1/tags/batches", nil)
	f.want(t, "list", http.StatusOK, "TagBatchPage", resp, body)
	wantPageTotal(1)(t, resp, body)
	resp, body = f.call(t, f.op, http.MethodGet, "/api/v1/tags/batches", nil)
	wantPageTotal(1)(t, resp, body)
	resp, body = f.call(t, otherTok, http.MethodGet, "/api/v1/tags/batches", nil)
	wantPageTotal(0)(t, resp, body)

	resp, body = f.call(t, f.techTok, http.MethodGet, path, nil)
	f.want(t, "get", http.StatusOK, "TagBatchCodes", resp, body)
	var got apiTagBatchCodes
	mustDecodeJSON(t, body, &got)
	if len(got.Codes) != 30 {
		t.Errorf("batch has %d codes", len(got.Codes))
	}
	for _, c := range got.Codes {
		if !seen[c] {
			t.Errorf("code %s was not generated", c)
		}
	}

	for _, q := range []string{"", "?format=4x10-48.5x25.4&offset_x=-1.5&offset_y=2", "?format=3x7-63.5x38.1&offset_x=0,5"} {
		resp, body = f.call(t, f.techTok, http.MethodGet, path+"/sheet.pdf"+q, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(body, "%PDF-") {
			t.Errorf("sheet%s: %d %s %.40q", q, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	resp, body = f.call(t, f.op, http.MethodGet, path+"/sheet.pdf", nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("operator sheet: %d", resp.StatusCode)
	}
	for _, q := range []string{"?format=A4", "?offset_x=abc", "?offset_y=99", "?offset_x=NaN"} {
		resp, body = f.call(t, f.techTok, http.MethodGet, path+"/sheet.pdf"+q, nil)
		f.want(t, "sheet"+q, http.StatusBadRequest, "Error", resp, body)
	}

	// Another workshop's batch does not exist for this one.
	for _, p := range []string{path, path + "/sheet.pdf", "/api/v1/tags/batches/999999", "/api/v1/tags/batches/abc"} {
		tok := otherTok
		if !strings.Contains(p, idStr(created.Batch.ID)) {
			tok = f.techTok
		}
		resp, body = f.call(t, tok, http.MethodGet, p, nil)
		f.want(t, "foreign "+p, http.StatusNotFound, "Error", resp, body)
	}

	// Bad counts; roles without tags; read-only callers.
	for _, bad := range []any{map[string]int{"count": 0}, map[string]int{"count": 1001}, map[string]any{}, `{"count": "ten"}`, map[string]int{"count": 1, "extra": 2}} {
		resp, body = f.call(t, f.techTok, http.MethodPost, "/api/v1/tags/batches", bad)
		f.want(t, "bad count", http.StatusBadRequest, "Error", resp, body)
	}
	for _, tc := range []struct {
		name, tok, method, path string
	}{
		{"donor lists", f.donorTok, http.MethodGet, "/api/v1/tags/batches"},
		{"donor creates", f.donorTok, http.MethodPost, "/api/v1/tags/batches"},
		{"beneficiary reads", f.memberTok, http.MethodGet, path},
		{"beneficiary prints", f.memberTok, http.MethodGet, path + "/sheet.pdf"},
		{"observatory lists", f.obs, http.MethodGet, "/api/v1/tags/batches"},
		{"observatory creates", f.obs, http.MethodPost, "/api/v1/tags/batches"},
		{"read operator creates", f.opRead, http.MethodPost, "/api/v1/tags/batches"},
	} {
		var b any
		if tc.method == http.MethodPost {
			b = map[string]int{"count": 5}
		}
		resp, body = f.call(t, tc.tok, tc.method, tc.path, b)
		f.want(t, tc.name, http.StatusForbidden, "Error", resp, body)
		wantErrorCode(t, tc.name, body, "forbidden")
	}
	resp, body = f.call(t, f.op, http.MethodGet, "/api/v1/tags/batches", nil)
	wantPageTotal(1)(t, resp, body)
}
