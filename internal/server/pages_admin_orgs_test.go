package server_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

func TestAdminCreateOrganisation(t *testing.T) {
	f := mustAdminFixture(t)
	f.env.MustOrg(t, account.KindCompany, "Taken") // no official id
	resp, body := f.post(t, "/admin/organisations/new", "/admin/organisations", url.Values{
		"kind": {"company"}, "name": {"Holder"}, "commune": {"64102"}, "official_id": {"73282932000074"}})
	adminWantStatus(t, "first holder", resp, body, http.StatusSeeOther)

	tests := []struct {
		name                            string
		kind, orgName, commune, officID string
		status                          int
		field, message                  string
	}{
		{"no kind", "", "École Jean Jaurès", "64102", "", 400, "kind", "Choisissez un type d&#39;organisation."},
		{"unknown kind", "castle", "École Jean Jaurès", "64102", "", 400, "kind", "Choisissez un type d&#39;organisation."},
		{"no name", "school", "   ", "64102", "", 400, "name", "Ce champ est obligatoire."},
		{"name too long", "school", strings.Repeat("é", 201), "64102", "", 400, "name", "Ce texte est trop long."},
		{"control character", "school", "École\x00", "64102", "", 400, "name", "La requête contient des données incorrectes."},
		{"invalid UTF-8", "school", "École", "64\xff102", "", 400, "commune", "La requête contient des données incorrectes."},
		{"bad commune", "school", "École Jean Jaurès", "641", "", 400, "commune", "Code commune INSEE invalide"},
		{"bad official id", "school", "École Jean Jaurès", "64102", "12AB", 400, "official_id", "Identifiant non reconnu"},
		{"SIRET checksum", "company", "Entreprise", "64102", "73282932000075", 400, "official_id", "SIRET n&#39;est pas valide"},
		{"UAI for a company", "company", "Entreprise", "64102", "0640001D", 400, "official_id", "ne convient pas à ce type"},
		{"official id taken", "company", "Copycat", "64102", "732 829 320 00074", 409, "official_id", "Une autre organisation porte déjà cet identifiant."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.post(t, "/admin/organisations/new", "/admin/organisations", url.Values{
				"kind": {tt.kind}, "name": {tt.orgName}, "commune": {tt.commune}, "official_id": {tt.officID}})
			adminWantStatus(t, tt.name, resp, body, tt.status)
			mustContain(t, tt.name, body, `class="error-summary"`, `href="#f-`+tt.field+`"`, tt.message,
				`id="f-`+tt.field+`-error"`)
			// What was typed comes back, less what no text may hold.
			if name := strings.ReplaceAll(tt.orgName, "\x00", ""); strings.TrimSpace(name) != "" {
				mustContain(t, tt.name+": input kept", body, `value="`+html.EscapeString(name)+`"`)
			}
			if commune := strings.ReplaceAll(tt.commune, "\xff", ""); commune != "" {
				mustContain(t, tt.name+": input kept", body, `value="`+commune+`"`)
			}
			if tt.kind == "school" || tt.kind == "company" {
				mustContain(t, tt.name+": kind kept", body, `<option value="`+tt.kind+`" selected>`)
			}
		})
	}

	t.Run("valid", func(t *testing.T) {
		resp, body := f.post(t, "/admin/organisations/new", "/admin/organisations", url.Values{
			"kind": {"school"}, "name": {"  Collège   Marracq "}, "commune": {"64102"}, "official_id": {"0640001d"}})
		adminWantStatus(t, "create", resp, body, http.StatusSeeOther)
		loc := resp.Header.Get("Location")
		if !regexp.MustCompile(`^/admin/organisations/\d+$`).MatchString(loc) {
			t.Fatalf("redirected to %q", loc)
		}
		resp, body = f.b.Get(loc)
		adminWantStatus(t, "detail", resp, body, http.StatusOK)
		mustContain(t, "detail", body, "<h1>Collège Marracq</h1>", "Établissement scolaire", "0640001D", "Organisation créée.",
			"<title>Collège Marracq · Organisations · berriz</title>")
	})
}

