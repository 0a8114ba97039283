package diagnosis

import (
	"slices"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
)

// Result is the outcome of one test.
type Result string

// The results. NA (not applicable) is accepted only for a test whose part
// may be absent.
const (
	Pass Result = "pass"
	Fail Result = "fail"
	NA   Result = "na"
)

// Results lists every result, in the order forms show them.
var Results = []Result{Pass, Fail, NA}

// Valid reports whether r is a known result.
func (r Result) Valid() bool { return slices.Contains(Results, r) }

// Grade is a reuse grade (A, B, C); the zero value is none: not reusable
// as it is.
type Grade string

// The grades, best first.
const (
	None Grade = ""
	A    Grade = "A"
	B    Grade = "B"
	C    Grade = "C"
)

// Grades lists the grades a device or its cosmetic condition may have.
var Grades = []Grade{A, B, C}

// Valid reports whether g is A, B or C.
func (g Grade) Valid() bool { return slices.Contains(Grades, g) }

// worse returns the worse of two grades A to C.
func worse(a, b Grade) Grade {
	if slices.Index(Grades, b) > slices.Index(Grades, a) {
		return b
	}
	return a
}

// Limits of a diagnosis; the database's checks repeat them.
const (
	MaxNoteLen  = 200  // a test's note
	MaxNotesLen = 2000 // the general notes
)

// Answer is the result of one test, with a short note (what is wrong).
type Answer struct {
	Item   string `json:"item"`
	Result Result `json:"result"`
	Note   string `json:"note"`
}

// Diagnosis is what a technician records: the answers given (in the
// checklist's order; unanswered tests are left out), the cosmetic
// condition and general notes.
type Diagnosis struct {
	Checklist string   `json:"checklist"`
	Answers   []Answer `json:"results"`
	Cosmetic  Grade    `json:"cosmetic"`
	Notes     string   `json:"notes"`
}

// Answer returns the answer to a test, if given.
func (d Diagnosis) Answer(item string) (Answer, bool) {
	i := slices.IndexFunc(d.Answers, func(a Answer) bool { return a.Item == item })
	if i < 0 {
		return Answer{}, false
	}
	return d.Answers[i], true
}

// Unanswered counts the tests of c without an answer, the cosmetic
// condition counting as one more.
func (c Checklist) Unanswered(d Diagnosis) int {
	n := 0
	for _, it := range c.Items {
		if _, ok := d.Answer(it.ID); !ok {
			n++
		}
	}
	if !d.Cosmetic.Valid() {
		n++
	}
	return n
}

// Complete reports whether every test of c and the cosmetic condition are
// answered: only then does the lifecycle let the device be diagnosed and a
// grade be given.
func (c Checklist) Complete(d Diagnosis) bool { return c.Unanswered(d) == 0 }

// Form field names; a test's fields carry its id: result_screen,
// note_screen.
const (
	FieldCosmetic = "cosmetic"
	FieldNotes    = "notes"
)

// FieldResult names the result field of a test.
func FieldResult(item string) string { return "result_" + item }

// FieldNote names the note field of a test.
func FieldNote(item string) string { return "note_" + item }

// Input is a diagnosis form as typed, every value a string, so that a
// failed form shows exactly what was typed.
type Input map[string]string

// InputOf returns the form values of a recorded diagnosis, to fill the form
// again.
func InputOf(d Diagnosis) Input {
	in := Input{FieldCosmetic: string(d.Cosmetic), FieldNotes: d.Notes}
	for _, a := range d.Answers {
		in[FieldResult(a.Item)] = string(a.Result)
		in[FieldNote(a.Item)] = a.Note
	}
	return in
}

// Parse reads a diagnosis form for checklist c. Fields of tests the list
// does not have are ignored. It returns the field errors (translation
// keys) when anything is wrong: an unknown result, "na" where the part
// cannot be absent, a note on a test left unanswered, texts too long or
// with control characters, or nothing answered at all.
func (c Checklist) Parse(in Input) (Diagnosis, berriz.FieldErrors) {
	f := berriz.FieldErrors{}
	d := Diagnosis{Checklist: c.ID}
	for _, it := range c.Items {
		r := Result(strings.TrimSpace(in[FieldResult(it.ID)]))
		note := text(f, FieldNote(it.ID), in[FieldNote(it.ID)], MaxNoteLen, false)
		switch {
		case r == "" && note != "":
			f.Add(FieldResult(it.ID), "diagnosis.error.note_without_result")
		case r == "":
		case !r.Valid():
			f.Add(FieldResult(it.ID), "diagnosis.error.result")
		case r == NA && !it.MayBeAbsent:
			f.Add(FieldResult(it.ID), "diagnosis.error.na_not_allowed")
		default:
			d.Answers = append(d.Answers, Answer{Item: it.ID, Result: r, Note: note})
		}
	}
	switch g := Grade(strings.TrimSpace(in[FieldCosmetic])); {
	case g == None:
	case g.Valid():
		d.Cosmetic = g
	default:
		f.Add(FieldCosmetic, "diagnosis.error.cosmetic")
	}
	d.Notes = text(f, FieldNotes, in[FieldNotes], MaxNotesLen, true)
	if len(f) == 0 && len(d.Answers) == 0 && d.Cosmetic == None && len(c.Items) > 0 {
		f.Add(FieldResult(c.Items[0].ID), "diagnosis.error.empty")
	}
	if len(f) > 0 {
		return Diagnosis{}, f
	}
	return d, nil
}

// Validate checks a diagnosis already in typed form (before storing it)
// against checklist c: the same rules as Parse, answers in the list's
// order, each test once.
func (c Checklist) Validate(d Diagnosis) error {
	if d.Checklist != c.ID {
		return berriz.FieldErrors{"checklist": "diagnosis.error.checklist"}.Err()
	}
	for _, a := range d.Answers {
		if _, ok := c.Item(a.Item); !ok {
			return berriz.FieldErrors{FieldResult(a.Item): "diagnosis.error.item_unknown"}.Err()
		}
	}
	got, f := c.Parse(InputOf(d))
	if len(f) > 0 {
		return f.Err()
	}
	if !slices.Equal(got.Answers, d.Answers) || got.Cosmetic != d.Cosmetic || got.Notes != d.Notes {
		return berriz.FieldErrors{FieldNotes: "error.invalid_text"}.Err()
	}
	return nil
}

// text checks an optional text (see berriz.Text).
func text(f berriz.FieldErrors, field, v string, max int, multiline bool) string {
	return berriz.Text(f, field, v, max, multiline, "diagnosis.error.too_long")
}
