package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/server/servertest"
)

// The pages a visitor can reach today, in each language, within the
// ECODESIGN.md budgets and with zero axe violations.
func TestPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	for _, p := range []string{"/", "/eu/", "/en/", "/about", "/eu/about", "/en/about"} {
		t.Run(p, func(t *testing.T) {
			tab := browsertest.MustTab(t)
			r := tab.CheckPage(env.URL + p)
			if r.Status != http.StatusOK {
				t.Errorf("status %d", r.Status)
			}
		})
	}
}

func TestErrorPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	for _, p := range []string{"/nope", "/eu/nope", "/en/nope"} {
		t.Run(p, func(t *testing.T) {
			tab := browsertest.MustTab(t)
			tab.Navigate(env.URL + p)
			r := tab.Measure()
			if r.Status != http.StatusNotFound {
				t.Errorf("status %d, want 404", r.Status)
			}
			r.CheckBudgets(t)
			tab.CheckAxe()
		})
	}
}

// The language switch works by clicking, and the choice sticks.
func TestLanguageSwitchInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	tab := browsertest.MustTab(t)
	tab.Navigate(env.URL + "/about")
	tab.Click(`nav.langs a[hreflang="eu"]`)
	if h1 := tab.Text("h1"); h1 != "berrizi buruz" {
		t.Fatalf("after switching to Basque, h1 = %q", h1)
	}
	tab.Click(`a.brand`)
	if !strings.Contains(tab.Text("h1"), "Bigarren bizitza") {
		t.Fatalf("Basque not kept on the next page: %q", tab.Text("h1"))
	}
	tab.Click(`a.skip`)
	tab.CheckCurrentPage()
}
