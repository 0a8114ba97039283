package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/labstack/echo/v5"
)

// The 403 and 500 pages, in every language, within the budgets and with
// zero axe violations. (The 404 page is checked on the wired server in
// browser_test.go.)
func TestForbiddenAndInternalPagesInBrowser(t *testing.T) {
	s, _ := newBareServer(t)
	s.echo.GET("/forbidden", func(c *echo.Context) error { return berriz.E(berriz.Forbidden, "error.forbidden") })
	s.echo.GET("/broken", func(c *echo.Context) error { panic("broken on purpose") })
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	tests := []struct {
		path    string
		status  int
		heading string
	}{
		{"/fr/forbidden", 403, "Accès refusé"},
		{"/eu/forbidden", 403, "Sarbidea ukatua"},
		{"/en/forbidden", 403, "Access denied"},
		{"/fr/broken", 500, "Erreur interne"},
		{"/eu/broken", 500, "Barneko errorea"},
		{"/en/broken", 500, "Internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			tab := browsertest.MustTab(t)
			tab.Navigate(hs.URL + tt.path)
			r := tab.Measure()
			if r.Status != tt.status {
				t.Errorf("status %d, want %d", r.Status, tt.status)
			}
			if h1 := tab.Text("h1"); h1 != tt.heading {
				t.Errorf("h1 %q, want %q", h1, tt.heading)
			}
			if tt.status == http.StatusInternalServerError && tab.Count("p.muted") != 1 {
				t.Error("no request reference on the 500 page")
			}
			r.CheckBudgets(t)
			tab.CheckAxe()
		})
	}
}
