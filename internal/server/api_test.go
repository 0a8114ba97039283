package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/server/servertest"
)

// apiFixture is a platform with one organisation of each kind the API
// tests need, their people, and API tokens (secrets) for them.
type apiFixture struct {
	env                                      *servertest.Env
	opOrg, school, workshop, obsOrg          account.Organisation
	operator, schoolAdmin, member, otherUser account.User
	op, opRead, admin, memberTok, obs        string
}

func mustAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	env := servertest.MustStart(t, servertest.Options{})
	f := &apiFixture{env: env}
	f.opOrg = env.MustOrg(t, account.KindOperator, "Agence numérique")
	f.school = env.MustOrg(t, account.KindSchool, "Collège Marracq")
	f.workshop = env.MustOrg(t, account.KindWorkshop, "Atelier Ttipi")
	f.obsOrg = env.MustOrg(t, account.KindObservatory, "Observatoire du territoire")
	f.operator = env.MustUser(t, f.opOrg.ID, "Maite Operator", true)
	f.schoolAdmin = env.MustUser(t, f.school.ID, "Ane Admin", true)
	f.member = env.MustUser(t, f.school.ID, "Peio Member", false)
	f.otherUser = env.MustUser(t, f.workshop.ID, "Jon Technician", true)
	f.op = env.MustToken(t, f.opOrg.ID, f.operator.ID, "write")
	f.opRead = env.MustToken(t, f.opOrg.ID, f.operator.ID, "read")
	f.admin = env.MustToken(t, f.school.ID, f.schoolAdmin.ID, "write")
	f.memberTok = env.MustToken(t, f.school.ID, f.member.ID, "write")
	f.obs = env.MustToken(t, f.obsOrg.ID, 0, "read")
	return f
}

// call sends an API request with a token ("" for none). body is nil (no
// body), a string (sent as is, as JSON) or a value to marshal.
func (f *apiFixture) call(t *testing.T, token, method, path string, body any, headers ...string) (*http.Response, string) {
	t.Helper()
	return f.send(t, f.env.API(t, token), method, path, body, headers...)
}

// session signs a user in and returns the browser, holding the CSRF token
// its writes to the API must carry.
func (f *apiFixture) session(t *testing.T, u account.User) *servertest.Browser {
	t.Helper()
	b := f.env.SignIn(t, u.Email) // which loads "/", and so its CSRF token
	if b.CSRF == "" {
		t.Fatalf("session of %s: no CSRF token", u.Email)
	}
	return b
}

// send is call through a given client: a token's, or a signed-in
// browser's, whose writes then carry its CSRF token (POST /api/v1/tokens
// is refused to tokens).
func (f *apiFixture) send(t *testing.T, c *servertest.Browser, method, path string, body any, headers ...string) (*http.Response, string) {
	t.Helper()
	if c.Bearer == "" && c.CSRF != "" && method != http.MethodGet && !apiHasHeader(headers, "X-CSRF-Token") {
		headers = append([]string{"X-CSRF-Token", c.CSRF}, headers...)
	}
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	if r != nil && !apiHasHeader(headers, "Content-Type") {
		headers = append([]string{"Content-Type", "application/json"}, headers...)
	}
	return c.Do(method, path, r, headers...)
}

func apiHasHeader(headers []string, name string) bool {
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], name) {
			return true
		}
	}
	return false
}

func mustDecodeJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
}

func idStr(n int64) string { return strconv.FormatInt(n, 10) }

