// Package device owns the technical description of a device recorded at
// diagnosis: its specs (CPU, RAM, screen, battery, operating system,
// condition) and its storage drives, with the rules that decide what a
// valid description is. It does no I/O: the server parses forms into
// Specs here and internal/postgres stores them.
package device

import (
	"slices"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
)

// Limits of a description; the database's checks repeat them.
const (
	MaxDrives      = 8    // drive rows on one device
	MaxTextLen     = 100  // cpu, os, drive serial
	MaxNotesLen    = 2000 // condition notes
	MaxRAMGB       = 4096
	MaxScreenInch  = 120.0
	MaxCapacityGB  = 1000000
	maxNumberInput = 20
)

// DriveType is the technology of a storage drive.
type DriveType string

// The drive types, in the order forms list them.
const (
	HDD   DriveType = "hdd"
	SSD   DriveType = "ssd"
	NVMe  DriveType = "nvme"
	EMMC  DriveType = "emmc"
	Other DriveType = "other"
)

// DriveTypes lists every drive type.
var DriveTypes = []DriveType{HDD, SSD, NVMe, EMMC, Other}

// Valid reports whether t is a known drive type.
func (t DriveType) Valid() bool { return slices.Contains(DriveTypes, t) }

// Drive is one storage drive of a device; Position numbers them from 1.
type Drive struct {
	Position   int       `json:"position"`
	Type       DriveType `json:"type"`
	CapacityGB int       `json:"capacity_gb"`
	Serial     string    `json:"serial"`
}

// Specs is what diagnosis records about a device. A nil number is unknown.
type Specs struct {
	CPU              string   `json:"cpu"`
	RAMGB            *int     `json:"ram_gb"`
	ScreenInches     *float64 `json:"screen_inches"`
	BatteryHealthPct *int     `json:"battery_health_pct"`
	OS               string   `json:"os"`
	ConditionNotes   string   `json:"condition_notes"`
	Drives           []Drive  `json:"drives"`
}

// Form field names; drive fields carry the row number: drive_type_1.
const (
	FieldCPU       = "cpu"
	FieldRAM       = "ram_gb"
	FieldScreen    = "screen_inches"
	FieldBattery   = "battery_health_pct"
	FieldOS        = "os"
	FieldCondition = "condition_notes"
)

// DriveField names the field of drive row n (1-based): type, capacity or serial.
func DriveField(what string, n int) string { return "drive_" + what + "_" + strconv.Itoa(n) }

// Input is a specs form as typed, every value a string, so that a failed
// form shows exactly what was typed.
type Input map[string]string

// InputOf returns the form values of stored specs, for a form's first display.
func InputOf(s Specs) Input {
	in := Input{FieldCPU: s.CPU, FieldOS: s.OS, FieldCondition: s.ConditionNotes}
	if s.RAMGB != nil {
		in[FieldRAM] = strconv.Itoa(*s.RAMGB)
	}
	if s.ScreenInches != nil {
		in[FieldScreen] = strconv.FormatFloat(*s.ScreenInches, 'f', -1, 64)
	}
	if s.BatteryHealthPct != nil {
		in[FieldBattery] = strconv.Itoa(*s.BatteryHealthPct)
	}
	for i, d := range s.Drives {
		in[DriveField("type", i+1)] = string(d.Type)
		in[DriveField("capacity", i+1)] = strconv.Itoa(d.CapacityGB)
		in[DriveField("serial", i+1)] = d.Serial
	}
	return in
}

