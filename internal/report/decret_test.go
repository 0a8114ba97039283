package report

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/co2"
)

func yearOf(y int) *int { return &y }

// Article 3: 25 % in 2023, 35 % in 2024, 50 % from 2025; none before.
func TestReportDecretObjectiveEachYear(t *testing.T) {
	for _, c := range []struct {
		year, pct int
		ok        bool
	}{{2021, 0, false}, {2022, 0, false}, {2023, 25, true}, {2024, 35, true}, {2025, 50, true}, {2026, 50, true},
		{2040, 50, true}} {
		if pct, ok := Objective(c.year); pct != c.pct || ok != c.ok {
			t.Errorf("Objective(%d) = %d, %v; want %d, %v", c.year, pct, ok, c.pct, c.ok)
		}
	}
}

// Article 1, 1°: more than ten years old at the date of reform. Only years
// are known: excluded when certainly over ten; no year, kept.
func TestReportDecretOverTenYears(t *testing.T) {
	for _, c := range []struct {
		year *int
		at   int
		want bool
	}{{nil, 2026, false}, {yearOf(2015), 2026, true}, {yearOf(2016), 2026, false}, {yearOf(2026), 2026, false},
		{yearOf(1990), 2023, true}, {yearOf(2013), 2023, false}, {yearOf(2012), 2023, true}} {
		if got := OverTenYears(c.year, c.at); got != c.want {
			y := "nil"
			if c.year != nil {
				y = fmt.Sprint(*c.year)
			}
			t.Errorf("OverTenYears(%s, %d) = %v, want %v", y, c.at, got, c.want)
		}
	}
}

// Every category of the embedded factor set has its R. 543-172 category,
// so that a new category cannot silently fall out of the décret.
func TestReportDecretEveryFactorCategoryHasWEEE(t *testing.T) {
	in := 0
	for _, c := range co2.Categories() {
		switch WEEECategory(c.ID) {
		case WEEEScreens, WEEESmallIT:
			in++
		case WEEELarge, WEEESmall:
		default:
			t.Errorf("category %s has no WEEE category", c.ID)
		}
	}
	if in == 0 || WEEECategory("laptop") != WEEEScreens || WEEECategory("desktop") != WEEESmallIT ||
		WEEECategory("server") != WEEELarge || WEEECategory("unknown") != "" {
		t.Errorf("mapping: %d in scope", in)
	}
}

// A device over ten years old and one out of categories 2° and 6° are
// left out of A and of the counts, even when reused; a device without a
// year stays counted. berriz's own rate is unchanged.
func TestReportDecretSummary(t *testing.T) {
	r := DonorReport{Year: 2026, Devices: []Device{
		{ID: 1, Category: "laptop", Year: yearOf(2019), State: "delivered", Fate: Delivered},
		{ID: 2, Category: "tablet", State: "available", Fate: Prepared},                            // no year: counted
		{ID: 3, Category: "desktop", Year: yearOf(2015), State: "delivered", Fate: Delivered},      // over ten
		{ID: 4, Category: "projector", Year: yearOf(2022), State: "delivered", Fate: Delivered},    // 5°
		{ID: 5, Category: "server", Year: yearOf(2022), State: "recycled", Fate: Recycled},         // 4°
		{ID: 6, Category: "monitor_24", Year: yearOf(2016), State: "dismantled", Fate: Dismantled}, // ten: counted
		{ID: 7, Category: "smartphone", Year: yearOf(2024), State: "delivered", Fate: Delivered},
		{ID: 8, Category: "laptop", State: "received", Fate: InProgress}, // no year: counted
	}}
	r.Summarize()
	d := r.Summary.Decret
	if d.Counted != 5 || d.Reused != 3 || d.Recovered != 1 || d.Pending != 1 || d.WithoutYear != 2 || d.ExcludedOld != 1 ||
		d.ExcludedCategory != 2 || d.ObjectivePct == nil || *d.ObjectivePct != 50 || d.StockAtMost == nil || *d.StockAtMost != 6 ||
		d.Stock != nil || d.RatePct != nil || d.Reached != nil {
		t.Fatalf("décret %+v", d)
	}
	if r.Summary.Reused != 5 || r.Summary.Settled != 7 {
		t.Fatalf("berriz's rate changed: %+v", r.Summary)
	}
	for i, want := range []string{"", "", ExcludedOld, ExcludedCategory, ExcludedCategory, "", "", ""} {
		if r.Devices[i].DecretExclusion != want {
			t.Errorf("device %d: exclusion %q, want %q", r.Devices[i].ID, r.Devices[i].DecretExclusion, want)
		}
	}
	if r.Devices[3].WEEECategory != WEEESmall || r.Devices[0].WEEECategory != WEEEScreens {
		t.Errorf("weee categories %q %q", r.Devices[3].WEEECategory, r.Devices[0].WEEECategory)
	}

	// B stated: reached exactly when A × 100 ≥ objective × B.
	for _, c := range []struct {
		stock   int
		pct     float64
		reached bool
	}{{6, 50, true}, {7, 42.9, false}, {3, 100, true}, {2, 150, true}, {100, 3, false}} {
		r.WithStock(c.stock)
		if d := r.Summary.Decret; d.Stock == nil || *d.Stock != c.stock || d.RatePct == nil || *d.RatePct != c.pct ||
			d.Reached == nil || *d.Reached != c.reached {
			t.Errorf("stock %d: %+v", c.stock, d)
		}
	}
	r.WithStock(0)
	if d := r.Summary.Decret; d.Stock == nil || d.RatePct != nil || d.Reached != nil {
		t.Errorf("stock 0: %+v", d)
	}
}

