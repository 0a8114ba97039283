package co2

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Factor sets other than the embedded one: built from the rows the
// database keeps (NewFactorSet), or read from the CSV files an operator
// imports (ParseCategoriesCSV, ParsePartsCSV), with the same columns as
// the embedded files. An import is checked line by line: each problem says
// the line, the column, what is wrong and how to fix it (a translation
// key), so a whole file's mistakes can be fixed in one go.

// NewFactorSet builds a set from its rows. Every category and part id must
// be unique; the OtherPart kind is added when the rows lack it, as in the
// embedded set (a part of no listed kind carries no burden).
func NewFactorSet(id, version string, cats []Category, parts []Part) (FactorSet, error) {
	if id == "" || version == "" || len(cats) == 0 {
		return FactorSet{}, fmt.Errorf("co2: factor set %q version %q: id, version and categories are required", id, version)
	}
	seen := map[string]bool{}
	for _, c := range cats {
		if c.ID == "" || seen[c.ID] || c.RefLifeYears <= 0 {
			return FactorSet{}, fmt.Errorf("co2: factor set %s: empty, repeated or lifeless category %q", id, c.ID)
		}
		seen[c.ID] = true
	}
	seen = map[string]bool{}
	s := FactorSet{ID: id, Version: version, Categories: append([]Category(nil), cats...)}
	for _, p := range parts {
		if p.ID == "" || seen[p.ID] {
			return FactorSet{}, fmt.Errorf("co2: factor set %s: empty or repeated part %q", id, p.ID)
		}
		seen[p.ID] = true
		s.Parts = append(s.Parts, p)
	}
	if !seen[OtherPart] {
		s.Parts = append(s.Parts, Part{ID: OtherPart, Source: "not in the factor set: counted with no new-part burden"})
	}
	return s, nil
}

// LineError is one problem of an imported file: the line (1 is the
// header), the column's name ("" for the whole line), the value found, and
// the translation key that says what is wrong and how to fix it (its
// arguments: line, column, value, want).
type LineError struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Key    string `json:"key"`
	Want   string `json:"want,omitempty"` // the expected value, when there is one (a header's name)
}

// lineError is a line error as a Go error (the embedded files' defects).
func lineError(le LineError) error {
	return fmt.Errorf("line %d, column %q, value %q: %s (want %q)", le.Line, le.Column, le.Value, le.Key, le.Want)
}

// MaxLineErrors bounds the problems reported for one file: beyond, the
// file is too far off to list them all.
const MaxLineErrors = 50

// Upper bounds of the database columns (numeric precision), checked here
// so that an import fails with a line and a column, not a database error.
const (
	maxKg      = 9_999_999
	maxYears   = 999
	maxWeight  = 9_999
	maxSource  = 1000
	maxRowsCSV = 500
)

var kindRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// lineErrors collects an import's problems, up to MaxLineErrors.
type lineErrors []LineError

func (e *lineErrors) add(le LineError) {
	if len(*e) < MaxLineErrors {
		*e = append(*e, le)
	}
}

// readCSV reads a whole file and checks its header; the file must be
// UTF-8, comma separated, with a header line naming want's columns in
// order.
func readCSV(b []byte, want []string, errs *lineErrors) [][]string {
	b = bytes.TrimPrefix(b, []byte("\ufeff")) // a spreadsheet's byte order mark
	// A file saved as Latin-1 (or holding a NUL) cannot be stored as text:
	// the line of the first bad byte, not a database error.
	if i := badTextAt(b); i >= 0 {
		errs.add(LineError{Line: 1 + bytes.Count(b[:i], []byte("\n")), Key: "emissions.import.error.csv"})
		return nil
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	var rows [][]string
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := len(rows) + 1
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			errs.add(LineError{Line: line, Key: "emissions.import.error.csv"})
			return nil
		}
		rows = append(rows, row)
		if len(rows) > maxRowsCSV+1 {
			errs.add(LineError{Line: len(rows), Key: "emissions.import.error.too_many", Want: strconv.Itoa(maxRowsCSV)})
			return nil
		}
	}
	if len(rows) == 0 {
		errs.add(LineError{Line: 1, Key: "emissions.import.error.empty"})
		return nil
	}
	ok := true
	for i, name := range want {
		got := ""
		if i < len(rows[0]) {
			got = strings.TrimSpace(rows[0][i])
		}
		if got != name {
			errs.add(LineError{Line: 1, Column: strconv.Itoa(i + 1), Value: got, Want: name, Key: "emissions.import.error.header"})
			ok = false
		}
	}
	if len(rows[0]) > len(want) {
		errs.add(LineError{Line: 1, Value: strconv.Itoa(len(rows[0])), Want: strconv.Itoa(len(want)), Key: "emissions.import.error.columns"})
		ok = false
	}
	if !ok {
		return nil
	}
	if len(rows) < 2 {
		errs.add(LineError{Line: 2, Key: "emissions.import.error.no_rows"})
		return nil
	}
	out := rows[1:]
	for n, row := range out {
		if len(row) != len(want) {
			errs.add(LineError{Line: n + 2, Value: strconv.Itoa(len(row)), Want: strconv.Itoa(len(want)), Key: "emissions.import.error.columns"})
		}
	}
	return out
}

