package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/berriz/berriz/internal/report"
)

// The donor report lists every device of the year's donations with its
// fate, certificates and current result of the active set, and computes
// the reuse rate over the settled devices.
func TestDonorReport(t *testing.T) {
	db := pgtest.MustDB(t)
	s := pgtest.MustDonorSeed(t, db.SQL())
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	check := func(tok string) string { return "https://berriz.example/c/" + tok }

	years, err := db.DonorReportYears(ctx, s.Donor, postgres.DonationScope{DonorOrgID: s.Donor})
	if err != nil || len(years) != 2 || years[0] != 2026 || years[1] != 2025 {
		t.Fatalf("years %v, %v", years, err)
	}
	r, err := db.DonorReport(ctx, s.Donor, 2026, postgres.DonationScope{DonorOrgID: s.Donor}, now, check)
	if err != nil {
		t.Fatal(err)
	}
	if r.Org.Name != "Mairie d'Anglet" || r.FactorSet != "fr-ademe-2025" || r.FactorVersion != "1" || len(r.Devices) != 7 {
		t.Fatalf("report %+v", r)
	}
	want := []report.Fate{report.Delivered, report.Delivered, report.Prepared, report.Recycled, report.Dismantled,
		report.InProgress, report.Declared}
	for i, d := range r.Devices {
		if d.ID != s.Devices[i] || d.Fate != want[i] {
			t.Fatalf("device %d: %+v, want fate %s", i, d, want[i])
		}
	}
	d1, d2, d4 := r.Devices[0], r.Devices[1], r.Devices[3]
	if d1.Tag != "7KQ2-M9XD" || d1.BeneficiaryKind != "school" || d1.Commune != "64102" || d1.DeliveredOn == nil ||
		d1.DeliveredOn.Format(time.DateOnly) != "2026-05-04" || d1.ErasureCertificate != "BRZ-E-2026-000001" ||
		d1.ErasureCheckURL != "https://berriz.example/c/check-token-0001-aaaa" ||
		d1.Emissions == nil || *d1.Emissions != (report.Emissions{NetKg: 73.6, LowKg: 45.2, HighKg: 140.4, Status: "estimated"}) {
		t.Fatalf("first device %+v %+v", d1, d1.Emissions)
	}
	if d2.BeneficiaryKind != "association" || d2.Commune != "64483" ||
		d2.Emissions == nil || *d2.Emissions != (report.Emissions{NetKg: 50, LowKg: 30, HighKg: 100, Status: "consolidated"}) {
		t.Fatalf("second device %+v %+v", d2, d2.Emissions)
	}
	if d4.RecyclingCertificate != "WEEE-2026-017" || d4.Recycler != "Ecosystem" || d4.Emissions != nil || d4.BeneficiaryKind != "" {
		t.Fatalf("recycled device %+v", d4)
	}
	sum := r.Summary
	if sum.Given != 7 || sum.Delivered != 2 || sum.Prepared != 1 || sum.Recycled != 1 || sum.Dismantled != 1 ||
		sum.InProgress != 1 || sum.Declared != 1 || sum.Reused != 3 || sum.Settled != 5 || sum.ReuseRatePct == nil ||
		*sum.ReuseRatePct != 60 || sum.NetKg != 123.6 || sum.LowKg != 75.2 || sum.HighKg != 240.4 || sum.WithResult != 2 ||
		sum.Consolidated != 1 || sum.WeightKg != 20.5 {
		t.Fatalf("summary %+v", sum)
	}

	// The décret n° 2023-266 indicator: the 2015 desktop (eleven years old
	// when given in 2026) is left out, the 2016 monitor (ten) and the
	// tablet without a year stay; A = 3; objective 50 % from 2025, so
	// reached up to a stock of 6.
	dec := sum.Decret
	if dec.Counted != 6 || dec.Reused != 3 || dec.Recovered != 1 || dec.Pending != 2 || dec.WithoutYear != 1 ||
		dec.ExcludedOld != 1 || dec.ExcludedCategory != 0 || dec.ObjectivePct == nil || *dec.ObjectivePct != 50 ||
		dec.StockAtMost == nil || *dec.StockAtMost != 6 || dec.Stock != nil {
		t.Fatalf("décret %+v", dec)
	}
	if d1.Year == nil || *d1.Year != 2019 || r.Devices[2].Year != nil || r.Devices[2].DecretExclusion != "" ||
		r.Devices[3].DecretExclusion != report.ExcludedOld || r.Devices[4].DecretExclusion != "" ||
		r.Devices[4].WEEECategory != report.WEEEScreens || r.Devices[3].WEEECategory != report.WEEESmallIT {
		t.Fatalf("devices' years and exclusions %+v", r.Devices)
	}

	// The operator reaches every donor; the 2025 report holds that year's
	// device only.
	old, err := db.DonorReport(ctx, s.Donor, 2025, postgres.DonationScope{}, now, check)
	if err != nil || len(old.Devices) != 1 || old.Devices[0].Serial != "SN-2025" || old.Summary.ReuseRatePct != nil ||
		old.Summary.Decret.ObjectivePct == nil || *old.Summary.Decret.ObjectivePct != 50 || old.Summary.Decret.Pending != 1 ||
		old.Summary.Decret.WithoutYear != 1 || old.Summary.Decret.StockAtMost != nil {
		t.Fatalf("2025: %+v, %v", old, err)
	}
	// Another donor, a workshop, a non-donor organisation: not found.
	for name, c := range map[string]struct {
		org   int64
		scope postgres.DonationScope
	}{
		"other donor":   {s.Donor, postgres.DonationScope{DonorOrgID: s.OtherDonor}},
		"workshop":      {s.Donor, postgres.DonationScope{WorkshopOrgID: s.Workshop}},
		"not a donor":   {s.School, postgres.DonationScope{}},
		"unknown":       {999999, postgres.DonationScope{}},
		"own, not seen": {s.OtherDonor, postgres.DonationScope{DonorOrgID: s.Donor}},
	} {
		if _, err := db.DonorReport(ctx, c.org, 2026, c.scope, now, check); berriz.KindOf(err) != berriz.NotFound {
			t.Errorf("%s: report %v", name, err)
		}
		if _, err := db.DonorReportYears(ctx, c.org, c.scope); berriz.KindOf(err) != berriz.NotFound {
			t.Errorf("%s: years %v", name, err)
		}
	}
}

