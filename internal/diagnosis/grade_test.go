package diagnosis

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// answered builds a complete or partial diagnosis of c: every test passes
// except those failed or n.a.; cosmetic "" leaves it unanswered.
func answered(t *testing.T, c Checklist, failed, na []string, cosmetic Grade) Diagnosis {
	t.Helper()
	for _, id := range append(slices.Clone(failed), na...) {
		if _, ok := c.Item(id); !ok {
			t.Fatalf("%s has no test %q", c.ID, id)
		}
	}
	d := Diagnosis{Checklist: c.ID, Cosmetic: cosmetic}
	for _, it := range c.Items {
		r := Pass
		switch {
		case slices.Contains(failed, it.ID):
			r = Fail
		case slices.Contains(na, it.ID):
			r = NA
		}
		d.Answers = append(d.Answers, Answer{Item: it.ID, Result: r})
	}
	return d
}

func pct(n int) *int { return &n }

// Each rule of docs/grading.md, one row at a time, with the reasons it
// gives.
func TestSuggestRules(t *testing.T) {
	laptop, _ := ByID("laptop/v1")
	phone, _ := ByID("smartphone/v1")
	display, _ := ByID("display/v1")
	cases := []struct {
		name     string
		c        Checklist
		failed   []string
		na       []string
		cosmetic Grade
		battery  *int
		want     Grade
		reasons  []string
	}{
		{"all good", laptop, nil, nil, A, pct(80), A, []string{"diagnosis.reason.all_good"}},
		{"battery just below A", laptop, nil, nil, A, pct(79), B, []string{"diagnosis.reason.battery_low"}},
		{"battery at B", laptop, nil, nil, A, pct(60), B, []string{"diagnosis.reason.battery_low"}},
		{"battery below B", laptop, nil, nil, A, pct(59), C, []string{"diagnosis.reason.battery_low"}},
		{"battery unknown", laptop, nil, nil, A, nil, C, []string{"diagnosis.reason.battery_unknown"}},
		{"no battery", laptop, nil, []string{"battery"}, A, nil, A, []string{"diagnosis.reason.all_good"}},
		{"no battery in the family", display, nil, nil, A, nil, A, []string{"diagnosis.reason.all_good"}},
		{"one minor", laptop, []string{"camera"}, nil, A, pct(90), B, []string{"diagnosis.reason.minor_one"}},
		{"two minors", laptop, []string{"camera", "audio"}, nil, A, pct(90), C, []string{"diagnosis.reason.minor_many"}},
		{"cosmetic B", laptop, nil, nil, B, pct(90), B, []string{"diagnosis.reason.cosmetic"}},
		{"cosmetic C", laptop, nil, nil, C, pct(90), C, []string{"diagnosis.reason.cosmetic"}},
		{"all limits", laptop, []string{"camera"}, nil, B, pct(70), B,
			[]string{"diagnosis.reason.minor_one", "diagnosis.reason.cosmetic", "diagnosis.reason.battery_low"}},
		{"worst limit wins", laptop, []string{"camera"}, nil, C, pct(90), C,
			[]string{"diagnosis.reason.minor_one", "diagnosis.reason.cosmetic"}},
		{"critical", laptop, []string{"screen", "camera"}, nil, A, pct(90), None, []string{"diagnosis.reason.critical"}},
		{"phone battery is critical", phone, []string{"battery"}, nil, A, pct(90), None, []string{"diagnosis.reason.critical"}},
		{"laptop battery is minor", laptop, []string{"battery"}, nil, A, pct(90), B, []string{"diagnosis.reason.minor_one"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Suggest(tc.c, answered(t, tc.c, tc.failed, tc.na, tc.cosmetic), tc.battery)
			var keys []string
			for _, r := range s.Reasons {
				keys = append(keys, r.Key)
			}
			if !s.Complete || s.Grade != tc.want || !slices.Equal(keys, tc.reasons) {
				t.Fatalf("got %+v, want %q with %v", s, tc.want, tc.reasons)
			}
		})
	}
	s := Suggest(laptop, answered(t, laptop, []string{"screen", "keyboard", "camera"}, nil, A), pct(90))
	if r := s.Reasons[0]; !slices.Equal(r.Items, []string{"screen", "keyboard"}) {
		t.Errorf("critical reason names %v", r.Items)
	}
	s = Suggest(laptop, answered(t, laptop, nil, nil, A), pct(70))
	if a := s.Reasons[0].Args; a["pct"] != "70" || a["min"] != "80" {
		t.Errorf("battery args %v", a)
	}
	// Incomplete: no suggestion, and how many answers are missing.
	d := answered(t, laptop, nil, nil, None)
	d.Answers = d.Answers[2:]
	s = Suggest(laptop, d, pct(90))
	if s.Complete || s.Grade != None || s.Reasons[0].Key != "diagnosis.reason.incomplete" || s.Reasons[0].Args["count"] != "3" {
		t.Errorf("incomplete: %+v", s)
	}
}

