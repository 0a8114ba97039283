package allocation_test

import (
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/diagnosis"
)

func TestLineMeets(t *testing.T) {
	line := allocation.Line{Category: "laptop", Quantity: 3, MinRAMGB: 8, MinStorageGB: 256, MinScreenInches: 14, MinGrade: "B"}
	good := allocation.DeviceSpecs{Category: "laptop", RAMGB: 8, StorageGB: 256, ScreenInches: 14, Grade: "B"}
	tests := []struct {
		name   string
		line   allocation.Line
		change func(*allocation.DeviceSpecs)
		want   bool
	}{
		{"exactly the minimums", line, func(*allocation.DeviceSpecs) {}, true},
		{"more of everything", line, func(d *allocation.DeviceSpecs) { d.RAMGB, d.StorageGB, d.ScreenInches, d.Grade = 16, 512, 15.6, "A" }, true},
		{"other category", line, func(d *allocation.DeviceSpecs) { d.Category = "desktop" }, false},
		{"less RAM", line, func(d *allocation.DeviceSpecs) { d.RAMGB = 4 }, false},
		{"RAM unknown", line, func(d *allocation.DeviceSpecs) { d.RAMGB = 0 }, false},
		{"less storage", line, func(d *allocation.DeviceSpecs) { d.StorageGB = 255 }, false},
		{"no drive", line, func(d *allocation.DeviceSpecs) { d.StorageGB = 0 }, false},
		{"smaller screen", line, func(d *allocation.DeviceSpecs) { d.ScreenInches = 13.9 }, false},
		{"screen unknown", line, func(d *allocation.DeviceSpecs) { d.ScreenInches = 0 }, false},
		{"grade A for at least B", line, func(d *allocation.DeviceSpecs) { d.Grade = "A" }, true},
		{"grade C for at least B", line, func(d *allocation.DeviceSpecs) { d.Grade = "C" }, false},
		{"no grade for at least B", line, func(d *allocation.DeviceSpecs) { d.Grade = "" }, false},
		{"at least C takes A", allocation.Line{Category: "laptop", MinGrade: "C"}, func(d *allocation.DeviceSpecs) { d.Grade = "A" }, true},
		{"at least A refuses B", allocation.Line{Category: "laptop", MinGrade: "A"}, func(*allocation.DeviceSpecs) {}, false},
		{"no minimum: unknown specs do", allocation.Line{Category: "laptop"}, func(d *allocation.DeviceSpecs) { *d = allocation.DeviceSpecs{Category: "laptop"} }, true},
		{"float noise", allocation.Line{Category: "laptop", MinScreenInches: 15.6}, func(d *allocation.DeviceSpecs) { d.ScreenInches = 15.599999999 }, true},
	}
	for _, tt := range tests {
		d := good
		tt.change(&d)
		if got := tt.line.Meets(d); got != tt.want {
			t.Errorf("%s: Meets = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestGradeAtLeast(t *testing.T) {
	for _, c := range []struct {
		g, min diagnosis.Grade
		want   bool
	}{{"A", "A", true}, {"A", "C", true}, {"B", "A", false}, {"C", "C", true}, {"C", "B", false}, {"", "C", false}, {"A", "", false}, {"D", "C", false}} {
		if got := allocation.GradeAtLeast(c.g, c.min); got != c.want {
			t.Errorf("%q at least %q: %v", c.g, c.min, got)
		}
	}
}

func TestLineInputParse(t *testing.T) {
	ok := allocation.LineInput{Category: " Laptop ", Quantity: "12", MinRAMGB: "8", MinStorageGB: "256", MinScreenInches: "15,6",
		MinGrade: " b ", Notes: "  Pour la  salle info "}
	tests := []struct {
		name   string
		change func(*allocation.LineInput)
		field  string // "" when valid
		key    string
	}{
		{"valid", func(*allocation.LineInput) {}, "", ""},
		{"only category and quantity", func(in *allocation.LineInput) {
			*in = allocation.LineInput{Category: "tablet", Quantity: "1"}
		}, "", ""},
		{"no category", func(in *allocation.LineInput) { in.Category = "" }, "category", "request.error.category_required"},
		{"unknown category", func(in *allocation.LineInput) { in.Category = "toaster" }, "category", "request.error.category_unknown"},
		{"no quantity", func(in *allocation.LineInput) { in.Quantity = " " }, "quantity", "request.error.quantity_required"},
		{"quantity zero", func(in *allocation.LineInput) { in.Quantity = "0" }, "quantity", "request.error.quantity_range"},
		{"quantity max", func(in *allocation.LineInput) { in.Quantity = "500" }, "", ""},
		{"quantity over", func(in *allocation.LineInput) { in.Quantity = "501" }, "quantity", "request.error.quantity_range"},
		{"quantity huge", func(in *allocation.LineInput) { in.Quantity = "99999999999999999999" }, "quantity", "request.error.quantity_range"},
		{"quantity text", func(in *allocation.LineInput) { in.Quantity = "dix" }, "quantity", "request.error.quantity_range"},
		{"quantity negative", func(in *allocation.LineInput) { in.Quantity = "-3" }, "quantity", "request.error.quantity_range"},
		{"RAM zero", func(in *allocation.LineInput) { in.MinRAMGB = "0" }, "min_ram_gb", "request.error.min_ram"},
		{"RAM max", func(in *allocation.LineInput) { in.MinRAMGB = "4096" }, "", ""},
		{"RAM over", func(in *allocation.LineInput) { in.MinRAMGB = "4097" }, "min_ram_gb", "request.error.min_ram"},
		{"RAM decimal", func(in *allocation.LineInput) { in.MinRAMGB = "7.5" }, "min_ram_gb", "request.error.min_ram"},
		{"storage over", func(in *allocation.LineInput) { in.MinStorageGB = "1000001" }, "min_storage_gb", "request.error.min_storage"},
		{"storage text", func(in *allocation.LineInput) { in.MinStorageGB = "1 To" }, "min_storage_gb", "request.error.min_storage"},
		{"screen dot", func(in *allocation.LineInput) { in.MinScreenInches = "13.3" }, "", ""},
		{"screen whole", func(in *allocation.LineInput) { in.MinScreenInches = "24" }, "", ""},
		{"screen two decimals", func(in *allocation.LineInput) { in.MinScreenInches = "15.65" }, "min_screen_inches", "request.error.min_screen"},
		{"screen zero", func(in *allocation.LineInput) { in.MinScreenInches = "0" }, "min_screen_inches", "request.error.min_screen"},
		{"screen over", func(in *allocation.LineInput) { in.MinScreenInches = "120.1" }, "min_screen_inches", "request.error.min_screen"},
		{"screen NaN", func(in *allocation.LineInput) { in.MinScreenInches = "NaN" }, "min_screen_inches", "request.error.min_screen"},
		{"screen exponent", func(in *allocation.LineInput) { in.MinScreenInches = "1e1" }, "min_screen_inches", "request.error.min_screen"},
		{"screen inches sign", func(in *allocation.LineInput) { in.MinScreenInches = `14"` }, "min_screen_inches", "request.error.min_screen"},
		{"grade D", func(in *allocation.LineInput) { in.MinGrade = "D" }, "min_grade", "request.error.min_grade"},
		{"grade empty", func(in *allocation.LineInput) { in.MinGrade = "" }, "", ""},
		{"notes too long", func(in *allocation.LineInput) { in.Notes = strings.Repeat("é", 501) }, "notes", "request.error.notes_long"},
		{"notes max", func(in *allocation.LineInput) { in.Notes = strings.Repeat("é", 500) }, "", ""},
		{"notes newline", func(in *allocation.LineInput) { in.Notes = "a\nb" }, "notes", "error.invalid_text"},
		{"notes bad utf8", func(in *allocation.LineInput) { in.Notes = "\xff" }, "notes", "error.invalid_text"},
	}
	for _, tt := range tests {
		in := ok
		tt.change(&in)
		l, fe := in.Parse()
		if tt.field == "" {
			if fe != nil {
				t.Errorf("%s: %v", tt.name, fe)
			}
			continue
		}
		if fe[tt.field] != tt.key || len(fe) != 1 {
			t.Errorf("%s: errors %v, want only %s: %s", tt.name, fe, tt.field, tt.key)
		}
		if l != (allocation.Line{}) {
			t.Errorf("%s: a failed parse returned %+v", tt.name, l)
		}
	}
	l, _ := ok.Parse()
	want := allocation.Line{Category: "laptop", Quantity: 12, MinRAMGB: 8, MinStorageGB: 256, MinScreenInches: 15.6, MinGrade: "B",
		Notes: "Pour la  salle info"}
	if l != want {
		t.Fatalf("parsed %+v, want %+v", l, want)
	}
	if !(allocation.LineInput{Notes: "  "}).Empty() || (allocation.LineInput{MinGrade: "A"}).Empty() {
		t.Fatal("Empty")
	}
	var in allocation.LineInput
	for _, f := range allocation.LineFields {
		in.Set(f, f)
		if in.Value(f) != f {
			t.Errorf("Set/Value %s", f)
		}
	}
	in.Set("unknown", "x")
	if in.Value("unknown") != "" {
		t.Error("unknown field")
	}
}

func TestLineJSONParse(t *testing.T) {
	i := func(n int) *int { return &n }
	fl := func(x float64) *float64 { return &x }
	s := func(v string) *string { return &v }
	tests := []struct {
		name  string
		in    allocation.LineJSON
		field string
		key   string
	}{
		{"minimal", allocation.LineJSON{Category: "laptop", Quantity: 1}, "", ""},
		{"every minimum", allocation.LineJSON{Category: "laptop", Quantity: 2, MinRAMGB: i(8), MinStorageGB: i(128),
			MinScreenInches: fl(13.3), MinGrade: s("A"), Notes: "x"}, "", ""},
		{"quantity missing", allocation.LineJSON{Category: "laptop"}, "quantity", "request.error.quantity_range"},
		{"category case", allocation.LineJSON{Category: "Laptop", Quantity: 1}, "category", "request.error.category_unknown"},
		{"RAM zero", allocation.LineJSON{Category: "laptop", Quantity: 1, MinRAMGB: i(0)}, "min_ram_gb", "request.error.min_ram"},
		{"RAM negative", allocation.LineJSON{Category: "laptop", Quantity: 1, MinRAMGB: i(-8)}, "min_ram_gb", "request.error.min_ram"},
		{"storage over", allocation.LineJSON{Category: "laptop", Quantity: 1, MinStorageGB: i(2000000)}, "min_storage_gb", "request.error.min_storage"},
		{"screen precision", allocation.LineJSON{Category: "laptop", Quantity: 1, MinScreenInches: fl(15.66)}, "min_screen_inches", "request.error.min_screen"},
		{"screen zero", allocation.LineJSON{Category: "laptop", Quantity: 1, MinScreenInches: fl(0)}, "min_screen_inches", "request.error.min_screen"},
		{"screen tiny", allocation.LineJSON{Category: "laptop", Quantity: 1, MinScreenInches: fl(0.01)}, "min_screen_inches", "request.error.min_screen"},
		{"grade lower case", allocation.LineJSON{Category: "laptop", Quantity: 1, MinGrade: s("b")}, "min_grade", "request.error.min_grade"},
		{"grade empty", allocation.LineJSON{Category: "laptop", Quantity: 1, MinGrade: s("")}, "min_grade", "request.error.min_grade"},
		{"notes long", allocation.LineJSON{Category: "laptop", Quantity: 1, Notes: strings.Repeat("a", 501)}, "notes", "request.error.notes_long"},
	}
	for _, tt := range tests {
		_, fe := tt.in.Parse()
		if tt.field == "" {
			if fe != nil {
				t.Errorf("%s: %v", tt.name, fe)
			}
			continue
		}
		if fe[tt.field] != tt.key {
			t.Errorf("%s: errors %v, want %s: %s", tt.name, fe, tt.field, tt.key)
		}
	}
}
