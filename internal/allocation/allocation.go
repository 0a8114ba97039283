// Package allocation owns the rules of requests and allocation (DOMAIN.md,
// "Requests and allocation"): a beneficiary's request and its states, the
// priority criteria and the priority they give, the reservation of devices
// for request lines, matching available devices to approved lines, and the
// handover question of co2/METHOD.md. It is pure: standard library and
// domain packages only, no I/O, no clock but the time it is given.
package allocation

import (
	"slices"

	"github.com/berriz/berriz/internal/berriz"
)

// RequestState is where a request stands.
type RequestState string

// The request states.
const (
	Submitted          RequestState = "submitted"           // filed, waiting for the operator
	Approved           RequestState = "approved"            // the operator agreed: devices may be proposed
	PartiallyFulfilled RequestState = "partially_fulfilled" // some devices delivered, more needed
	Fulfilled          RequestState = "fulfilled"           // every line delivered
	Declined           RequestState = "declined"            // the operator refused, with a reason
	Cancelled          RequestState = "cancelled"           // withdrawn (by the beneficiary or the operator)
)

// RequestStates lists every state, in the order screens show them.
var RequestStates = []RequestState{Submitted, Approved, PartiallyFulfilled, Fulfilled, Declined, Cancelled}

// Valid reports whether s is a known state.
func (s RequestState) Valid() bool { return slices.Contains(RequestStates, s) }

// Key is the translation key of the state's name.
func (s RequestState) Key() string { return "request.state." + string(s) }

// Open reports whether devices may still be proposed or reserved for the
// request.
func (s RequestState) Open() bool { return s == Approved || s == PartiallyFulfilled }

// requestNext is what may follow each state. Fulfilment (partially
// fulfilled, fulfilled) follows deliveries, not a person's choice.
var requestNext = map[RequestState][]RequestState{
	Submitted:          {Approved, Declined, Cancelled},
	Approved:           {PartiallyFulfilled, Fulfilled, Cancelled},
	PartiallyFulfilled: {Fulfilled, Cancelled},
}

// CheckRequestStep says whether a request in state from may move to to: nil,
// an Invalid error for an unknown state, or a Conflict saying why not.
func CheckRequestStep(from, to RequestState) error {
	if !from.Valid() || !to.Valid() {
		return berriz.E(berriz.Invalid, "request.error.state_unknown")
	}
	if !slices.Contains(requestNext[from], to) {
		return berriz.E(berriz.Conflict, "request.error.step").WithKeyArg("from", from.Key()).WithKeyArg("to", to.Key()).
			WithDetail("state", string(from))
	}
	return nil
}

// FulfilmentState is the state a request reaches once delivered devices
// are counted: fulfilled when every line has its quantity, partially when
// some device was delivered, unchanged otherwise.
func FulfilmentState(current RequestState, delivered, wanted int) RequestState {
	if !current.Open() || delivered == 0 {
		return current
	}
	if delivered >= wanted {
		return Fulfilled
	}
	return PartiallyFulfilled
}

// Criterion is a priority criterion of a request.
type Criterion string

// The priority criteria and their weights (docs/matching.md): schools in
// priority education networks and structures serving priority
// neighbourhoods first, then rural areas and social structures.
var criteria = []struct {
	c      Criterion
	weight int
}{
	{"rep_plus", 40},          // school in the reinforced priority education network (REP+)
	{"rep", 30},               // school in the priority education network (REP)
	{"qpv", 30},               // serves a priority neighbourhood of the city policy (QPV)
	{"zrr", 15},               // in a rural revitalisation zone (ZRR, France Ruralités)
	{"social", 20},            // social association or structure (insertion, solidarity)
	{"disability", 20},        // serves people with disabilities
	{"digital_inclusion", 15}, // digital inclusion programme (France Services, conseillers numériques)
}

// Criteria lists the criteria, in the order forms show them.
func Criteria() []Criterion {
	out := make([]Criterion, len(criteria))
	for i, c := range criteria {
		out[i] = c.c
	}
	return out
}

// Valid reports whether c is a known criterion.
func (c Criterion) Valid() bool { return slices.Contains(Criteria(), c) }

// Key is the translation key of the criterion's name.
func (c Criterion) Key() string { return "request.criterion." + string(c) }

// Priority is the priority the criteria give a request: the sum of their
// weights (REP and REP+ count once, the higher). Matching serves higher
// priorities first, then the longest waits.
func Priority(cs []Criterion) int {
	total := 0
	for _, c := range criteria {
		if slices.Contains(cs, c.c) && !(c.c == "rep" && slices.Contains(cs, "rep_plus")) {
			total += c.weight
		}
	}
	return total
}

// ReservationState is where a device's reservation for a request line
// stands.
type ReservationState string

// The reservation states.
const (
	ReservationProposed  ReservationState = "proposed"  // in a draft proposal: nothing reserved yet
	ReservationReserved  ReservationState = "reserved"  // sent: held for the beneficiary's answer until it expires
	ReservationAccepted  ReservationState = "accepted"  // the beneficiary wants it: waiting for the handover
	ReservationDeclined  ReservationState = "declined"  // the beneficiary does not want it
	ReservationExpired   ReservationState = "expired"   // no answer in time
	ReservationReleased  ReservationState = "released"  // taken back by the operator
	ReservationDelivered ReservationState = "delivered" // handed over and confirmed
)

// Live reports whether the reservation holds its device (a device has at
// most one live reservation: the database enforces it too).
func (s ReservationState) Live() bool { return s == ReservationReserved || s == ReservationAccepted }

// Answer is a beneficiary's answer to "Without this donation, what would you
// have done?" (co2/METHOD.md), which calibrates the displacement rate D.
type Answer string

// The answers.
const (
	BoughtNew        Answer = "bought_new"
	BoughtSecondHand Answer = "bought_second_hand"
	GoneWithout      Answer = "gone_without"
	DontKnow         Answer = "dont_know"
)

// Answers lists the answers, in the order forms show them.
var Answers = []Answer{BoughtNew, BoughtSecondHand, GoneWithout, DontKnow}

// Valid reports whether a is a known answer.
func (a Answer) Valid() bool { return slices.Contains(Answers, a) }
