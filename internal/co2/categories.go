// Package co2 owns the avoided emissions of berriz: the versioned factor
// sets (embedded CSV files with their sources, see ../shared/co2/METHOD.md)
// and the method that turns them into figures (method.go). It is pure: no
// I/O beyond the embedded files, no clock.
package co2

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"sync"
)

// FactorSetID names the factor set the embedded file holds.
const FactorSetID = "fr-ademe-2025"

//go:embed factors-fr-2025.csv
var factorsFR2025 []byte

// Category is one device category of the factor set, with the figures the
// method needs. Its display name is translated under "category.<ID>".
type Category struct {
	ID              string  // e.g. "laptop"
	CentralKg       float64 // F_c: manufacturing + distribution, kg CO2e
	LowKg, HighKg   float64 // range bounds of F_c
	RefLifeYears    float64 // Lref_c
	SecondLifeYears float64 // default L2
	BaseRefurbKg    float64 // base refurbishment burden
	TypicalWeightKg float64 // used when a donor does not weigh a device
	Quality         string  // A (ADEME official) to D (estimate)
	Source          string
}

var categories = sync.OnceValue(func() []Category {
	cs, err := parseFactors(factorsFR2025)
	if err != nil {
		// The file is compiled in and tested: a failure is a build defect.
		panic(fmt.Sprintf("co2: embedded factor set: %v", err))
	}
	return cs
})

// Categories returns every category of the factor set, in the file's order.
// The slice is a copy: callers may keep or change it.
func Categories() []Category {
	return append([]Category(nil), categories()...)
}

// CategoryByID returns the category with that id.
func CategoryByID(id string) (Category, bool) {
	for _, c := range categories() {
		if c.ID == id {
			return c, true
		}
	}
	return Category{}, false
}

var factorColumns = []string{"category", "central_kg", "low_kg", "high_kg", "ref_life_years", "second_life_years",
	"base_refurb_kg", "typical_weight_kg", "quality", "source"}

func parseFactors(b []byte) ([]Category, error) {
	r := csv.NewReader(bytes.NewReader(b))
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("no rows")
	}
	for i, name := range factorColumns {
		if i >= len(rows[0]) || rows[0][i] != name {
			return nil, fmt.Errorf("header: column %d is not %q", i+1, name)
		}
	}
	seen := map[string]bool{}
	out := make([]Category, 0, len(rows)-1)
	for n, row := range rows[1:] {
		c := Category{ID: row[0], Quality: row[8], Source: row[9]}
		if c.ID == "" || seen[c.ID] {
			return nil, fmt.Errorf("line %d: empty or repeated category %q", n+2, c.ID)
		}
		seen[c.ID] = true
		for i, dst := range []*float64{&c.CentralKg, &c.LowKg, &c.HighKg, &c.RefLifeYears, &c.SecondLifeYears, &c.BaseRefurbKg, &c.TypicalWeightKg} {
			v, err := strconv.ParseFloat(row[i+1], 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("line %d, %s: %q is not a number", n+2, factorColumns[i+1], row[i+1])
			}
			*dst = v
		}
		if c.TypicalWeightKg <= 0 || c.RefLifeYears <= 0 {
			return nil, fmt.Errorf("line %d: weight and reference life must be positive", n+2)
		}
		out = append(out, c)
	}
	return out, nil
}
