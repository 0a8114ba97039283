package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// orgTestInvite stores a pending invitation to an organisation.
func orgTestInvite(t *testing.T, env *servertest.Env, orgID int64, email string) postgres.Invitation {
	t.Helper()
	_, hash := account.NewToken()
	inv, err := env.DB.CreateInvitation(context.Background(), postgres.NewInvitation{Hash: hash, OrgID: orgID, Email: email,
		Lang: "fr", ExpiresAt: time.Now().Add(72 * time.Hour)}, nil, "")
	if err != nil {
		t.Fatalf("invitation: %v", err)
	}
	return inv
}

func TestOrgMembersAccess(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	school := env.MustOrg(t, account.KindSchool, "École Jean Moulin")
	other := env.MustOrg(t, account.KindWorkshop, "Atelier Voisin")
	operators := env.MustOrg(t, account.KindOperator, "Agence du numérique")
	admin := env.MustUser(t, school.ID, "Amaia Admin", true)
	member := env.MustUser(t, school.ID, "Beñat Kidea", false)
	env.MustUser(t, other.ID, "Xabi Kanpokoa", true)
	op := env.MustUser(t, operators.ID, "Oihana Operadorea", true)
	orgTestInvite(t, env, other.ID, "someone@voisin.example")

	for _, tt := range []struct {
		name, email, path string
		status            int
		wants, unwanted   []string
	}{
		{"a member is refused", member.Email, "/org/members", http.StatusForbidden, nil, nil},
		{"a member is refused the invitations", member.Email, "/org/invitations", http.StatusForbidden, nil, nil},
		{"an admin sees its own organisation only", admin.Email, "/org/members", http.StatusOK,
			[]string{"Membres de École Jean Moulin", "Amaia Admin", "Beñat Kidea", member.Email, "Membres (2)",
				"<caption>", `<th scope="col">`, `<th scope="row">`, "(vous)", "Administrateur·rice", "Invitations en attente : 0"},
			[]string{"Xabi Kanpokoa", "Oihana"}},
		{"an admin sees its own invitations only", admin.Email, "/org/invitations", http.StatusOK,
			[]string{"Aucune invitation en attente.", `<select id="f-lang" name="lang">`, `<option value="fr" lang="fr" selected>`},
			[]string{"someone@voisin.example", `name="org_admin"`}},
		{"an operator sees its own organisation", op.Email, "/org/members", http.StatusOK,
			[]string{"Oihana Operadorea"}, []string{"Amaia Admin", "Xabi Kanpokoa"}},
		{"an operator may invite an admin", op.Email, "/org/invitations", http.StatusOK,
			[]string{`name="org_admin"`}, []string{"someone@voisin.example"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.SignIn(t, tt.email).Get(tt.path)
			acctMustStatus(t, tt.name, resp, body, tt.status, "")
			mustContain(t, tt.name, body, tt.wants...)
			for _, u := range tt.unwanted {
				if strings.Contains(body, u) {
					t.Errorf("%s shows %q", tt.path, u)
				}
			}
		})
	}
}

