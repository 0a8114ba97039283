// Package parts owns the workshop's work on a device besides diagnosis and
// erasure: the operations recorded (a repair, a cleaning, an operating
// system installed, with the minutes spent), the parts fitted (new, or
// second-hand from the workshop's spare-parts stock), the stock itself and
// what dismantling a device puts into it. Parts are recorded by the part
// kinds of the emission factor set (internal/co2) with their condition,
// because the refurbishment burden R of the method counts every NEW part
// fitted. It decides what valid input is and in which states work may be
// done; internal/postgres applies it. Pure: the standard library and the
// domain packages whose vocabulary it speaks (berriz, co2, device,
// lifecycle); no I/O.
package parts

import (
	"slices"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/lifecycle"
)

// Limits of the records; the database's checks repeat them.
const (
	MaxWorkDescription = 500   // repairs.description
	MaxMinutes         = 10000 // repairs.minutes
	MaxPartDescription = 200   // stock_parts and device_parts description
	MaxReason          = 200   // why a stock part was discarded
	MaxKept            = 24    // parts kept from one dismantled device
	maxNumberInput     = 20
)

// Condition says whether a part is new or second-hand: only new parts
// weigh on the emissions burden.
type Condition string

// The conditions.
const (
	New        Condition = "new"
	SecondHand Condition = "second_hand"
)

// Key is the translation key of the condition's name.
func (c Condition) Key() string { return conditionKeys[c] }

var conditionKeys = map[Condition]string{New: "parts.condition.new", SecondHand: "parts.condition.second_hand"}

// Kinds returns the part kinds in the order forms list them: the factor
// set's, then co2.OtherPart.
func Kinds() []string {
	var out []string
	for _, p := range co2.Parts() {
		out = append(out, p.ID)
	}
	return out
}

// ValidKind reports whether k is a part kind.
func ValidKind(k string) bool {
	_, ok := co2.PartByID(k)
	return ok
}

// KindKey is the translation key of a part kind's name ("" for an unknown
// kind). The keys are spelled out so that the catalogs' tests see them.
func KindKey(k string) string { return kindKeys[k] }

var kindKeys = map[string]string{
	"ssd_256gb": "parts.kind.ssd_256gb", "ssd_512gb": "parts.kind.ssd_512gb", "ssd_1tb": "parts.kind.ssd_1tb",
	"ram_4gb": "parts.kind.ram_4gb", "ram_8gb": "parts.kind.ram_8gb", "ram_16gb": "parts.kind.ram_16gb",
	"hdd": "parts.kind.hdd", "laptop_battery": "parts.kind.laptop_battery", "laptop_screen": "parts.kind.laptop_screen",
	"tablet_screen": "parts.kind.tablet_screen", "smartphone_screen": "parts.kind.smartphone_screen",
	"smartphone_battery": "parts.kind.smartphone_battery", "laptop_charger": "parts.kind.laptop_charger",
	"keyboard": "parts.kind.keyboard", co2.OtherPart: "parts.kind.other",
}

// driveKinds are the storage kinds of the factor set, with the drive
// types each may be and its nominal capacity (0: none).
var driveKinds = map[string]struct {
	types    []device.DriveType
	capacity int
}{
	"ssd_256gb": {[]device.DriveType{device.SSD, device.NVMe}, 256},
	"ssd_512gb": {[]device.DriveType{device.SSD, device.NVMe}, 512},
	"ssd_1tb":   {[]device.DriveType{device.SSD, device.NVMe}, 1000},
	"hdd":       {[]device.DriveType{device.HDD}, 0},
}

// DriveKind reports whether parts of kind k are always storage drives.
// An OtherPart is a drive when it carries one (a 2 TB SSD, an eMMC).
func DriveKind(k string) bool {
	_, ok := driveKinds[k]
	return ok
}

// StorageKindFor is the kind a drive is recorded under when it is kept
// from a dismantled device: an SSD or NVMe drive by its nearest capacity
// of the factor set (up to 1.5 TB), a hard disk as hdd, anything else as
// other. Kept parts are second-hand and weigh nothing on the burden, so
// the nearest kind is faithful enough.
func StorageKindFor(t device.DriveType, capacityGB int) string {
	switch {
	case t == device.HDD:
		return "hdd"
	case t != device.SSD && t != device.NVMe:
		return co2.OtherPart
	case capacityGB <= 384:
		return "ssd_256gb"
	case capacityGB <= 768:
		return "ssd_512gb"
	case capacityGB <= 1536:
		return "ssd_1tb"
	}
	return co2.OtherPart
}

// Stock states: a part waits in the stock, was fitted to a device, or was
// thrown away (broken, obsolete).
type StockState string

// The stock states.
const (
	InStock   StockState = "in_stock"
	Fitted    StockState = "fitted"
	Discarded StockState = "discarded"
)

// StockStates lists the stock states, in the order filters show them.
var StockStates = []StockState{InStock, Fitted, Discarded}

// Valid reports whether s is a stock state.
func (s StockState) Valid() bool { return slices.Contains(StockStates, s) }

// Key is the translation key of the state's name.
func (s StockState) Key() string { return stockStateKeys[s] }

var stockStateKeys = map[StockState]string{InStock: "parts.stock_state.in_stock", Fitted: "parts.stock_state.fitted",
	Discarded: "parts.stock_state.discarded"}

// WorkAllowed reports whether repairs may be recorded and parts fitted on
// a device in state s: in the workshop's hands and not yet published.
func WorkAllowed(s lifecycle.State) bool {
	switch s {
	case lifecycle.Received, lifecycle.Diagnosed, lifecycle.Wiped, lifecycle.Refurbished, lifecycle.Returned:
		return true
	}
	return false
}

// DrivesFrozen reports whether a device in state s keeps the drives it was
// erased with: from wiped on (until it comes back, returned), a drive
// joins only by being fitted as a part, with its own erasure record, so
// that no unerased drive can slip into an erased device.
func DrivesFrozen(s lifecycle.State) bool {
	switch s {
	case lifecycle.Wiped, lifecycle.Refurbished, lifecycle.Available, lifecycle.Reserved, lifecycle.Delivered,
		lifecycle.Recycled, lifecycle.Dismantled:
		return true
	}
	return false
}

// ErrWorkState refuses work on a device in a state where none is done.
func ErrWorkState(s lifecycle.State) error {
	return berriz.E(berriz.Conflict, "parts.error.work_state").WithKeyArg("state", s.Key()).
		WithDetail("state", string(s))
}

// ParseWhole reads a whole number typed in a form: "" is def, anything
// not in [lo, hi] is the field's error msg.
func ParseWhole(f berriz.FieldErrors, field, v string, def, lo, hi int, msg string) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || len(v) > maxNumberInput || n < lo || n > hi {
		f.Add(field, msg)
		return def
	}
	return n
}

// CheckReason checks why a stock part is discarded: required, one line.
func CheckReason(reason string) (string, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	r := berriz.Text(f, "reason", reason, MaxReason, false, "parts.error.reason")
	if r == "" {
		f.Add("reason", "parts.error.reason")
	}
	if len(f) > 0 {
		return "", f
	}
	return r, nil
}
