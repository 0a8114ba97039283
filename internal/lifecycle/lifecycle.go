// Package lifecycle owns the device lifecycle of DOMAIN.md: the states a
// donated device goes through, which step may follow which, and what must
// be true of the device before each step (a diagnosis before diagnosed,
// verified erasure of every drive before wiped, a grade before refurbished
// and available...). Every path that changes a device's state — pages, the
// JSON API, the scan station, recycling batches, allocation — asks Check,
// so the rules live here once. A refusal says why and what to do first, as
// translation keys. Standard library and internal/berriz only; no I/O.
package lifecycle

import (
	"slices"
	"strconv"

	"github.com/berriz/berriz/internal/berriz"
)

// State is where a device stands.
type State string

// The states of DOMAIN.md.
const (
	Declared    State = "declared"    // a donor listed it
	Received    State = "received"    // checked in at a workshop, tag attached
	Diagnosed   State = "diagnosed"   // specs and test results recorded
	Wiped       State = "wiped"       // every drive erased and verified (or destroyed, or none)
	Refurbished State = "refurbished" // repairs, parts and OS recorded, graded
	Available   State = "available"   // in the catalogue
	Reserved    State = "reserved"    // proposed to or reserved by a request
	Delivered   State = "delivered"   // handover confirmed by the beneficiary
	Returned    State = "returned"    // came back; re-enters diagnosis
	Recycled    State = "recycled"    // handed to a WEEE channel
	Dismantled  State = "dismantled"  // harvested for parts
)

// States lists every state, in the order of DOMAIN.md.
var States = []State{Declared, Received, Diagnosed, Wiped, Refurbished, Available, Reserved, Delivered, Returned,
	Recycled, Dismantled}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Final reports whether nothing can follow s.
func (s State) Final() bool { return s == Recycled || s == Dismantled }

// Key is the translation key of the state's name.
func (s State) Key() string { return "donation.device_state." + string(s) }

// InWorkshop reports whether a device in state s is in a workshop's hands
// (received and not yet out to a beneficiary, a recycler or the parts bin).
func (s State) InWorkshop() bool {
	switch s {
	case Received, Diagnosed, Wiped, Refurbished, Available, Reserved, Returned:
		return true
	}
	return false
}

// next is the diagram of DOMAIN.md: the states that may follow each state.
var next = map[State][]State{
	Declared:    {Received},
	Received:    {Diagnosed, Recycled, Dismantled},
	Diagnosed:   {Wiped, Recycled, Dismantled},
	Wiped:       {Refurbished, Recycled, Dismantled},
	Refurbished: {Available, Recycled, Dismantled},
	Available:   {Reserved, Recycled, Dismantled},
	Reserved:    {Available, Delivered},
	Delivered:   {Returned},
	Returned:    {Diagnosed, Recycled, Dismantled},
}

// Next returns the states that may follow s in the diagram, whatever the
// device's facts.
func Next(s State) []State { return slices.Clone(next[s]) }

// Via is the path a transition is asked through. Some steps have a path of
// their own because they carry more than a state: intake links a tag,
// recycling hands a batch to a recycler, dismantling fills the parts stock,
// allocation reserves and hands over.
type Via string

// The paths.
const (
	Direct     Via = ""           // a page, the API or an action card
	Intake     Via = "intake"     // a tag linked at the scan station
	Recycling  Via = "recycling"  // a recycling batch handed over
	Dismantle  Via = "dismantle"  // the dismantling form, with its parts
	Allocation Via = "allocation" // requests, proposals and handovers
)

// pathOf names the only path that may reach a state, when it has one.
var pathOf = map[State]Via{
	Received:   Intake,
	Recycled:   Recycling,
	Dismantled: Dismantle,
	Reserved:   Allocation,
	Delivered:  Allocation,
}

// pathFor is the path through which from may become to.
func pathFor(from, to State) Via {
	if from == Reserved && to == Available {
		return Allocation // a reservation declined or expired
	}
	return pathOf[to]
}

// Facts is what the rules need to know about a device, gathered by the
// store under the device's row lock.
type Facts struct {
	// StorageDrives is the device's number of storage drives (declared,
	// then set by the recorded specs); Drives how many are recorded one by
	// one (type, capacity, serial).
	StorageDrives, Drives int
	// DrivesErased counts recorded drives whose latest erasure record is
	// verified, or that were destroyed; DrivesFailed those whose latest
	// erasure failed its verification.
	DrivesErased, DrivesFailed int
	// Diagnosed: a diagnosis with every test of the category's checklist
	// answered is recorded.
	Diagnosed bool
	// Grade is A, B or C once given; "" before.
	Grade string
	// NeedsOS: the category runs an operating system (a computer, a
	// phone); OS is the one installed.
	NeedsOS bool
	OS      string
	// InRecyclingBatch: the device waits in an open recycling batch.
	InRecyclingBatch bool
}

// erasureDone reports whether no data can leave with the device: it has no
// storage, or every drive is verified erased or destroyed.
func (f Facts) erasureDone() bool {
	return f.Drives >= f.StorageDrives && f.DrivesErased >= f.Drives
}