// Every endpoint, on its success path, for an operator with a write token;
// every answer conforms to the schema the OpenAPI document gives it.
func TestAPIOperatorEndpoints(t *testing.T) {
	f := mustAPIFixture(t)
	doc := mustOpenAPI(t, f.env)
	// A session of the member, for revoke-sessions to end.
	f.env.SignIn(t, f.member.Email)
	// The operator's browser, from which alone tokens are created.
	opSession := f.session(t, f.operator)

	var (
		newOrg                   account.Organisation
		invitationID, ownTokenID int64
		orgTokenID               int64
		ownSecret                string
	)
	steps := []struct {
		name   string
		method string
		path   func() string
		body   func() any
		want   int
		schema string // component the answer must conform to
		check  func(t *testing.T, resp *http.Response, body string)
	}{
		{"openapi", "GET", constPath("/api/v1/openapi.json"), nil, 200, "", nil},
		{"me", "GET", constPath("/api/v1/me"), nil, 200, "Me", func(t *testing.T, _ *http.Response, body string) {
			var me struct {
				User      *account.User `json:"user"`
				Role      string        `json:"role"`
				ReadOnly  bool          `json:"read_only"`
				CSRFToken string        `json:"csrf_token"`
			}
			mustDecodeJSON(t, body, &me)
			if me.User == nil || me.User.ID != f.operator.ID || me.Role != "operator" || me.ReadOnly || me.CSRFToken != "" {
				t.Errorf("me: %s", body)
			}
		}},
		{"list organisations", "GET", constPath("/api/v1/organisations"), nil, 200, "OrganisationPage", wantPageTotal(4)},
		{"filter organisations", "GET", constPath("/api/v1/organisations?kind=school&q=MARR&active=true"), nil, 200, "OrganisationPage", wantPageTotal(1)},
		{"filter inactive", "GET", constPath("/api/v1/organisations?active=false"), nil, 200, "OrganisationPage", wantPageTotal(0)},
		{"create organisation", "POST", constPath("/api/v1/organisations"), func() any {
			return account.OrgInput{Kind: "commune", Name: "  Commune   d'Anglet ", Commune: "64024", OfficialID: "216 400 247 00013"}
		}, 201, "Organisation", func(t *testing.T, resp *http.Response, body string) {
			mustDecodeJSON(t, body, &newOrg)
			if newOrg.Name != "Commune d'Anglet" || newOrg.OfficialID != "21640024700013" || !newOrg.Active {
				t.Errorf("created %s", body)
			}
			if loc := resp.Header.Get("Location"); loc != "/api/v1/organisations/"+idStr(newOrg.ID) {
				t.Errorf("Location %q", loc)
			}
		}},
		{"get organisation", "GET", func() string { return "/api/v1/organisations/" + idStr(newOrg.ID) }, nil, 200, "Organisation", nil},
		{"patch organisation", "PATCH", func() string { return "/api/v1/organisations/" + idStr(newOrg.ID) },
			func() any { return map[string]any{"name": "Anglet", "official_id": nil} }, 200, "Organisation",
			func(t *testing.T, _ *http.Response, body string) {
				var o account.Organisation
				mustDecodeJSON(t, body, &o)
				if o.Name != "Anglet" || o.Kind != account.KindCommune || o.Commune != "64024" || o.OfficialID != "21640024700013" {
					t.Errorf("patched: %s", body)
				}
			}},
		{"deactivate", "POST", func() string { return "/api/v1/organisations/" + idStr(newOrg.ID) + "/deactivate" }, nil, 204, "", nil},
		{"deactivated", "GET", constPath("/api/v1/organisations?active=false"), nil, 200, "OrganisationPage", wantPageTotal(1)},
		{"activate", "POST", func() string { return "/api/v1/organisations/" + idStr(newOrg.ID) + "/activate" }, nil, 204, "", nil},
		{"list users", "GET", constPath("/api/v1/users"), nil, 200, "UserPage", wantPageTotal(4)},
		{"list users of one organisation", "GET", func() string { return "/api/v1/users?organisation_id=" + idStr(f.school.ID) }, nil, 200, "UserPage", wantPageTotal(2)},
		{"search users", "GET", constPath("/api/v1/users?q=peio"), nil, 200, "UserPage", wantPageTotal(1)},
		{"get user", "GET", func() string { return "/api/v1/users/" + idStr(f.member.ID) }, nil, 200, "User", nil},
		{"revoke sessions", "POST", func() string { return "/api/v1/users/" + idStr(f.member.ID) + "/revoke-sessions" }, nil, 200, "Revoked",
			func(t *testing.T, _ *http.Response, body string) {
				if strings.TrimSpace(body) != `{"revoked":1}` {
					t.Errorf("revoked: %s", body)
				}
			}},
		{"invite", "POST", constPath("/api/v1/invitations"), func() any {
			return map[string]any{"organisation_id": newOrg.ID, "email": "Miren@Example.ORG", "lang": "eu", "org_admin": true}
		}, 201, "Invited", func(t *testing.T, _ *http.Response, body string) {
			var out struct {
				Invitation struct {
					ID       int64  `json:"id"`
					OrgID    int64  `json:"organisation_id"`
					Email    string `json:"email"`
					OrgAdmin bool   `json:"org_admin"`
					Lang     string `json:"lang"`
				} `json:"invitation"`
				Link string `json:"link"`
			}
			mustDecodeJSON(t, body, &out)
			invitationID = out.Invitation.ID
			if out.Invitation.OrgID != newOrg.ID || out.Invitation.Email != "Miren@example.org" || !out.Invitation.OrgAdmin ||
				out.Invitation.Lang != "eu" || !strings.Contains(out.Link, "/eu/invitations/") {
				t.Errorf("invited: %s", body)
			}
		}},
		{"list invitations", "GET", constPath("/api/v1/invitations"), nil, 200, "InvitationPage", wantPageTotal(1)},
		{"list invitations of one organisation", "GET", func() string { return "/api/v1/invitations?organisation_id=" + idStr(f.school.ID) },
			nil, 200, "InvitationPage", wantPageTotal(0)},
		{"revoke invitation", "DELETE", func() string { return "/api/v1/invitations/" + idStr(invitationID) }, nil, 204, "", nil},
		{"invitation gone", "GET", constPath("/api/v1/invitations"), nil, 200, "InvitationPage", wantPageTotal(0)},
		{"create token", "POST", constPath("/api/v1/tokens"), func() any { return map[string]any{"name": "Export script", "scope": "read"} },
			201, "Issued", func(t *testing.T, _ *http.Response, body string) {
				var out struct {
					Token struct {
						ID     int64  `json:"id"`
						UserID int64  `json:"user_id"`
						Scope  string `json:"scope"`
						Prefix string `json:"prefix"`
					} `json:"token"`
					Secret string `json:"secret"`
				}
				mustDecodeJSON(t, body, &out)
				ownTokenID, ownSecret = out.Token.ID, out.Secret
				if out.Token.UserID != f.operator.ID || out.Token.Scope != "read" || !strings.HasPrefix(out.Secret, "brz_") ||
					!strings.HasPrefix(out.Secret, out.Token.Prefix) {
					t.Errorf("issued: %s", body)
				}
			}},
		{"the new token works", "GET", constPath("/api/v1/me"), nil, 200, "Me", nil},
		{"list own tokens", "GET", constPath("/api/v1/tokens"), nil, 200, "TokenPage", wantPageTotal(3)},
		{"revoke own token", "DELETE", func() string { return "/api/v1/tokens/" + idStr(ownTokenID) }, nil, 204, "", nil},
		{"issue an observatory token", "POST", constPath("/api/v1/tokens"), func() any {
			return map[string]any{"name": "Observatoire", "scope": "write", "organisation_id": f.obsOrg.ID}
		}, 201, "Issued", func(t *testing.T, _ *http.Response, body string) {
			var out struct {
				Token map[string]any `json:"token"`
			}
			mustDecodeJSON(t, body, &out)
			orgTokenID = int64(out.Token["id"].(float64))
			if _, hasUser := out.Token["user_id"]; hasUser || out.Token["scope"] != "read" {
				t.Errorf("observatory token: %s", body)
			}
		}},
		{"list organisation tokens", "GET", func() string { return "/api/v1/tokens?organisation_id=" + idStr(f.obsOrg.ID) }, nil, 200, "TokenPage", wantPageTotal(2)},
		{"revoke organisation token", "DELETE", func() string { return "/api/v1/tokens/" + idStr(orgTokenID) }, nil, 204, "", nil},
		{"organisation token gone", "GET", func() string { return "/api/v1/tokens?organisation_id=" + idStr(f.obsOrg.ID) }, nil, 200, "TokenPage", wantPageTotal(1)},
	}
	for _, st := range steps {
		var body any
		if st.body != nil {
			body = st.body()
		}
		client := f.env.API(t, f.op)
		switch {
		case st.name == "the new token works":
			client = f.env.API(t, ownSecret)
		case st.method == http.MethodPost && st.path() == "/api/v1/tokens":
			client = opSession
		}
		resp, out := f.send(t, client, st.method, st.path(), body)
		if resp.StatusCode != st.want {
			t.Fatalf("%s: %s %s: %d, want %d\n%s", st.name, st.method, st.path(), resp.StatusCode, st.want, out)
		}
		if ct := resp.Header.Get("Content-Type"); st.want != http.StatusNoContent && !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", st.name, ct)
		}
		if st.schema != "" {
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s: Cache-Control %q", st.name, cc)
			}
			var v any
			mustDecodeJSON(t, out, &v)
			conformsTo(t, doc, st.name, schemaRef(st.schema), v)
		}
		if st.check != nil {
			st.check(t, resp, out)
		}
	}

	// The revoked token is refused from now on, with the JSON error body.
	resp, body := f.call(t, ownSecret, "GET", "/api/v1/me", nil)
	if e := decodeError(t, body); resp.StatusCode != http.StatusUnauthorized || e.Error.Code != "unauthorized" {
		t.Errorf("revoked token: %d %s", resp.StatusCode, body)
	}
}

