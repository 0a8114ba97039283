package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// adminSeed fills every operator list beyond one page: 30 organisations,
// 30+ users, 30 pending invitations, dozens of events, an organisation with
// a full page of members and an observatory with tokens.
type adminSeed struct {
	operator    account.User
	school, obs account.Organisation
}

func mustAdminSeed(t *testing.T, env *servertest.Env) adminSeed {
	t.Helper()
	ctx := context.Background()
	opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique du Pays basque")
	s := adminSeed{operator: env.MustUser(t, opOrg.ID, "Maddi Etxart", true)}
	kinds := account.OrgKinds
	for i := 1; i <= 30; i++ {
		o := env.MustOrg(t, kinds[i%len(kinds)], fmt.Sprintf("Organisation aux noms assez longs n° %02d", i))
		env.MustUser(t, o.ID, fmt.Sprintf("Personne Avec Un Nom Long %02d", i), i%2 == 0)
		hash := account.HashToken(fmt.Sprintf("seed-invitation-%d", i))
		if _, err := env.DB.CreateInvitation(ctx, postgres.NewInvitation{Hash: hash, OrgID: o.ID, OrgAdmin: true, Lang: "eu",
			Email: fmt.Sprintf("invite.longue.adresse.%02d@exemple-de-domaine.org", i), ExpiresAt: time.Now().Add(72 * time.Hour)}, nil, "203.0.113.9"); err != nil {
			t.Fatal(err)
		}
	}
	s.school = env.MustOrg(t, account.KindSchool, "Collège Marracq")
	for i := 1; i <= 30; i++ {
		env.MustUser(t, s.school.ID, fmt.Sprintf("Ikasle Irakasle %02d", i), i == 1)
	}
	for i := 1; i <= 15; i++ {
		hash := account.HashToken(fmt.Sprintf("seed-school-invitation-%d", i))
		if _, err := env.DB.CreateInvitation(ctx, postgres.NewInvitation{Hash: hash, OrgID: s.school.ID, Lang: "fr",
			Email: fmt.Sprintf("professeur.%02d@marracq.example", i), ExpiresAt: time.Now().Add(72 * time.Hour)}, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	s.obs = env.MustOrg(t, account.KindObservatory, "Observatoire du numérique responsable")
	env.MustUser(t, s.obs.ID, "Observateur", true)
	for i := 0; i < 5; i++ {
		env.MustToken(t, s.obs.ID, 0, "read")
	}
	return s
}

func adminSignInTab(t *testing.T, env *servertest.Env, email string) *browsertest.Tab {
	t.Helper()
	tab := browsertest.MustTab(t)
	tab.Navigate(env.URL + "/login")
	tab.Fill("#f-email", email)
	tab.Fill("#f-password", servertest.Password)
	tab.Click(`form[action$="/login"] button[type=submit]`)
	// Click returns at the load event and the favicon comes after it: wait
	// for it, or the next page's report may wait on it.
	tab.Measure()
	return tab
}

// Every operator page, in French and Basque, with full lists: within the
// budgets, zero axe violations, no console error.
func TestAdminPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	seed := mustAdminSeed(t, env)
	pages := []string{
		"/admin", "/admin/organisations", "/admin/organisations?page=2", "/admin/organisations/new",
		adminOrgPath(seed.school.ID), adminOrgPath(seed.obs.ID),
		"/admin/users", fmt.Sprintf("/admin/users?org=%d", seed.school.ID),
		"/admin/invitations", fmt.Sprintf("/admin/invitations?org=%d", seed.school.ID), "/admin/events",
	}
	for _, lang := range []string{"", "/eu"} {
		t.Run("lang"+lang, func(t *testing.T) {
			tab := adminSignInTab(t, env, seed.operator.Email)
			for _, p := range pages {
				r := tab.CheckPage(env.URL + lang + p)
				if r.Status != http.StatusOK {
					t.Errorf("%s: status %d", lang+p, r.Status)
				}
			}
			// The hub leads to every section, and the menu marks it.
			tab.Navigate(env.URL + lang + "/admin")
			if n := tab.Count(`main ul.sections a`); n != 12 {
				t.Errorf("admin hub: %d sections, want 12", n)
			}
			tab.Navigate(env.URL + lang + "/admin/users")
			if n := tab.Count(`header nav a[aria-current="page"][href$="/admin"]`); n != 1 {
				t.Errorf("the menu does not mark Administration on /admin/users")
			}
			// The lists really are full.
			tab.Navigate(env.URL + lang + "/admin/events")
			if n := tab.Count("tbody tr"); n != 25 {
				t.Errorf("events: %d rows, want 25", n)
			}
			tab.Navigate(env.URL + lang + "/admin/users")
			if n := tab.Count("tbody tr"); n != 25 {
				t.Errorf("users: %d rows, want 25", n)
			}
		})
	}
}

// The operator's main journey with the keyboard-and-mouse: create an
// organisation (after a mistake), invite its administrator and read the link,
// give an observatory a token; each landing page passes the checks.
func TestAdminJourneyInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	seed := mustAdminSeed(t, env)
	tab := adminSignInTab(t, env, seed.operator.Email)

	tab.Navigate(env.URL + "/eu/admin/organisations/new")
	tab.Fill("#f-kind", "workshop")
	tab.Fill("#f-name", "Tailerra Berriz")
	tab.Fill("#f-commune", "641")
	tab.Click(`form[action$="/admin/organisations"] button[type=submit]`)
	// Chromium logs a 400 document as a console error: check the rest.
	r := tab.Measure()
	if r.Status != http.StatusBadRequest {
		t.Fatalf("failed form: status %d", r.Status)
	}
	r.CheckBudgets(t)
	tab.CheckAxe()
	if n := tab.Count(`.error-summary a[href="#f-commune"]`); n != 1 {
		t.Fatalf("error summary links %d times to the commune", n)
	}
	tab.Fill("#f-commune", "64102")
	tab.Click(`form[action$="/admin/organisations"] button[type=submit]`)
	if h1 := tab.Text("h1"); h1 != "Tailerra Berriz" {
		t.Fatalf("after creation, h1 = %q", h1)
	}
	tab.CheckCurrentPage()

	tab.Fill("#f-email", "zuzendaritza@tailerra.example")
	tab.Click(`form[action$="/invitations"] button[type=submit]`)
	if !strings.Contains(tab.Text("main"), "zuzendaritza@tailerra.example") {
		t.Fatalf("invitation page: %q", tab.Text("main"))
	}
	tab.CheckCurrentPage()

	tab.Navigate(env.URL + adminOrgPath(seed.obs.ID))
	tab.Fill("#f-token_name", "Tableau de bord")
	tab.Click(`form[action$="/tokens"] button[type=submit]`)
	tab.CheckCurrentPage()
	if n := tab.Count(`#token-secret[value^="brz_"]`); n != 1 {
		t.Fatal("no secret shown")
	}

	tab.Navigate(env.URL + "/admin/users")
	tab.Click(`tbody tr:nth-child(3) button[form="revoke-sessions"]`)
	tab.CheckCurrentPage()
	if n := tab.Count(".flash"); n != 1 {
		t.Fatalf("%d flash messages after revoking sessions", n)
	}
}
