package donation

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a CSV import, shown to donors before they upload.
const (
	MaxCSVBytes = 4 << 20 // 4 MiB: 10,000 lines with notes
	MaxCSVLines = 10000   // device lines, header excluded
)

// LineError is one problem of an imported file: where (Line is the file's
// line number, the header being line 1; Column is a field name, or empty
// when the problem is the whole line or file), what is wrong and how to fix
// it (translation keys), and the offending value when there is one.
type LineError struct {
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint"`
	Value   string `json:"value,omitempty"`
}

// hints maps each "what is wrong" key to its "how to fix it" key.
var hints = map[string]string{
	"donation.error.category_required":    "donation.hint.category",
	"donation.error.category_unknown":     "donation.hint.category",
	"donation.error.year_format":          "donation.hint.year",
	"donation.error.year_range":           "donation.hint.year",
	"donation.error.quantity_format":      "donation.hint.quantity",
	"donation.error.quantity_range":       "donation.hint.quantity",
	"donation.error.quantity_serial":      "donation.hint.quantity_serial",
	"donation.error.drives_format":        "donation.hint.drives",
	"donation.error.drives_range":         "donation.hint.drives",
	"donation.error.weight_format":        "donation.hint.weight",
	"donation.error.weight_range":         "donation.hint.weight",
	"donation.error.serial_duplicate":     "donation.hint.serial_duplicate",
	"error.too_long":                      "donation.hint.too_long",
	"error.invalid_text":                  "donation.hint.invalid_text",
	"donation.error.csv_too_large":        "donation.hint.csv_too_large",
	"donation.error.csv_encoding":         "donation.hint.csv_encoding",
	"donation.error.csv_empty":            "donation.hint.csv_header",
	"donation.error.csv_syntax":           "donation.hint.csv_syntax",
	"donation.error.csv_column_unknown":   "donation.hint.csv_header",
	"donation.error.csv_column_duplicate": "donation.hint.csv_header",
	"donation.error.csv_column_missing":   "donation.hint.csv_header",
	"donation.error.csv_field_count":      "donation.hint.csv_field_count",
	"donation.error.csv_no_lines":         "donation.hint.csv_no_lines",
	"donation.error.csv_too_many_lines":   "donation.hint.csv_too_many_lines",
	"donation.error.csv_too_many_devices": "donation.hint.csv_too_many_lines",
}

// Hint returns how to fix the problem a message key names.
func Hint(message string) string {
	if h, ok := hints[message]; ok {
		return h
	}
	return "donation.hint.generic"
}

// columnAliases maps every accepted header name, normalised (lower case,
// spaces and dashes as underscores), to its field: English, French (with
// and without accents) and Basque.
var columnAliases = map[string]string{
	"category": FieldCategory, "catégorie": FieldCategory, "categorie": FieldCategory, "kategoria": FieldCategory,
	"brand": FieldBrand, "marque": FieldBrand, "marka": FieldBrand,
	"model": FieldModel, "modèle": FieldModel, "modele": FieldModel, "modeloa": FieldModel,
	"serial": FieldSerial, "numéro_de_série": FieldSerial, "numero_de_serie": FieldSerial, "serie_zenbakia": FieldSerial,
	"year": FieldYear, "année": FieldYear, "annee": FieldYear, "urtea": FieldYear,
	"quantity": FieldQuantity, "quantité": FieldQuantity, "quantite": FieldQuantity, "kopurua": FieldQuantity,
	"storage_drives": FieldStorageDrives, "disques": FieldStorageDrives, "diskoak": FieldStorageDrives,
	"weight_kg": FieldWeightKg, "poids_kg": FieldWeightKg, "pisua_kg": FieldWeightKg,
	"notes": FieldNotes, "remarques": FieldNotes, "oharrak": FieldNotes,
}

func normalizeColumn(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(h)
}

