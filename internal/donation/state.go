// Package donation owns the rules of donations: a donor organisation's
// declaration of a lot of devices, the states the lot goes through
// (declared → collected → received → closed), the validation of each
// declared device line and the CSV import format with its template. It is
// pure: standard library and domain packages only, no I/O but the reader
// it is handed, no clock but the time it is given.
package donation

import "github.com/berriz/berriz/internal/berriz"

// State is where a donation stands.
type State string

// The donation states, in their only order.
const (
	// Declared: the donor listed the devices.
	Declared State = "declared"
	// Collected: the assigned workshop picked the lot up.
	Collected State = "collected"
	// Received: every device is checked in at the workshop (intake will
	// set it; until then the workshop or the operator marks it).
	Received State = "received"
	// Closed: nothing more happens to the lot itself.
	Closed State = "closed"
)

// States lists every state in lifecycle order.
var States = []State{Declared, Collected, Received, Closed}

func (s State) index() int {
	for i, v := range States {
		if v == s {
			return i
		}
	}
	return -1
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return s.index() >= 0 }

// Next returns the state that follows s, if any.
func (s State) Next() (State, bool) {
	i := s.index()
	if i < 0 || i == len(States)-1 {
		return "", false
	}
	return States[i+1], true
}

// CheckTransition says whether a donation in state s may move to to: only
// one step forward at a time. The refusal says why, as a translation key: a
// Conflict when the current state forbids it (someone else may have moved
// the donation meanwhile), Invalid for an unknown state.
func (s State) CheckTransition(to State) error {
	switch from, target := s.index(), to.index(); {
	case target < 0 || from < 0:
		return berriz.E(berriz.Invalid, "donation.error.state_unknown")
	case from == target:
		return berriz.E(berriz.Conflict, "donation.error.state_same")
	case s == Closed:
		return berriz.E(berriz.Conflict, "donation.error.state_closed")
	case target < from:
		return berriz.E(berriz.Conflict, "donation.error.state_backwards")
	case target > from+1:
		return berriz.E(berriz.Conflict, "donation.error.state_skip")
	}
	return nil
}
