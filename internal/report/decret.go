package report

import "strconv"

// The indicator of décret n° 2023-266 du 12 avril 2023 (docs/donor-report.md,
// "Décret n° 2023-266"): the share of a public body's reformed IT
// equipment oriented towards reuse in a year. Article 3 defines it as
// A ÷ B × 100, A the reformed equipment of article 1 oriented towards
// reuse during year N, B the reformed equipment of article 1 in stock on
// 1 January N. berriz knows A for what the body gave through it; B is the
// body's own inventory, which berriz never holds: the donor may state it
// (WithStock), and without it the report says up to which stock the
// objective is reached.

// WEEE categories of article R. 543-172 II of the code de l'environnement
// (directive 2012/19/EU annex III); article 1 of the décret counts 2° and
// 6° only.
const (
	WEEEScreens = "2" // screens, monitors, equipment with a screen over 100 cm²
	WEEELarge   = "4" // large equipment (an outer dimension over 50 cm)
	WEEESmall   = "5" // small equipment
	WEEESmallIT = "6" // small IT and telecommunication equipment (none over 50 cm)
)

// weeeCategories assigns each category of the factor set (internal/co2,
// ../shared/co2/factors-fr-2025.csv, which has no WEEE column) to its
// R. 543-172 category, by the examples of directive 2012/19/EU annex IV.
// A category missing here is not counted (TestEveryFactorCategoryHasWEEE
// fails until it is added).
var weeeCategories = map[string]string{
	// 2°: a screen over 100 cm² (annex IV 2: monitors, laptops).
	"laptop": WEEEScreens, "all_in_one": WEEEScreens, "tablet": WEEEScreens, "tv": WEEEScreens,
	"monitor_22": WEEEScreens, "monitor_24": WEEEScreens, "monitor_27": WEEEScreens, "monitor_32": WEEEScreens,
	"monitor_xl": WEEEScreens,
	// 6°: no outer dimension over 50 cm (annex IV 6: personal computers,
	// printers, mobile phones, routers).
	"desktop": WEEESmallIT, "thin_client": WEEESmallIT, "smartphone": WEEESmallIT, "printer_inkjet": WEEESmallIT,
	"printer_laser": WEEESmallIT, "network_box": WEEESmallIT, "network_small": WEEESmallIT, "keyboard": WEEESmallIT,
	"mouse": WEEESmallIT, "docking_station": WEEESmallIT, "laptop_charger": WEEESmallIT, "external_hdd": WEEESmallIT,
	// Over 50 cm: large equipment (annex IV 4: copying equipment,
	// mainframes), outside the décret.
	"printer_mfp_a3": WEEELarge, "printer_mfp_large": WEEELarge, "server": WEEELarge, "network_rack": WEEELarge,
	// Consumer audio-visual equipment: small equipment, outside the décret.
	"projector": WEEESmall,
}

// WEEECategory is the R. 543-172 category of a device category, "" when
// it is not assigned.
func WEEECategory(category string) string { return weeeCategories[category] }

// Why a device is left out of the décret's calculation.
const (
	ExcludedCategory = "category"       // not of categories 2° or 6°
	ExcludedOld      = "over_ten_years" // more than ten years old when given
)

// OverTenYears says whether a device of the given year was more than ten
// years old when it was reformed in reformYear (article 1, 1°). Only years
// are known: a device is excluded when it was certainly over ten, that is
// reformYear − year > 10 (made in 2015 at the latest, given in 2026 at the
// earliest: ten years and a day at least). A device without a year
// (nil) is kept: nothing shows it is over ten.
func OverTenYears(year *int, reformYear int) bool {
	return year != nil && reformYear-*year > 10
}

// DecretExclusion says why a device given in reformYear is left out of the
// décret's calculation, "" when it counts.
func DecretExclusion(d Device, reformYear int) string {
	switch c := WEEECategory(d.Category); {
	case c != WEEEScreens && c != WEEESmallIT:
		return ExcludedCategory
	case OverTenYears(d.Year, reformYear):
		return ExcludedOld
	}
	return ""
}

// Objective is the yearly objective of article 3 in percent: 25 in 2023,
// 35 in 2024, 50 from 2025; ok is false before 2023 (the décret applies
// from the year 2023).
func Objective(year int) (pct int, ok bool) {
	switch {
	case year < 2023:
		return 0, false
	case year == 2023:
		return 25, true
	case year == 2024:
		return 35, true
	}
	return 50, true
}