// ParseCSV reads a donation's device lines from a CSV file: UTF-8 (with or
// without a BOM), "," or ";" as separator (sniffed from the header), a
// header naming the columns in any order (category required, the others
// optional), at most MaxCSVLines lines and MaxCSVBytes bytes. It returns
// either every line or, when anything is wrong, no line and every problem
// found: an import is all or nothing. The error is for a failing reader
// only.
func ParseCSV(r io.Reader, now time.Time) ([]Line, []LineError, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCSVBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read csv: %w", err)
	}
	one := func(line int, key string) []LineError {
		return []LineError{{Line: line, Message: key, Hint: Hint(key)}}
	}
	if len(data) > MaxCSVBytes {
		return nil, one(1, "donation.error.csv_too_large"), nil
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return nil, one(1, "donation.error.csv_encoding"), nil // UTF-16, as "Unicode text" exports are
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if !utf8.Valid(data) {
		// Most likely Windows-1252 from an older spreadsheet: point at the
		// first line that shows it.
		line := 1
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			if !utf8.Valid(l) {
				break
			}
			line++
		}
		return nil, one(line, "donation.error.csv_encoding"), nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, one(1, "donation.error.csv_empty"), nil
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = sniffSeparator(data)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, []LineError{syntaxError(err, 1)}, nil
	}
	columns, errs := readHeader(header)
	if len(errs) > 0 {
		return nil, errs, nil
	}
	var lines []Line
	serials := map[string]int{} // serial -> line where first seen
	devices := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, syntaxError(err, 2))
			break
		}
		lineNo, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(lines)+1 > MaxCSVLines {
			errs = append(errs, LineError{Line: lineNo, Message: "donation.error.csv_too_many_lines", Hint: Hint("donation.error.csv_too_many_lines")})
			break
		}
		var in Input
		extra := false
		for i, v := range rec {
			if i < len(columns) {
				in.Set(columns[i], v)
			} else if strings.TrimSpace(v) != "" {
				extra = true
			}
		}
		if extra {
			errs = append(errs, LineError{Line: lineNo, Message: "donation.error.csv_field_count", Hint: Hint("donation.error.csv_field_count")})
			lines = append(lines, Line{}) // counts towards the limit
			continue
		}
		l, fe := in.Parse(now)
		for _, field := range Fields {
			if key, ok := fe[field]; ok {
				errs = append(errs, LineError{Line: lineNo, Column: field, Message: key, Hint: Hint(key), Value: clip(in.Value(field))})
			}
		}
		if fe == nil && l.Serial != "" {
			if _, dup := serials[l.Serial]; dup {
				errs = append(errs, LineError{Line: lineNo, Column: FieldSerial, Message: "donation.error.serial_duplicate",
					Hint: Hint("donation.error.serial_duplicate"), Value: clip(l.Serial)})
			} else {
				serials[l.Serial] = lineNo
			}
		}
		devices += l.Quantity
		if devices > MaxDevices {
			errs = append(errs, LineError{Line: lineNo, Column: FieldQuantity, Message: "donation.error.csv_too_many_devices",
				Hint: Hint("donation.error.csv_too_many_devices")})
			break
		}
		lines = append(lines, l)
	}
	if len(errs) > 0 {
		return nil, errs, nil
	}
	if len(lines) == 0 {
		return nil, one(2, "donation.error.csv_no_lines"), nil
	}
	return lines, nil, nil
}

// sniffSeparator picks ";" when the header holds more semicolons than
// commas outside quotes (French spreadsheets), "," otherwise.
func sniffSeparator(data []byte) rune {
	commas, semis, quoted := 0, 0, false
	for _, b := range data {
		switch {
		case b == '"':
			quoted = !quoted
		case quoted:
		case b == '\n':
			if semis > commas {
				return ';'
			}
			return ','
		case b == ',':
			commas++
		case b == ';':
			semis++
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

func readHeader(header []string) ([]string, []LineError) {
	var errs []LineError
	columns := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		field, ok := columnAliases[normalizeColumn(h)]
		switch {
		case !ok:
			errs = append(errs, LineError{Line: 1, Message: "donation.error.csv_column_unknown",
				Hint: Hint("donation.error.csv_column_unknown"), Value: clip(h)})
		case seen[field]:
			errs = append(errs, LineError{Line: 1, Column: field, Message: "donation.error.csv_column_duplicate",
				Hint: Hint("donation.error.csv_column_duplicate"), Value: clip(h)})
		}
		seen[field] = true
		columns[i] = field
	}
	if !seen[FieldCategory] && len(errs) == 0 {
		errs = append(errs, LineError{Line: 1, Column: FieldCategory, Message: "donation.error.csv_column_missing",
			Hint: Hint("donation.error.csv_column_missing")})
	}
	return columns, errs
}

func syntaxError(err error, fallback int) LineError {
	line := fallback
	var pe *csv.ParseError
	if errors.As(err, &pe) && pe.StartLine >= 1 {
		line = pe.StartLine // where the faulty record starts, as a spreadsheet shows it
	}
	return LineError{Line: line, Message: "donation.error.csv_syntax", Hint: Hint("donation.error.csv_syntax")}
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// clip shortens a value shown back in an error table.
func clip(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "�")
	}
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}

// TemplateCSV returns a template to fill in: the header in the language's
// names and two example lines. French and Basque spreadsheets expect ";"
// and a decimal comma; the BOM makes Excel read the file as UTF-8.
func TemplateCSV(lang string) []byte {
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	var rows [][]string
	switch lang {
	case "fr":
		w.Comma = ';'
		rows = [][]string{
			{"catégorie", "marque", "modèle", "numéro_de_série", "année", "quantité", "disques", "poids_kg", "remarques"},
			{"laptop", "Dell", "Latitude 5490", "5CG8123XYZ", "2019", "1", "1", "1,9", "Chargeur fourni"},
			{"monitor_24", "Iiyama", "ProLite XU2492HSU", "", "2020", "5", "0", "", "Sans câble"},
		}
	case "eu":
		w.Comma = ';'
		rows = [][]string{
			{"kategoria", "marka", "modeloa", "serie_zenbakia", "urtea", "kopurua", "diskoak", "pisua_kg", "oharrak"},
			{"laptop", "Dell", "Latitude 5490", "5CG8123XYZ", "2019", "1", "1", "1,9", "Kargagailuarekin"},
			{"monitor_24", "Iiyama", "ProLite XU2492HSU", "", "2020", "5", "0", "", "Kablerik gabe"},
		}
	default:
		rows = [][]string{
			append([]string(nil), Fields...),
			{"laptop", "Dell", "Latitude 5490", "5CG8123XYZ", "2019", "1", "1", "1.9", "Charger included"},
			{"monitor_24", "Iiyama", "ProLite XU2492HSU", "", "2020", "5", "0", "", "No cable"},
		}
	}
	_ = w.WriteAll(rows) // a bytes.Buffer does not fail
	return b.Bytes()
}
