package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/chromedp/chromedp"
)

// TestInvitationJourney is the accounts issue's acceptance journey, in a
// real browser, in French and in Basque: the operator invites a school's
// administrator, who accepts, signs in, invites a colleague and signs out.
// Every page on the way is checked against the eco-design budgets and axe.
func TestInvitationJourney(t *testing.T) {
	for _, lang := range []string{"fr", "eu"} {
		t.Run(lang, func(t *testing.T) {
			env := servertest.MustStart(t, servertest.Options{})
			opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique du Pays basque")
			operator := env.MustUser(t, opOrg.ID, "Oihana Operator", true)
			school := env.MustOrg(t, account.KindSchool, "Collège Marracq")
			base := env.URL + "/" + lang
			tab := browsertest.MustTab(t)
			check := func(step string) {
				t.Helper()
				r := tab.CheckCurrentPage()
				if r.Status >= 400 {
					t.Fatalf("%s: status %d at %s", step, r.Status, tab.URL())
				}
				if got := browsertest.RunValue(tab, chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
					t.Fatalf("%s: page in %q, want %q", step, got, lang)
				}
			}
			signIn := func(email, password string) {
				t.Helper()
				tab.Navigate(base + "/login")
				check("login page")
				tab.Fill("#f-email", email)
				tab.Fill("#f-password", password)
				tab.Click(`main form button[type=submit]`)
				if !strings.HasSuffix(tab.URL(), "/account") {
					t.Fatalf("after signing in as %s: at %s", email, tab.URL())
				}
				check("account page after sign-in")
			}
			signOut := func() {
				t.Helper()
				tab.Click(`header form.signout button`)
				if tab.Count(`header form.signout`) != 0 {
					t.Fatal("still signed in after signing out")
				}
				check("home after sign-out")
			}

			// The operator invites the school's administrator.
			signIn(operator.Email, servertest.Password)
			tab.Click(`nav a[href$="/admin"]`)
			check("administration")
			tab.Click(`main a[href$="/admin/organisations"]`)
			check("organisations")
			tab.Click(fmt.Sprintf(`main a[href$="/admin/organisations/%d"]`, school.ID))
			check("school's page")
			tab.Fill("#f-email", "irati.admin@example.org")
			tab.Click(`form[action$="/invitations"] button[type=submit]`)
			check("invitation sent")
			link := browsertest.RunValue(tab, chromedp.Evaluate[string](`document.getElementById('invitation-link').value`))
			if !strings.Contains(link, "/invitations/") {
				t.Fatalf("no invitation link on the page: %q", link)
			}
			signOut()

			// The school's administrator accepts the invitation.
			u, err := url.Parse(link)
			if err != nil {
				t.Fatal(err)
			}
			tab.Navigate(env.URL + u.Path)
			check("invitation")
			if !strings.Contains(tab.Text("main"), "Collège Marracq") {
				t.Fatal("the invitation page does not name the school")
			}
			password := "gure ikastetxeko pasahitz luzea"
			tab.Fill("#f-name", "Irati Admin")
			tab.Fill("#f-password", password)
			tab.Fill("#f-password_confirm", password)
			tab.Click(`main form button[type=submit]`)
			if !strings.HasSuffix(tab.URL(), "/account") {
				t.Fatalf("after accepting: at %s", tab.URL())
			}
			check("account after accepting")
			signOut()

			// She signs in again and invites a colleague.
			signIn("irati.admin@example.org", password)
			tab.Click(`nav a[href$="/org/members"]`)
			check("members")
			tab.Navigate(base + "/org/invitations")
			check("invitations")
			tab.Fill("#f-email", "peio.irakaslea@example.org")
			tab.Click(`form[action$="/org/invitations"] button[type=submit]`)
			check("colleague invited")
			if got := tab.Text("#invitation-link"); !strings.Contains(got, "/invitations/") {
				t.Fatalf("no link for the colleague: %q", got)
			}
			if !strings.Contains(tab.Text("main"), "peio.irakaslea@example.org") {
				t.Fatal("the pending invitation is not listed")
			}
			signOut()

			// The colleague's invitation belongs to the school, as a member.
			invs, _, err := env.DB.ListInvitations(t.Context(), postgres.InvitationFilter{OrgID: school.ID}, time.Now())
			if err != nil || len(invs) != 1 || invs[0].OrgAdmin || invs[0].Email != "peio.irakaslea@example.org" {
				t.Fatalf("pending invitations of the school: %+v %v", invs, err)
			}
		})
	}
}