// Check says whether a device in state from, described by f, may move to
// state to through path via. It returns nil, an Invalid error for an
// unknown state, or a Conflict error whose message says why not and what to
// do first (translation keys; KeyArgs name the states).
func Check(from, to State, via Via, f Facts) error {
	if !from.Valid() || !to.Valid() {
		return berriz.E(berriz.Invalid, "lifecycle.error.state_unknown")
	}
	refuse := func(key string) *berriz.Error {
		return berriz.E(berriz.Conflict, key).WithKeyArg("from", from.Key()).WithKeyArg("to", to.Key()).
			WithDetail("state", string(from))
	}
	switch {
	case from == to:
		return refuse("lifecycle.error.already")
	case from.Final():
		return refuse("lifecycle.error.final")
	case !slices.Contains(next[from], to):
		return refuse("lifecycle.error.order").WithKeyArg("need", need(from, to))
	}
	if want := pathFor(from, to); want != via {
		if want == Direct {
			return refuse("lifecycle.error.path_direct")
		}
		return refuse("lifecycle.error.path").WithKeyArg("need", "lifecycle.path."+string(to))
	}
	if f.InRecyclingBatch && via != Recycling {
		return refuse("lifecycle.error.in_recycling")
	}
	switch to {
	case Diagnosed:
		if f.Drives < f.StorageDrives {
			return refuse("lifecycle.error.drives_unrecorded").WithArg("declared", strconv.Itoa(f.StorageDrives)).
				WithArg("recorded", strconv.Itoa(f.Drives))
		}
		if !f.Diagnosed {
			return refuse("lifecycle.error.diagnosis_missing")
		}
	case Wiped, Recycled, Dismantled:
		if err := checkErasure(f, refuse); err != nil {
			return err
		}
	case Refurbished, Available:
		if err := checkErasure(f, refuse); err != nil {
			return err
		}
		if f.Grade == "" {
			return refuse("lifecycle.error.grade_missing")
		}
		if f.NeedsOS && f.OS == "" {
			return refuse("lifecycle.error.os_missing")
		}
	}
	return nil
}

func checkErasure(f Facts, refuse func(string) *berriz.Error) error {
	switch {
	case f.erasureDone():
		return nil
	case f.Drives < f.StorageDrives:
		return refuse("lifecycle.error.drives_unrecorded").WithArg("declared", strconv.Itoa(f.StorageDrives)).
			WithArg("recorded", strconv.Itoa(f.Drives))
	case f.DrivesFailed > 0:
		return refuse("lifecycle.error.erasure_failed").WithArg("count", strconv.Itoa(f.DrivesFailed))
	default:
		return refuse("lifecycle.error.erasure_missing").WithArg("count", strconv.Itoa(f.Drives-f.DrivesErased))
	}
}

// mainPath is the forward path of a device that is reused.
var mainPath = []State{Declared, Received, Diagnosed, Wiped, Refurbished, Available, Reserved, Delivered}

// need is the translation key of what must happen before from can become
// to, when to does not follow from in the diagram.
func need(from, to State) string {
	fi, ti := slices.Index(mainPath, from), slices.Index(mainPath, to)
	switch {
	case from == Declared:
		return "lifecycle.need.intake"
	case from == Reserved && (to == Recycled || to == Dismantled):
		return "lifecycle.need.release"
	case from == Delivered:
		return "lifecycle.need.return"
	case to == Returned:
		return "lifecycle.need.delivered"
	case from == Returned:
		return "lifecycle.need.rediagnose"
	case fi >= 0 && ti >= 0 && ti <= fi:
		return "lifecycle.need.backward"
	case ti > 0:
		return "lifecycle.need.state." + string(mainPath[ti-1])
	}
	return "lifecycle.need.backward"
}

// Option is one state that may follow the current one, with the reason it
// cannot be reached yet (nil when it can), for screens that show the next
// steps and what each still needs.
type Option struct {
	To     State
	Via    Via
	Refuse error
}

// Options lists the states that may follow from, each checked against f
// through its own path.
func Options(from State, f Facts) []Option {
	var out []Option
	for _, to := range next[from] {
		via := pathFor(from, to)
		out = append(out, Option{To: to, Via: via, Refuse: Check(from, to, via, f)})
	}
	return out
}

// Keys lists every translation key Check may produce (messages, paths,
// needs and state names), so a test can hold the catalogs to them.
func Keys() []string {
	keys := []string{"lifecycle.error.state_unknown", "lifecycle.error.already", "lifecycle.error.final",
		"lifecycle.error.order", "lifecycle.error.path", "lifecycle.error.path_direct", "lifecycle.error.in_recycling",
		"lifecycle.error.drives_unrecorded", "lifecycle.error.diagnosis_missing", "lifecycle.error.erasure_failed",
		"lifecycle.error.erasure_missing", "lifecycle.error.grade_missing", "lifecycle.error.os_missing",
		"lifecycle.need.intake", "lifecycle.need.release", "lifecycle.need.return", "lifecycle.need.delivered",
		"lifecycle.need.rediagnose", "lifecycle.need.backward"}
	for _, s := range States {
		keys = append(keys, s.Key())
	}
	for _, s := range mainPath[:len(mainPath)-1] {
		keys = append(keys, "lifecycle.need.state."+string(s))
	}
	for s := range pathOf {
		keys = append(keys, "lifecycle.path."+string(s))
	}
	return append(keys, "lifecycle.path."+string(Available))
}
