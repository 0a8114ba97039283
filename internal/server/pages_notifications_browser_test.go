package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
)

// The account page with its notifications section and the page of
// notifications, full (a page of 25 long messages and a pager), in French
// and Basque: within the budgets, zero axe violations; switching e-mails
// off with the keyboard-and-mouse lands on a page that passes too.
func TestNotificationsPagesInBrowser(t *testing.T) {
	env := mustDigestEnv(t)
	school := env.MustOrg(t, account.KindSchool, "Collège Marracq de Bayonne, établissement public local d'enseignement")
	ane := env.MustUser(t, school.ID, "Ane Etxeberria Arrieta", true)
	for i := 1; i <= 40; i++ {
		env.clock.Set(time.Date(2026, 5, 1, 8, i, 0, 0, digestParis))
		env.notify(t, school.ID, "notify.test_event", fmt.Sprintf("/requests/%d", i), nil)
	}
	env.clock.Set(time.Date(2026, 5, 14, 9, 0, 0, 0, digestParis))
	for _, lang := range []string{"", "/eu"} {
		t.Run("lang"+lang, func(t *testing.T) {
			tab := adminSignInTab(t, env.Env, ane.Email)
			for _, p := range []string{"/account", "/account/notifications", "/account/notifications?page=2"} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", lang+p, r.Status)
				}
			}
			tab.Navigate(env.URL + lang + "/account/notifications")
			if n := tab.Count("tbody tr"); n != 25 {
				t.Errorf("notifications: %d rows, want 25", n)
			}
			if n := tab.Count(`nav.pager a[rel="next"]`); n != 1 {
				t.Errorf("notifications: %d next links", n)
			}
		})
	}

	tab := adminSignInTab(t, env.Env, ane.Email)
	tab.Navigate(env.URL + "/eu/account")
	tab.Click("#f-notify_email-off")
	tab.Click(`form[action$="/account/notifications"] button[type=submit]`)
	tab.CheckCurrentPage()
	if !strings.Contains(tab.Text("main"), "Ez duzu jakinarazpenik jasoko") {
		t.Fatalf("after switching off: %q", tab.Text("main"))
	}
	if s, _ := env.DB.NotificationSettings(t.Context(), ane.ID); s.Email {
		t.Fatal("the browser did not switch e-mails off")
	}
	if n := tab.Count("#f-notify_email-off:checked"); n != 1 {
		t.Fatal("the page does not show e-mails off")
	}
}
