package allocation_test

import (
	"reflect"
	"testing"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
)

func TestParseCatalogueFilter(t *testing.T) {
	cases := []struct {
		in   map[string]string
		want allocation.Line
		errs berriz.FieldErrors
	}{
		{in: map[string]string{}, want: allocation.Line{}},
		{in: map[string]string{"category": " Laptop ", "min_ram_gb": "8", "min_storage_gb": "256", "min_screen_inches": "15,6",
			"min_grade": "b"}, want: allocation.Line{Category: "laptop", MinRAMGB: 8, MinStorageGB: 256, MinScreenInches: 15.6, MinGrade: "B"}},
		{in: map[string]string{"category": "monitor_24", "min_ram_gb": "0"}, want: allocation.Line{Category: "monitor_24"}},
		{in: map[string]string{"category": "Laptop!", "min_ram_gb": "huit", "min_storage_gb": "-1", "min_screen_inches": "1e3",
			"min_grade": "D"}, errs: berriz.FieldErrors{"category": "matching.error.filter_category",
			"min_ram_gb": "matching.error.filter_number", "min_storage_gb": "matching.error.filter_number",
			"min_screen_inches": "matching.error.filter_number", "min_grade": "matching.error.filter_grade"}},
		{in: map[string]string{"min_ram_gb": "5000", "min_screen_inches": "121"}, errs: berriz.FieldErrors{
			"min_ram_gb": "matching.error.filter_number", "min_screen_inches": "matching.error.filter_number"}},
	}
	for _, c := range cases {
		got, errs := allocation.ParseCatalogueFilter(func(f string) string { return c.in[f] })
		if !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(errs, c.errs) && (len(errs) > 0 || len(c.errs) > 0) {
			t.Errorf("%v: got %+v %v, want %+v %v", c.in, got, errs, c.want, c.errs)
		}
	}
}

func TestNarrowFilterAndDemand(t *testing.T) {
	a := allocation.Line{Category: "laptop", MinRAMGB: 8, MinGrade: "C"}
	b := allocation.Line{MinRAMGB: 4, MinStorageGB: 256, MinScreenInches: 14, MinGrade: "B"}
	got, ok := allocation.NarrowFilter(a, b)
	want := allocation.Line{Category: "laptop", MinRAMGB: 8, MinStorageGB: 256, MinScreenInches: 14, MinGrade: "B"}
	if !ok || got != want {
		t.Fatalf("narrow: %+v %v", got, ok)
	}
	if _, ok := allocation.NarrowFilter(a, allocation.Line{Category: "tablet"}); ok {
		t.Fatal("two categories narrow to something")
	}
	// A device meets the narrowed filter exactly when it meets both.
	d := allocation.DeviceSpecs{Category: "laptop", RAMGB: 8, StorageGB: 256, ScreenInches: 14, Grade: "B"}
	if !got.Meets(d) || !a.Meets(d) {
		t.Fatal("meets")
	}
	if allocation.CompareDemand(a, allocation.Line{Category: "laptop"}) <= 0 || allocation.CompareDemand(a, a) != 0 ||
		allocation.CompareDemand(allocation.Line{MinRAMGB: 8, MinGrade: "A"}, a) <= 0 {
		t.Fatal("demand order")
	}
}
