package co2

import (
	_ "embed"
	"fmt"
	"sync"
)

// The part kinds of the factor set: the spare parts a workshop fits, each
// with the footprint of a NEW one (../shared/co2/METHOD.md, R_i = base +
// each new part fitted). Workshops record every part by one of these kinds
// so that the burden can be computed later from what was really fitted.

//go:embed parts-fr-2025.csv
var partsFR2025 []byte

// OtherPart is the kind of a part the factor set does not list (a Wi-Fi
// card, a hinge, a 2 TB drive...). It is recorded like the others but
// carries no new-part burden: the method has no figure for it, and
// inventing one would be worse than leaving it out (docs/parts.md).
const OtherPart = "other"

// Part is one part kind of the factor set. Its display name is translated
// under the parts catalog (web/i18n/*/parts.json).
type Part struct {
	ID     string  // e.g. "ssd_256gb"
	KgNew  float64 // footprint of a new part, kg CO2e; 0 for OtherPart
	Source string
}

var parts = sync.OnceValue(func() []Part {
	ps, err := parseParts(partsFR2025)
	if err != nil {
		// The file is compiled in and tested: a failure is a build defect.
		panic(fmt.Sprintf("co2: embedded parts factors: %v", err))
	}
	return append(ps, Part{ID: OtherPart, Source: "not in the factor set: counted with no new-part burden"})
})

// Parts returns every part kind: the factor set's, in the file's order,
// then OtherPart. The slice is a copy: callers may keep or change it.
func Parts() []Part {
	return append([]Part(nil), parts()...)
}

// PartByID returns the part kind with that id (OtherPart included).
func PartByID(id string) (Part, bool) {
	for _, p := range parts() {
		if p.ID == id {
			return p, true
		}
	}
	return Part{}, false
}

var partColumns = []string{"part", "kg_new", "source"}

// parseParts reads the embedded file with the importer's parser
// (factorset.go); the first problem is the error.
func parseParts(b []byte) ([]Part, error) {
	ps, errs := ParsePartsCSV(b)
	if len(errs) > 0 {
		return nil, lineError(errs[0])
	}
	return ps, nil
}
