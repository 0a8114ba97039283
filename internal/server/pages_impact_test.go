package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/berriz/berriz/internal/server/servertest"
)

// impactNow is the clock of the impact tests: the seed's handovers (May
// 2026) fall within the last twelve months.
func impactNow() time.Time { return time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC) }

func mustImpactEnv(t *testing.T) (*servertest.Env, pgtest.DonorSeed) {
	t.Helper()
	env := servertest.MustStart(t, servertest.Options{Clock: impactNow})
	s := pgtest.MustDonorSeed(t, env.DB.SQL())
	if err := env.DB.RebuildObservatoryTotals(context.Background()); err != nil {
		t.Fatal(err)
	}
	return env, s
}

// The public dashboard shows the observatory's totals, two accessible
// charts each followed by its table, and answers a revisit with a 304
// until the totals change.
func TestImpactDashboard(t *testing.T) {
	env, s := mustImpactEnv(t)
	anon := env.Anonymous(t)
	resp, body := anon.Get("/fr/impact")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("impact: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		"<dt>Appareils remis</dt><dd>2</dd>",
		"123,6 kg CO2e (fourchette 75,2 – 240,4)",
		"<dd>4 kg</dd>", // two laptops of 2 kg handed over
		"Jeu de facteurs fr-ademe-2025 (version 1), méthode berriz-avoided-2025.1.",
		`href="/impact/method"`,
		`role="img" aria-labelledby="impact-month-t impact-month-d"`,
		`<title id="impact-month-t">Par mois</title>`,
		`role="img" aria-labelledby="impact-category-t impact-category-d"`,
		"<caption>Appareils et émissions évitées par mois, de 2026-01 à 2026-12</caption>",
		`<tr><th scope="row">2026-05</th><td>0</td><td>2</td><td>0</td><td>123,6</td></tr>`,
		`<tr><th scope="row">Ordinateur portable</th><td>2</td><td>0</td><td>123,6</td></tr>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("impact lacks %q", want)
		}
	}
	if strings.Contains(body, "Mairie d'Anglet") || strings.Contains(body, "Jules Ferry") {
		t.Errorf("impact names an organisation")
	}
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `W/"impact-`) {
		t.Fatalf("etag %q", etag)
	}
	if resp, _ := anon.Get("/fr/impact", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("revisit: %d, want 304", resp.StatusCode)
	}
	if resp, _ := anon.Get("/en/impact", "If-None-Match", etag); resp.StatusCode != http.StatusOK {
		t.Errorf("another language: %d, want 200", resp.StatusCode)
	}
	// A consolidation changes the totals: the old tag no longer matches.
	mustSQL(t, env, `UPDATE emission_results SET current = false WHERE device_id = $1 AND status = 'consolidated'`, s.Devices[1])
	resp, body = anon.Get("/fr/impact", "If-None-Match", etag)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag || !strings.Contains(body, "73,6 kg CO2e") {
		t.Errorf("after a change: %d, etag %q\n%s", resp.StatusCode, resp.Header.Get("ETag"), body)
	}

	// Signed in, the page is the same dashboard with the user's menu.
	u := env.MustUser(t, s.Donor, "Donor", false)
	resp, body = env.SignIn(t, u.Email).Get("/fr/impact")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<dt>Appareils remis</dt><dd>2</dd>") {
		t.Errorf("signed in: %d", resp.StatusCode)
	}
	resp, body = anon.Get("/fr/impact/method")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "A = D × F × min(1, L2 / Lref) − R") ||
		!strings.Contains(body, "fr-ademe-2025") {
		t.Errorf("method: %d\n%s", resp.StatusCode, body)
	}
	// The footer links the dashboard from every page.
	if _, body := anon.Get("/fr/"); !strings.Contains(body, `href="/impact"`) {
		t.Errorf("home: no link to the dashboard")
	}
}