func TestAdminEditOrganisation(t *testing.T) {
	f := mustAdminFixture(t)
	org := f.env.MustOrg(t, account.KindAssociation, "Emmaüs Bayonne")
	resp, body := f.post(t, "/admin/organisations/new", "/admin/organisations", url.Values{
		"kind": {"company"}, "name": {"SIRET holder"}, "commune": {"64102"}, "official_id": {"73282932000074"}})
	adminWantStatus(t, "holder", resp, body, http.StatusSeeOther)

	resp, body = f.post(t, adminOrgPath(org.ID), adminOrgPath(org.ID), url.Values{
		"kind": {"workshop"}, "name": {"Emmaüs Pays basque"}, "commune": {"64024"}, "official_id": {"W641001234"}})
	adminWantRedirect(t, "edit", resp, body, adminOrgPath(org.ID))
	_, body = f.b.Get(adminOrgPath(org.ID))
	mustContain(t, "after edit", body, "<h1>Emmaüs Pays basque</h1>", "Atelier", "64024", "W641001234", "Modifications enregistrées.")

	// A failed edit shows what was typed, not the stored values.
	resp, body = f.post(t, adminOrgPath(org.ID), adminOrgPath(org.ID), url.Values{
		"kind": {"workshop"}, "name": {"Nouveau nom"}, "commune": {"99999"}, "official_id": {""}})
	adminWantStatus(t, "bad commune", resp, body, http.StatusBadRequest)
	mustContain(t, "bad commune", body, `value="Nouveau nom"`, `value="99999"`, "Code commune INSEE invalide", "<h1>Emmaüs Pays basque</h1>")

	resp, body = f.post(t, adminOrgPath(org.ID), adminOrgPath(org.ID), url.Values{
		"kind": {"workshop"}, "name": {"Emmaüs"}, "commune": {"64102"}, "official_id": {"73282932000074"}})
	adminWantStatus(t, "taken", resp, body, http.StatusConflict)
	mustContain(t, "taken", body, `id="f-official_id-error"`, "Une autre organisation porte déjà cet identifiant.")

	o, err := f.env.DB.Organisation(context.Background(), org.ID)
	if err != nil || o.Name != "Emmaüs Pays basque" || o.Kind != account.KindWorkshop {
		t.Fatalf("stored: %+v %v", o, err)
	}
	_, body = f.b.Get("/admin/events?kind=role_changed")
	mustContain(t, "events", body, "Rôle modifié", "kind association -&gt; workshop")
}

// Deactivating an organisation ends its members' sessions and keeps them
// out until it is reactivated.
func TestAdminDeactivateLocksMembersOut(t *testing.T) {
	f := mustAdminFixture(t)
	org := f.env.MustOrg(t, account.KindWorkshop, "Atelier Berriz")
	member := f.env.MustUser(t, org.ID, "Ane Tech", false)
	mb := f.env.SignIn(t, member.Email)
	if _, body := mb.Get("/"); !strings.Contains(body, `action="/logout"`) {
		t.Fatal("member not signed in")
	}

	resp, body := f.post(t, adminOrgPath(org.ID), adminOrgPath(org.ID)+"/deactivate", nil)
	adminWantRedirect(t, "deactivate", resp, body, adminOrgPath(org.ID))
	_, body = f.b.Get(adminOrgPath(org.ID))
	mustContain(t, "deactivated", body, "Désactivée", "Organisation désactivée", `action="/admin/organisations/`+fmt.Sprint(org.ID)+`/activate"`)
	if strings.Contains(body, `/invitations" novalidate`) {
		t.Error("an inactive organisation offers the invitation form")
	}

	resp, body = mb.Get("/account")
	adminWantRedirect(t, "member after deactivation", resp, body, "/login?next=%2Faccount")
	if st, _ := loginAttempt(t, f.env.Anonymous(t), member.Email, servertest.Password); st != http.StatusUnauthorized {
		t.Fatalf("sign-in of a deactivated member: %d", st)
	}

	resp, body = f.post(t, adminOrgPath(org.ID), adminOrgPath(org.ID)+"/activate", nil)
	adminWantRedirect(t, "activate", resp, body, adminOrgPath(org.ID))
	f.env.SignIn(t, member.Email)

	// An operator cannot lock itself out.
	resp, body = f.post(t, adminOrgPath(f.opOrg.ID), adminOrgPath(f.opOrg.ID)+"/deactivate", nil)
	adminWantStatus(t, "own organisation", resp, body, http.StatusConflict)
	mustContain(t, "own organisation", body, "Vous ne pouvez pas désactiver votre propre organisation.", "<h1>Agence numérique</h1>")

	_, body = f.b.Get("/admin/events")
	mustContain(t, "events", body, "Organisation désactivée", "Organisation réactivée", f.op.Email,
		`<a href="/admin/organisations/`+fmt.Sprint(org.ID)+`">organisation n° `+fmt.Sprint(org.ID)+`</a>`)
}

