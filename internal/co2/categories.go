// Package co2 owns the avoided emissions of berriz: the versioned factor
// sets (embedded CSV files with their sources, see ../shared/co2/METHOD.md)
// and the method that turns them into figures (method.go). It is pure: no
// I/O beyond the embedded files, no clock.
package co2

import (
	_ "embed"
	"fmt"
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

// parseFactors reads the embedded file with the importer's parser
// (factorset.go), so that the compiled-in set passes the checks an imported
// one does; the first problem is the error.
func parseFactors(b []byte) ([]Category, error) {
	cs, errs := ParseCategoriesCSV(b)
	if len(errs) > 0 {
		return nil, lineError(errs[0])
	}
	return cs, nil
}
