package co2

import (
	"reflect"
	"testing"
)

// The embedded files read through the import path give the embedded set,
// and a set built from those rows computes exactly as the embedded one.
func TestImportEmbeddedFiles(t *testing.T) {
	cats, errs := ParseCategoriesCSV(factorsFR2025)
	if errs != nil || !reflect.DeepEqual(cats, Categories()) {
		t.Fatalf("categories %v", errs)
	}
	parts, errs := ParsePartsCSV(partsFR2025)
	if errs != nil || len(parts) != len(Parts())-1 {
		t.Fatalf("parts %d, %v", len(parts), errs)
	}
	s, err := NewFactorSet(FactorSetID, "1", cats, parts)
	if err != nil || !reflect.DeepEqual(s, Embedded()) {
		t.Fatalf("set %+v, %v", s, err)
	}
	in := Input{Category: "laptop", NewParts: []string{"ssd_256gb", "laptop_battery", OtherPart}}
	got, err := s.Compute(in)
	want, _ := Embedded().Compute(in)
	if err != nil || !reflect.DeepEqual(got, want) || Round1(got.Net) != 47.9 {
		t.Fatalf("computed %+v, %v; want %+v", got, err, want)
	}
}

func TestNewFactorSetRefusals(t *testing.T) {
	c := Category{ID: "laptop", RefLifeYears: 5}
	for name, try := range map[string]func() error{
		"no id":         func() error { _, err := NewFactorSet("", "1", []Category{c}, nil); return err },
		"no categories": func() error { _, err := NewFactorSet("x", "1", nil, nil); return err },
		"repeated":      func() error { _, err := NewFactorSet("x", "1", []Category{c, c}, nil); return err },
		"no life":       func() error { _, err := NewFactorSet("x", "1", []Category{{ID: "tv"}}, nil); return err },
		"part twice": func() error {
			_, err := NewFactorSet("x", "1", []Category{c}, []Part{{ID: "hdd"}, {ID: "hdd"}})
			return err
		},
	} {
		if try() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Every problem of a file is reported with its line and column.
func TestImportLineErrors(t *testing.T) {
	header := "category,central_kg,low_kg,high_kg,ref_life_years,second_life_years,base_refurb_kg,typical_weight_kg,quality,source\n"
	for _, tc := range []struct {
		name, file string
		want       []LineError
	}{
		{"empty", "", []LineError{{Line: 1, Key: "emissions.import.error.empty"}}},
		{"header", "category,central,low_kg,high_kg,ref_life_years,second_life_years,base_refurb_kg,typical_weight_kg,quality,source\n",
			[]LineError{{Line: 1, Column: "2", Value: "central", Want: "central_kg", Key: "emissions.import.error.header"}}},
		{"no rows", header, []LineError{{Line: 2, Key: "emissions.import.error.no_rows"}}},
		{"fields", header + "laptop,1,1\n", []LineError{{Line: 2, Value: "3", Want: "10", Key: "emissions.import.error.columns"}}},
		{"figures", header +
			"laptop,182.3,156,339,5,3,3,2.0,A,ok\n" +
			"Laptop,18a,1,2,0,3,3,2,E,\n" +
			"laptop,5,6,7,5,3,3,2,A,x\n",
			[]LineError{
				{Line: 3, Column: "category", Value: "Laptop", Key: "emissions.import.error.id"},
				{Line: 3, Column: "central_kg", Value: "18a", Key: "emissions.import.error.number"},
				{Line: 3, Column: "ref_life_years", Value: "0", Key: "emissions.import.error.positive"},
				{Line: 3, Column: "quality", Value: "E", Key: "emissions.import.error.quality"},
				{Line: 3, Column: "source", Key: "emissions.import.error.source"},
				{Line: 4, Column: "category", Value: "laptop", Key: "emissions.import.error.repeated"},
				{Line: 4, Column: "central_kg", Value: "5", Key: "emissions.import.error.range"},
			}},
		{"latin-1", header + "laptop,182.3,156,339,5,3,3,2.0,A,ok\ntv,1,1,2,5,3,3,2,A,r\xe9f\n",
			[]LineError{{Line: 3, Key: "emissions.import.error.csv"}}},
		{"nul", header + "laptop,182.3,156,339,5,3,3,2.0,A,o\x00k\n", []LineError{{Line: 2, Key: "emissions.import.error.csv"}}},
		{"too large", header + "tv,1,1,99999999,5,3,3,2,A,x\n",
			[]LineError{{Line: 2, Column: "high_kg", Value: "99999999", Want: "9999999", Key: "emissions.import.error.too_large"}}},
	} {
		cats, errs := ParseCategoriesCSV([]byte(tc.file))
		if cats != nil || !reflect.DeepEqual(errs, tc.want) {
			t.Errorf("%s: %+v\nwant %+v", tc.name, []LineError(errs), tc.want)
		}
	}
	_, errs := ParsePartsCSV([]byte("part,kg_new,source\nother,1,x\nhdd,-1,x\n"))
	want := []LineError{{Line: 2, Column: "part", Value: "other", Key: "emissions.import.error.reserved"},
		{Line: 3, Column: "kg_new", Value: "-1", Key: "emissions.import.error.positive"}}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("parts: %+v", errs)
	}
}