func TestOrgMemberChanges(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	school := env.MustOrg(t, account.KindSchool, "Ikastola")
	other := env.MustOrg(t, account.KindWorkshop, "Atelier Voisin")
	admin := env.MustUser(t, school.ID, "Amaia Admin", true)
	member := env.MustUser(t, school.ID, "Beñat Kidea", false)
	stranger := env.MustUser(t, other.ID, "Xabi Kanpokoa", true)
	strangerMate := env.MustUser(t, other.ID, "Xabiren Laguna", false)
	b := env.SignIn(t, admin.Email)
	b.Get("/org/members")
	path := func(id int64, action string) string { return fmt.Sprintf("/org/members/%d/%s", id, action) }

	for _, tt := range []struct {
		name   string
		path   string
		values url.Values
		status int
		wants  []string
	}{
		{"toggle someone of another organisation", path(strangerMate.ID, "admin"), url.Values{"admin": {"true"}}, http.StatusNotFound, nil},
		{"remove someone of another organisation", path(stranger.ID, "remove"), nil, http.StatusNotFound, nil},
		{"unknown member", path(999999, "admin"), url.Values{"admin": {"true"}}, http.StatusNotFound, nil},
		{"malformed id", "/org/members/x/remove", nil, http.StatusNotFound, nil},
		{"neither true nor false", path(member.ID, "admin"), url.Values{"admin": {"yes"}}, http.StatusBadRequest, nil},
		{"the last admin steps down", path(admin.ID, "admin"), url.Values{"admin": {"false"}}, http.StatusConflict,
			[]string{"au moins un administrateur", `role="alert"`, "Beñat Kidea"}},
		{"removing oneself", path(admin.ID, "remove"), nil, http.StatusConflict,
			[]string{"Vous ne pouvez pas vous retirer vous-même", `role="alert"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.PostForm(tt.path, tt.values)
			acctMustStatus(t, tt.name, resp, body, tt.status, "")
			mustContain(t, tt.name, body, tt.wants...)
		})
	}
	if u := acctMustUser(t, env, strangerMate.ID); u.OrgAdmin {
		t.Fatal("a member of another organisation was made admin")
	}
	acctMustUser(t, env, stranger.ID)

	resp, body := b.PostForm(path(member.ID, "admin"), url.Values{"admin": {"true"}, "page": {"1"}})
	acctMustStatus(t, "grant", resp, body, http.StatusSeeOther, "/org/members")
	if !acctMustUser(t, env, member.ID).OrgAdmin {
		t.Fatal("not granted")
	}
	_, body = b.Get("/org/members")
	mustContain(t, "after grant", body, "administre maintenant")
	resp, body = b.PostForm(path(member.ID, "admin"), url.Values{"admin": {"false"}})
	acctMustStatus(t, "withdraw", resp, body, http.StatusSeeOther, "/org/members")
	if acctMustUser(t, env, member.ID).OrgAdmin {
		t.Fatal("not withdrawn")
	}

	// After a change the admin is back on the page it came from.
	resp, body = b.PostForm(path(member.ID, "remove"), url.Values{"page": {"2"}})
	acctMustStatus(t, "remove", resp, body, http.StatusSeeOther, "/org/members?page=2")
	if _, err := env.DB.User(context.Background(), member.ID, 0); err == nil {
		t.Fatal("the member still exists")
	}
	_, body = b.Get("/org/members")
	mustContain(t, "after remove", body, "retiré de l&#39;organisation", "Membres (1)")
}

// An admin who hands the role over and steps down lands on its own account.
func TestOrgAdminStepsDown(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindCommune, "Herria")
	a := env.MustUser(t, org.ID, "Lehena", true)
	env.MustUser(t, org.ID, "Bigarrena", true)
	b := env.SignIn(t, a.Email)
	resp, body := b.PostForm(fmt.Sprintf("/org/members/%d/admin", a.ID), url.Values{"admin": {"false"}})
	acctMustStatus(t, "step down", resp, body, http.StatusSeeOther, "/account")
	resp, body = b.Get("/org/members")
	acctMustStatus(t, "after stepping down", resp, body, http.StatusForbidden, "")
}

var orgLinkRE = regexp.MustCompile(`<code id="invitation-link">([^<]+)</code>`)

func TestOrgInvitations(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	school := env.MustOrg(t, account.KindSchool, "Ikastola")
	other := env.MustOrg(t, account.KindWorkshop, "Atelier Voisin")
	admin := env.MustUser(t, school.ID, "Amaia Admin", true)
	taken := env.MustUser(t, other.ID, "Xabi", false)
	foreign := orgTestInvite(t, env, other.ID, "someone@voisin.example")
	b := env.SignIn(t, admin.Email)
	b.Get("/org/invitations")

	for _, tt := range []struct {
		name, email, lang string
		status            int
		wants             []string
	}{
		{"malformed address", "not-an-address", "eu", http.StatusBadRequest,
			[]string{"Adresse e-mail invalide", `href="#f-email"`, `value="not-an-address"`, `<option value="eu" lang="eu" selected>`}},
		{"unknown language", "new@ikastola.example", "de", http.StatusBadRequest,
			[]string{"Choisissez une langue", `value="new@ikastola.example"`}},
		{"address with an account", taken.Email, "fr", http.StatusConflict,
			[]string{"Un compte existe déjà avec cette adresse.", `value="` + taken.Email + `"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.PostForm("/org/invitations", url.Values{"email": {tt.email}, "lang": {tt.lang}})
			acctMustStatus(t, tt.name, resp, body, tt.status, "")
			mustContain(t, tt.name, body, tt.wants...)
		})
	}

	// Without SMTP the link is shown to pass on, and works.
	resp, body := b.PostForm("/org/invitations", url.Values{"email": {"Nouvelle@Ikastola.example"}, "lang": {"eu"}, "org_admin": {"on"}})
	acctMustStatus(t, "invite", resp, body, http.StatusOK, "")
	m := orgLinkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link shown:\n%s", body)
	}
	mustContain(t, "invited", body, "Aucun e-mail n&#39;a été envoyé", "Nouvelle@ikastola.example", "Invitations en attente (1)")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the page with the link", cc)
	}
	link, err := url.Parse(m[1])
	if err != nil || !strings.HasPrefix(link.Path, "/eu/invitations/") {
		t.Fatalf("link %q", m[1])
	}
	resp, body = env.Anonymous(t).Get(link.Path)
	acctMustStatus(t, "the link", resp, body, http.StatusOK, "")
	invs, _, err := env.DB.ListInvitations(context.Background(), postgres.InvitationFilter{OrgID: school.ID}, time.Now())
	if err != nil || len(invs) != 1 {
		t.Fatalf("invitations %v, %v", invs, err)
	}
	if invs[0].OrgAdmin || invs[0].Lang != "eu" {
		t.Errorf("an organisation admin invited an admin, or the language was lost: %+v", invs[0])
	}

	_, body = b.Get("/org/members")
	mustContain(t, "members page", body, "Invitations en attente : 1")

	for _, tt := range []struct {
		name string
		id   int64
	}{
		{"another organisation's invitation", foreign.ID},
		{"unknown invitation", 999999},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.PostForm(fmt.Sprintf("/org/invitations/%d/revoke", tt.id), nil)
			acctMustStatus(t, tt.name, resp, body, http.StatusNotFound, "")
		})
	}
	resp, body = b.PostForm(fmt.Sprintf("/org/invitations/%d/revoke", invs[0].ID), nil)
	acctMustStatus(t, "revoke", resp, body, http.StatusSeeOther, "/org/invitations")
	_, body = b.Get("/org/invitations")
	mustContain(t, "after revoke", body, "L&#39;invitation est annulée", "Aucune invitation en attente.")
	resp, body = env.Anonymous(t).Get(link.Path)
	acctMustStatus(t, "revoked link", resp, body, http.StatusNotFound, "")
	other2, _, _ := env.DB.ListInvitations(context.Background(), postgres.InvitationFilter{OrgID: other.ID}, time.Now())
	if len(other2) != 1 {
		t.Fatal("another organisation's invitation was revoked")
	}
}