// Decret is the décret's indicator for the year's devices.
type Decret struct {
	// ObjectivePct is the year's objective (article 3), nil before 2023.
	ObjectivePct *int `json:"objective_pct"`
	// Counted: devices of categories 2° and 6°, not over ten years old.
	Counted int `json:"counted"`
	// Reused is A: counted devices delivered or prepared for reuse.
	Reused int `json:"reused"`
	// Recovered: counted devices recycled or dismantled; Pending: counted
	// devices still in the workshop or not yet collected.
	Recovered int `json:"recovered"`
	Pending   int `json:"pending"`
	// WithoutYear: counted devices whose year is unknown (kept).
	WithoutYear      int `json:"without_year"`
	ExcludedOld      int `json:"excluded_over_ten_years"`
	ExcludedCategory int `json:"excluded_category"`
	// StockAtMost is the largest B for which A ÷ B reaches the objective,
	// floor(A × 100 ÷ objective); nil without an objective or with A = 0.
	StockAtMost *int `json:"objective_reached_if_stock_at_most"`
	// Stock is B as the donor stated it, nil when not stated; RatePct
	// (A ÷ B × 100, to 0.1) and Reached follow from it (nil when B = 0).
	Stock   *int     `json:"stock"`
	RatePct *float64 `json:"rate_pct"`
	Reached *bool    `json:"objective_reached"`
}

// summarizeDecret counts the year's devices for the décret and marks each
// device's exclusion.
func (r *DonorReport) summarizeDecret() Decret {
	var s Decret
	for i := range r.Devices {
		d := &r.Devices[i]
		d.WEEECategory = WEEECategory(d.Category)
		d.DecretExclusion = DecretExclusion(*d, r.Year)
		switch d.DecretExclusion {
		case ExcludedCategory:
			s.ExcludedCategory++
			continue
		case ExcludedOld:
			s.ExcludedOld++
			continue
		}
		s.Counted++
		if d.Year == nil {
			s.WithoutYear++
		}
		switch {
		case d.Fate.Reused():
			s.Reused++
		case d.Fate.Settled():
			s.Recovered++
		default:
			s.Pending++
		}
	}
	if pct, ok := Objective(r.Year); ok {
		s.ObjectivePct = &pct
		if s.Reused > 0 {
			most := s.Reused * 100 / pct
			s.StockAtMost = &most
		}
	}
	return s
}

// MaxStock bounds the stock a donor may state.
const MaxStock = 1_000_000

// WithStock sets B, the body's stock of reformed equipment on 1 January
// of the year, and computes the décret's rate and whether the objective
// is reached (A × 100 ≥ objective × B, exactly, not on the rounded rate).
func (r *DonorReport) WithStock(stock int) {
	s := &r.Summary.Decret
	s.Stock, s.RatePct, s.Reached = &stock, nil, nil
	if stock <= 0 {
		return
	}
	pct, _ := ReuseRate(s.Reused, stock)
	s.RatePct = &pct
	if s.ObjectivePct != nil {
		ok := s.Reused*100 >= *s.ObjectivePct*stock
		s.Reached = &ok
	}
}

// DecretLines says the décret's indicator in words, the result first: the
// rate and whether the objective is reached when the donor stated B,
// otherwise up to which stock the objective is reached; then the year's
// objective, A and what the calculation leaves out. The HTML summary and
// the PDF print the same lines.
func DecretLines(w Wording, r DonorReport) []string {
	s := r.Summary.Decret
	year := strconv.Itoa(r.Year)
	objective := ""
	if s.ObjectivePct != nil {
		objective = strconv.Itoa(*s.ObjectivePct)
	}
	var lines []string
	switch {
	case s.Stock != nil && s.RatePct != nil:
		lines = append(lines, w.Tr("reports.decret.rate", "pct", w.Number(*s.RatePct), "reused", strconv.Itoa(s.Reused),
			"stock", strconv.Itoa(*s.Stock), "year", year))
		if s.Reached != nil && *s.Reached {
			lines = append(lines, w.Tr("reports.decret.reached", "objective", objective))
		} else if s.Reached != nil {
			lines = append(lines, w.Tr("reports.decret.not_reached", "objective", objective))
		}
	case s.Stock != nil:
		lines = append(lines, w.Tr("reports.decret.stock_zero", "year", year))
	case s.StockAtMost != nil:
		lines = append(lines, w.Tr("reports.decret.threshold", "objective", objective, "year", year,
			"most", strconv.Itoa(*s.StockAtMost)))
	case s.ObjectivePct != nil:
		lines = append(lines, w.Tr("reports.decret.threshold_none"))
	}
	if s.ObjectivePct != nil {
		lines = append(lines, w.Tr("reports.decret.objective", "year", year, "objective", objective))
	} else {
		lines = append(lines, w.Tr("reports.decret.no_objective", "year", year))
	}
	lines = append(lines, w.Tr("reports.decret.counted", "reused", strconv.Itoa(s.Reused), "counted", strconv.Itoa(s.Counted),
		"recovered", strconv.Itoa(s.Recovered), "pending", strconv.Itoa(s.Pending)),
		w.Tr("reports.decret.excluded", "old", strconv.Itoa(s.ExcludedOld), "category", strconv.Itoa(s.ExcludedCategory),
			"without_year", strconv.Itoa(s.WithoutYear)))
	return lines
}
