package co2

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
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

func parseParts(b []byte) ([]Part, error) {
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("no rows")
	}
	for i, name := range partColumns {
		if i >= len(rows[0]) || rows[0][i] != name {
			return nil, fmt.Errorf("header: column %d is not %q", i+1, name)
		}
	}
	seen := map[string]bool{OtherPart: true} // the file may not redefine it
	out := make([]Part, 0, len(rows)-1)
	for n, row := range rows[1:] {
		p := Part{ID: row[0], Source: row[2]}
		if p.ID == "" || seen[p.ID] {
			return nil, fmt.Errorf("line %d: empty, reserved or repeated part %q", n+2, p.ID)
		}
		seen[p.ID] = true
		v, err := strconv.ParseFloat(row[1], 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("line %d, kg_new: %q is not a positive number", n+2, row[1])
		}
		if p.Source == "" {
			return nil, fmt.Errorf("line %d: no source", n+2)
		}
		p.KgNew = v
		out = append(out, p)
	}
	return out, nil
}