// The organisation pages with full pages of members and invitations, in
// French and Basque, within the budgets and with zero axe violations.
func TestOrgPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindIntercommunality, "Communauté d'agglomération Pays basque")
	admin := env.MustUser(t, org.ID, "Garazi Arrieta-Etcheverry", true)
	for i := range 26 {
		env.MustUser(t, org.ID, fmt.Sprintf("Membre Numéro %02d Avec Un Nom Long", i), i%3 == 0)
		orgTestInvite(t, env, org.ID, fmt.Sprintf("invitee.%02d@agglo.example", i))
	}
	for _, lang := range []string{"/fr", "/eu"} {
		t.Run(lang[1:], func(t *testing.T) {
			tab := browsertest.MustTab(t)
			acctBrowserSignIn(tab, env.URL, admin.Email)
			for _, p := range []string{"/org/members", "/org/members?page=2", "/org/invitations"} {
				r := tab.CheckPage(env.URL + lang + p)
				if r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
			// The page that shows an invitation link to pass on.
			tab.Navigate(env.URL + lang + "/org/invitations")
			tab.Fill("#f-email", "new"+lang[1:]+"@agglo.example")
			tab.Click(`form[action$="/org/invitations"] p button[type=submit]`)
			r := tab.CheckCurrentPage()
			if r.Status != http.StatusOK || tab.Count("#invitation-link") != 1 {
				t.Errorf("after inviting: status %d, %d links shown", r.Status, tab.Count("#invitation-link"))
			}
		})
	}
}