var adminInviteLinkRE = regexp.MustCompile(`id="invitation-link" type="url" value="([^"]+)"`)

func TestAdminInvite(t *testing.T) {
	f := mustAdminFixture(t)
	org := f.env.MustOrg(t, account.KindSchool, "Lycée Cassin")
	existing := f.env.MustUser(t, org.ID, "Already Here", false)
	page := adminOrgPath(org.ID)

	resp, body := f.post(t, page, page+"/invitations", url.Values{"email": {"direction@Cassin.Example"}, "lang": {"eu"}})
	adminWantStatus(t, "invite", resp, body, http.StatusOK)
	mustContain(t, "invited", body, "Invitation créée", "direction@cassin.example", "Lycée Cassin")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("link page Cache-Control %q", cc)
	}
	m := adminInviteLinkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link on the page:\n%s", body)
	}
	link, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil || !strings.HasPrefix(link.Path, "/eu/invitations/") {
		t.Fatalf("link %q: %v", m[1], err)
	}
	resp, body = f.env.Anonymous(t).Get(link.Path)
	adminWantStatus(t, "accept page", resp, body, http.StatusOK)
	mustContain(t, "accept page", body, "Lycée Cassin", "direction@cassin.example")

	tests := []struct {
		name, email, lang string
		status            int
		field, message    string
	}{
		{"bad address", "not-an-address", "fr", 400, "email", "Adresse e-mail invalide"},
		{"no address", "", "fr", 400, "email", ""},
		{"bad language", "x@example.org", "de", 400, "lang", "Choisissez une langue"},
		{"address has an account", existing.Email, "fr", 409, "email", "Un compte existe déjà avec cette adresse."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.post(t, page, page+"/invitations", url.Values{"email": {tt.email}, "lang": {tt.lang}})
			adminWantStatus(t, tt.name, resp, body, tt.status)
			mustContain(t, tt.name, body, `id="f-`+tt.field+`-error"`, tt.message, "<h1>Lycée Cassin</h1>",
				`value="`+html.EscapeString(tt.email)+`"`)
		})
	}

	// The pending invitation is listed, here and on the organisation page,
	// and revoking it kills the link.
	_, body = f.b.Get("/admin/invitations")
	mustContain(t, "invitations", body, "direction@cassin.example", "Lycée Cassin", "administrateur·rice")
	invs, _, err := f.env.DB.ListInvitations(context.Background(), postgres.InvitationFilter{OrgID: org.ID}, time.Now())
	if err != nil || len(invs) != 1 {
		t.Fatalf("pending invitations: %v %v", invs, err)
	}
	_, body = f.b.Get(page)
	mustContain(t, "org page", body, "direction@cassin.example", fmt.Sprintf(`formaction="/admin/invitations/%d/revoke"`, invs[0].ID))
	resp, body = f.b.PostForm(fmt.Sprintf("/admin/invitations/%d/revoke", invs[0].ID), url.Values{"next": {"/admin/invitations?org=" + fmt.Sprint(org.ID)}})
	adminWantRedirect(t, "revoke", resp, body, "/admin/invitations?org="+fmt.Sprint(org.ID))
	_, body = f.b.Get("/admin/invitations?org=" + fmt.Sprint(org.ID))
	mustContain(t, "after revoke", body, "Invitation annulée", "Aucune invitation en attente.")
	if resp, _ := f.env.Anonymous(t).Get(link.Path); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("revoked link: %d", resp.StatusCode)
	}
	resp, body = f.b.PostForm(fmt.Sprintf("/admin/invitations/%d/revoke", invs[0].ID), nil)
	adminWantStatus(t, "revoke twice", resp, body, http.StatusNotFound)

	// A redirect target elsewhere is ignored.
	resp, body = f.post(t, page, page+"/invitations", url.Values{"email": {"again@cassin.example"}, "lang": {"fr"}})
	adminWantStatus(t, "invite again", resp, body, http.StatusOK)
	invs, _, _ = f.env.DB.ListInvitations(context.Background(), postgres.InvitationFilter{OrgID: org.ID}, time.Now())
	f.b.Get("/admin/invitations")
	resp, body = f.b.PostForm(fmt.Sprintf("/admin/invitations/%d/revoke", invs[0].ID), url.Values{"next": {"//evil.example/"}})
	adminWantRedirect(t, "revoke with a foreign next", resp, body, "/admin/invitations")

	_, body = f.b.Get("/admin/events")
	mustContain(t, "events", body, "Invitation envoyée", "Invitation annulée", "direction@cassin.example org_admin=true")
}

