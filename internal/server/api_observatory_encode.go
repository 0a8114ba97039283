package server

import (
	"bufio"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// Writing the totals. An answer can have thousands of rows (month ×
// commune: 8,655), and encoding/json's reflection over them cost about as
// much as reading them, so rows are appended with strconv into one buffer
// per row and written through a buffered writer. The bytes are exactly
// what json.Encoder (c.JSON) and encoding/csv wrote: the tests compare.

// writeTotalsJSON writes t as json.NewEncoder(w).Encode(t) would.
func writeTotalsJSON(c *echo.Context, t postgres.Totals) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	c.Response().WriteHeader(http.StatusOK)
	w := bufio.NewWriterSize(c.Response(), 32<<10)
	b := make([]byte, 0, 512)
	b = append(b, `{"factor_set":`...)
	b = appendJSONString(b, t.FactorSet)
	b = append(b, `,"factor_set_version":`...)
	b = appendJSONString(b, t.FactorSetVersion)
	b = append(b, `,"method_versions":`...)
	b = appendJSONStrings(b, t.MethodVersions)
	b = append(b, `,"group_by":`...)
	if t.GroupBy == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, d := range t.GroupBy {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, string(d))
		}
		b = append(b, ']')
	}
	b = append(b, `,"rows":`...)
	if t.Rows == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range t.Rows {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTotalsRowJSON(b, r)
			if len(b) > 16<<10 {
				if _, err := w.Write(b); err != nil {
					return err
				}
				b = b[:0]
			}
		}
		b = append(b, ']')
	}
	if t.NextCursor != "" {
		b = append(b, `,"next":`...)
		b = appendJSONString(b, t.NextCursor)
	}
	b = append(b, "}\n"...)
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.Flush()
}

// appendTotalsRowJSON follows TotalsRow's json tags: the keys omitempty.
func appendTotalsRowJSON(b []byte, r postgres.TotalsRow) []byte {
	b = append(b, '{')
	for _, kv := range [...]struct{ name, v string }{{"month", r.Month}, {"category", r.Category},
		{"donor_kind", r.DonorKind}, {"beneficiary_kind", r.BeneficiaryKind}, {"commune", r.Commune}} {
		if kv.v != "" {
			b = append(append(append(b, '"'), kv.name...), `":`...)
			b = append(appendJSONString(b, kv.v), ',')
		}
	}
	b = strconv.AppendInt(append(b, `"received":`...), r.Received, 10)
	b = strconv.AppendInt(append(b, `,"refurbished":`...), r.Refurbished, 10)
	b = strconv.AppendInt(append(b, `,"delivered":`...), r.Delivered, 10)
	b = strconv.AppendInt(append(b, `,"recycled":`...), r.Recycled, 10)
	b = strconv.AppendInt(append(b, `,"dismantled":`...), r.Dismantled, 10)
	b = appendKg(append(b, `,"diverted_kg":`...), r.DivertedKg)
	b = appendKg(append(b, `,"co2e_net_kg":`...), r.NetKg)
	b = appendKg(append(b, `,"co2e_low_kg":`...), r.LowKg)
	b = appendKg(append(b, `,"co2e_high_kg":`...), r.HighKg)
	b = appendKg(append(b, `,"co2e_gross_kg":`...), r.GrossKg)
	b = strconv.AppendInt(append(b, `,"results":`...), r.Results, 10)
	b = appendJSONStrings(append(b, `,"method_versions":`...), r.MethodVersions)
	return append(b, '}')
}

func appendJSONStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONString appends s quoted; anything encoding/json would escape
// (controls, quotes, backslashes, <, >, &, invalid UTF-8, U+2028/9) goes
// through json.Marshal itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// appendKg appends f as strconv.AppendFloat(b, f, 'f', -1, 64) does —
// which is also encoding/json's form between 1e-6 and 1e21 — quicker for
// a figure at three decimals (every total in kilograms): when f is the
// float nearest n/1000 and |f| < 1e12 (floats there are closer than
// 0.001), the shortest decimal that reads back as f is n/1000 itself,
// written without trailing zeros.
func appendKg(b []byte, f float64) []byte {
	if f != 0 && f > -1e12 && f < 1e12 {
		if m := math.Round(f * 1000); m/1000 == f {
			n := int64(m)
			if n < 0 {
				b, n = append(b, '-'), -n
			}
			b = strconv.AppendInt(b, n/1000, 10)
			switch frac := n % 1000; {
			case frac == 0:
			case frac%100 == 0:
				b = append(b, '.', byte('0'+frac/100))
			case frac%10 == 0:
				b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10))
			default:
				b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
			}
			return b
		}
	}
	return appendJSONFloat(b, f)
}

// appendJSONFloat formats f as encoding/json does: shortest 'f' form,
// exponent form below 1e-6 and from 1e21, with a one-digit negative
// exponent written e-7, not e-07. (NaN and infinities cannot come from
// numeric sums.)
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// writeTotalsCSV writes t as encoding/csv wrote it: a header, then one
// record per row.
func writeTotalsCSV(c *echo.Context, t postgres.Totals) error {
	startCSV(c, "berriz-observatory-totals.csv")
	w := bufio.NewWriterSize(c.Response(), 32<<10)
	b := make([]byte, 0, 512)
	for _, d := range t.GroupBy {
		b = append(appendCSVField(b, string(d)), ',')
	}
	b = append(b, "factor_set,factor_set_version,method_versions,received,refurbished,delivered,recycled,dismantled,"+
		"diverted_kg,co2e_net_kg,co2e_low_kg,co2e_high_kg,co2e_gross_kg,results\n"...)
	// The set and its version are the same on every row.
	set := appendCSVField(append(appendCSVField(nil, t.FactorSet), ','), t.FactorSetVersion)
	var mvs []byte
	for _, r := range t.Rows {
		for _, d := range t.GroupBy {
			b = append(appendCSVField(b, rowKey(r, d)), ',')
		}
		b = append(append(b, set...), ',')
		mvs = mvs[:0]
		for i, mv := range r.MethodVersions {
			if i > 0 {
				mvs = append(mvs, ' ')
			}
			mvs = append(mvs, mv...)
		}
		b = append(appendCSVField(b, string(mvs)), ',')
		b = append(strconv.AppendInt(b, r.Received, 10), ',')
		b = append(strconv.AppendInt(b, r.Refurbished, 10), ',')
		b = append(strconv.AppendInt(b, r.Delivered, 10), ',')
		b = append(strconv.AppendInt(b, r.Recycled, 10), ',')
		b = append(strconv.AppendInt(b, r.Dismantled, 10), ',')
		for _, f := range [...]float64{r.DivertedKg, r.NetKg, r.LowKg, r.HighKg, r.GrossKg} {
			if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
				b = strconv.AppendFloat(b, f, 'f', -1, 64) // where JSON's form differs
			} else {
				b = appendKg(b, f)
			}
			b = append(b, ',')
		}
		b = append(strconv.AppendInt(b, r.Results, 10), '\n')
		if len(b) > 16<<10 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.Flush()
}

// appendCSVField appends s as csv.Writer (comma ',', no CRLF) writes a
// field: quoted, its quotes doubled, when it holds a comma, a quote, a
// line break, starts with a space or a tab, or is `\.`.
func appendCSVField(b []byte, s string) []byte {
	if !csvNeedsQuotes(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func csvNeedsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s == `\.` {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\r' || c == '\n' {
			return true
		}
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}
