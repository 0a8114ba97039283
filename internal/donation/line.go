package donation

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
)

// Limits of one device line.
const (
	MinYear       = 1990
	MaxQuantity   = 500
	MaxDrives     = 16
	MaxWeightKg   = 200
	MaxTextLen    = 100 // brand, model, serial
	MaxNotesLen   = 500
	MaxTitleLen   = 200
	MaxDonNoteLen = 2000
	// MaxDevices bounds the physical devices of one donation, whatever the
	// quantities say.
	MaxDevices = 10000
)

// The fields of a device line; they are also the CSV columns.
const (
	FieldCategory      = "category"
	FieldBrand         = "brand"
	FieldModel         = "model"
	FieldSerial        = "serial"
	FieldYear          = "year"
	FieldQuantity      = "quantity"
	FieldStorageDrives = "storage_drives"
	FieldWeightKg      = "weight_kg"
	FieldNotes         = "notes"
)

// Fields lists the line fields in form and template order.
var Fields = []string{FieldCategory, FieldBrand, FieldModel, FieldSerial, FieldYear, FieldQuantity,
	FieldStorageDrives, FieldWeightKg, FieldNotes}

// Line is one declared device line: Quantity identical devices (one when
// it has a serial). Brand, model, serial and notes may be empty; Year is 0
// when unknown.
type Line struct {
	Category      string  `json:"category"`
	Brand         string  `json:"brand"`
	Model         string  `json:"model"`
	Serial        string  `json:"serial"`
	Year          int     `json:"year,omitempty"`
	Quantity      int     `json:"quantity"`
	StorageDrives int     `json:"storage_drives"`
	WeightKg      float64 `json:"weight_kg"` // of one device
	Notes         string  `json:"notes"`
}

// Input is a device line as typed in a form or read from a CSV row.
type Input struct {
	Category, Brand, Model, Serial, Year, Quantity, StorageDrives, WeightKg, Notes string
}

// field returns where a field of the input is kept, or nil for an unknown name.
func (in *Input) field(name string) *string {
	switch name {
	case FieldCategory:
		return &in.Category
	case FieldBrand:
		return &in.Brand
	case FieldModel:
		return &in.Model
	case FieldSerial:
		return &in.Serial
	case FieldYear:
		return &in.Year
	case FieldQuantity:
		return &in.Quantity
	case FieldStorageDrives:
		return &in.StorageDrives
	case FieldWeightKg:
		return &in.WeightKg
	case FieldNotes:
		return &in.Notes
	}
	return nil
}

// Set sets a field by name; unknown names are ignored.
func (in *Input) Set(name, value string) {
	if p := in.field(name); p != nil {
		*p = value
	}
}

// Value returns a field by name.
func (in Input) Value(name string) string {
	if p := in.field(name); p != nil {
		return *p
	}
	return ""
}

// Empty reports whether nothing was typed on the line (a blank form row).
func (in Input) Empty() bool {
	for _, f := range Fields {
		if strings.TrimSpace(in.Value(f)) != "" {
			return false
		}
	}
	return true
}

// Parse turns typed text into a line: texts normalised, numbers read,
// quantity 1 and the category's typical weight by default. It returns the
// field errors (translation keys) when anything is wrong.
func (in Input) Parse(now time.Time) (Line, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	l := Line{Category: strings.ToLower(strings.TrimSpace(in.Category))}
	if l.Category == "" {
		f.Add(FieldCategory, "donation.error.category_required")
	}
	l.Brand = optionalText(f, FieldBrand, in.Brand, MaxTextLen)
	l.Model = optionalText(f, FieldModel, in.Model, MaxTextLen)
	l.Serial = optionalText(f, FieldSerial, in.Serial, MaxTextLen)
	l.Notes = optionalText(f, FieldNotes, in.Notes, MaxNotesLen)
	l.Year = number(f, FieldYear, in.Year, 0, "donation.error.year_format")
	l.Quantity = number(f, FieldQuantity, in.Quantity, 1, "donation.error.quantity_format")
	l.StorageDrives = number(f, FieldStorageDrives, in.StorageDrives, 0, "donation.error.drives_format")
	if w := strings.TrimSpace(in.WeightKg); w != "" {
		v, ok := parseWeight(w)
		if !ok {
			f.Add(FieldWeightKg, "donation.error.weight_format")
		}
		l.WeightKg = v
	} else if c, ok := co2.CategoryByID(l.Category); ok {
		l.WeightKg = c.TypicalWeightKg
	}
	l.check(f, now)
	if len(f) > 0 {
		return Line{}, f
	}
	return l, nil
}

