package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/co2"
)

// The public dashboard and the donor report pages at their fullest: more
// categories than the chart names (so the "other categories" row shows),
// a twelve-month table, a donor report with more devices than the page
// lists and long names — anonymous, as the donor and as the operator, in
// French and Basque: within the budgets, zero axe violations.
func TestReportPagesInBrowser(t *testing.T) {
	env, s := mustImpactEnv(t)
	ctx := context.Background()
	mustSQL(t, env, `UPDATE organisations SET name = $2 WHERE id = $1`, s.Donor,
		"Communauté d'agglomération Pays basque — direction du numérique et des systèmes d'information")
	// Two more delivered devices in each of 16 categories, through the
	// seed's first handover: 39 devices in the 2026 report.
	var donation, handover, line int64
	if err := env.DB.SQL().QueryRowContext(ctx, `SELECT v.donation_id, r.handover_id, r.request_line_id
		FROM reservations r JOIN devices v ON v.id = r.device_id WHERE r.device_id = $1`, s.Devices[0]).
		Scan(&donation, &handover, &line); err != nil {
		t.Fatal(err)
	}
	cats := co2.Categories()
	for i := range 32 {
		var id int64
		if err := env.DB.SQL().QueryRowContext(ctx, `INSERT INTO devices (donation_id, line, category, brand, model, serial,
			weight_kg, state) VALUES ($1, $2, $3, 'Hewlett-Packard Enterprise', 'EliteBook 840 G5 Healthcare Edition', $4, 1.5,
			'delivered') RETURNING id`, donation, 8+i, cats[i%16].ID, fmt.Sprintf("5CG%010d", i)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		mustSQL(t, env, `INSERT INTO reservations (device_id, request_line_id, state, handover_id) VALUES ($1, $2, 'delivered', $3)`,
			id, line, handover)
	}
	if err := env.DB.RebuildObservatoryTotals(ctx); err != nil {
		t.Fatal(err)
	}
	opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique du Pays basque")
	for i := range 30 {
		env.MustOrg(t, account.KindCommune, fmt.Sprintf("Commune donatrice n° %d du Pays basque intérieur", i))
	}
	donor := env.MustUser(t, s.Donor, "Amaia Etxeberria", false)
	op := env.MustUser(t, opOrg.ID, "Maddi Etxart", true)
	report := "/reports/donor/" + strconv.FormatInt(s.Donor, 10) + "/2026"

	for _, lang := range []string{"/fr", "/eu"} {
		t.Run(lang, func(t *testing.T) {
			anon := browsertest.MustTab(t)
			for _, path := range []string{"/impact", "/impact/method"} {
				if r := anon.CheckPage(env.URL + lang + path); r.Status != http.StatusOK {
					t.Errorf("anonymous %s: status %d", path, r.Status)
				}
			}
			if n := anon.Count(`svg[role=img]`); n != 0 { // the method page has none
				t.Errorf("method page: %d charts", n)
			}
			anon.CheckPage(env.URL + lang + "/impact")
			if n := anon.Count(`svg[role=img] title`); n != 2 {
				t.Errorf("impact: %d named charts, want 2", n)
			}
			if n := anon.Count(`table caption`); n != 2 {
				t.Errorf("impact: %d tables with a caption, want 2", n)
			}
			tab := donationSignInTab(t, env, lang, donor.Email)
			for _, path := range []string{"/reports/donor", report, "/impact"} {
				if r := tab.CheckPage(env.URL + lang + path); r.Status != http.StatusOK {
					t.Errorf("donor %s: status %d", path, r.Status)
				}
			}
			tabOp := donationSignInTab(t, env, lang, op.Email)
			for _, path := range []string{"/reports/donor", "/reports/donor?org=" + strconv.FormatInt(s.Donor, 10), report} {
				if r := tabOp.CheckPage(env.URL + lang + path); r.Status != http.StatusOK {
					t.Errorf("operator %s: status %d", path, r.Status)
				}
			}
		})
	}
}
