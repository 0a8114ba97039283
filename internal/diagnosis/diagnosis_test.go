package diagnosis

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
)

// Every category of the factor set has exactly one current checklist, and
// the lists fit the database's checks.
func TestEveryCategoryHasAChecklist(t *testing.T) {
	itemRE := regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	idRE := regexp.MustCompile(`^[a-z0-9_/.-]{1,60}$`)
	for _, cat := range co2.Categories() {
		c, ok := ForCategory(cat.ID)
		if !ok {
			t.Errorf("category %s has no checklist", cat.ID)
			continue
		}
		if !slices.Contains(c.Categories, cat.ID) || !strings.HasPrefix(c.ID, c.Family+"/v") {
			t.Errorf("%s: checklist %s (%s, %v)", cat.ID, c.ID, c.Family, c.Categories)
		}
	}
	ids := map[string]bool{}
	for _, c := range checklists {
		if ids[c.ID] || !idRE.MatchString(c.ID) {
			t.Errorf("checklist id %q repeated or malformed", c.ID)
		}
		ids[c.ID] = true
		for _, cat := range c.Categories {
			if _, ok := co2.CategoryByID(cat); !ok {
				t.Errorf("%s: unknown category %s", c.ID, cat)
			}
		}
		seen := map[string]bool{}
		critical := 0
		for _, it := range c.Items {
			if seen[it.ID] || !itemRE.MatchString(it.ID) || it.Label() == "" {
				t.Errorf("%s: test %q repeated, malformed or without label", c.ID, it.ID)
			}
			seen[it.ID] = true
			if it.Critical {
				critical++
			}
		}
		if critical == 0 {
			t.Errorf("%s has no critical test: nothing could make a device unusable", c.ID)
		}
	}
	if got := len(Checklists()); got != len(ids) {
		t.Errorf("Checklists() returns %d lists, %d are current", got, len(ids))
	}
	// Callers get copies.
	c, _ := ForCategory("laptop")
	c.Items[0].Critical = false
	if again, _ := ForCategory("laptop"); !again.Items[0].Critical {
		t.Error("ForCategory hands out the table itself")
	}
	if _, ok := ForCategory("toaster"); ok {
		t.Error("a checklist for an unknown category")
	}
	if _, ok := ByID("laptop/v0"); ok {
		t.Error("ByID of an unknown version")
	}
}

func TestParse(t *testing.T) {
	c, _ := ByID("keyboard/v1") // keyboard, connection: both critical, neither may be absent
	m, _ := ByID("mouse/v1")    // scroll may be absent
	long := strings.Repeat("é", MaxNoteLen+1)
	cases := []struct {
		name   string
		c      Checklist
		in     Input
		fields map[string]string
	}{
		{"empty", c, Input{}, map[string]string{"result_keyboard": "diagnosis.error.empty"}},
		{"unknown result", c, Input{"result_keyboard": "ok"}, map[string]string{"result_keyboard": "diagnosis.error.result"}},
		{"na not allowed", c, Input{"result_keyboard": "na"}, map[string]string{"result_keyboard": "diagnosis.error.na_not_allowed"}},
		{"note alone", c, Input{"result_keyboard": "pass", "note_connection": "câble coupé"},
			map[string]string{"result_connection": "diagnosis.error.note_without_result"}},
		{"long note", c, Input{"result_keyboard": "fail", "note_keyboard": long}, map[string]string{"note_keyboard": "diagnosis.error.too_long"}},
		{"control in note", c, Input{"result_keyboard": "fail", "note_keyboard": "a\nb"}, map[string]string{"note_keyboard": "error.invalid_text"}},
		{"cosmetic", c, Input{"result_keyboard": "pass", "cosmetic": "D"}, map[string]string{"cosmetic": "diagnosis.error.cosmetic"}},
		{"long notes", c, Input{"cosmetic": "A", "notes": strings.Repeat("x", MaxNotesLen+1)}, map[string]string{"notes": "diagnosis.error.too_long"}},
		{"bad UTF-8", c, Input{"cosmetic": "A", "notes": "\xff"}, map[string]string{"notes": "error.invalid_text"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, f := tc.c.Parse(tc.in)
			if len(f) != len(tc.fields) {
				t.Fatalf("errors %v, want %v", f, tc.fields)
			}
			for k, v := range tc.fields {
				if f[k] != v {
					t.Errorf("%s: %q, want %q", k, f[k], v)
				}
			}
		})
	}

	// A partial diagnosis: kept as typed, trimmed, in the list's order.
	d, f := m.Parse(Input{"result_tracking": " fail ", "note_tracking": "  saute  ", "result_scroll": "na",
		"result_nonsense": "pass", "notes": " Souris\r\nusée "})
	if f != nil {
		t.Fatal(f)
	}
	want := []Answer{{Item: "tracking", Result: Fail, Note: "saute"}, {Item: "scroll", Result: NA}}
	if d.Checklist != "mouse/v1" || !slices.Equal(d.Answers, want) || d.Notes != "Souris\nusée" || d.Cosmetic != None {
		t.Fatalf("parsed %+v", d)
	}
	if m.Complete(d) || m.Unanswered(d) != 3 {
		t.Errorf("partial: complete %v, %d unanswered", m.Complete(d), m.Unanswered(d))
	}
	if err := m.Validate(d); err != nil {
		t.Errorf("validate what Parse gave: %v", err)
	}
	// A form shown again from the record gives the same diagnosis.
	if again, f := m.Parse(InputOf(d)); f != nil || !slices.Equal(again.Answers, d.Answers) || again.Notes != d.Notes {
		t.Errorf("round trip: %+v %v", again, f)
	}
	d, _ = m.Parse(Input{"result_buttons": "pass", "result_tracking": "pass", "result_scroll": "pass", "result_connection": "pass", "cosmetic": "B"})
	if !m.Complete(d) {
		t.Errorf("complete diagnosis: %+v", d)
	}
}

// Validate refuses what Parse would not produce.
func TestValidate(t *testing.T) {
	m, _ := ByID("mouse/v1")
	ok := Diagnosis{Checklist: "mouse/v1", Answers: []Answer{{Item: "buttons", Result: Pass}, {Item: "tracking", Result: Fail, Note: "saute"}}, Cosmetic: B}
	if err := m.Validate(ok); err != nil {
		t.Fatal(err)
	}
	bad := map[string]Diagnosis{
		"other list":    {Checklist: "keyboard/v1", Answers: ok.Answers},
		"unknown test":  {Checklist: "mouse/v1", Answers: []Answer{{Item: "screen", Result: Pass}}},
		"twice":         {Checklist: "mouse/v1", Answers: []Answer{{Item: "buttons", Result: Pass}, {Item: "buttons", Result: Fail}}},
		"out of order":  {Checklist: "mouse/v1", Answers: []Answer{ok.Answers[1], ok.Answers[0]}},
		"na":            {Checklist: "mouse/v1", Answers: []Answer{{Item: "buttons", Result: NA}}},
		"untrimmed":     {Checklist: "mouse/v1", Answers: []Answer{{Item: "buttons", Result: Fail, Note: " x"}}},
		"bad cosmetic":  {Checklist: "mouse/v1", Answers: ok.Answers, Cosmetic: "Z"},
		"nothing given": {Checklist: "mouse/v1"},
	}
	for name, d := range bad {
		if err := m.Validate(d); berriz.KindOf(err) != berriz.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}
