package allocation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
)

// Handovers (docs/handover.md): the workshop holding the devices of
// accepted reservations groups those of one request into a handover,
// with a receipt to sign (handover_receipt.go); the beneficiary confirms
// receipt, which delivers the devices, and may answer the question of
// co2/METHOD.md. A prepared handover may be cancelled until then. A
// delivered device may come back: the beneficiary asks for it, the
// workshop records it back with a reason.

// HandoverState is where a handover stands.
type HandoverState string

// The handover states.
const (
	HandoverPrepared  HandoverState = "prepared"  // receipt issued, waiting for the beneficiary's confirmation
	HandoverConfirmed HandoverState = "confirmed" // the beneficiary confirmed receipt: its devices are delivered
	HandoverCancelled HandoverState = "cancelled" // withdrawn before confirmation: its reservations are free again
)

// handoverStateKeys names each state's translation key, as literals (the
// catalog test finds them).
var handoverStateKeys = map[HandoverState]string{
	HandoverPrepared:  "handover.state.prepared",
	HandoverConfirmed: "handover.state.confirmed",
	HandoverCancelled: "handover.state.cancelled",
}

// Valid reports whether s is a known state.
func (s HandoverState) Valid() bool { _, ok := handoverStateKeys[s]; return ok }

// Key is the translation key of the state's name.
func (s HandoverState) Key() string { return handoverStateKeys[s] }

// MaxHandoverDevices bounds one handover: its receipt stays a readable
// document and its confirmation one short transaction. A bigger delivery
// is handed over in several parts.
const MaxHandoverDevices = 250

// MaxReasonRunes bounds a return's reason.
const MaxReasonRunes = 500

// The fields of handover forms and bodies, named in field errors.
const (
	FieldReservations = "reservations"
	FieldAnswer       = "answer"
	FieldReason       = "reason"
	FieldTag          = "tag"
)

// HandoverNumber writes a handover's number: BRZ-H, the year it was
// prepared and its sequence number, e.g. BRZ-H-2026-000123.
func HandoverNumber(year int, seq int64) string { return fmt.Sprintf("BRZ-H-%d-%06d", year, seq) }

// answerKeys names each answer's translation key.
var answerKeys = map[Answer]string{
	BoughtNew:        "handover.answer.bought_new",
	BoughtSecondHand: "handover.answer.bought_second_hand",
	GoneWithout:      "handover.answer.gone_without",
	DontKnow:         "handover.answer.dont_know",
}

// Key is the translation key of the answer's wording.
func (a Answer) Key() string { return answerKeys[a] }

// ParseAnswer reads the optional answer of a confirmation: "" is no
// answer; anything but a known answer is a field error.
func ParseAnswer(s string) (Answer, error) {
	a := Answer(strings.TrimSpace(s))
	if a == "" || a.Valid() {
		return a, nil
	}
	return "", berriz.FieldErrors{FieldAnswer: "handover.error.answer"}.Err()
}

// CheckReservations checks the reservations chosen for a handover: at
// least one, at most MaxHandoverDevices, each named once (repeats are
// dropped). It returns them in ascending order, the order their rows are
// locked in.
func CheckReservations(ids []int64) ([]int64, error) {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	switch {
	case len(out) == 0:
		return nil, berriz.FieldErrors{FieldReservations: "handover.error.none_chosen"}.Err()
	case out[0] <= 0:
		return nil, berriz.FieldErrors{FieldReservations: "handover.error.reservation_unknown"}.Err()
	case len(out) > MaxHandoverDevices:
		return nil, berriz.E(berriz.Invalid, "handover.error.too_many").WithArg("max", fmt.Sprint(MaxHandoverDevices))
	}
	return out, nil
}

// CheckReason checks the reason of a return or of a return request:
// required, at most MaxReasonRunes characters, several lines allowed; it
// returns it cleaned (berriz.Text).
func CheckReason(s string) (string, error) {
	fe := berriz.FieldErrors{}
	s = berriz.Text(fe, FieldReason, s, MaxReasonRunes, true, "handover.error.reason_long")
	if s == "" && len(fe) == 0 {
		fe.Add(FieldReason, "handover.error.reason_required")
	}
	return s, fe.Err()
}

// HandoverKeys lists every translation key this area names from Go (states,
// answers, validation errors and the receipt's wording), so a test holds
// the catalogs to them.
func HandoverKeys() []string {
	var keys []string
	for _, k := range handoverStateKeys {
		keys = append(keys, k)
	}
	for _, k := range answerKeys {
		keys = append(keys, k)
	}
	keys = append(keys, "handover.error.answer", "handover.error.none_chosen", "handover.error.reservation_unknown",
		"handover.error.too_many", "handover.error.reason_required", "handover.error.reason_long")
	return append(keys, receiptKeys...)
}