// badTextAt is the offset of the first byte that is not UTF-8 text
// PostgreSQL stores (an invalid sequence or a NUL), -1 when none.
func badTextAt(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			return i
		}
		i += size
	}
	return -1
}

// number parses a figure of a line: a decimal with a point, within
// [min, max] (min excluded when positive is true).
func number(errs *lineErrors, line int, column, s string, positive bool, max float64) float64 {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || s == "" || strings.ContainsAny(s, "eEnNiI"):
		errs.add(LineError{Line: line, Column: column, Value: s, Key: "emissions.import.error.number"})
	case positive && v <= 0:
		errs.add(LineError{Line: line, Column: column, Value: s, Key: "emissions.import.error.positive"})
	case v < 0:
		errs.add(LineError{Line: line, Column: column, Value: s, Key: "emissions.import.error.negative"})
	case v > max:
		errs.add(LineError{Line: line, Column: column, Value: s, Want: strconv.FormatFloat(max, 'f', -1, 64),
			Key: "emissions.import.error.too_large"})
	default:
		return v
	}
	return 0
}

// kindID checks a category's or part's id, once per file.
func kindID(errs *lineErrors, line int, column, s string, seen map[string]bool) string {
	s = strings.TrimSpace(s)
	switch {
	case !kindRE.MatchString(s):
		errs.add(LineError{Line: line, Column: column, Value: s, Key: "emissions.import.error.id"})
	case seen[s]:
		errs.add(LineError{Line: line, Column: column, Value: s, Key: "emissions.import.error.repeated"})
	}
	seen[s] = true
	return s
}

func source(errs *lineErrors, line int, column, s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxSource {
		errs.add(LineError{Line: line, Column: column, Value: cutValue(s), Key: "emissions.import.error.source"})
	}
	return s
}

func cutValue(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// ParseCategoriesCSV reads a categories file (the columns of
// factors-fr-2025.csv). It returns the categories, or every problem found
// (up to MaxLineErrors) and no category.
func ParseCategoriesCSV(b []byte) ([]Category, []LineError) {
	var errs lineErrors
	rows := readCSV(b, factorColumns, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	seen := map[string]bool{}
	out := make([]Category, 0, len(rows))
	for n, row := range rows {
		line := n + 2
		if len(row) != len(factorColumns) {
			continue // reported by readCSV
		}
		c := Category{ID: kindID(&errs, line, "category", row[0], seen)}
		before := len(errs) // the range is checked on valid figures only
		c.CentralKg = number(&errs, line, "central_kg", row[1], false, maxKg)
		c.LowKg = number(&errs, line, "low_kg", row[2], false, maxKg)
		c.HighKg = number(&errs, line, "high_kg", row[3], false, maxKg)
		c.RefLifeYears = number(&errs, line, "ref_life_years", row[4], true, maxYears)
		c.SecondLifeYears = number(&errs, line, "second_life_years", row[5], false, maxYears)
		c.BaseRefurbKg = number(&errs, line, "base_refurb_kg", row[6], false, maxKg)
		c.TypicalWeightKg = number(&errs, line, "typical_weight_kg", row[7], true, maxWeight)
		c.Quality = strings.TrimSpace(row[8])
		if c.Quality != "A" && c.Quality != "B" && c.Quality != "C" && c.Quality != "D" {
			errs.add(LineError{Line: line, Column: "quality", Value: c.Quality, Key: "emissions.import.error.quality"})
		}
		c.Source = source(&errs, line, "source", row[9])
		if len(errs) == before && !(c.LowKg <= c.CentralKg && c.CentralKg <= c.HighKg) {
			errs.add(LineError{Line: line, Column: "central_kg", Value: row[1], Key: "emissions.import.error.range"})
		}
		out = append(out, c)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// ParsePartsCSV reads a parts file (the columns of parts-fr-2025.csv). The
// OtherPart kind may not be listed: it has no figure by definition.
func ParsePartsCSV(b []byte) ([]Part, []LineError) {
	var errs lineErrors
	rows := readCSV(b, partColumns, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	seen := map[string]bool{}
	out := make([]Part, 0, len(rows))
	for n, row := range rows {
		line := n + 2
		if len(row) != len(partColumns) {
			continue
		}
		p := Part{ID: kindID(&errs, line, "part", row[0], seen)}
		if p.ID == OtherPart {
			errs.add(LineError{Line: line, Column: "part", Value: p.ID, Key: "emissions.import.error.reserved"})
		}
		p.KgNew = number(&errs, line, "kg_new", row[1], true, maxKg)
		p.Source = source(&errs, line, "source", row[2])
		out = append(out, p)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}
