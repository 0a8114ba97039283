package postgres

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The cube's rows are decoded from their wire bytes; pgx asks for binary
// columns, but a connection in another exec mode (simple protocol) gets
// text, and both must read the same values.
func TestWireValues(t *testing.T) {
	ints := []struct {
		b      []byte
		format int16
		want   int64
	}{
		{[]byte{0, 0, 0, 0, 0, 0, 0x30, 0x39}, pgx.BinaryFormatCode, 12345},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, pgx.BinaryFormatCode, -2},
		{[]byte{0xff, 0xff, 0xff, 0xfd}, pgx.BinaryFormatCode, -3},
		{[]byte{0, 7}, pgx.BinaryFormatCode, 7},
		{[]byte("-73600"), pgx.TextFormatCode, -73600},
	}
	for _, c := range ints {
		if got, err := wireInt(c.b, c.format); err != nil || got != c.want {
			t.Errorf("wireInt(%v, %d) = %d, %v; want %d", c.b, c.format, got, err, c.want)
		}
	}
	for _, bad := range [][]byte{{1, 2, 3}, {}} {
		if _, err := wireInt(bad, pgx.BinaryFormatCode); err == nil {
			t.Errorf("wireInt(%v) took a malformed integer", bad)
		}
	}
	if _, err := wireInt([]byte("12a"), pgx.TextFormatCode); err == nil {
		t.Error("wireInt took malformed text")
	}

	dates := []struct {
		b      []byte
		format int16
		want   string
	}{
		{[]byte{0, 0, 0, 0}, pgx.BinaryFormatCode, "2000-01-01"},
		{[]byte{0, 0, 0x23, 0x13}, pgx.BinaryFormatCode, "2024-08-01"}, // 8979 days
		{[]byte{0xff, 0xff, 0xff, 0xff}, pgx.BinaryFormatCode, "1999-12-31"},
		{[]byte{0xff, 0xf4, 0xdb, 0xf9}, pgx.BinaryFormatCode, "0001-01-01"}, // -730119 days
		{[]byte("2026-09-01"), pgx.TextFormatCode, "2026-09-01"},
	}
	for _, c := range dates {
		got, err := wireDate(c.b, c.format)
		if err != nil || got.Format(time.DateOnly) != c.want || got.Location() != time.UTC {
			t.Errorf("wireDate(%v, %d) = %v, %v; want %s UTC", c.b, c.format, got, err, c.want)
		}
	}
	for _, bad := range [][]byte{{0x7f, 0xff, 0xff, 0xff}, {0x80, 0, 0, 0}, {0, 0}} {
		if _, err := wireDate(bad, pgx.BinaryFormatCode); err == nil {
			t.Errorf("wireDate(%v) took an infinite or malformed date", bad)
		}
	}
}

// A month range cut inside its years is read as the year rows minus the
// months outside when that reads fewer rows; the parts must cover exactly
// the range (TestObservatoryTotalsEqualNaive checks the sums).
// extentOf is a cube's extent as cubeExtent gives it.
func extentOf(first, last string) func() (string, string, error) {
	return func() (string, string, error) { return first, last, nil }
}

