package allocation

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/diagnosis"
)

// Limits of a request line; the schema (migrations/00012_allocation.sql)
// repeats them.
const (
	MaxQuantity     = 500
	MaxMinRAMGB     = 4096
	MaxMinStorageGB = 1000000
	MaxMinScreen    = 120.0
	MaxLineNotes    = 500
)

// The fields of a request line, as the form (line_<n>_<field>) and the
// JSON API (lines[<i>].<field>) name them.
const (
	FieldCategory  = "category"
	FieldQuantity  = "quantity"
	FieldMinRAM    = "min_ram_gb"
	FieldMinDisk   = "min_storage_gb"
	FieldMinScreen = "min_screen_inches"
	FieldMinGrade  = "min_grade"
	FieldNotes     = "notes"
)

// LineFields lists the line fields in form order.
var LineFields = []string{FieldCategory, FieldQuantity, FieldMinRAM, FieldMinDisk, FieldMinScreen, FieldMinGrade, FieldNotes}

// Line is one line of a request: Quantity devices of a category of the
// factor set, each meeting the minimums. A zero minimum (or an empty
// grade) is no minimum.
type Line struct {
	Category        string          `json:"category"`
	Quantity        int             `json:"quantity"`
	MinRAMGB        int             `json:"min_ram_gb,omitempty"`
	MinStorageGB    int             `json:"min_storage_gb,omitempty"`
	MinScreenInches float64         `json:"min_screen_inches,omitempty"`
	MinGrade        diagnosis.Grade `json:"min_grade,omitempty"` // "at least": A is the best grade
	Notes           string          `json:"notes"`
}

// DeviceSpecs is what matching knows of a device to compare it with a
// line; a zero number is unknown, an empty grade none.
type DeviceSpecs struct {
	Category     string
	RAMGB        int
	StorageGB    int // the total of the device's drives
	ScreenInches float64
	Grade        diagnosis.Grade
}

// Meets reports whether a device satisfies the line: same category, and
// every minimum the line sets reached. An unknown figure never reaches a
// minimum: a device whose RAM was not recorded does not meet "8 GB at
// least". Whether the device may be allocated at all (available, not held
// elsewhere) is the lifecycle's and the reservations' business.
func (l Line) Meets(d DeviceSpecs) bool {
	switch {
	case d.Category != l.Category:
		return false
	case l.MinRAMGB > 0 && d.RAMGB < l.MinRAMGB:
		return false
	case l.MinStorageGB > 0 && d.StorageGB < l.MinStorageGB:
		return false
	case l.MinScreenInches > 0 && tenths(d.ScreenInches) < tenths(l.MinScreenInches):
		return false
	case l.MinGrade != "" && !GradeAtLeast(d.Grade, l.MinGrade):
		return false
	}
	return true
}

// GradeAtLeast reports whether grade g is min or better (A is best). No
// grade reaches any minimum.
func GradeAtLeast(g, min diagnosis.Grade) bool {
	gi, mi := slices.Index(diagnosis.Grades, g), slices.Index(diagnosis.Grades, min)
	return gi >= 0 && mi >= 0 && gi <= mi
}

// tenths compares screen sizes as the schema stores them (numeric(4, 1)),
// free of floating-point noise.
func tenths(x float64) int { return int(math.Round(x * 10)) }

// LineInput is a line as typed in the form, every value a string so a
// failed form shows exactly what was typed.
type LineInput struct {
	Category, Quantity, MinRAMGB, MinStorageGB, MinScreenInches, MinGrade, Notes string
}

// field returns where a field of the input is kept, or nil for an unknown name.
func (in *LineInput) field(name string) *string {
	switch name {
	case FieldCategory:
		return &in.Category
	case FieldQuantity:
		return &in.Quantity
	case FieldMinRAM:
		return &in.MinRAMGB
	case FieldMinDisk:
		return &in.MinStorageGB
	case FieldMinScreen:
		return &in.MinScreenInches
	case FieldMinGrade:
		return &in.MinGrade
	case FieldNotes:
		return &in.Notes
	}
	return nil
}

// Set sets a field by name; unknown names are ignored.
func (in *LineInput) Set(name, value string) {
	if p := in.field(name); p != nil {
		*p = value
	}
}

// Value returns a field by name.
func (in LineInput) Value(name string) string {
	if p := in.field(name); p != nil {
		return *p
	}
	return ""
}

// Empty reports whether nothing was typed on the line (a blank form row,
// which the form skips).
func (in LineInput) Empty() bool {
	for _, f := range LineFields {
		if strings.TrimSpace(in.Value(f)) != "" {
			return false
		}
	}
	return true
}

