package postgres_test

import (
	"context"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
)

// TestObservatoryAtScale (BERRIZ_TEST_OBS_SCALE=devices; give go test a
// -timeout of 30m or more) loads a territory,
// times the rebuild and every grouping with and without filters on the
// cube, and checks the cube against the naive query. A quick look at the
// cost; BenchmarkObservatoryTotals (internal/server) is the measure.
func TestObservatoryAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BERRIZ_TEST_OBS_SCALE"))
	if n <= 0 {
		t.Skip("set BERRIZ_TEST_OBS_SCALE to a number of devices")
	}
	db := pgtest.MustDB(t)
	ctx := context.Background()
	start := time.Now()
	if _, err := db.LoadScale(ctx, postgres.ScaleOptions{Devices: n, Seed: 1, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("load %s", time.Since(start))
	start = time.Now()
	if err := db.RebuildObservatoryTotals(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuild %s", time.Since(start))
	var rows int
	_ = db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM observatory_totals`).Scan(&rows)
	t.Logf("cube rows %d", rows)
	worst := time.Duration(0)
	for _, f := range []postgres.TotalsQuery{{}, {From: "2024-01", To: "2024-12"}, {Commune: "64102"}, {Category: "laptop", BeneficiaryKind: "school"}} {
		for mask := 0; mask < 32; mask++ {
			q := f
			for i, d := range postgres.TotalsDims {
				if mask&(1<<i) != 0 {
					q.GroupBy = append(q.GroupBy, d)
				}
			}
			var ds []time.Duration
			var got postgres.Totals
			for range 7 {
				t0 := time.Now()
				var err error
				if got, err = db.ObservatoryTotals(ctx, q); err != nil {
					t.Fatal(err)
				}
				ds = append(ds, time.Since(t0))
			}
			slices.Sort(ds)
			p50 := ds[3]
			worst = max(worst, p50)
			if !slices.Contains([]int{0, 1, 3, 16, 17, 31}, mask) {
				t.Logf("%-60v rows %6d cube p50 %8s", q, len(got.Rows), p50.Round(100*time.Microsecond))
				continue
			}
			t0 := time.Now()
			want, err := db.ObservatoryTotalsNaive(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			naive := time.Since(t0)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%+v: cube and naive differ", q)
			}
			t.Logf("%-60v rows %6d cube p50 %8s naive %8s", q, len(got.Rows), p50.Round(100*time.Microsecond), naive.Round(time.Millisecond))
		}
	}
	t.Logf("worst p50 %s", worst)
}
