package erasure

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/berriz"
)

// Record is one erasure of one drive, as a technician reports it. The
// drive's snapshot is filled by the store from the device's recorded
// drive; the technician is whoever records it.
type Record struct {
	Drive        Drive        `json:"drive"`
	Method       Method       `json:"method"`
	Tool         Tool         `json:"tool"`
	ToolVersion  string       `json:"tool_version"`
	Passes       int          `json:"passes"`
	Verification Verification `json:"verification"`
	StartedAt    time.Time    `json:"started_at"`
	EndedAt      time.Time    `json:"ended_at"`
	Notes        string       `json:"notes"`
}

// Form field names, shared by the page and the API's multipart body.
const (
	FieldDrive        = "drive"
	FieldMethod       = "method"
	FieldTool         = "tool"
	FieldToolVersion  = "tool_version"
	FieldPasses       = "passes"
	FieldVerification = "verification"
	FieldStartedAt    = "started_at"
	FieldEndedAt      = "ended_at"
	FieldNotes        = "notes"
	FieldLog          = "log"
)

// Validate checks what a record says on its own, at time now: known
// method, tool and result, a tool that can perform the method, passes in
// range (overwriting needs at least one; destroying and a new drive none),
// start before end, neither in the future, a duration below MaxDuration,
// texts without control characters. The field errors are translation keys.
func (r Record) Validate(now time.Time) berriz.FieldErrors {
	f := berriz.FieldErrors{}
	if !r.Method.Valid() {
		f.Add(FieldMethod, "erasure.error.method")
	}
	if !r.Tool.Valid() {
		f.Add(FieldTool, "erasure.error.tool")
	} else if r.Method.Valid() && !r.Tool.Fits(r.Method) {
		f.Add(FieldTool, "erasure.error.tool_method")
	}
	switch {
	case r.Passes < 0 || r.Passes > MaxPasses:
		f.Add(FieldPasses, "erasure.error.passes")
	case r.Passes == 0 && (r.Method == PurgeOverwrite || r.Tool.overwrites()):
		f.Add(FieldPasses, "erasure.error.passes_overwrite")
	case r.Passes != 0 && (r.Method == Destroy || r.Tool == NewBlank):
		f.Add(FieldPasses, "erasure.error.passes_none")
	}
	if !r.Verification.Valid() {
		f.Add(FieldVerification, "erasure.error.verification")
	}
	checkText(f, FieldToolVersion, r.ToolVersion, MaxVersionLen, false)
	checkText(f, FieldNotes, r.Notes, MaxNotesLen, true)
	switch {
	case r.StartedAt.IsZero():
		f.Add(FieldStartedAt, "erasure.error.time")
	case r.StartedAt.Before(earliest):
		f.Add(FieldStartedAt, "erasure.error.time_old")
	case r.StartedAt.After(now.Add(ClockSkew)):
		f.Add(FieldStartedAt, "erasure.error.time_future")
	}
	switch {
	case r.EndedAt.IsZero():
		f.Add(FieldEndedAt, "erasure.error.time")
	case r.EndedAt.After(now.Add(ClockSkew)):
		f.Add(FieldEndedAt, "erasure.error.time_future")
	case r.StartedAt.IsZero():
	case r.EndedAt.Before(r.StartedAt):
		f.Add(FieldEndedAt, "erasure.error.time_order")
	case r.EndedAt.Sub(r.StartedAt) > MaxDuration:
		f.Add(FieldEndedAt, "erasure.error.duration_long")
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

// CheckDrive checks what a record claims against the drive it erased: a
// degausser cannot reach flash memory and purging flash by overwrite is
// no purge (NIST SP 800-88 purges flash by block or cryptographic erase),
// and an overwrite cannot be faster than MaxOverwriteGB per second per
// pass (times are typed to the minute: a minute of slack).
func (r Record) CheckDrive() berriz.FieldErrors {
	f := berriz.FieldErrors{}
	if r.Drive.flash() && (r.Tool == Degausser || r.Method == PurgeOverwrite) {
		f.Add(FieldMethod, "erasure.error.method_flash")
	}
	if r.Method == PurgeOverwrite || r.Tool.overwrites() {
		need := time.Duration(float64(r.Passes)*float64(r.Drive.CapacityGB)/MaxOverwriteGB) * time.Second
		if r.EndedAt.Sub(r.StartedAt)+time.Minute < need {
			f.Add(FieldEndedAt, "erasure.error.duration_short")
		}
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

// checkText refuses invalid UTF-8, control characters (newlines and tabs
// too, unless multiline) and texts longer than max runes.
func checkText(f berriz.FieldErrors, field, v string, max int, multiline bool) {
	if !utf8.ValidString(v) {
		f.Add(field, "erasure.error.text")
		return
	}
	for _, r := range v {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			f.Add(field, "erasure.error.text")
			return
		}
	}
	if utf8.RuneCountInString(v) > max {
		f.Add(field, "erasure.error.too_long")
	}
}

// DriveRef names the drive a form speaks of: its position on the device
// and, when the form showed it, the serial it had then (so a drive
// replaced meanwhile is not mistaken for the one erased).
type DriveRef struct {
	Position  int
	Serial    string
	HasSerial bool
}

// ParseDriveRef reads "2" or "2:WD-WCC4N1234567".
func ParseDriveRef(v string) (DriveRef, bool) {
	pos, serial, has := strings.Cut(strings.TrimSpace(v), ":")
	n, err := strconv.Atoi(pos)
	if err != nil || n < 1 || n > 16 || len(pos) > 2 {
		return DriveRef{}, false
	}
	return DriveRef{Position: n, Serial: serial, HasSerial: has}, true
}

// Ref writes the drive's reference as ParseDriveRef reads it, with its
// serial.
func (d Drive) Ref() string { return strconv.Itoa(d.Position) + ":" + d.Serial }

// Input is a record form as typed, every value a string, so a refused
// form shows exactly what was typed.
type Input map[string]string

// Parse reads a record form: the drive reference, the record, and every
// field error (translation keys) of what could not be read. Times without
// an offset (datetime-local fields) are read in loc; an offset, when
// given, wins. Parse does not Validate.
func (in Input) Parse(loc *time.Location) (DriveRef, Record, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	ref, ok := ParseDriveRef(in[FieldDrive])
	if !ok {
		f.Add(FieldDrive, "erasure.error.drive")
	}
	r := Record{
		Method:       Method(strings.TrimSpace(in[FieldMethod])),
		Tool:         Tool(strings.TrimSpace(in[FieldTool])),
		ToolVersion:  strings.TrimSpace(in[FieldToolVersion]),
		Verification: Verification(strings.TrimSpace(in[FieldVerification])),
		Notes:        strings.TrimSpace(strings.ReplaceAll(in[FieldNotes], "\r\n", "\n")),
	}
	if v := strings.TrimSpace(in[FieldPasses]); v == "" {
		f.Add(FieldPasses, "erasure.error.passes")
	} else if n, err := strconv.Atoi(v); err != nil || len(v) > 3 {
		f.Add(FieldPasses, "erasure.error.passes")
	} else {
		r.Passes = n
	}
	for field, dst := range map[string]*time.Time{FieldStartedAt: &r.StartedAt, FieldEndedAt: &r.EndedAt} {
		t, ok := ParseTime(in[field], loc)
		if !ok {
			f.Add(field, "erasure.error.time")
		}
		*dst = t
	}
	return ref, r, f
}

// timeLayouts are what a datetime-local field sends (with or without
// seconds) and what people type.
var timeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"}

// ParseTime reads a time as a datetime-local field sends it, in loc, or
// in RFC 3339 with its own offset.
func ParseTime(v string, loc *time.Location) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if len(v) > 40 {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, v, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
