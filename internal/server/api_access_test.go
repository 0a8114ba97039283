package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// apiRoutes returns the API's routes with a real id in their path.
func (f *apiFixture) apiRoutes(t *testing.T) []struct{ method, path string } {
	t.Helper()
	var out []struct{ method, path string }
	for _, r := range f.env.Server.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") && r.Path != "/api/v1/openapi.json" {
			out = append(out, struct{ method, path string }{r.Method, routeParamRE.ReplaceAllString(r.Path, idStr(f.school.ID))})
		}
	}
	if len(out) < 15 {
		t.Fatalf("only %d API routes", len(out))
	}
	return out
}

// Read-only principals (an observatory client, a user's read token) may
// read but are refused every write of the API, whatever the route.
func TestAPIReadOnlyPrincipals(t *testing.T) {
	f := mustAPIFixture(t)

	resp, body := f.call(t, f.obs, "GET", "/api/v1/me", nil)
	var me struct {
		User         *account.User        `json:"user"`
		Organisation account.Organisation `json:"organisation"`
		Role         string               `json:"role"`
		OrgAdmin     bool                 `json:"org_admin"`
		ReadOnly     bool                 `json:"read_only"`
	}
	mustDecodeJSON(t, body, &me)
	if resp.StatusCode != http.StatusOK || me.User != nil || !strings.Contains(body, `"user":null`) ||
		me.Organisation.ID != f.obsOrg.ID || me.Role != "observatory" || me.OrgAdmin || !me.ReadOnly {
		t.Errorf("observatory me: %d %s", resp.StatusCode, body)
	}
	if resp, body := f.call(t, f.opRead, "GET", "/api/v1/organisations", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("operator read token reads: %d %s", resp.StatusCode, body)
	}

	for _, who := range []struct{ name, token string }{{"observatory", f.obs}, {"user read token", f.opRead}} {
		writes := 0
		for _, r := range f.apiRoutes(t) {
			if r.method == http.MethodGet {
				continue
			}
			writes++
			resp, body := f.call(t, who.token, r.method, r.path, `{"name":"x","scope":"write","email":"a@example.org"}`)
			e := decodeError(t, body)
			if resp.StatusCode != http.StatusForbidden || e.Error.Code != "forbidden" {
				t.Errorf("%s: %s %s: %d %s", who.name, r.method, r.path, resp.StatusCode, body)
			}
		}
		if writes < 9 {
			t.Errorf("only %d write routes", writes)
		}
	}
	// Nothing was written on the way.
	if resp, body := f.call(t, f.op, "GET", "/api/v1/organisations?active=false", nil); !strings.Contains(body, `"total":0`) {
		t.Errorf("after refused writes: %d %s", resp.StatusCode, body)
	}
}

