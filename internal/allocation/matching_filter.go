package allocation

import (
	"cmp"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/diagnosis"
)

// ParseCatalogueFilter reads the catalogue's filters as typed (the query
// of the page or of the API): a category and minimums, with the names and
// the meaning of a request line's (Line, FieldCategory...), so that the
// catalogue shows exactly the devices that would meet such a line. Empty
// values filter nothing; Quantity and Notes stay zero.
func ParseCatalogueFilter(get func(field string) string) (Line, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	l := Line{Category: strings.ToLower(strings.TrimSpace(get(FieldCategory)))}
	if l.Category != "" && !validCategory(l.Category) {
		f.Add(FieldCategory, "matching.error.filter_category")
	}
	number := func(field string, limit int) int {
		s := strings.TrimSpace(get(field))
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > limit || len(s) > 9 {
			f.Add(field, "matching.error.filter_number")
			return 0
		}
		return n
	}
	l.MinRAMGB = number(FieldMinRAM, MaxMinRAMGB)
	l.MinStorageGB = number(FieldMinDisk, MaxMinStorageGB)
	if s := strings.Replace(strings.TrimSpace(get(FieldMinScreen)), ",", ".", 1); s != "" {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || len(s) > 6 || x < 0 || x > MaxMinScreen || strings.ContainsAny(s, "eE+-") {
			f.Add(FieldMinScreen, "matching.error.filter_number")
		} else {
			l.MinScreenInches = float64(tenths(x)) / 10
		}
	}
	l.MinGrade = diagnosis.Grade(strings.ToUpper(strings.TrimSpace(get(FieldMinGrade))))
	if l.MinGrade != "" && !l.MinGrade.Valid() {
		f.Add(FieldMinGrade, "matching.error.filter_grade")
	}
	if len(f) > 0 {
		return Line{}, f
	}
	return l, nil
}

// validCategory accepts what the schema accepts as a category: lower-case
// letters, digits and underscores. An unknown but well-formed category is
// no error: it simply matches nothing.
func validCategory(c string) bool {
	if len(c) > 40 || c[0] < 'a' || c[0] > 'z' {
		return false
	}
	return strings.IndexFunc(c, func(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' }) < 0
}

// NarrowFilter returns the filter that accepts exactly the devices both a
// and b accept (the higher of each minimum, the better grade), and false
// when none can (two different categories).
func NarrowFilter(a, b Line) (Line, bool) {
	if a.Category != "" && b.Category != "" && a.Category != b.Category {
		return Line{}, false
	}
	out := Line{Category: cmp.Or(a.Category, b.Category), MinRAMGB: max(a.MinRAMGB, b.MinRAMGB),
		MinStorageGB: max(a.MinStorageGB, b.MinStorageGB), MinScreenInches: max(a.MinScreenInches, b.MinScreenInches),
		MinGrade: a.MinGrade}
	if gradeRank(b.MinGrade) > gradeRank(a.MinGrade) {
		out.MinGrade = b.MinGrade
	}
	return out, true
}

// CompareDemand orders lines by how demanding their minimums are, in the
// order of ComparePower (RAM, storage, screen, grade): when a device meets
// several lines of one beneficiary, the catalogue offers it first to the
// most demanding, as best fit would, so that an undemanding line does not
// take a powerful device another line needs.
func CompareDemand(a, b Line) int {
	return ComparePower(MatchDevice{DeviceSpecs: DeviceSpecs{RAMGB: a.MinRAMGB, StorageGB: a.MinStorageGB,
		ScreenInches: a.MinScreenInches, Grade: a.MinGrade}}, MatchDevice{DeviceSpecs: DeviceSpecs{RAMGB: b.MinRAMGB,
		StorageGB: b.MinStorageGB, ScreenInches: b.MinScreenInches, Grade: b.MinGrade}})
}