func TestReuseRate(t *testing.T) {
	for _, c := range []struct {
		reused, settled int
		pct             float64
		ok              bool
	}{{3, 5, 60, true}, {1, 3, 33.3, true}, {2, 3, 66.7, true}, {0, 0, 0, false}, {0, 4, 0, true}} {
		if pct, ok := report.ReuseRate(c.reused, c.settled); pct != c.pct || ok != c.ok {
			t.Errorf("ReuseRate(%d, %d) = %v, %v", c.reused, c.settled, pct, ok)
		}
	}
}

// The report of each year carries that year's objective of décret
// n° 2023-266 (article 3): none in 2022, 25 % in 2023, 35 % in 2024.
func TestDonorReportDecretObjectives(t *testing.T) {
	db := pgtest.MustDB(t)
	s := pgtest.MustDonorSeed(t, db.SQL())
	ctx := context.Background()
	for _, at := range []string{"2022-05-02 10:00:00+02", "2023-05-02 10:00:00+02", "2024-05-02 10:00:00+02"} {
		var donation int64
		if err := db.SQL().QueryRowContext(ctx, `INSERT INTO donations (donor_org_id, workshop_org_id, state, title, created_at)
			VALUES ($1, $2, 'received', 'Lot', $3) RETURNING id`, s.Donor, s.Workshop, at).Scan(&donation); err != nil {
			t.Fatal(err)
		}
		// Made in 2012: over ten years old in 2023 and 2024, not in 2022.
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO devices (donation_id, line, category, year, weight_kg, state)
			VALUES ($1, 1, 'laptop', 2012, 2, 'delivered')`, donation); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		year, objective, counted, old int
	}{{2022, 0, 1, 0}, {2023, 25, 0, 1}, {2024, 35, 0, 1}} {
		r, err := db.DonorReport(ctx, s.Donor, c.year, postgres.DonationScope{DonorOrgID: s.Donor}, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := r.Summary.Decret
		if got := 0; d.ObjectivePct != nil {
			got = *d.ObjectivePct
			if got != c.objective {
				t.Errorf("%d: objective %d, want %d", c.year, got, c.objective)
			}
		} else if c.objective != 0 {
			t.Errorf("%d: no objective, want %d", c.year, c.objective)
		}
		if d.Counted != c.counted || d.ExcludedOld != c.old || d.Reused != c.counted {
			t.Errorf("%d: décret %+v", c.year, d)
		}
	}
}
