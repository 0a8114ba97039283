package postgres_test

import (
	"context"
	"math"
	"testing"

	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/postgres/pgtest"
)

// The emissions migration copies the embedded fr-ademe-2025 factor set into
// the database, active: every category and part, figure and source equal
// to internal/co2's CSV files.
func TestEmbeddedFactorSetInDatabase(t *testing.T) {
	db := pgtest.MustDB(t)
	ctx := context.Background()
	set := co2.Embedded()
	var active string
	if err := db.SQL().QueryRowContext(ctx, `SELECT id FROM factor_sets WHERE active`).Scan(&active); err != nil || active != set.ID {
		t.Fatalf("active set %q, %v", active, err)
	}
	rows, err := db.SQL().QueryContext(ctx, `SELECT category, central_kg::float8, low_kg::float8, high_kg::float8, ref_life_years::float8,
		second_life_years::float8, base_refurb_kg::float8, typical_weight_kg::float8, quality, source
		FROM factor_set_categories WHERE set_id = $1`, set.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var c co2.Category
		if err := rows.Scan(&c.ID, &c.CentralKg, &c.LowKg, &c.HighKg, &c.RefLifeYears, &c.SecondLifeYears, &c.BaseRefurbKg,
			&c.TypicalWeightKg, &c.Quality, &c.Source); err != nil {
			t.Fatal(err)
		}
		want, ok := set.Category(c.ID)
		same := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
		if !ok || !same(c.CentralKg, want.CentralKg) || !same(c.LowKg, want.LowKg) || !same(c.HighKg, want.HighKg) ||
			!same(c.RefLifeYears, want.RefLifeYears) || !same(c.SecondLifeYears, want.SecondLifeYears) ||
			!same(c.BaseRefurbKg, want.BaseRefurbKg) || !same(c.TypicalWeightKg, want.TypicalWeightKg) ||
			c.Quality != want.Quality || c.Source != want.Source {
			t.Errorf("category %s: database %+v, embedded %+v", c.ID, c, want)
		}
		n++
	}
	if n != len(set.Categories) {
		t.Errorf("%d categories in the database, %d embedded", n, len(set.Categories))
	}
	var parts int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM factor_set_parts p WHERE set_id = $1`, set.ID).Scan(&parts); err != nil {
		t.Fatal(err)
	}
	// The embedded parts end with the "other" kind, which has no factor.
	if parts != len(set.Parts)-1 {
		t.Errorf("%d parts in the database, %d in the file", parts, len(set.Parts)-1)
	}
}