// Before 2023 there is no objective; with nothing reused there is no
// stock up to which the objective is reached.
func TestReportDecretNoObjectiveNoReuse(t *testing.T) {
	old := DonorReport{Year: 2022, Devices: []Device{{Category: "laptop", Year: yearOf(2018), Fate: Delivered}}}
	old.Summarize()
	if d := old.Summary.Decret; d.ObjectivePct != nil || d.StockAtMost != nil || d.Reused != 1 {
		t.Fatalf("2022: %+v", d)
	}
	old.WithStock(4)
	if d := old.Summary.Decret; d.RatePct == nil || *d.RatePct != 25 || d.Reached != nil {
		t.Fatalf("2022 with stock: %+v", d)
	}
	none := DonorReport{Year: 2024, Devices: []Device{{Category: "laptop", Fate: Recycled}}}
	none.Summarize()
	if d := none.Summary.Decret; d.ObjectivePct == nil || *d.ObjectivePct != 35 || d.StockAtMost != nil || d.Recovered != 1 {
		t.Fatalf("2024: %+v", d)
	}
}

// keysWording writes each key with its arguments, sorted, so a test sees
// which sentence is said with which figures.
func keysWording() Wording {
	return Wording{Lang: "en", Number: func(v float64) string { return fmt.Sprint(v) },
		T: func(key string, args map[string]string) string {
			var kv []string
			for k, v := range args {
				kv = append(kv, k+"="+v)
			}
			sort.Strings(kv)
			return key + "(" + strings.Join(kv, ",") + ")"
		}}
}

// The lines say the result first: the threshold without B, the rate and
// whether the objective is reached with it.
func TestReportDecretLines(t *testing.T) {
	w := keysWording()
	r := DonorReport{Year: 2023, Devices: []Device{{Category: "laptop", Year: yearOf(2020), Fate: Delivered},
		{Category: "laptop", Year: yearOf(2010), Fate: Delivered}}}
	r.Summarize()
	want := []string{"reports.decret.threshold(most=4,objective=25,year=2023)",
		"reports.decret.objective(objective=25,year=2023)",
		"reports.decret.counted(counted=1,pending=0,recovered=0,reused=1)",
		"reports.decret.excluded(category=0,old=1,without_year=0)"}
	if got := DecretLines(w, r); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("without B:\n%s", strings.Join(got, "\n"))
	}
	r.WithStock(5)
	got := DecretLines(w, r)
	if got[0] != "reports.decret.rate(pct=20,reused=1,stock=5,year=2023)" || got[1] != "reports.decret.not_reached(objective=25)" {
		t.Errorf("with B = 5:\n%s", strings.Join(got, "\n"))
	}
	r.WithStock(4)
	if got := DecretLines(w, r); got[1] != "reports.decret.reached(objective=25)" {
		t.Errorf("with B = 4:\n%s", strings.Join(got, "\n"))
	}
	r.WithStock(0)
	if got := DecretLines(w, r); got[0] != "reports.decret.stock_zero(year=2023)" {
		t.Errorf("with B = 0:\n%s", strings.Join(got, "\n"))
	}
	old := DonorReport{Year: 2021}
	old.Summarize()
	if got := DecretLines(w, old); got[0] != "reports.decret.no_objective(year=2021)" {
		t.Errorf("2021:\n%s", strings.Join(got, "\n"))
	}
	none := DonorReport{Year: 2025}
	none.Summarize()
	if got := DecretLines(w, none); got[0] != "reports.decret.threshold_none()" || got[1] != "reports.decret.objective(objective=50,year=2025)" {
		t.Errorf("2025 without reuse:\n%s", strings.Join(got, "\n"))
	}
}
