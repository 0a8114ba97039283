package allocation

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
)

// Limits of a request; the schema repeats them.
const (
	MaxLines   = 20
	MaxPurpose = 2000
	MinReason  = 3
	MaxReason  = 1000
)

// The fields of a request, as the form and the JSON API name them.
const (
	FieldPurpose  = "purpose"
	FieldCommune  = "delivery_commune"
	FieldCriteria = "criteria"
	FieldLines    = "lines"
	FieldDecision = "decision"
	// the reason of a decision or a cancellation: "reason", as
	// handover.go's FieldReason
	reasonField = "reason"
)

// NewRequest is a checked request, ready to be stored: what it is for,
// where the devices go, the criteria that give its priority, and its
// lines.
type NewRequest struct {
	Purpose         string
	DeliveryCommune string
	Criteria        []Criterion
	Lines           []Line
}

// Priority is the priority the request's criteria give it.
func (r NewRequest) Priority() int { return Priority(r.Criteria) }

// Devices returns how many devices the lines ask for.
func Devices(lines []Line) int {
	n := 0
	for _, l := range lines {
		n += l.Quantity
	}
	return n
}

// FormLineField names a field of the form's line n (from 1): line_2_category.
func FormLineField(n int, field string) string { return "line_" + strconv.Itoa(n) + "_" + field }

// JSONLineField names a field of the API's line i (from 0): lines[1].category.
func JSONLineField(i int, field string) string {
	return FieldLines + "[" + strconv.Itoa(i) + "]." + field
}

// RequestInput is a request as typed in the form. Lines holds every row
// of the form, blank ones included, so errors name the row the person
// sees; blank rows are skipped.
type RequestInput struct {
	Purpose, DeliveryCommune string
	Criteria                 []string
	Lines                    []LineInput
}

// Parse checks a typed request; the errors are keyed by the form's field
// names (purpose, delivery_commune, criteria, lines, line_<n>_<field>).
func (in RequestInput) Parse() (NewRequest, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	r := parseHead(f, in.Purpose, in.DeliveryCommune, in.Criteria)
	for i, li := range in.Lines {
		if li.Empty() {
			continue
		}
		l, fe := li.Parse()
		for field, key := range fe {
			f.Add(FormLineField(i+1, field), key)
		}
		r.Lines = append(r.Lines, l)
	}
	countLines(f, len(r.Lines))
	if len(f) > 0 {
		return NewRequest{}, f
	}
	return r, nil
}

// RequestJSON is a request as the JSON API receives it.
type RequestJSON struct {
	Purpose         string     `json:"purpose"`
	DeliveryCommune string     `json:"delivery_commune"`
	Criteria        []string   `json:"criteria"`
	Lines           []LineJSON `json:"lines"`
}

// Parse checks a request of the API with the form's rules; the errors are
// keyed by the JSON's field names (lines[<i>].<field>).
func (in RequestJSON) Parse() (NewRequest, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	r := parseHead(f, in.Purpose, in.DeliveryCommune, in.Criteria)
	for i, lj := range in.Lines {
		if len(in.Lines) > MaxLines {
			break // refused below as a whole: no need to read a thousand lines
		}
		l, fe := lj.Parse()
		for field, key := range fe {
			f.Add(JSONLineField(i, field), key)
		}
		r.Lines = append(r.Lines, l)
	}
	countLines(f, len(in.Lines))
	if len(f) > 0 {
		return NewRequest{}, f
	}
	return r, nil
}

// parseHead checks what a request says besides its lines.
func parseHead(f berriz.FieldErrors, purpose, commune string, criteria []string) NewRequest {
	var r NewRequest
	r.Purpose = berriz.Text(f, FieldPurpose, purpose, MaxPurpose, true, "request.error.purpose_long")
	if r.Purpose == "" {
		f.Add(FieldPurpose, "request.error.purpose_required")
	}
	c, err := account.NormalizeCommune(commune)
	if err != nil {
		f.Add(FieldCommune, berriz.As(err).Message)
	}
	r.DeliveryCommune = c
	for _, s := range criteria {
		c := Criterion(strings.TrimSpace(s))
		if !c.Valid() {
			f.Add(FieldCriteria, "request.error.criterion_unknown")
		}
	}
	// Canonical order, each once: the order forms show them.
	for _, c := range Criteria() {
		if slices.ContainsFunc(criteria, func(s string) bool { return strings.TrimSpace(s) == string(c) }) {
			r.Criteria = append(r.Criteria, c)
		}
	}
	return r
}

func countLines(f berriz.FieldErrors, n int) {
	switch {
	case n == 0:
		f.Add(FieldLines, "request.error.no_lines")
	case n > MaxLines:
		f.Add(FieldLines, "request.error.too_many_lines")
	}
}

// Decision is the operator's answer to a submitted request.
type Decision string

// The decisions.
const (
	Approve Decision = "approve"
	Decline Decision = "decline"
)

// State is the state a decision moves the request to.
func (d Decision) State() RequestState {
	if d == Approve {
		return Approved
	}
	return Declined
}

// ParseDecision checks an operator's decision: approve, with an optional
// note, or decline with a reason of MinReason to MaxReason characters
// (the beneficiary reads it).
func ParseDecision(decision, reason string) (Decision, string, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	d := Decision(strings.TrimSpace(decision))
	if d != Approve && d != Decline {
		f.Add(FieldDecision, "request.error.decision_unknown")
	}
	reason = CheckRequestReason(f, reason, d == Decline)
	if len(f) > 0 {
		return "", "", f
	}
	return d, reason, nil
}

// CheckRequestReason checks the reason given for a request's change of
// state (a decline, a cancellation), recorded under "reason" in f:
// multiline text of MinReason to MaxReason characters, required or not.
// It returns the clean text.
func CheckRequestReason(f berriz.FieldErrors, reason string, required bool) string {
	r := berriz.Text(f, reasonField, reason, MaxReason, true, "request.error.reason_length")
	switch {
	case f[reasonField] != "":
	case r == "" && required:
		f.Add(reasonField, "request.error.reason_required")
	case r != "" && utf8.RuneCountInString(r) < MinReason:
		f.Add(reasonField, "request.error.reason_length")
	}
	return r
}

// Cancellable reports whether a request in state s may still be withdrawn.
func (s RequestState) Cancellable() bool { return CheckRequestStep(s, Cancelled) == nil }