var adminSecretRE = regexp.MustCompile(`id="token-secret" type="text" value="(brz_[^"]+)"`)

func TestAdminObservatoryTokens(t *testing.T) {
	f := mustAdminFixture(t)
	obs := f.env.MustOrg(t, account.KindObservatory, "Observatoire NR")
	school := f.env.MustOrg(t, account.KindSchool, "École")
	page := adminOrgPath(obs.ID)

	_, body := f.b.Get(page)
	mustContain(t, "observatory page", body, "Jetons d&#39;API de l&#39;observatoire", "Aucun jeton actif.", `name="token_name"`)
	if _, body := f.b.Get(adminOrgPath(school.ID)); strings.Contains(body, "token_name") {
		t.Error("a school is offered organisation tokens")
	}

	// The form has no scope; one forced into the request changes nothing.
	resp, body := f.post(t, page, page+"/tokens", url.Values{"token_name": {"Tableau de bord"}, "scope": {"write"}})
	adminWantStatus(t, "create", resp, body, http.StatusOK)
	mustContain(t, "secret page", body, "Tableau de bord", "ne sera plus jamais affiché")
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("secret page Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	m := adminSecretRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret shown:\n%s", body)
	}
	tokens, err := f.env.DB.ListTokens(context.Background(), postgres.TokenFilter{OrgID: obs.ID, OrgTokensOnly: true})
	if err != nil || len(tokens) != 1 || tokens[0].Scope != "read" || tokens[0].UserID != 0 || tokens[0].Name != "Tableau de bord" {
		t.Fatalf("stored tokens %+v %v", tokens, err)
	}
	if !strings.HasPrefix(m[1], tokens[0].Prefix) {
		t.Errorf("secret %q does not start with the prefix %q", m[1], tokens[0].Prefix)
	}
	_, body = f.b.Get(page)
	mustContain(t, "listed", body, "Tableau de bord", tokens[0].Prefix)
	if strings.Contains(body, m[1]) {
		t.Error("the secret is shown again")
	}

	resp, body = f.post(t, page, page+"/tokens", url.Values{"token_name": {" "}})
	adminWantStatus(t, "no name", resp, body, http.StatusBadRequest)
	mustContain(t, "no name", body, `id="f-token_name-error"`, `href="#f-token_name"`, "Nom du jeton")
	resp, body = f.post(t, page, page+"/tokens", url.Values{"token_name": {"Nul\x00"}})
	adminWantStatus(t, "control character", resp, body, http.StatusBadRequest)
	mustContain(t, "control character", body, `id="f-token_name-error"`, `value="Nul"`)
	resp, body = f.post(t, page, adminOrgPath(school.ID)+"/tokens", url.Values{"token_name": {"x"}})
	adminWantStatus(t, "school token", resp, body, http.StatusNotFound)

	// Revoking: only this organisation's tokens.
	other := f.env.MustOrg(t, account.KindObservatory, "Autre observatoire")
	f.env.MustToken(t, other.ID, 0, "read")
	otherTokens, _ := f.env.DB.ListTokens(context.Background(), postgres.TokenFilter{OrgID: other.ID, OrgTokensOnly: true})
	resp, body = f.post(t, page, fmt.Sprintf("%s/tokens/%d/revoke", page, otherTokens[0].ID), nil)
	adminWantStatus(t, "foreign token", resp, body, http.StatusNotFound)
	resp, body = f.post(t, page, fmt.Sprintf("%s/tokens/%d/revoke", page, tokens[0].ID), nil)
	adminWantRedirect(t, "revoke", resp, body, page)
	_, body = f.b.Get(page)
	mustContain(t, "after revoke", body, "Jeton révoqué", "Aucun jeton actif.")
	if resp, _ := f.env.API(t, m[1]).Get("/api/v1/me"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked token still accepted: %d", resp.StatusCode)
	}
	_, body = f.b.Get("/admin/events")
	mustContain(t, "events", body, "Jeton d&#39;API créé", "Jeton d&#39;API révoqué", "Tableau de bord (read)")
}