func TestMonthParts(t *testing.T) {
	type p = monthPart
	const m, y = 1, 1 | yearBit
	cases := []struct {
		from, to string
		want     []monthPart
		constant string
	}{
		{"2024-01", "2024-12", []p{{gset: y, from: "2024-01-01", to: "2024-01-01"}}, "2024-01-01"},
		{"2024-05", "2024-05", []p{{gset: m, from: "2024-05-01", to: "2024-05-01"}}, "2024-05-01"},
		// 10 months: the year minus January and February.
		{"2022-03", "2022-12", []p{{gset: m, from: "2022-01-01", to: "2022-02-01", neg: true},
			{gset: y, from: "2022-01-01", to: "2022-01-01"}}, ""},
		// 6 months: read as they are (the year would read 7 rows).
		{"2022-07", "2023-12", []p{{gset: m, from: "2022-07-01", to: "2022-12-01"},
			{gset: y, from: "2023-01-01", to: "2023-01-01"}}, ""},
		{"2022-03", "2026-09", []p{{gset: m, from: "2022-01-01", to: "2022-02-01", neg: true},
			{gset: y, from: "2022-01-01", to: "2026-01-01"},
			{gset: m, from: "2026-10-01", to: "2026-12-01", neg: true}}, ""},
		{"2022-07", "2026-06", []p{{gset: m, from: "2022-07-01", to: "2022-12-01"},
			{gset: y, from: "2023-01-01", to: "2025-01-01"}, {gset: m, from: "2026-01-01", to: "2026-06-01"}}, ""},
		// Inside one year, cut at both ends.
		{"2024-02", "2024-11", []p{{gset: m, from: "2024-01-01", to: "2024-01-01", neg: true},
			{gset: y, from: "2024-01-01", to: "2024-01-01"}, {gset: m, from: "2024-12-01", to: "2024-12-01", neg: true}}, ""},
		{"2024-03", "2024-06", []p{{gset: m, from: "2024-03-01", to: "2024-06-01"}}, ""},
		// Two years, no whole one.
		{"2023-11", "2024-02", []p{{gset: m, from: "2023-11-01", to: "2023-12-01"},
			{gset: m, from: "2024-01-01", to: "2024-02-01"}}, ""},
		// Open ends.
		{"", "2025-09", []p{{gset: y, from: "0001-01-01", to: "2025-01-01"},
			{gset: m, from: "2025-10-01", to: "2025-12-01", neg: true}}, ""},
		{"2021-04", "", []p{{gset: m, from: "2021-01-01", to: "2021-03-01", neg: true},
			{gset: y, from: "2021-01-01", to: "9999-01-01"}}, ""},
	}
	for _, c := range cases {
		// An empty cube: nothing to weigh, the range as it is.
		got, constant, err := TotalsQuery{From: c.from, To: c.to}.monthParts(m, extentOf("", ""))
		if err != nil || !slices.Equal(got, c.want) || constant != c.constant {
			t.Errorf("monthParts(%q..%q) = %+v, %q; want %+v, %q", c.from, c.to, got, constant, c.want, c.constant)
		}
	}

	// A cube of 2022-01..2026-11: the complement (the cuboid without the
	// month, 0, minus the months outside) where it reads fewer rows.
	const all = 0
	withExtent := []struct {
		from, to string
		want     []monthPart
		constant string
	}{
		// 5 rows a group instead of 2 + 5 + 2.
		{"2022-03", "2026-09", []p{{gset: all}, {gset: m, from: "2022-01-01", to: "2022-02-01", neg: true},
			{gset: m, from: "2026-10-01", to: "2026-11-01", neg: true}}, ""},
		// Everything from the cube's first month: one row a group, exact.
		{"2022-01", "", []p{{gset: all}}, "0001-01-01"},
		{"2021-06", "2027-02", []p{{gset: all}}, "0001-01-01"},
		// Before the cube's last month: all minus the months after.
		{"", "2026-08", []p{{gset: all}, {gset: m, from: "2026-09-01", to: "2026-11-01", neg: true}}, ""},
		// A tie (3 years, or all minus 2022 and 2026): the years.
		{"2023-01", "2025-12", []p{{gset: y, from: "2023-01-01", to: "2025-01-01"}}, ""},
		// One whole year, one month, a few months: as they are.
		{"2024-01", "2024-12", []p{{gset: y, from: "2024-01-01", to: "2024-01-01"}}, "2024-01-01"},
		{"2024-05", "2024-05", []p{{gset: m, from: "2024-05-01", to: "2024-05-01"}}, "2024-05-01"},
		{"2024-03", "2024-06", []p{{gset: m, from: "2024-03-01", to: "2024-06-01"}}, ""},
		// Outside the cube: nothing to read either way, the range as it is.
		{"2019-01", "2019-06", []p{{gset: m, from: "2019-01-01", to: "2019-06-01"}}, ""},
	}
	for _, c := range withExtent {
		got, constant, err := TotalsQuery{From: c.from, To: c.to}.monthParts(m, extentOf("2022-01", "2026-11"))
		if err != nil || !slices.Equal(got, c.want) || constant != c.constant {
			t.Errorf("monthParts(%q..%q) over 2022-01..2026-11 = %+v, %q; want %+v, %q", c.from, c.to, got, constant,
				c.want, c.constant)
		}
	}
	// Grouped by month: the range as it is, whatever the cube.
	asked := false
	got, constant, err := TotalsQuery{From: "2022-03", To: "2026-09", GroupBy: []TotalsDim{DimMonth}}.monthParts(m,
		func() (string, string, error) { asked = true; return "2022-01", "2026-11", nil })
	if err != nil || asked || !slices.Equal(got, []monthPart{{gset: m, from: "2022-03-01", to: "2026-09-01"}}) || constant != "" {
		t.Errorf("grouped by month: %+v, %q", got, constant)
	}
	// One whole year: exact already, the extent not asked for.
	if _, _, err := (TotalsQuery{From: "2024-01", To: "2024-12"}).monthParts(m, func() (string, string, error) {
		return "", "", errors.New("asked")
	}); err != nil {
		t.Errorf("one year: %v", err)
	}
	if _, _, err := (TotalsQuery{From: "2022-03", To: "2026-09"}).monthParts(m, func() (string, string, error) {
		return "", "", errors.New("asked")
	}); err == nil || err.Error() != "asked" {
		t.Errorf("the extent's error: %v", err)
	}
	if monthBefore("2022-01") != "2021-12" || monthAfter("2026-12") != "2027-01" || monthAfter("2026-09") != "2026-10" {
		t.Errorf("monthBefore, monthAfter: %s %s %s", monthBefore("2022-01"), monthAfter("2026-12"), monthAfter("2026-09"))
	}
}
