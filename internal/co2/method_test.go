package co2_test

import (
	"math"
	"testing"

	"github.com/berriz/berriz/internal/co2"
)

// Every worked example of METHOD.md, to 0.1 kg, with the defaults.
func TestWorkedExamples(t *testing.T) {
	set := co2.Embedded()
	cases := []struct {
		name     string
		in       co2.Input
		want     float64
		wantR    float64
		wantL2   float64
		wantRefs int
	}{
		{"laptop, 3-year second life, no parts", co2.Input{Category: "laptop", SecondLifeYears: 3}, 73.6, 3, 3, 0},
		{"same laptop with new 256 GB SSD and new battery", co2.Input{Category: "laptop", SecondLifeYears: 3,
			NewParts: []string{"ssd_256gb", "laptop_battery"}}, 47.9, 28.7, 3, 2},
		{"smartphone, 2 years", co2.Input{Category: "smartphone", SecondLifeYears: 2}, 41.4, 3, 2, 0},
		{"tablet, 2.5 years", co2.Input{Category: "tablet", SecondLifeYears: 2.5}, 45.9, 3, 2.5, 0},
		{"24-inch monitor, 4 years", co2.Input{Category: "monitor_24", SecondLifeYears: 4}, 25.8, 5, 4, 0},
		{"video projector, 4 years", co2.Input{Category: "projector", SecondLifeYears: 4}, 11.2, 3, 4, 0},
		// The category's expected second life is the default L2.
		{"laptop, expected second life", co2.Input{Category: "laptop"}, 73.6, 3, 3, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := set.Compute(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if co2.Round1(r.Net) != c.want || math.Abs(r.R-c.wantR) > 1e-9 || r.L2 != c.wantL2 || len(r.RParts) != c.wantRefs {
				t.Fatalf("net %.3f (want %.1f), R %.2f (want %.1f), L2 %v, parts %v", r.Net, c.want, r.R, c.wantR, r.L2, r.RParts)
			}
			if r.Method != co2.MethodVersion || r.FactorSet != "fr-ademe-2025" || r.FactorSetVersion == "" || r.D != 0.7 {
				t.Fatalf("parameters %+v", r)
			}
		})
	}
}

// The three figures and the range: gross is full substitution without
// lifetime scaling, per year divides by L2, low and high use the range
// bounds and D = 0.5 and 1.0, keeping L2 and R.
func TestFiguresAndRange(t *testing.T) {
	r, err := co2.Embedded().Compute(co2.Input{Category: "laptop", SecondLifeYears: 3, NewParts: []string{"ssd_256gb"}})
	if err != nil {
		t.Fatal(err)
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %.4f, want %.4f", what, got, want)
		}
	}
	near("R", r.R, 3+17.7)
	near("gross", r.Gross, 182.3-20.7)
	near("net", r.Net, 0.7*182.3*3/5-20.7)
	near("per year", r.PerYear, (0.7*182.3*3/5-20.7)/3)
	near("low", r.Low, 0.5*156*3/5-20.7)
	near("high", r.High, 1.0*339*3/5-20.7)
	if !(r.Low < r.Net && r.Net < r.High) {
		t.Errorf("range %v < %v < %v does not hold", r.Low, r.Net, r.High)
	}
}

// The parts burden: new parts count their kg, the "other" kind counts 0,
// an unknown kind is refused.
func TestPartsBurden(t *testing.T) {
	set := co2.Embedded()
	r, err := set.Compute(co2.Input{Category: "laptop", NewParts: []string{"ram_8gb", "laptop_screen", "other"}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.R-(3+20.9+60+0)) > 1e-9 || len(r.RParts) != 3 {
		t.Fatalf("R %v, parts %v", r.R, r.RParts)
	}
	// A heavy refurbishment makes the figure negative: reported as it is.
	r, err = set.Compute(co2.Input{Category: "mouse", NewParts: []string{"ssd_1tb"}})
	if err != nil || r.Net >= 0 {
		t.Fatalf("negative figure clipped: %+v, %v", r, err)
	}
	if _, err := set.Compute(co2.Input{Category: "laptop", NewParts: []string{"flux_capacitor"}}); err == nil {
		t.Error("an unknown part is accepted")
	}
	if _, err := set.Compute(co2.Input{Category: "toaster"}); err == nil {
		t.Error("an unknown category is accepted")
	}
	if _, err := set.Compute(co2.Input{Category: "laptop", D: 1.5}); err == nil {
		t.Error("D above 1 is accepted")
	}
}

// The credit is capped at one avoided device.
func TestCapAtOneDevice(t *testing.T) {
	r, err := co2.Embedded().Compute(co2.Input{Category: "laptop", SecondLifeYears: 12})
	if err != nil || math.Abs(r.Net-(0.7*182.3-3)) > 1e-9 {
		t.Fatalf("net %v, %v", r.Net, err)
	}
}

// Consolidation: when the second life ends (the device comes back, breaks
// or is recycled after its handover), the figure is recomputed with the
// observed years; an observed 0 years gives −R and no per-year figure.
func TestConsolidation(t *testing.T) {
	set := co2.Embedded()
	est, _ := set.Compute(co2.Input{Category: "laptop"})
	back, err := set.Compute(co2.Input{Category: "laptop", SecondLifeYears: 1.5, Observed: true})
	if err != nil {
		t.Fatal(err)
	}
	if co2.Round1(back.Net) != co2.Round1(0.7*182.3*1.5/5-3) || !back.Observed || back.Net >= est.Net {
		t.Fatalf("consolidated %+v (estimated %.1f)", back, est.Net)
	}
	zero, err := set.Compute(co2.Input{Category: "laptop", SecondLifeYears: 0, Observed: true})
	if err != nil || zero.Net != -3 || zero.PerYear != 0 || zero.L2 != 0 {
		t.Fatalf("came back at once: %+v, %v", zero, err)
	}
}

// D from the handover answers: new + half second-hand over the informative
// answers, once 30 exist; 0.7 before.
func TestDisplacementCalibration(t *testing.T) {
	cases := []struct {
		newN, secondHand, without int
		want                      float64
		calibrated                bool
	}{
		{0, 0, 0, 0.7, false},
		{20, 5, 4, 0.7, false}, // 29 answers
		{20, 6, 4, 23.0 / 30, true},
		{15, 10, 15, 20.0 / 40, true},
		{0, 0, 30, 0, true},
		{30, 0, 0, 1, true},
	}
	for _, c := range cases {
		d, ok := co2.Displacement(c.newN, c.secondHand, c.without)
		if math.Abs(d-c.want) > 1e-9 || ok != c.calibrated {
			t.Errorf("%d/%d/%d: D %.4f (%v), want %.4f (%v)", c.newN, c.secondHand, c.without, d, ok, c.want, c.calibrated)
		}
	}
	// A calibrated D feeds the central figure only; the range keeps 0.5 and 1.
	r, _ := co2.Embedded().Compute(co2.Input{Category: "smartphone", SecondLifeYears: 2, D: 0.5})
	if co2.Round1(r.Net) != co2.Round1(0.5*79.3*0.8-3) || math.Abs(r.Low-(0.5*39*0.8-3)) > 1e-9 || math.Abs(r.High-(85*0.8-3)) > 1e-9 {
		t.Fatalf("%+v", r)
	}
}
