package donation

import (
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestInputParse(t *testing.T) {
	ok := Input{Category: " Laptop ", Brand: " Dell ", Model: "Latitude  5490", Serial: "SN1", Year: "2019",
		StorageDrives: "1", WeightKg: "1,95", Notes: "Chargeur   fourni"}
	tests := []struct {
		name   string
		change func(*Input)
		field  string // "" when valid
		key    string
	}{
		{"valid", func(*Input) {}, "", ""},
		{"no category", func(in *Input) { in.Category = " " }, FieldCategory, "donation.error.category_required"},
		{"unknown category", func(in *Input) { in.Category = "toaster" }, FieldCategory, "donation.error.category_unknown"},
		{"year text", func(in *Input) { in.Year = "2019a" }, FieldYear, "donation.error.year_format"},
		{"year negative", func(in *Input) { in.Year = "-2019" }, FieldYear, "donation.error.year_format"},
		{"year too old", func(in *Input) { in.Year = "1989" }, FieldYear, "donation.error.year_range"},
		{"year next", func(in *Input) { in.Year = "2027" }, "", ""},
		{"year future", func(in *Input) { in.Year = "2028" }, FieldYear, "donation.error.year_range"},
		{"year empty", func(in *Input) { in.Year = "" }, "", ""},
		{"quantity zero", func(in *Input) { in.Serial, in.Quantity = "", "0" }, FieldQuantity, "donation.error.quantity_range"},
		{"quantity max", func(in *Input) { in.Serial, in.Quantity = "", "500" }, "", ""},
		{"quantity over", func(in *Input) { in.Serial, in.Quantity = "", "501" }, FieldQuantity, "donation.error.quantity_range"},
		{"quantity text", func(in *Input) { in.Quantity = "deux" }, FieldQuantity, "donation.error.quantity_format"},
		{"quantity with serial", func(in *Input) { in.Quantity = "2" }, FieldQuantity, "donation.error.quantity_serial"},
		{"drives over", func(in *Input) { in.StorageDrives = "17" }, FieldStorageDrives, "donation.error.drives_range"},
		{"drives text", func(in *Input) { in.StorageDrives = "1.5" }, FieldStorageDrives, "donation.error.drives_format"},
		{"weight zero", func(in *Input) { in.WeightKg = "0" }, FieldWeightKg, "donation.error.weight_range"},
		{"weight over", func(in *Input) { in.WeightKg = "200.001" }, FieldWeightKg, "donation.error.weight_range"},
		{"weight max", func(in *Input) { in.WeightKg = "200" }, "", ""},
		{"weight text", func(in *Input) { in.WeightKg = "2kg" }, FieldWeightKg, "donation.error.weight_format"},
		{"weight NaN", func(in *Input) { in.WeightKg = "NaN" }, FieldWeightKg, "donation.error.weight_format"},
		{"weight decimals", func(in *Input) { in.WeightKg = "1.2345" }, FieldWeightKg, "donation.error.weight_format"},
		{"brand too long", func(in *Input) { in.Brand = strings.Repeat("é", 101) }, FieldBrand, "error.too_long"},
		{"model control", func(in *Input) { in.Model = "a\x00b" }, FieldModel, "error.invalid_text"},
		{"serial bad utf8", func(in *Input) { in.Serial = "\xff" }, FieldSerial, "error.invalid_text"},
		{"notes too long", func(in *Input) { in.Notes = strings.Repeat("a", 501) }, FieldNotes, "error.too_long"},
	}
	for _, tt := range tests {
		in := ok
		tt.change(&in)
		l, fe := in.Parse(now)
		if tt.field == "" {
			if fe != nil {
				t.Errorf("%s: %v", tt.name, fe)
			} else if err := l.Validate(now); err != nil {
				t.Errorf("%s: parsed line does not validate: %v", tt.name, err)
			}
			continue
		}
		if fe[tt.field] != tt.key {
			t.Errorf("%s: errors %v, want %s: %s", tt.name, fe, tt.field, tt.key)
		}
	}
	l, _ := ok.Parse(now)
	want := Line{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "SN1", Year: 2019, Quantity: 1,
		StorageDrives: 1, WeightKg: 1.95, Notes: "Chargeur fourni"}
	if l != want {
		t.Fatalf("parsed %+v, want %+v", l, want)
	}
	// Defaults: quantity 1, the category's typical weight.
	l, fe := Input{Category: "monitor_24", Quantity: "3"}.Parse(now)
	if fe != nil || l.WeightKg != 4.5 || l.Quantity != 3 || Devices([]Line{l, want}) != 4 || TotalWeightKg([]Line{l}) != 13.5 {
		t.Fatalf("defaults: %+v %v", l, fe)
	}
	if !(Input{Brand: "  "}).Empty() || (Input{Notes: "x"}).Empty() {
		t.Fatal("Empty")
	}
}

func TestLineValidate(t *testing.T) {
	good := Line{Category: "laptop", Quantity: 1, WeightKg: 2}
	for name, l := range map[string]Line{
		"unnormalised brand": {Category: "laptop", Brand: " Dell", Quantity: 1, WeightKg: 2},
		"no weight":          {Category: "laptop", Quantity: 1},
		"unrounded weight":   {Category: "laptop", Quantity: 1, WeightKg: 1.00001},
		"negative drives":    {Category: "laptop", Quantity: 1, WeightKg: 2, StorageDrives: -1},
		"no category":        {Quantity: 1, WeightKg: 2},
	} {
		if l.Validate(now) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := good.Validate(now); err != nil {
		t.Fatal(err)
	}
}

func TestParseHeader(t *testing.T) {
	if h, fe := ParseHeader("  Don  de la mairie ", ""); fe != nil || h.Title != "Don de la mairie" {
		t.Fatalf("%+v %v", h, fe)
	}
	if _, fe := ParseHeader("", strings.Repeat("x", 2001)); fe["title"] != "error.required" || fe["notes"] != "error.too_long" {
		t.Fatalf("%v", fe)
	}
}