// docExample is one row of the examples table of docs/grading.md.
type docExample struct {
	line                     int
	checklist, failed, na    string
	cosmetic, battery, grade string
}

// markdownTable returns the rows of the first table of doc whose header
// starts with header, each row's cells trimmed, and their line numbers.
func markdownTable(t *testing.T, doc, header string) ([][]string, []int) {
	t.Helper()
	var rows [][]string
	var lines []int
	in := false
	for i, l := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(l, header):
			in = true
		case in && strings.HasPrefix(l, "|---"):
		case in && strings.HasPrefix(l, "|"):
			cells := strings.Split(strings.Trim(l, "|"), "|")
			for j := range cells {
				cells[j] = strings.TrimSpace(cells[j])
			}
			rows, lines = append(rows, cells), append(lines, i+1)
		case in:
			return rows, lines
		}
	}
	return rows, lines
}

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "grading.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func list(cell string) []string {
	if cell == "—" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(cell, ",") {
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

// The examples of docs/grading.md are what the code suggests: the page
// and the rules cannot say different things.
func TestGradingDocExamples(t *testing.T) {
	rows, lines := markdownTable(t, readDoc(t), "| checklist | failed |")
	if len(rows) < 20 {
		t.Fatalf("found %d examples in docs/grading.md", len(rows))
	}
	seen := map[Grade]bool{}
	for i, r := range rows {
		if len(r) != 6 {
			t.Fatalf("docs/grading.md:%d: %d cells", lines[i], len(r))
		}
		c, ok := ByID(r[0])
		if !ok {
			t.Fatalf("docs/grading.md:%d: no checklist %q", lines[i], r[0])
		}
		cosmetic := Grade(r[3])
		if r[3] == "—" {
			cosmetic = None
		}
		var battery *int
		if n, err := strconv.Atoi(r[4]); err == nil {
			battery = &n
		} else if r[4] != "unknown" && r[4] != "—" {
			t.Fatalf("docs/grading.md:%d: battery %q", lines[i], r[4])
		}
		s := Suggest(c, answered(t, c, list(r[1]), list(r[2]), cosmetic), battery)
		got := string(s.Grade)
		switch {
		case !s.Complete:
			got = "incomplete"
		case s.Grade == None:
			got = "none"
		}
		if got != r[5] {
			t.Errorf("docs/grading.md:%d: %v suggests %s, the page says %s", lines[i], r, got, r[5])
		}
		seen[s.Grade] = true
	}
	for _, g := range []Grade{A, B, C, None} {
		if !seen[g] {
			t.Errorf("no example gives %q", g)
		}
	}
}

// The checklists table of docs/grading.md lists every checklist with its
// categories and its tests, critical ones in bold and those that may be
// absent in italics, exactly as the code has them.
func TestGradingDocChecklists(t *testing.T) {
	rows, lines := markdownTable(t, readDoc(t), "| checklist | categories |")
	if len(rows) != len(Checklists()) {
		t.Errorf("docs/grading.md lists %d checklists, the code %d", len(rows), len(Checklists()))
	}
	for i, r := range rows {
		c, ok := ByID(strings.Trim(r[0], "`"))
		if !ok {
			t.Errorf("docs/grading.md:%d: no checklist %s", lines[i], r[0])
			continue
		}
		if cats := strings.Join(c.Categories, ", "); cats != r[1] {
			t.Errorf("docs/grading.md:%d: categories %q, code %q", lines[i], r[1], cats)
		}
		var doc []Item
		for _, cell := range list(r[2]) {
			stars := len(cell) - len(strings.TrimLeft(cell, "*"))
			it := Item{ID: strings.Trim(cell, "*"), Critical: stars >= 2, MayBeAbsent: stars == 1 || stars == 3}
			doc = append(doc, it)
		}
		if !slices.Equal(doc, c.Items) {
			t.Errorf("docs/grading.md:%d: %s tests\n doc  %+v\n code %+v", lines[i], c.ID, doc, c.Items)
		}
	}
}
