package allocation_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/allocation"
)

func formInput() allocation.RequestInput {
	return allocation.RequestInput{
		Purpose:         "Équiper la classe de CM2 pour les évaluations en ligne.\r\nDeux élèves n'ont pas d'ordinateur.",
		DeliveryCommune: "64102",
		Criteria:        []string{"qpv", "rep_plus", "qpv"},
		Lines: []allocation.LineInput{
			{Category: "laptop", Quantity: "12", MinRAMGB: "8"},
			{}, // a blank row is skipped
			{Category: "monitor_24", Quantity: "2", MinGrade: "B"},
		},
	}
}

func TestRequestInputParse(t *testing.T) {
	tests := []struct {
		name   string
		change func(*allocation.RequestInput)
		field  string // "" when valid
		key    string
	}{
		{"valid", func(*allocation.RequestInput) {}, "", ""},
		{"no purpose", func(in *allocation.RequestInput) { in.Purpose = "  \n " }, "purpose", "request.error.purpose_required"},
		{"purpose max", func(in *allocation.RequestInput) { in.Purpose = strings.Repeat("é", 2000) }, "", ""},
		{"purpose too long", func(in *allocation.RequestInput) { in.Purpose = strings.Repeat("é", 2001) }, "purpose", "request.error.purpose_long"},
		{"purpose control", func(in *allocation.RequestInput) { in.Purpose = "a\x00b" }, "purpose", "error.invalid_text"},
		{"commune missing", func(in *allocation.RequestInput) { in.DeliveryCommune = "" }, "delivery_commune", "error.commune_format"},
		{"commune 20", func(in *allocation.RequestInput) { in.DeliveryCommune = "20004" }, "delivery_commune", "error.commune_format"},
		{"commune Corsica", func(in *allocation.RequestInput) { in.DeliveryCommune = "2a004" }, "", ""},
		{"unknown criterion", func(in *allocation.RequestInput) { in.Criteria = []string{"rep", "rich"} }, "criteria", "request.error.criterion_unknown"},
		{"no criterion", func(in *allocation.RequestInput) { in.Criteria = nil }, "", ""},
		{"no line", func(in *allocation.RequestInput) { in.Lines = []allocation.LineInput{{}, {}} }, "lines", "request.error.no_lines"},
		{"line error names its row", func(in *allocation.RequestInput) { in.Lines[2].Quantity = "501" }, "line_3_quantity", "request.error.quantity_range"},
		{"twenty lines", func(in *allocation.RequestInput) {
			in.Lines = make([]allocation.LineInput, 20)
			for i := range in.Lines {
				in.Lines[i] = allocation.LineInput{Category: "tablet", Quantity: "1"}
			}
		}, "", ""},
		{"twenty-one lines", func(in *allocation.RequestInput) {
			in.Lines = make([]allocation.LineInput, 21)
			for i := range in.Lines {
				in.Lines[i] = allocation.LineInput{Category: "tablet", Quantity: "1"}
			}
		}, "lines", "request.error.too_many_lines"},
	}
	for _, tt := range tests {
		in := formInput()
		in.Lines = append([]allocation.LineInput(nil), in.Lines...)
		tt.change(&in)
		r, fe := in.Parse()
		if tt.field == "" {
			if fe != nil {
				t.Errorf("%s: %v", tt.name, fe)
			}
			continue
		}
		if fe[tt.field] != tt.key {
			t.Errorf("%s: errors %v, want %s: %s", tt.name, fe, tt.field, tt.key)
		}
		if r.Lines != nil || r.Purpose != "" {
			t.Errorf("%s: a failed parse returned %+v", tt.name, r)
		}
	}
	r, fe := formInput().Parse()
	if fe != nil {
		t.Fatal(fe)
	}
	want := allocation.NewRequest{
		Purpose:         "Équiper la classe de CM2 pour les évaluations en ligne.\nDeux élèves n'ont pas d'ordinateur.",
		DeliveryCommune: "64102",
		Criteria:        []allocation.Criterion{"rep_plus", "qpv"}, // the forms' order, each once
		Lines:           []allocation.Line{{Category: "laptop", Quantity: 12, MinRAMGB: 8}, {Category: "monitor_24", Quantity: 2, MinGrade: "B"}},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("parsed %+v\nwant %+v", r, want)
	}
	if r.Priority() != 70 || allocation.Devices(r.Lines) != 14 {
		t.Errorf("priority %d, devices %d", r.Priority(), allocation.Devices(r.Lines))
	}
}

