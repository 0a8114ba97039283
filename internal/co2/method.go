package co2

import (
	"fmt"
	"math"
	"slices"
)

// The avoided-emissions method of ../shared/co2/METHOD.md as pure
// functions:
//
//	A_net     = D × F_c × min(1, L2 / Lref_c) − R
//	A_gross   = F_c − R
//	A_per_yr  = A_net / L2
//	R         = base_refurb_kg + Σ kg of each NEW part fitted (second-hand parts: 0)
//	low, high = A_net with low_kg and D = 0.5, with high_kg and D = 1.0 (same L2, R)
//
// Every figure keeps the parameters it came from, the factor set's id and
// version and the method's version, so it can be reproduced exactly.

// MethodVersion names this implementation of METHOD.md; a stored result
// carries it.
const MethodVersion = "berriz-avoided-2025.1"

// The displacement rate's defaults (METHOD.md, "Calibrating D").
const (
	DefaultD   = 0.7 // until enough beneficiaries answered
	LowD       = 0.5 // the low end of the range
	HighD      = 1.0 // the high end of the range
	MinAnswers = 30  // informative answers needed to calibrate D
)

// FactorSet is a versioned set of factors: categories and part kinds.
// A set is immutable once published; a new one adds computations and never
// changes past results.
type FactorSet struct {
	ID         string
	Version    string
	Categories []Category
	Parts      []Part
}

// Embedded returns the factor set compiled into berriz (fr-ademe-2025).
func Embedded() FactorSet {
	return FactorSet{ID: FactorSetID, Version: "1", Categories: Categories(), Parts: Parts()}
}

// Category returns the set's category with that id.
func (s FactorSet) Category(id string) (Category, bool) {
	i := slices.IndexFunc(s.Categories, func(c Category) bool { return c.ID == id })
	if i < 0 {
		return Category{}, false
	}
	return s.Categories[i], true
}

// Part returns the set's part kind with that id.
func (s FactorSet) Part(id string) (Part, bool) {
	i := slices.IndexFunc(s.Parts, func(p Part) bool { return p.ID == id })
	if i < 0 {
		return Part{}, false
	}
	return s.Parts[i], true
}

// Input is what the method needs about one device.
type Input struct {
	Category string
	// SecondLifeYears is L2: 0 takes the category's expected second life
	// (at handover); a consolidation gives the observed years.
	SecondLifeYears float64
	// Observed says L2 was observed (the second life ended), not expected.
	Observed bool
	// D is the displacement rate; 0 takes DefaultD.
	D float64
	// NewParts are the kinds of the NEW parts fitted during refurbishment;
	// second-hand and harvested parts carry no burden and are not listed.
	NewParts []string
}

// PartBurden is one new part's share of R.
type PartBurden struct {
	Part string  `json:"part"`
	Kg   float64 `json:"kg"`
}

// Result is the method applied to one device, with every parameter.
type Result struct {
	Method           string       `json:"method_version"`
	FactorSet        string       `json:"factor_set"`
	FactorSetVersion string       `json:"factor_set_version"`
	Category         string       `json:"category"`
	F                float64      `json:"f_kg"`      // F_c
	FLow             float64      `json:"f_low_kg"`  // low_kg
	FHigh            float64      `json:"f_high_kg"` // high_kg
	D                float64      `json:"d"`
	L2               float64      `json:"l2_years"`
	Observed         bool         `json:"l2_observed"`
	Lref             float64      `json:"lref_years"`
	RBase            float64      `json:"r_base_kg"`
	RParts           []PartBurden `json:"r_parts"`
	R                float64      `json:"r_kg"`
	Net              float64      `json:"net_kg"`      // A_net, the headline
	Low              float64      `json:"low_kg"`      // A_net with low_kg and D = 0.5
	High             float64      `json:"high_kg"`     // A_net with high_kg and D = 1.0
	Gross            float64      `json:"gross_kg"`    // F_c − R: "potentiel brut"
	PerYear          float64      `json:"per_year_kg"` // A_net / L2 (0 when L2 is 0)
}

// Compute applies the method to one device with the set's factors. An
// unknown category or part kind is an error (the caller records devices by
// the set's kinds); a negative net figure is kept as it is, never clipped.
func (s FactorSet) Compute(in Input) (Result, error) {
	c, ok := s.Category(in.Category)
	if !ok {
		return Result{}, fmt.Errorf("co2: category %q is not in factor set %s", in.Category, s.ID)
	}
	if in.SecondLifeYears < 0 || in.D < 0 || in.D > 1 || math.IsNaN(in.SecondLifeYears) || math.IsNaN(in.D) {
		return Result{}, fmt.Errorf("co2: second life %v years or displacement rate %v out of range", in.SecondLifeYears, in.D)
	}
	r := Result{Method: MethodVersion, FactorSet: s.ID, FactorSetVersion: s.Version, Category: c.ID,
		F: c.CentralKg, FLow: c.LowKg, FHigh: c.HighKg, D: in.D, L2: in.SecondLifeYears, Observed: in.Observed,
		Lref: c.RefLifeYears, RBase: c.BaseRefurbKg, RParts: []PartBurden{}}
	if r.D == 0 {
		r.D = DefaultD
	}
	if !in.Observed && r.L2 == 0 {
		r.L2 = c.SecondLifeYears
	}
	r.R = r.RBase
	for _, id := range in.NewParts {
		p, ok := s.Part(id)
		if !ok {
			return Result{}, fmt.Errorf("co2: part %q is not in factor set %s", id, s.ID)
		}
		r.RParts = append(r.RParts, PartBurden{Part: p.ID, Kg: p.KgNew})
		r.R += p.KgNew
	}
	share := math.Min(1, r.L2/r.Lref)
	r.Net = r.D*r.F*share - r.R
	r.Low = LowD*r.FLow*share - r.R
	r.High = HighD*r.FHigh*share - r.R
	r.Gross = r.F - r.R
	if r.L2 > 0 {
		r.PerYear = r.Net / r.L2
	}
	return r, nil
}

// Displacement calibrates D from beneficiaries' answers to "Without this
// donation, what would you have done?": D = p_new + 0.5 × p_second_hand,
// where the shares are taken over the informative answers (bought new,
// bought second-hand, gone without; "don't know" tells nothing and is left
// out). Until MinAnswers informative answers exist, D stays DefaultD and
// calibrated is false. goneWithout is reported apart, as a digital
// inclusion figure.
func Displacement(boughtNew, boughtSecondHand, goneWithout int) (d float64, calibrated bool) {
	n := boughtNew + boughtSecondHand + goneWithout
	if n < MinAnswers || boughtNew < 0 || boughtSecondHand < 0 || goneWithout < 0 {
		return DefaultD, false
	}
	return (float64(boughtNew) + 0.5*float64(boughtSecondHand)) / float64(n), true
}

// Round1 rounds a figure to 0.1 kg, as reports show them.
func Round1(kg float64) float64 { return math.Round(kg*10) / 10 }