func constPath(p string) func() string { return func() string { return p } }

func wantPageTotal(n int) func(t *testing.T, _ *http.Response, body string) {
	return func(t *testing.T, _ *http.Response, body string) {
		t.Helper()
		var page struct {
			Items []json.RawMessage `json:"items"`
			Page  int               `json:"page"`
			Pages int               `json:"pages"`
			Total int               `json:"total"`
		}
		mustDecodeJSON(t, body, &page)
		if page.Total != n || len(page.Items) != n || page.Page != 1 || page.Pages != 1 || !strings.Contains(body, `"items":[`) {
			t.Errorf("want %d items on one page: %s", n, body)
		}
	}
}

func schemaRef(schema string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + schema}
}

// conformsTo checks a decoded JSON value against a schema of the document:
// types, enums, required properties, and no property the schema does not
// declare, so that the document describes what the API really sends.
func conformsTo(t *testing.T, doc map[string]any, where string, schema map[string]any, v any) {
	t.Helper()
	schema = resolveRef(t, doc, schema)
	if alts, ok := schema["oneOf"].([]any); ok {
		for _, a := range alts {
			alt := resolveRef(t, doc, a.(map[string]any))
			if (v == nil) == (alt["type"] == "null") {
				conformsTo(t, doc, where, alt, v)
				return
			}
		}
		t.Errorf("%s: %v matches no alternative", where, v)
		return
	}
	if typ, ok := schema["type"]; ok && !jsonTypeMatches(typ, v) {
		t.Errorf("%s: %v (%T) is not of type %v", where, v, v, typ)
		return
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || e == v
		}
		if !found {
			t.Errorf("%s: %v not in %v", where, v, enum)
		}
	}
	switch val := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		if props == nil {
			return // a free-form object
		}
		for _, r := range jsonStrings(schema["required"]) {
			if _, ok := val[r]; !ok {
				t.Errorf("%s: required property %q missing", where, r)
			}
		}
		for k, sub := range val {
			ps, ok := props[k].(map[string]any)
			if !ok {
				t.Errorf("%s: property %q is not in the document", where, k)
				continue
			}
			conformsTo(t, doc, where+"."+k, ps, sub)
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, it := range val {
				conformsTo(t, doc, fmt.Sprintf("%s[%d]", where, i), items, it)
			}
		}
	}
}

func jsonTypeMatches(typ any, v any) bool {
	if many, ok := typ.([]any); ok {
		for _, one := range many {
			if jsonTypeMatches(one, v) {
				return true
			}
		}
		return false
	}
	switch typ {
	case "null":
		return v == nil
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "number":
		_, ok := v.(float64)
		return ok
	}
	return false
}

func jsonStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, s := range list {
		out = append(out, s.(string))
	}
	return out
}
