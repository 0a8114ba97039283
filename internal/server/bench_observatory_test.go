package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/internal/server/servertest"
)

// BenchmarkObservatoryTotals measures the observatory's totals on a
// territory of a million devices (docs/benchmarks.md): the HTTP endpoint
// as an observatory client calls it (token, JSON), the maintained cube
// behind it (db.ObservatoryTotals), and the naive GROUP BY over the base
// tables (db.ObservatoryTotalsNaive), for a set of filters and groupings,
// in the same run on the same data, and checks that the cube and the naive
// query agree. Like BenchmarkTagLookup it runs once (-benchtime=1x): the
// load takes minutes and b.N means nothing to it.
//
//	BERRIZ_BENCH_OBS_DEVICES       devices loaded (default 1000000)
//	BERRIZ_BENCH_OBS_SAMPLES       requests per query, HTTP and cube (default 100)
//	BERRIZ_BENCH_OBS_NAIVE         naive queries per query (default 1: each takes seconds to a minute; 0: none)
//	BERRIZ_BENCH_OBS_QUERIES       a regular expression: only the queries it matches
//	BERRIZ_BENCH_OBS_DATABASE_URL  a database already loaded (`berriz demo --devices N`): no load
//
// The naive query's first run is both measured and compared with the
// cube's answer.
func BenchmarkObservatoryTotals(b *testing.B) {
	if b.N != 1 {
		b.Skip("run with -benchtime=1x: the load takes minutes and each query is sampled on its own")
	}
	devices := benchEnvInt("BERRIZ_BENCH_OBS_DEVICES", 1_000_000)
	samples := benchEnvInt("BERRIZ_BENCH_OBS_SAMPLES", 100)
	naiveRuns := benchEnvInt("BERRIZ_BENCH_OBS_NAIVE", 1)
	if os.Getenv("BERRIZ_BENCH_OBS_NAIVE") == "0" {
		naiveRuns = 0
	}
	only, err := regexp.Compile(os.Getenv("BERRIZ_BENCH_OBS_QUERIES"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var (
		env  *servertest.Env
		stop func()
	)
	if u := os.Getenv("BERRIZ_BENCH_OBS_DATABASE_URL"); u != "" {
		env, stop = startBenchServerOn(b, u)
	} else {
		env, stop = startBenchServer(b) // skips without BERRIZ_TEST_DATABASE_URL
		start := time.Now()
		res, err := env.DB.LoadScale(ctx, postgres.ScaleOptions{Devices: devices, Seed: 1, PasswordHash: "x",
			Progress: func(step string, rows int, took time.Duration) {
				b.Logf("load: %-30s %9d rows %7.1f s", step, rows, took.Seconds())
			}})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d devices (%d deliveries, %d events) in %s", res.Devices, res.Deliveries, res.Events,
			time.Since(start).Round(time.Second))
	}
	defer stop()
	// A cube left stale (a migration adding cuboids) is rebuilt first:
	// until then the answers would come from the base tables.
	t0 := time.Now()
	if _, err := env.DB.MergeObservatoryDeltas(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("deltas folded (or the stale cube rebuilt) in %s", time.Since(t0).Round(time.Millisecond))
	var res struct{ Devices, Deliveries, Events int }
	if err := env.DB.SQL().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM devices),
		(SELECT count(*) FROM reservations WHERE state = 'delivered'), (SELECT count(*) FROM device_events)`).
		Scan(&res.Devices, &res.Deliveries, &res.Events); err != nil {
		b.Fatal(err)
	}

	var obs int64
	if err := env.DB.SQL().QueryRowContext(ctx, `SELECT id FROM organisations WHERE kind = 'observatory' ORDER BY id LIMIT 1`).
		Scan(&obs); err != nil {
		b.Fatal(err)
	}
	plain, _ := account.NewToken()
	plain = "brz_" + plain
	if _, err := env.DB.CreateToken(ctx, postgres.NewToken{OrgID: obs, Name: "bench", Scope: "read", Prefix: plain[:12],
		Hash: account.HashToken(plain)}, nil, ""); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Timeout: time.Minute}
	get := func(query string) (time.Duration, error) {
		req, _ := http.NewRequest(http.MethodGet, env.URL+"/api/v1/observatory/totals?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+plain)
		req.Header.Set("Accept", "application/json")
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t)
		if err != nil || resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s: %d %s %v", query, resp.StatusCode, body[:min(len(body), 200)], err)
		}
		var t2 postgres.Totals
		if err := json.Unmarshal(body, &t2); err != nil || len(t2.Rows) == 0 {
			return 0, fmt.Errorf("%s: %d rows, %v", query, len(t2.Rows), err)
		}
		return d, nil
	}

	fmt.Printf("\nBenchmarkObservatoryTotals: %d devices, %d deliveries, %d events; GOMAXPROCS %d; load average %s\n",
		res.Devices, res.Deliveries, res.Events, runtime.GOMAXPROCS(0), loadAverage())
	fmt.Printf("%-44s %6s %6s %9s %9s %9s %9s %9s %8s\n", "query", "rows", "n", "http p50", "http p99", "cube p50",
		"cube p99", "naive p50", "naive/cube")
	worst := time.Duration(0)
	for _, query := range benchObservatoryQueries() {
		if !only.MatchString(query) {
			continue
		}
		if p, ok := strings.CutSuffix(query, "#2"); ok {
			// The second page: after the first page's cursor.
			q, err := totalsQueryOf(p)
			if err != nil {
				b.Fatal(err)
			}
			first, err := env.DB.ObservatoryTotals(ctx, q)
			if err != nil || first.NextCursor == "" {
				b.Fatalf("%s: no second page (%v)", p, err)
			}
			query = p + "&after=" + first.NextCursor
		}
		q, err := totalsQueryOf(query)
		if err != nil {
			b.Fatal(err)
		}
		cube, err := env.DB.ObservatoryTotals(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		httpT := sample(b, samples, 2, func() (time.Duration, error) { return get(query) })
		cubeT := sample(b, samples, 2, func() (time.Duration, error) {
			t := time.Now()
			_, err := env.DB.ObservatoryTotals(ctx, q)
			return time.Since(t), err
		})
		naiveT := []time.Duration{0}
		if naiveRuns > 0 {
			naiveT = sample(b, naiveRuns, 0, func() (time.Duration, error) {
				t := time.Now()
				naive, err := env.DB.ObservatoryTotalsNaive(ctx, q)
				// A page summed by commune may end early: the naive page
				// then holds more rows from the same start.
				if err == nil && len(cube.Rows) < len(naive.Rows) && cube.Next != nil {
					naive.Rows, naive.Next, naive.NextCursor = naive.Rows[:len(cube.Rows)], cube.Next, cube.NextCursor
					naive.MethodVersions = cube.MethodVersions
				}
				if err == nil && !reflect.DeepEqual(cube, naive) {
					b.Errorf("%s: the cube (%d rows) and the naive query (%d rows) disagree", query, len(cube.Rows), len(naive.Rows))
				}
				return time.Since(t), err
			})
		}
		worst = max(worst, pct(httpT, 50))
		fmt.Printf("%-44s %6d %6d %9s %9s %9s %9s %9s %8.0f×\n", orAll(query), len(cube.Rows), len(httpT), ms(pct(httpT, 50)),
			ms(pct(httpT, 99)), ms(pct(cubeT, 50)), ms(pct(cubeT, 99)), ms(pct(naiveT, 50)),
			float64(pct(naiveT, 50))/float64(pct(cubeT, 50)))
	}
	fmt.Printf("worst HTTP p50: %s (target ≤ 20 ms); load average after: %s\n", ms(worst), loadAverage())
	// A whole answer, page by page, as a client following the links: a
	// page that sums several rows per group ends before its limit.
	for _, query := range []string{"group=month,commune", "group=month,category,donor_kind,beneficiary_kind,commune",
		"from=2022-07&to=2026-06&group=commune,category,donor_kind",
		"category=laptop&from=2022-03&to=2026-09&group=commune,donor_kind",
		"donor_kind=commune&beneficiary_kind=school&from=2023-02&to=2026-11&group=category,commune"} {
		if !only.MatchString(query) {
			continue
		}
		t := time.Now()
		pages, rows := 0, 0
		next := "/api/v1/observatory/totals?" + query
		for next != "" {
			req, _ := http.NewRequest(http.MethodGet, env.URL+next, nil)
			req.Header.Set("Authorization", "Bearer "+plain)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page postgres.Totals
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("%s: %d %v", next, resp.StatusCode, err)
			}
			pages++
			rows += len(page.Rows)
			next = ""
			if m := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(resp.Header.Get("Link")); m != nil {
				next = m[1]
			}
		}
		fmt.Printf("%-44s %6d rows in %d pages of %d: %s in all\n", query, rows, pages, server.DefaultTotalsLimit, ms(time.Since(t)))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-http-p50-ms")
}

// benchObservatoryQueries are the filters and groupings measured, as query
// strings of GET /api/v1/observatory/totals: no filter with each of the 32
// groupings, then filters on one value, month ranges (whose cuboid holds
// several rows per group: summed by commune, or whole) and second pages
// ("#2": after the first page's cursor).
func benchObservatoryQueries() []string {
	out := []string{}
	for mask := 0; mask < 32; mask++ {
		var dims []string
		for i, d := range postgres.TotalsDims {
			if mask&(1<<i) != 0 {
				dims = append(dims, string(d))
			}
		}
		if len(dims) == 0 {
			out = append(out, "")
			continue
		}
		out = append(out, "group="+strings.Join(dims, ","))
	}
	return append(out,
		"commune=64102&category=laptop",
		"donor_kind=company&group=month",
		"commune=64483&group=month,category",
		"beneficiary_kind=school&group=month,commune",
		"from=2024-01&to=2024-12",
		"from=2024-01&to=2024-12&group=category",
		"from=2024-01&to=2024-12&group=commune,category",
		"from=2023-01&to=2025-12&group=category,donor_kind,beneficiary_kind",
		"from=2022-01&group=category,donor_kind,beneficiary_kind,commune",
		"from=2022-03&to=2026-09&group=category,donor_kind,beneficiary_kind",
		"from=2022-07&to=2026-06&group=commune,category,donor_kind",
		"from=2022-05&to=2025-10&group=month,category,beneficiary_kind",
		"category=laptop&from=2022-03&to=2026-09&group=commune,donor_kind",
		"donor_kind=commune&beneficiary_kind=school&from=2023-02&to=2026-11&group=category,commune",
		"group=month,commune#2",
		"group=month,category,donor_kind,beneficiary_kind,commune#2",
		"from=2022-01&group=category,donor_kind,beneficiary_kind,commune#2",
	)
}

// totalsQueryOf reads a query string as the endpoint does.
func totalsQueryOf(s string) (postgres.TotalsQuery, error) {
	v, err := url.ParseQuery(s)
	if err != nil {
		return postgres.TotalsQuery{}, err
	}
	q := postgres.TotalsQuery{From: v.Get("from"), To: v.Get("to"), Category: v.Get("category"),
		DonorKind: v.Get("donor_kind"), BeneficiaryKind: v.Get("beneficiary_kind"), Commune: v.Get("commune"),
		Limit: server.DefaultTotalsLimit}
	if a := v.Get("after"); a != "" {
		var ok bool
		if q.After, ok = postgres.DecodeTotalsCursor(a); !ok {
			return q, fmt.Errorf("after %q", a)
		}
	}
	dims, ok := postgres.ParseTotalsDims(v.Get("group"))
	if !ok {
		return q, fmt.Errorf("group %q", v.Get("group"))
	}
	q.GroupBy = dims
	return q, q.Validate()
}

// sample runs fn n times after warm unmeasured runs and returns the
// sorted durations; a slow query stops after 20 s and 10 samples.
func sample(b *testing.B, n, warm int, fn func() (time.Duration, error)) []time.Duration {
	b.Helper()
	out := make([]time.Duration, 0, n)
	start := time.Now()
	for i := range n + warm {
		if len(out) >= 10 && time.Since(start) > 20*time.Second {
			break
		}
		d, err := fn()
		if err != nil {
			b.Fatal(err)
		}
		if i >= warm {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

func orAll(q string) string {
	if q == "" {
		return "(no filter, no grouping)"
	}
	return q
}

func benchEnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// loadAverage is the machine's load (Linux), to read the figures with.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