func TestRequestJSONParse(t *testing.T) {
	ram := 8
	in := allocation.RequestJSON{Purpose: "Salle informatique", DeliveryCommune: "64445", Criteria: []string{"social"},
		Lines: []allocation.LineJSON{{Category: "desktop", Quantity: 4, MinRAMGB: &ram}, {Category: "toaster", Quantity: 0}}}
	_, fe := in.Parse()
	want := map[string]string{"lines[1].category": "request.error.category_unknown", "lines[1].quantity": "request.error.quantity_range"}
	if !reflect.DeepEqual(map[string]string(fe), want) {
		t.Errorf("errors %v, want %v", fe, want)
	}
	in.Lines = in.Lines[:1]
	r, fe := in.Parse()
	if fe != nil || len(r.Lines) != 1 || r.Lines[0].MinRAMGB != 8 || r.Priority() != 20 {
		t.Fatalf("%+v %v", r, fe)
	}
	in.Lines = make([]allocation.LineJSON, 1000)
	if _, fe := in.Parse(); fe["lines"] != "request.error.too_many_lines" || len(fe) != 1 {
		t.Errorf("1000 lines: %v", fe)
	}
	in.Lines = nil
	if _, fe := in.Parse(); fe["lines"] != "request.error.no_lines" {
		t.Errorf("no lines: %v", fe)
	}
	if allocation.JSONLineField(1, "category") != "lines[1].category" || allocation.FormLineField(2, "category") != "line_2_category" {
		t.Error("field names")
	}
}

func TestParseDecision(t *testing.T) {
	tests := []struct {
		decision, reason string
		want             allocation.Decision
		field, key       string
	}{
		{"approve", "", "approve", "", ""},
		{" approve ", "Livraison en deux fois.", "approve", "", ""},
		{"decline", "Hors territoire", "decline", "", ""},
		{"decline", "", "", "reason", "request.error.reason_required"},
		{"decline", " no ", "", "reason", "request.error.reason_length"},
		{"decline", "Non", "decline", "", ""},
		{"decline", strings.Repeat("x", 1001), "", "reason", "request.error.reason_length"},
		{"decline", strings.Repeat("x", 1000), "decline", "", ""},
		{"approve", "ok", "", "reason", "request.error.reason_length"},
		{"maybe", "", "", "decision", "request.error.decision_unknown"},
		{"", "", "", "decision", "request.error.decision_unknown"},
	}
	for _, tt := range tests {
		d, _, fe := allocation.ParseDecision(tt.decision, tt.reason)
		if tt.field == "" {
			if fe != nil || d != tt.want {
				t.Errorf("%q %q: %q %v", tt.decision, tt.reason, d, fe)
			}
			continue
		}
		if fe[tt.field] != tt.key || d != "" {
			t.Errorf("%q %q: %q %v, want %s: %s", tt.decision, tt.reason, d, fe, tt.field, tt.key)
		}
	}
	if allocation.Approve.State() != allocation.Approved || allocation.Decline.State() != allocation.Declined {
		t.Error("decision states")
	}
	for _, s := range allocation.RequestStates {
		want := s == allocation.Submitted || s == allocation.Approved || s == allocation.PartiallyFulfilled
		if s.Cancellable() != want {
			t.Errorf("%s cancellable: %v", s, s.Cancellable())
		}
	}
}