// Validate checks a line already in its typed form (from the API, or before
// storing it) and returns an Invalid error naming every failing field.
func (l Line) Validate(now time.Time) error {
	f := berriz.FieldErrors{}
	for field, v := range map[string]struct {
		s   string
		max int
	}{FieldBrand: {l.Brand, MaxTextLen}, FieldModel: {l.Model, MaxTextLen}, FieldSerial: {l.Serial, MaxTextLen}, FieldNotes: {l.Notes, MaxNotesLen}} {
		if norm := optionalText(f, field, v.s, v.max); norm != v.s {
			f.Add(field, "error.invalid_text")
		}
	}
	l.check(f, now)
	return f.Err()
}

// check applies the range rules shared by Parse and Validate; fields that
// already failed to parse keep their first error.
func (l Line) check(f berriz.FieldErrors, now time.Time) {
	if _, ok := co2.CategoryByID(l.Category); !ok && l.Category != "" {
		f.Add(FieldCategory, "donation.error.category_unknown")
	} else if l.Category == "" {
		f.Add(FieldCategory, "donation.error.category_required")
	}
	if l.Year != 0 && (l.Year < MinYear || l.Year > now.Year()+1) {
		f.Add(FieldYear, "donation.error.year_range")
	}
	switch {
	case l.Quantity < 1 || l.Quantity > MaxQuantity:
		f.Add(FieldQuantity, "donation.error.quantity_range")
	case l.Serial != "" && l.Quantity != 1:
		f.Add(FieldQuantity, "donation.error.quantity_serial")
	}
	if l.StorageDrives < 0 || l.StorageDrives > MaxDrives {
		f.Add(FieldStorageDrives, "donation.error.drives_range")
	}
	if !(l.WeightKg > 0 && l.WeightKg <= MaxWeightKg) || l.WeightKg != roundWeight(l.WeightKg) {
		f.Add(FieldWeightKg, "donation.error.weight_range")
	}
}

// optionalText normalises a text that may be empty, with account.Line's
// rules otherwise.
func optionalText(f berriz.FieldErrors, field, s string, max int) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	v, err := account.Line(s, max)
	if err != nil {
		f.Add(field, berriz.As(err).Message)
	}
	return v
}

// number reads a whole number written with digits only; empty is def.
func number(f berriz.FieldErrors, field, s string, def int, formatKey string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return def
	}
	if len(s) > 6 || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		f.Add(field, formatKey)
		return def
	}
	n, _ := strconv.Atoi(s)
	return n
}

// parseWeight reads kilograms with a dot or a comma (French spreadsheets)
// and at most three decimals.
func parseWeight(s string) (float64, bool) {
	s = strings.Replace(s, ",", ".", 1)
	whole, frac, _ := strings.Cut(s, ".")
	digits := func(p string) bool {
		return strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }) < 0
	}
	if whole == "" || len(whole) > 4 || len(frac) > 3 || !digits(whole) || !digits(frac) || strings.HasSuffix(s, ".") {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return roundWeight(v), err == nil
}

func roundWeight(v float64) float64 { return math.Round(v*1000) / 1000 }

// Devices returns how many physical devices the lines declare.
func Devices(lines []Line) int {
	n := 0
	for _, l := range lines {
		n += l.Quantity
	}
	return n
}

// TotalWeightKg returns the weight of every device the lines declare.
func TotalWeightKg(lines []Line) float64 {
	w := 0.0
	for _, l := range lines {
		w += l.WeightKg * float64(l.Quantity)
	}
	return roundWeight(w)
}

// Header is a donation's own text: a title and optional notes.
type Header struct {
	Title string
	Notes string
}

// ParseHeader validates a donation's title and notes, with field errors
// under "title" and "notes".
func ParseHeader(title, notes string) (Header, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	var h Header
	t, err := account.Line(title, MaxTitleLen)
	if err != nil {
		f.Add("title", berriz.As(err).Message)
	}
	h.Title = t
	h.Notes = optionalText(f, "notes", notes, MaxDonNoteLen)
	if len(f) > 0 {
		return Header{}, f
	}
	return h, nil
}
