package server_test

import (
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Validation errors answer 400 and name every bad field, in the request's
// language; conflicts answer 409.
func TestAPIValidation(t *testing.T) {
	f := mustAPIFixture(t)
	school := "/api/v1/organisations/" + idStr(f.school.ID)
	tests := []struct {
		name, method, path string
		body               any
		want               int
		fields             []string
	}{
		{"empty organisation", "POST", "/api/v1/organisations", `{}`, 400, []string{"commune", "kind", "name"}},
		{"null body", "POST", "/api/v1/organisations", `null`, 400, []string{"commune", "kind", "name"}},
		{"unknown kind", "POST", "/api/v1/organisations", map[string]any{"kind": "nope", "name": "x", "commune": "64102"}, 400, []string{"kind"}},
		{"blank name", "POST", "/api/v1/organisations", map[string]any{"kind": "company", "name": "   ", "commune": "64102"}, 400, []string{"name"}},
		{"long name", "POST", "/api/v1/organisations", map[string]any{"kind": "company", "name": strings.Repeat("é", 201), "commune": "64102"}, 400, []string{"name"}},
		{"bad commune", "POST", "/api/v1/organisations", map[string]any{"kind": "company", "name": "x", "commune": "641"}, 400, []string{"commune"}},
		{"bad official id", "POST", "/api/v1/organisations", map[string]any{"kind": "company", "name": "x", "commune": "64102", "official_id": "123"}, 400, []string{"official_id"}},
		{"bad SIRET checksum", "POST", "/api/v1/organisations", map[string]any{"kind": "company", "name": "x", "commune": "64102", "official_id": "21640024700014"}, 400, []string{"official_id"}},
		{"official id of another kind", "POST", "/api/v1/organisations", map[string]any{"kind": "commune", "name": "x", "commune": "64102", "official_id": "W643000001"}, 400, []string{"official_id"}},
		{"patch: blank name", "PATCH", school, map[string]any{"name": ""}, 400, []string{"name"}},
		{"patch: bad kind and commune", "PATCH", school, map[string]any{"kind": "castle", "commune": "x"}, 400, []string{"commune", "kind"}},
		{"patch: official id the new kind refuses", "PATCH", school, map[string]any{"official_id": "W643000001"}, 400, []string{"official_id"}},
		{"invitation: bad address", "POST", "/api/v1/invitations", map[string]any{"organisation_id": f.school.ID, "email": "not-an-address"}, 400, []string{"email"}},
		{"invitation: no address", "POST", "/api/v1/invitations", map[string]any{"organisation_id": f.school.ID}, 400, []string{"email"}},
		{"invitation: bad language", "POST", "/api/v1/invitations", map[string]any{"organisation_id": f.school.ID, "email": "a@example.org", "lang": "de"}, 400, []string{"lang"}},
		{"invitation: no organisation", "POST", "/api/v1/invitations", map[string]any{"email": "a@example.org"}, 400, []string{"organisation_id"}},
		{"invitation: an address taken", "POST", "/api/v1/invitations", map[string]any{"organisation_id": f.school.ID, "email": f.member.Email}, 409, []string{"email"}},
		{"invitation: unknown organisation", "POST", "/api/v1/invitations", map[string]any{"organisation_id": 999999, "email": "a@example.org"}, 404, nil},
		{"token: bad scope", "POST", "/api/v1/tokens", map[string]any{"name": "x", "scope": "admin"}, 400, []string{"scope"}},
		{"token: no name nor scope", "POST", "/api/v1/tokens", `{}`, 400, []string{"name", "scope"}},
		{"token: long name", "POST", "/api/v1/tokens", map[string]any{"name": strings.Repeat("x", 101), "scope": "read"}, 400, []string{"name"}},
		{"token: unknown organisation", "POST", "/api/v1/tokens", map[string]any{"name": "x", "scope": "read", "organisation_id": 999999}, 404, nil},
		{"query: unknown kind", "GET", "/api/v1/organisations?kind=castle", nil, 400, []string{"kind"}},
		{"query: active not a boolean", "GET", "/api/v1/organisations?active=maybe", nil, 400, []string{"active"}},
		{"query: organisation not a number", "GET", "/api/v1/users?organisation_id=abc", nil, 400, []string{"organisation_id"}},
		{"query: organisation not positive", "GET", "/api/v1/invitations?organisation_id=-1", nil, 400, []string{"organisation_id"}},
		{"query: token organisation not a number", "GET", "/api/v1/tokens?organisation_id=1x", nil, 400, []string{"organisation_id"}},
		{"query: unknown organisation", "GET", "/api/v1/users?organisation_id=999999", nil, 404, nil},
		{"deactivate oneself", "POST", "/api/v1/organisations/" + idStr(f.opOrg.ID) + "/deactivate", nil, 409, nil},
	}
	op, opSession := f.env.API(t, f.op), f.session(t, f.operator)
	for _, tt := range tests {
		client := op
		if tt.method == http.MethodPost && tt.path == "/api/v1/tokens" {
			client = opSession // tokens may not create tokens
		}
		resp, body := f.send(t, client, tt.method, tt.path, tt.body, "Accept-Language", "en")
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d\n%s", tt.name, resp.StatusCode, tt.want, body)
			continue
		}
		e := decodeError(t, body)
		var got []string
		for field, msg := range e.Error.Fields {
			got = append(got, field)
			if msg == "" || strings.HasPrefix(msg, "error.") {
				t.Errorf("%s: field %s has message %q", tt.name, field, msg)
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, tt.fields) {
			t.Errorf("%s: fields %v, want %v\n%s", tt.name, got, tt.fields, body)
		}
		if tt.want == 400 && (e.Error.Code != "invalid" || strings.HasPrefix(e.Error.Message, "error.")) {
			t.Errorf("%s: %+v", tt.name, e.Error)
		}
	}

	// Two organisations cannot share an official id.
	org := map[string]any{"kind": "company", "name": "Entreprise", "commune": "64102", "official_id": "21640024700013"}
	if resp, body := f.call(t, f.op, "POST", "/api/v1/organisations", org); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	resp, body := f.call(t, f.op, "POST", "/api/v1/organisations", org)
	if e := decodeError(t, body); resp.StatusCode != http.StatusConflict || e.Error.Fields["official_id"] == "" {
		t.Errorf("duplicate official id: %d %s", resp.StatusCode, body)
	}
}

// Whatever a client sends wrong is answered 4xx with the JSON error body,
// never 500.
func TestAPIBadInput(t *testing.T) {
	f := mustAPIFixture(t)
	const orgs = "/api/v1/organisations"
	school := orgs + "/" + idStr(f.school.ID)
	huge := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	tests := []struct {
		name, method, path, contentType, body string
		want                                  int
		code                                  string
		field                                 string
	}{
		{"truncated JSON", "POST", orgs, "application/json", `{"kind":`, 400, "invalid", ""},
		{"not JSON", "POST", orgs, "application/json", `kind=commune`, 400, "invalid", ""},
		{"empty body", "POST", orgs, "application/json", ``, 400, "invalid", ""},
		{"two objects", "POST", orgs, "application/json", `{} {}`, 400, "invalid", ""},
		{"trailing garbage", "POST", orgs, "application/json", `{}]`, 400, "invalid", ""},
		{"an array", "POST", orgs, "application/json", `[]`, 400, "invalid", ""},
		{"a string", "POST", "/api/v1/tokens", "application/json", `"read"`, 400, "invalid", ""},
		{"unknown field", "POST", orgs, "application/json", `{"kind":"commune","name":"x","commune":"64102","colour":"red"}`, 400, "invalid", "colour"},
		{"unknown field in a patch", "PATCH", school, "application/json", `{"active":false}`, 400, "invalid", "active"},
		{"wrong type", "POST", orgs, "application/json", `{"kind":"commune","name":42,"commune":"64102"}`, 400, "invalid", "name"},
		{"wrong type in a patch", "PATCH", school, "application/json", `{"name":["a"]}`, 400, "invalid", "name"},
		{"id as a string", "POST", "/api/v1/tokens", "application/json", `{"name":"x","scope":"read","organisation_id":"3"}`, 400, "invalid", "organisation_id"},
		{"boolean as a string", "POST", "/api/v1/invitations", "application/json", `{"organisation_id":1,"email":"a@example.org","org_admin":"yes"}`, 400, "invalid", "org_admin"},
		{"number too large", "POST", "/api/v1/tokens", "application/json", `{"name":"x","scope":"read","organisation_id":1e40}`, 400, "invalid", "organisation_id"},
		{"invalid UTF-8 is still a string", "POST", orgs, "application/json", "{\"kind\":\"school\",\"name\":\"\xff\",\"commune\":\"nope\"}", 400, "invalid", "commune"},
		{"text/plain", "POST", orgs, "text/plain", `{}`, 415, "unsupported_media_type", ""},
		{"no content type", "POST", "/api/v1/tokens", "", `{}`, 415, "unsupported_media_type", ""},
		{"a form", "POST", "/api/v1/invitations", "application/x-www-form-urlencoded", `email=a%40example.org`, 415, "unsupported_media_type", ""},
		{"a form patch", "PATCH", school, "multipart/form-data; boundary=x", "--x--", 415, "unsupported_media_type", ""},
		{"malformed content type", "POST", orgs, "application/json; charset", `{}`, 415, "unsupported_media_type", ""},
		{"huge body", "POST", orgs, "application/json", huge, 413, "too_large", ""},
		{"id not a number", "GET", orgs + "/abc", "", "", 404, "not_found", ""},
		{"id zero", "GET", "/api/v1/users/0", "", "", 404, "not_found", ""},
		{"id negative", "DELETE", "/api/v1/tokens/-4", "", "", 404, "not_found", ""},
		{"id overflows", "DELETE", "/api/v1/invitations/99999999999999999999", "", "", 404, "not_found", ""},
		{"id not a number, with a body", "PATCH", orgs + "/1.5", "application/json", `{}`, 404, "not_found", ""},
		{"id not a number, action", "POST", orgs + "/x/deactivate", "", "", 404, "not_found", ""},
		{"no such organisation", "GET", orgs + "/999999", "", "", 404, "not_found", ""},
		{"patch no such organisation", "PATCH", orgs + "/999999", "application/json", `{"name":"x"}`, 404, "not_found", ""},
		{"activate no such organisation", "POST", orgs + "/999999/activate", "", "", 404, "not_found", ""},
		{"no such user", "GET", "/api/v1/users/999999", "", "", 404, "not_found", ""},
		{"sessions of no such user", "POST", "/api/v1/users/999999/revoke-sessions", "", "", 404, "not_found", ""},
		{"no such invitation", "DELETE", "/api/v1/invitations/999999", "", "", 404, "not_found", ""},
		{"no such token", "DELETE", "/api/v1/tokens/999999", "", "", 404, "not_found", ""},
		{"wrong method", "PUT", school, "application/json", `{}`, 405, "method_not_allowed", ""},
		{"charset is fine", "POST", orgs, "application/json; charset=utf-8", `{"kind":"school","name":"École Jules Ferry","commune":"64102"}`, 201, "", ""},
	}
	for _, tt := range tests {
		var headers []string
		if tt.contentType != "" {
			headers = []string{"Content-Type", tt.contentType}
		}
		var body io.Reader
		if tt.body != "" || tt.contentType != "" {
			body = strings.NewReader(tt.body)
		}
		client := f.env.API(t, f.op)
		if tt.method == http.MethodPost && tt.path == "/api/v1/tokens" {
			// Tokens are created from a browser session only.
			client = f.session(t, f.operator)
			headers = append(headers, "X-CSRF-Token", client.CSRF)
		}
		resp, out := client.Do(tt.method, tt.path, body, headers...)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d\n%.300s", tt.name, resp.StatusCode, tt.want, out)
			continue
		}
		if tt.code == "" {
			continue
		}
		e := decodeError(t, out)
		if e.Error.Code != tt.code {
			t.Errorf("%s: code %q, want %q", tt.name, e.Error.Code, tt.code)
		}
		if tt.field != "" && e.Error.Fields[tt.field] == "" {
			t.Errorf("%s: no message for field %q: %s", tt.name, tt.field, out)
		}
	}
	if logs := f.env.Logs(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("bad input was logged as a server error:\n%s", logs)
	}
}