// Parse reads a typed line; f collects the errors under the line's field
// names (translation keys).
func (in LineInput) Parse() (Line, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	l := Line{Category: strings.ToLower(strings.TrimSpace(in.Category))}
	if q := strings.TrimSpace(in.Quantity); q == "" {
		f.Add(FieldQuantity, "request.error.quantity_required")
	} else {
		l.Quantity = whole(f, FieldQuantity, q, "request.error.quantity_range")
	}
	l.MinRAMGB = whole(f, FieldMinRAM, in.MinRAMGB, "request.error.min_ram")
	l.MinStorageGB = whole(f, FieldMinDisk, in.MinStorageGB, "request.error.min_storage")
	if s := strings.TrimSpace(in.MinScreenInches); s != "" {
		s = strings.Replace(s, ",", ".", 1)
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || len(s) > 6 || strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }) >= 0 || x <= 0 {
			f.Add(FieldMinScreen, "request.error.min_screen")
		} else {
			l.MinScreenInches = x
		}
	}
	l.MinGrade = diagnosis.Grade(strings.ToUpper(strings.TrimSpace(in.MinGrade)))
	l.Notes = berriz.Text(f, FieldNotes, in.Notes, MaxLineNotes, false, "request.error.notes_long")
	l.check(f)
	if len(f) > 0 {
		return Line{}, f
	}
	return l, nil
}

// whole reads an optional whole number written with digits only; a
// number too long to be sensible is out of range, not a format error.
func whole(f berriz.FieldErrors, field, s, key string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if len(s) > 9 || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		f.Add(field, key)
		return 0
	}
	n, _ := strconv.Atoi(s)
	if n == 0 {
		f.Add(field, key) // "0" is no minimum written as one: refused, leave it empty
	}
	return n
}

// LineJSON is a line as the JSON API receives it: minimums left out or
// null are none.
type LineJSON struct {
	Category        string   `json:"category"`
	Quantity        int      `json:"quantity"`
	MinRAMGB        *int     `json:"min_ram_gb"`
	MinStorageGB    *int     `json:"min_storage_gb"`
	MinScreenInches *float64 `json:"min_screen_inches"`
	MinGrade        *string  `json:"min_grade"`
	Notes           string   `json:"notes"`
}

// Parse checks a line of the API with the form's rules.
func (in LineJSON) Parse() (Line, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	l := Line{Category: in.Category, Quantity: in.Quantity}
	number := func(field string, p *int, key string) int {
		if p == nil {
			return 0
		}
		if *p <= 0 {
			f.Add(field, key)
		}
		return *p
	}
	l.MinRAMGB = number(FieldMinRAM, in.MinRAMGB, "request.error.min_ram")
	l.MinStorageGB = number(FieldMinDisk, in.MinStorageGB, "request.error.min_storage")
	if in.MinScreenInches != nil {
		if l.MinScreenInches = *in.MinScreenInches; l.MinScreenInches <= 0 {
			f.Add(FieldMinScreen, "request.error.min_screen")
		}
	}
	if in.MinGrade != nil {
		l.MinGrade = diagnosis.Grade(*in.MinGrade)
		if l.MinGrade == "" {
			f.Add(FieldMinGrade, "request.error.min_grade")
		}
	}
	l.Notes = berriz.Text(f, FieldNotes, in.Notes, MaxLineNotes, false, "request.error.notes_long")
	l.check(f)
	if len(f) > 0 {
		return Line{}, f
	}
	return l, nil
}

// check applies the range rules shared by both inputs; fields that
// already failed keep their first error.
func (l Line) check(f berriz.FieldErrors) {
	if l.Category == "" {
		f.Add(FieldCategory, "request.error.category_required")
	} else if _, ok := co2.CategoryByID(l.Category); !ok {
		f.Add(FieldCategory, "request.error.category_unknown")
	}
	if l.Quantity < 1 || l.Quantity > MaxQuantity {
		f.Add(FieldQuantity, "request.error.quantity_range")
	}
	if l.MinRAMGB < 0 || l.MinRAMGB > MaxMinRAMGB {
		f.Add(FieldMinRAM, "request.error.min_ram")
	}
	if l.MinStorageGB < 0 || l.MinStorageGB > MaxMinStorageGB {
		f.Add(FieldMinDisk, "request.error.min_storage")
	}
	if l.MinScreenInches < 0 || l.MinScreenInches > MaxMinScreen || float64(tenths(l.MinScreenInches))/10 != l.MinScreenInches ||
		l.MinScreenInches > 0 && tenths(l.MinScreenInches) == 0 {
		f.Add(FieldMinScreen, "request.error.min_screen")
	}
	if l.MinGrade != "" && !l.MinGrade.Valid() {
		f.Add(FieldMinGrade, "request.error.min_grade")
	}
}