// No credentials, a malformed or unknown token, a revoked one: 401 with
// the JSON error body, on every API route but the document.
func TestAPIUnauthenticated(t *testing.T) {
	f := mustAPIFixture(t)
	revoked := f.env.MustToken(t, f.school.ID, f.member.ID, "write")
	tokens, err := f.env.DB.ListTokens(context.Background(), postgres.TokenFilter{UserID: f.member.ID})
	if err != nil || len(tokens) != 2 {
		t.Fatalf("tokens: %v %v", tokens, err)
	}
	for _, tok := range tokens {
		if strings.HasPrefix(revoked, tok.Prefix) {
			if err := f.env.DB.RevokeToken(context.Background(), tok.ID, f.member.ID, false, nil, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, who := range []struct{ name, token string }{
		{"no token", ""}, {"malformed", "nope"}, {"unknown", "brz_" + strings.Repeat("A", 43)}, {"revoked", revoked},
	} {
		for _, r := range f.apiRoutes(t) {
			resp, body := f.call(t, who.token, r.method, r.path, nil)
			e := decodeError(t, body)
			if resp.StatusCode != http.StatusUnauthorized || e.Error.Code != "unauthorized" || e.Error.RequestID == "" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s: %s %s: %d %s", who.name, r.method, r.path, resp.StatusCode, body)
			}
		}
	}
}

// Organisation admins and members reach their own organisation only:
// anything of another one is answered as if it did not exist.
func TestAPIScoping(t *testing.T) {
	f := mustAPIFixture(t)
	// An invitation into the workshop, which the school's admin must not see.
	resp, body := f.call(t, f.op, "POST", "/api/v1/invitations", map[string]any{"organisation_id": f.workshop.ID, "email": "koldo@example.org"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("operator invites: %d %s", resp.StatusCode, body)
	}
	var theirs struct {
		Invitation struct{ ID int64 } `json:"invitation"`
	}
	mustDecodeJSON(t, body, &theirs)
	adminTokens, err := f.env.DB.ListTokens(context.Background(), postgres.TokenFilter{UserID: f.schoolAdmin.ID})
	if err != nil || len(adminTokens) != 1 {
		t.Fatalf("admin tokens: %v %v", adminTokens, err)
	}

	// Clients of the tokens, and browsers for POST /api/v1/tokens, which
	// tokens may not call.
	admin, member, obs := f.env.API(t, f.admin), f.env.API(t, f.memberTok), f.env.API(t, f.obs)
	adminSession, memberSession := f.session(t, f.schoolAdmin), f.session(t, f.member)
	var ownInvitation int64
	tests := []struct {
		name   string
		as     *servertest.Browser
		method string
		path   func() string
		body   any
		want   int
		check  func(t *testing.T, resp *http.Response, body string)
	}{
		{"own organisation", admin, "GET", constPath("/api/v1/organisations/" + idStr(f.school.ID)), nil, 200, nil},
		{"member reads own organisation", member, "GET", constPath("/api/v1/organisations/" + idStr(f.school.ID)), nil, 200, nil},
		{"observatory reads own organisation", obs, "GET", constPath("/api/v1/organisations/" + idStr(f.obsOrg.ID)), nil, 200, nil},
		{"other organisation", admin, "GET", constPath("/api/v1/organisations/" + idStr(f.workshop.ID)), nil, 404, nil},
		{"observatory, other organisation", obs, "GET", constPath("/api/v1/organisations/" + idStr(f.school.ID)), nil, 404, nil},
		{"all organisations", admin, "GET", constPath("/api/v1/organisations"), nil, 403, nil},
		{"change organisation", admin, "PATCH", constPath("/api/v1/organisations/" + idStr(f.school.ID)), map[string]any{"name": "X"}, 403, nil},
		{"own members", admin, "GET", constPath("/api/v1/users"), nil, 200, func(t *testing.T, _ *http.Response, body string) {
			var page struct {
				Items []account.User `json:"items"`
				Total int            `json:"total"`
			}
			mustDecodeJSON(t, body, &page)
			if page.Total != 2 || len(page.Items) != 2 || page.Items[0].OrgID != f.school.ID || page.Items[1].OrgID != f.school.ID {
				t.Errorf("members: %s", body)
			}
		}},
		{"own members by id", admin, "GET", constPath("/api/v1/users?organisation_id=" + idStr(f.school.ID)), nil, 200, wantPageTotal(2)},
		{"other members", admin, "GET", constPath("/api/v1/users?organisation_id=" + idStr(f.workshop.ID)), nil, 404, nil},
		{"own member", admin, "GET", constPath("/api/v1/users/" + idStr(f.member.ID)), nil, 200, nil},
		{"other user", admin, "GET", constPath("/api/v1/users/" + idStr(f.otherUser.ID)), nil, 404, nil},
		{"operator", admin, "GET", constPath("/api/v1/users/" + idStr(f.operator.ID)), nil, 404, nil},
		{"revoke sessions", admin, "POST", constPath("/api/v1/users/" + idStr(f.member.ID) + "/revoke-sessions"), nil, 403, nil},
		{"member lists users", member, "GET", constPath("/api/v1/users"), nil, 403, nil},
		{"observatory lists users", obs, "GET", constPath("/api/v1/users"), nil, 403, nil},
		{"invite, naming another organisation", admin, "POST", constPath("/api/v1/invitations"),
			map[string]any{"organisation_id": f.workshop.ID, "email": "amaia@example.org", "org_admin": true}, 201, func(t *testing.T, _ *http.Response, body string) {
				var out struct {
					Invitation struct {
						ID       int64 `json:"id"`
						OrgID    int64 `json:"organisation_id"`
						OrgAdmin bool  `json:"org_admin"`
					} `json:"invitation"`
				}
				mustDecodeJSON(t, body, &out)
				ownInvitation = out.Invitation.ID
				if out.Invitation.OrgID != f.school.ID || out.Invitation.OrgAdmin {
					t.Errorf("an admin's invitation goes to its own organisation, as a member: %s", body)
				}
			}},
		{"own invitations", admin, "GET", constPath("/api/v1/invitations"), nil, 200, wantPageTotal(1)},
		{"other invitations", admin, "GET", constPath("/api/v1/invitations?organisation_id=" + idStr(f.workshop.ID)), nil, 404, nil},
		{"revoke other invitation", admin, "DELETE", func() string { return "/api/v1/invitations/" + idStr(theirs.Invitation.ID) }, nil, 404, nil},
		{"revoke own invitation", admin, "DELETE", func() string { return "/api/v1/invitations/" + idStr(ownInvitation) }, nil, 204, nil},
		{"member invites", member, "POST", constPath("/api/v1/invitations"), map[string]any{"email": "x@example.org"}, 403, nil},
		{"own tokens only", member, "GET", constPath("/api/v1/tokens"), nil, 200, wantPageTotal(1)},
		{"organisation tokens", admin, "GET", constPath("/api/v1/tokens?organisation_id=" + idStr(f.school.ID)), nil, 403, nil},
		{"an organisation token lists tokens", obs, "GET", constPath("/api/v1/tokens"), nil, 403, nil},
		{"issue an organisation token", adminSession, "POST", constPath("/api/v1/tokens"),
			map[string]any{"name": "x", "scope": "read", "organisation_id": f.school.ID}, 403, nil},
		{"own token, no organisation", memberSession, "POST", constPath("/api/v1/tokens"), map[string]any{"name": "mine", "scope": "write"}, 201, nil},
		{"revoke another's token", member, "DELETE", constPath("/api/v1/tokens/" + idStr(adminTokens[0].ID)), nil, 404, nil},
		{"the other's token still works", admin, "GET", constPath("/api/v1/me"), nil, 200, nil},
	}
	for _, tt := range tests {
		resp, body := f.send(t, tt.as, tt.method, tt.path(), tt.body)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %s %s: %d, want %d\n%s", tt.name, tt.method, tt.path(), resp.StatusCode, tt.want, body)
			continue
		}
		if tt.want >= 400 {
			if e := decodeError(t, body); e.Error.Code != map[int]string{403: "forbidden", 404: "not_found"}[tt.want] {
				t.Errorf("%s: code %q", tt.name, e.Error.Code)
			}
		}
		if tt.check != nil {
			tt.check(t, resp, body)
		}
	}
}

// An API token may not create tokens, whatever its scope and role: a
// token that could mint tokens would outlive its own revocation. Only a
// signed-in browser may.
func TestAPITokenFromToken(t *testing.T) {
	f := mustAPIFixture(t)
	listings := []string{"/api/v1/tokens", "/api/v1/tokens?organisation_id=" + idStr(f.obsOrg.ID)}
	// list returns the ids of the live tokens of both listings.
	list := func() []int64 {
		t.Helper()
		var ids []int64
		for _, path := range listings {
			resp, body := f.call(t, f.op, "GET", path, nil)
			var page struct {
				Items []struct {
					ID int64 `json:"id"`
				} `json:"items"`
				Total int `json:"total"`
			}
			mustDecodeJSON(t, body, &page)
			if resp.StatusCode != http.StatusOK || page.Total != len(page.Items) {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
			}
			for _, it := range page.Items {
				ids = append(ids, it.ID)
			}
		}
		return ids
	}
	before := list()
	if len(before) != 3 { // the operator's two, the observatory's
		t.Fatalf("tokens before: %v", before)
	}
	for _, tt := range []struct {
		name string
		body map[string]any
	}{
		{"own token", map[string]any{"name": "Minted", "scope": "write"}},
		{"organisation token", map[string]any{"name": "Minted", "scope": "read", "organisation_id": f.obsOrg.ID}},
	} {
		resp, body := f.call(t, f.op, "POST", "/api/v1/tokens", tt.body, "Accept-Language", "en")
		e := decodeError(t, body)
		if resp.StatusCode != http.StatusForbidden || e.Error.Code != "forbidden" ||
			e.Error.Message == "" || strings.HasPrefix(e.Error.Message, "error.") {
			t.Errorf("%s from a write token: %d %s", tt.name, resp.StatusCode, body)
		}
	}
	if after := list(); !slices.Equal(after, before) {
		t.Errorf("a token created tokens:\nbefore %v\nafter  %v", before, after)
	}
	// The same request from the operator's browser creates the token.
	resp, body := f.send(t, f.session(t, f.operator), "POST", "/api/v1/tokens", map[string]any{"name": "Minted", "scope": "write"})
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("from a session: %d %s", resp.StatusCode, body)
	}
}

// A browser session may use the API; its writes need the CSRF token.
func TestAPICookieSession(t *testing.T) {
	f := mustAPIFixture(t)
	b := f.env.SignIn(t, f.operator.Email)
	resp, body := b.Get("/api/v1/me")
	var me struct {
		CSRFToken string `json:"csrf_token"`
	}
	mustDecodeJSON(t, body, &me)
	if resp.StatusCode != http.StatusOK || me.CSRFToken == "" {
		t.Fatalf("me over a session: %d %s", resp.StatusCode, body)
	}
	org := func(name string) string { return `{"kind":"association","name":"` + name + `","commune":"64102"}` }
	tests := []struct {
		name    string
		body    string
		headers []string
		want    int
	}{
		{"no CSRF token", org("Emmaüs Bayonne"), nil, http.StatusForbidden},
		{"forged CSRF token", org("Emmaüs Bayonne"), []string{"X-CSRF-Token", "forged"}, http.StatusForbidden},
		{"cross-site", org("Emmaüs Bayonne"), []string{"X-CSRF-Token", me.CSRFToken, "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"token of a page", org("Emmaüs Bayonne"), []string{"X-CSRF-Token", b.CSRF}, http.StatusCreated},
		{"token of /me", org("Emmaüs Anglet"), []string{"X-CSRF-Token", me.CSRFToken}, http.StatusCreated},
	}
	for _, tt := range tests {
		resp, out := b.Do("POST", "/api/v1/organisations", strings.NewReader(tt.body), append([]string{"Content-Type", "application/json"}, tt.headers...)...)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d\n%s", tt.name, resp.StatusCode, tt.want, out)
		}
		if tt.want == http.StatusForbidden {
			if e := decodeError(t, out); e.Error.Code != "forbidden" {
				t.Errorf("%s: code %q", tt.name, e.Error.Code)
			}
		}
	}
	if resp, body := b.Get("/api/v1/organisations?kind=association"); !strings.Contains(body, `"total":2`) {
		t.Errorf("created over the session: %d %s", resp.StatusCode, body)
	}
}