// Parse reads a specs form. Drive rows left entirely empty are skipped;
// the others are renumbered in order. It returns the field errors
// (translation keys) when anything is wrong.
func (in Input) Parse() (Specs, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	s := Specs{
		CPU:            text(f, FieldCPU, in[FieldCPU], MaxTextLen, false),
		OS:             text(f, FieldOS, in[FieldOS], MaxTextLen, false),
		ConditionNotes: text(f, FieldCondition, in[FieldCondition], MaxNotesLen, true),
	}
	s.RAMGB = whole(f, FieldRAM, in[FieldRAM], 1, MaxRAMGB, "device.error.ram")
	s.BatteryHealthPct = whole(f, FieldBattery, in[FieldBattery], 0, 100, "device.error.battery")
	if v := strings.TrimSpace(in[FieldScreen]); v != "" {
		x, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
		if err != nil || len(v) > maxNumberInput || !(x > 0 && x <= MaxScreenInch) || x*10 != float64(int(x*10)) {
			f.Add(FieldScreen, "device.error.screen")
		} else {
			s.ScreenInches = &x
		}
	}
	for n := 1; n <= MaxDrives; n++ {
		typ := strings.TrimSpace(in[DriveField("type", n)])
		capa := strings.TrimSpace(in[DriveField("capacity", n)])
		serial := in[DriveField("serial", n)]
		if typ == "" && capa == "" && strings.TrimSpace(serial) == "" {
			continue
		}
		d := Drive{Position: len(s.Drives) + 1, Type: DriveType(typ)}
		if !d.Type.Valid() {
			f.Add(DriveField("type", n), "device.error.drive_type")
		}
		if c := whole(f, DriveField("capacity", n), capa, 1, MaxCapacityGB, "device.error.drive_capacity"); c != nil {
			d.CapacityGB = *c
		} else {
			f.Add(DriveField("capacity", n), "device.error.drive_capacity")
		}
		d.Serial = text(f, DriveField("serial", n), serial, MaxTextLen, false)
		s.Drives = append(s.Drives, d)
	}
	if len(f) > 0 {
		return Specs{}, f
	}
	return s, nil
}

// Validate checks specs already in typed form (the API, or before storing)
// and returns an Invalid error naming every failing field.
func (s Specs) Validate() error {
	in := InputOf(s)
	if len(s.Drives) > MaxDrives {
		return berriz.FieldErrors{"drives": "device.error.drives_count"}.Err()
	}
	got, f := in.Parse()
	if len(f) > 0 {
		return f.Err()
	}
	if got.CPU != s.CPU || got.OS != s.OS || got.ConditionNotes != s.ConditionNotes {
		return berriz.FieldErrors{FieldCPU: "error.invalid_text"}.Err()
	}
	for i, d := range got.Drives {
		if d != s.Drives[i] {
			return berriz.FieldErrors{DriveField("serial", i+1): "error.invalid_text"}.Err()
		}
	}
	return nil
}

// whole reads an optional whole number in [lo, hi].
func whole(f berriz.FieldErrors, field, v string, lo, hi int, msg string) *int {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || len(v) > maxNumberInput || n < lo || n > hi {
		f.Add(field, msg)
		return nil
	}
	return &n
}

// text checks an optional text (see berriz.Text).
func text(f berriz.FieldErrors, field, v string, max int, multiline bool) string {
	return berriz.Text(f, field, v, max, multiline, "device.error.too_long")
}

// MaxDocumentBytes bounds a document (a PDF: invoice, test report, manual).
const MaxDocumentBytes = 10_000_000

// MaxPhotos is how many photos one device keeps.
const MaxPhotos = 5

// CheckDocument says whether data may be stored as a document: a PDF by
// its content (the %PDF- signature), not empty, not beyond the limit. The
// message is a translation key.
func CheckDocument(data []byte) error {
	switch {
	case len(data) == 0:
		return berriz.FieldErrors{"document": "device.error.file_empty"}.Err()
	case len(data) > MaxDocumentBytes:
		return berriz.E(berriz.TooLarge, "device.error.document_too_large")
	case !strings.HasPrefix(string(data[:min(len(data), 5)]), "%PDF-"):
		return berriz.FieldErrors{"document": "device.error.document_type"}.Err()
	}
	return nil
}

// osCategories are the categories of the factor set that run an operating
// system a workshop installs (computers, phones, tablets).
var osCategories = []string{"laptop", "desktop", "all_in_one", "smartphone", "tablet", "server", "thin_client"}

// NeedsOS reports whether a device of the category gets an operating
// system before it is reused: the lifecycle refuses refurbished without one.
func NeedsOS(category string) bool { return slices.Contains(osCategories, category) }
