package donation

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func mustParse(t *testing.T, s string) []Line {
	t.Helper()
	lines, errs, err := ParseCSV(strings.NewReader(s), now)
	if err != nil || errs != nil {
		t.Fatalf("ParseCSV: %v %+v", err, errs)
	}
	return lines
}

func TestParseCSVFormats(t *testing.T) {
	want := []Line{
		{Category: "laptop", Brand: "Dell", Model: "Latitude 5490", Serial: "SN1", Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.9},
		{Category: "monitor_24", Quantity: 5, WeightKg: 4.5, Notes: "Sans câble, bon état"},
	}
	for name, s := range map[string]string{
		"comma":          "category,brand,model,serial,year,quantity,storage_drives,weight_kg,notes\nlaptop,Dell,Latitude 5490,SN1,2019,1,1,1.9,\nmonitor_24,,,,,5,0,,\"Sans câble, bon état\"\n",
		"semicolon CRLF": "category;brand;model;serial;year;quantity;storage_drives;weight_kg;notes\r\nlaptop;Dell;Latitude 5490;SN1;2019;1;1;1,9;\r\nmonitor_24;;;;;5;0;;Sans câble, bon état\r\n",
		"BOM French":     "\uFEFFCatégorie;Marque;Modèle;Numéro de série;Année;Quantité;Disques;Poids_kg;Remarques\nlaptop;Dell;Latitude 5490;SN1;2019;1;1;1,9;\nmonitor_24;;;;;5;0;;Sans câble, bon état\n",
		"order free":     "quantity,category,notes,SERIAL,brand,model,year,storage_drives,weight_kg\n1,laptop,,SN1,Dell,Latitude 5490,2019,1,1.9\n5,monitor_24,\"Sans câble, bon état\",,,,,0,\n",
		"few columns":    "category,quantity,serial,brand,model,year,storage_drives,weight_kg,notes\nlaptop,1,SN1,Dell,Latitude 5490,2019,1,1.9\n\n,,\nmonitor_24,5,,,,,,,\"Sans câble, bon état\"\n",
		"Basque":         "kategoria;marka;modeloa;serie_zenbakia;urtea;kopurua;diskoak;pisua_kg;oharrak\nlaptop;Dell;Latitude 5490;SN1;2019;1;1;1,9;\nmonitor_24;;;;;5;;;Sans câble, bon état\n",
	} {
		t.Run(name, func(t *testing.T) {
			got := mustParse(t, s)
			if !slices.Equal(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
	// Only the category column is required.
	if got := mustParse(t, "category\nlaptop\ntablet\n"); len(got) != 2 || got[1].WeightKg != 0.5 {
		t.Fatalf("category only: %+v", got)
	}
}

func TestParseCSVErrors(t *testing.T) {
	head := "category,brand,model,serial,year,quantity,storage_drives,weight_kg,notes\n"
	tests := []struct {
		name string
		csv  string
		want []LineError // Line, Column, Message (Hint checked apart)
	}{
		{"empty", "", []LineError{{Line: 1, Message: "donation.error.csv_empty"}}},
		{"blank", " \n\n", []LineError{{Line: 1, Message: "donation.error.csv_empty"}}},
		{"no lines", head, []LineError{{Line: 2, Message: "donation.error.csv_no_lines"}}},
		{"UTF-16", "\xff\xfec\x00a\x00", []LineError{{Line: 1, Message: "donation.error.csv_encoding"}}},
		{"Windows-1252", head + "laptop,,,,,,,,ok\nlaptop,,,,,,,,Caf\xe9\n", []LineError{{Line: 3, Message: "donation.error.csv_encoding"}}},
		{"unknown column", "category,colour\nlaptop,red\n", []LineError{{Line: 1, Message: "donation.error.csv_column_unknown", Value: "colour"}}},
		{"duplicate column", "category,marque,brand\nlaptop,a,b\n", []LineError{{Line: 1, Column: "brand", Message: "donation.error.csv_column_duplicate", Value: "brand"}}},
		{"no category column", "brand\nDell\n", []LineError{{Line: 1, Column: "category", Message: "donation.error.csv_column_missing"}}},
		{"bad quote", head + "laptop,\"Dell,,,,,,,\nx\"y,\n", []LineError{{Line: 2, Message: "donation.error.csv_syntax"}}},
		{"bad quote in header", "category,\"bra\"nd\n", []LineError{{Line: 1, Message: "donation.error.csv_syntax"}}},
		{"extra field", head + "laptop,,,,,,,,,surplus\n", []LineError{{Line: 2, Message: "donation.error.csv_field_count"}}},
		{"field errors", head + "laptop,,,,,,,,\ntoaster,,,,1989,0,17,0,\nlaptop,,,S1,,2,,abc,\n", []LineError{
			{Line: 3, Column: "category", Message: "donation.error.category_unknown", Value: "toaster"},
			{Line: 3, Column: "year", Message: "donation.error.year_range", Value: "1989"},
			{Line: 3, Column: "quantity", Message: "donation.error.quantity_range", Value: "0"},
			{Line: 3, Column: "storage_drives", Message: "donation.error.drives_range", Value: "17"},
			{Line: 3, Column: "weight_kg", Message: "donation.error.weight_range", Value: "0"},
			{Line: 4, Column: "quantity", Message: "donation.error.quantity_serial", Value: "2"},
			{Line: 4, Column: "weight_kg", Message: "donation.error.weight_format", Value: "abc"},
		}},
		{"multi-line notes keep line numbers", head + "laptop,,,,,,,,\"two\nlines\"\nlaptop,,,,1800,,,,\n", []LineError{
			{Line: 4, Column: "year", Message: "donation.error.year_range", Value: "1800"}}},
		{"texts", head + "laptop," + strings.Repeat("x", 101) + ",a\x01b,,,,,,\n", []LineError{
			{Line: 2, Column: "brand", Message: "error.too_long", Value: strings.Repeat("x", 40) + "…"},
			{Line: 2, Column: "model", Message: "error.invalid_text", Value: "a\x01b"}}},
		{"duplicate serial", head + "laptop,,,SN1,,,,,\nlaptop,,,SN2,,,,,\ntablet,,,SN1,,,,,\n", []LineError{
			{Line: 4, Column: "serial", Message: "donation.error.serial_duplicate", Value: "SN1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, errs, err := ParseCSV(strings.NewReader(tt.csv), now)
			if err != nil || lines != nil {
				t.Fatalf("lines %v err %v: want none", lines, err)
			}
			for i := range errs {
				if errs[i].Hint == "" || errs[i].Hint == "donation.hint.generic" {
					t.Errorf("%+v has no specific hint", errs[i])
				}
				errs[i].Hint = ""
			}
			if !slices.Equal(errs, tt.want) {
				t.Fatalf("errors\n%+v\nwant\n%+v", errs, tt.want)
			}
		})
	}
}

func TestParseCSVLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("category,quantity\n")
	for range MaxCSVLines {
		b.WriteString("laptop,1\n")
	}
	if got := mustParse(t, b.String()); len(got) != MaxCSVLines {
		t.Fatalf("%d lines", len(got))
	}
	b.WriteString("laptop,1\n")
	_, errs, _ := ParseCSV(strings.NewReader(b.String()), now)
	if len(errs) != 1 || errs[0].Line != MaxCSVLines+2 || errs[0].Message != "donation.error.csv_too_many_lines" {
		t.Fatalf("too many lines: %+v", errs)
	}

	big := "category,notes\n" + strings.Repeat("laptop,"+strings.Repeat("x", 400)+"\n", MaxCSVBytes/400)
	_, errs, _ = ParseCSV(strings.NewReader(big), now)
	if len(errs) != 1 || errs[0].Line != 1 || errs[0].Message != "donation.error.csv_too_large" {
		t.Fatalf("too large: %+v", errs)
	}

	b.Reset()
	b.WriteString("category,quantity\n")
	for range MaxDevices/MaxQuantity + 1 {
		b.WriteString("laptop,500\n")
	}
	_, errs, _ = ParseCSV(strings.NewReader(b.String()), now)
	if len(errs) != 1 || errs[0].Line != MaxDevices/MaxQuantity+2 || errs[0].Column != "quantity" || errs[0].Message != "donation.error.csv_too_many_devices" {
		t.Fatalf("too many devices: %+v", errs)
	}

	if _, _, err := ParseCSV(iotest.ErrReader(errors.New("disk gone")), now); err == nil {
		t.Fatal("a failing reader is an error")
	}
}

// One faulty line among good ones: nothing is returned, so nothing can be
// saved.
func TestParseCSVAllOrNothing(t *testing.T) {
	var b strings.Builder
	b.WriteString("category,year\n")
	for i := range 100 {
		year := "2020"
		if i == 57 {
			year = "20"
		}
		fmt.Fprintf(&b, "laptop,%s\n", year)
	}
	lines, errs, err := ParseCSV(strings.NewReader(b.String()), now)
	if err != nil || lines != nil || len(errs) != 1 || errs[0].Line != 59 {
		t.Fatalf("lines %d, errs %+v, err %v", len(lines), errs, err)
	}
}

func TestTemplateCSVParses(t *testing.T) {
	for _, lang := range []string{"fr", "eu", "en"} {
		tpl := TemplateCSV(lang)
		if !bytes.HasPrefix(tpl, []byte("\uFEFF")) {
			t.Errorf("%s: no BOM", lang)
		}
		lines := mustParse(t, string(tpl))
		if len(lines) != 2 || lines[0].WeightKg != 1.9 || Devices(lines) != 6 {
			t.Errorf("%s: %+v", lang, lines)
		}
	}
	if !strings.Contains(string(TemplateCSV("fr")), "catégorie;marque") {
		t.Error("French template has no French header")
	}
}

// FuzzParseCSV: whatever the file, no panic; either lines that validate or
// errors that point at a line and a known column (or none), with a hint.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		"category,brand,model,serial,year,quantity,storage_drives,weight_kg,notes\nlaptop,Dell,X,SN,2019,1,1,1.9,ok\n",
		"\uFEFFcatégorie;quantité;poids_kg\nmonitor_24;5;4,5\n",
		"category\n\"laptop\nx\"\n",
		"category,year\nlaptop,1989\ntoaster,\n",
		"a,b\n1,2\n",
		"\xff\xfe",
		"category;serial;quantity\nlaptop;A;1\nlaptop;A;2\n",
		string(TemplateCSV("eu")),
	} {
		f.Add([]byte(s))
	}
	known := map[string]bool{"": true}
	for _, c := range Fields {
		known[c] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, errs, err := ParseCSV(bytes.NewReader(data), now)
		if err != nil {
			t.Fatalf("a byte reader cannot fail: %v", err)
		}
		if (lines == nil) == (errs == nil) {
			t.Fatalf("want lines or errors, got %d lines and %d errors", len(lines), len(errs))
		}
		for _, e := range errs {
			if e.Line < 1 || !known[e.Column] || e.Message == "" || e.Hint == "" {
				t.Fatalf("bad error %+v", e)
			}
		}
		if len(lines) > MaxCSVLines || Devices(lines) > MaxDevices {
			t.Fatalf("%d lines, %d devices", len(lines), Devices(lines))
		}
		for _, l := range lines {
			if err := l.Validate(now); err != nil {
				t.Fatalf("line %+v does not validate: %v", l, err)
			}
		}
	})
}
