package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Reading the totals: the sum over a source's rows, grouped and sorted.
// The naive query has millions of facts per answer, so the database sums
// them; a cuboid that keeps exactly the dimensions grouped or filtered on
// has one row per group, factor set and method version already, so its
// rows come as they are and are summed here — a hash aggregate of numeric
// sums cost more than the read itself for a few thousand groups (it spilled
// to disk for month × commune).

// exactMask is the set of dimensions whose cuboid has at most one row per
// answer group, set and method version: the grouped ones, and those
// filtered on one value (a month range spans several rows).
func (q TotalsQuery) exactMask() int {
	m := 0
	for d, v := range map[TotalsDim]string{DimCategory: q.Category, DimDonorKind: q.DonorKind,
		DimBeneficiaryKind: q.BeneficiaryKind, DimCommune: q.Commune} {
		if v != "" {
			m |= d.bit()
		}
	}
	for _, d := range q.GroupBy {
		m |= d.bit()
	}
	return m
}

// mvResults counts one method version's results in a group.
type mvResults struct {
	mv string
	n  int64
}

// totals runs the sum over the rows source(where) gives; the filter's
// arguments are repeated once per use of where. preSum has the database
// sum each group and method version first.
func (db *DB) totals(ctx context.Context, q TotalsQuery, source func(where string) string, uses int, preSum bool) (Totals, error) {
	set, version, err := db.factorSetOf(ctx, q.FactorSet)
	if err != nil {
		return Totals{}, err
	}
	where, wargs := q.where(set)
	var args []any
	for range uses {
		args = append(args, wargs...)
	}
	keys := make([]string, 0, len(q.GroupBy)+1)
	for _, d := range q.GroupBy {
		keys = append(keys, string(d))
	}
	keys = append(keys, "method_version")
	// The cube's figures are sums of numeric(.., 3): already at three
	// decimals, so no round() (it cost a numeric operation per value).
	sql := `SELECT ` + strings.Join(keys, ", ") + `, received, refurbished, delivered, recycled, dismantled,
			diverted_kg::float8, net_kg::float8, low_kg::float8, high_kg::float8, gross_kg::float8, results
		FROM (` + source(where) + `) t`
	if preSum {
		sql = `SELECT ` + strings.Join(keys, ", ") + `, sum(received)::bigint, sum(refurbished)::bigint, sum(delivered)::bigint,
			sum(recycled)::bigint, sum(dismantled)::bigint, round(sum(diverted_kg), 3)::float8,
			round(sum(net_kg), 3)::float8, round(sum(low_kg), 3)::float8, round(sum(high_kg), 3)::float8,
			round(sum(gross_kg), 3)::float8, sum(results)::bigint
		FROM (` + source(where) + `) t GROUP BY ` + strings.Join(keys, ", ")
	}
	out := Totals{FactorSet: set, FactorSetVersion: version, GroupBy: q.GroupBy, MethodVersions: []string{}}
	if out.GroupBy == nil {
		out.GroupBy = []TotalsDim{}
	}
	// pgx itself, not database/sql: binary columns scanned into typed
	// fields, without database/sql's conversion by reflection of each of
	// the thousands of rows × 13 columns.
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return Totals{}, fmt.Errorf("observatory totals: %w", err)
	}
	defer conn.Close()
	var rowKey []string
	err = conn.Raw(func(dc any) error {
		rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, numberParams(sql), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		rowKey, err = sumRows(rows, q.GroupBy, &out)
		return err
	})
	if err != nil {
		return Totals{}, fmt.Errorf("observatory totals: %w", err)
	}
	return finish(out, rowKey), nil
}

// numberParams turns the ? placeholders (the totals' SQL has no other ?)
// into pgx's $1, $2, ...
func numberParams(sql string) string {
	var b strings.Builder
	n := 0
	for _, c := range sql {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// sumRows sums the rows into out.Rows by group and returns each row's key.
func sumRows(rows pgx.Rows, groupBy []TotalsDim, out *Totals) ([]string, error) {
	var (
		r      TotalsRow
		mv     string
		kb     []byte
		byKey  = map[string]int{}
		rowKey []string      // each row's key, for the sort
		mvs    [][]mvResults // each row's results by method version
	)
	// The month comes as a date (to_char cost the database more than
	// the read), formatted here once per distinct month.
	var month time.Time
	months := map[time.Time]string{}
	dest := make([]any, 0, len(groupBy)+12)
	for _, d := range groupBy {
		if d == DimMonth {
			dest = append(dest, &month)
		} else {
			dest = append(dest, r.field(d))
		}
	}
	dest = append(dest, &mv, &r.Received, &r.Refurbished, &r.Delivered, &r.Recycled, &r.Dismantled, &r.DivertedKg,
		&r.NetKg, &r.LowKg, &r.HighKg, &r.GrossKg, &r.Results)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if slices.Contains(groupBy, DimMonth) {
			m, ok := months[month]
			if !ok {
				m = month.Format("2006-01")
				months[month] = m
			}
			r.Month = m
		}
		kb = r.appendKey(kb[:0], groupBy)
		i, ok := byKey[string(kb)]
		if !ok {
			i = len(out.Rows)
			k := string(kb)
			byKey[k] = i
			rowKey = append(rowKey, k)
			mvs = append(mvs, nil)
			out.Rows = append(out.Rows, TotalsRow{Month: r.Month, Category: r.Category, DonorKind: r.DonorKind,
				BeneficiaryKind: r.BeneficiaryKind, Commune: r.Commune, MethodVersions: []string{}})
		}
		out.Rows[i].add(r)
		if mv != "" {
			mvs[i] = addResults(mvs[i], mv, r.Results)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// A method version is met where its results do not cancel out.
	for i := range out.Rows {
		for _, m := range mvs[i] {
			if m.n != 0 {
				out.Rows[i].MethodVersions = append(out.Rows[i].MethodVersions, m.mv)
			}
		}
	}
	return rowKey, nil
}

func addResults(ms []mvResults, mv string, n int64) []mvResults {
	for i := range ms {
		if ms[i].mv == mv {
			ms[i].n += n
			return ms
		}
	}
	return append(ms, mvResults{mv, n})
}

func (r *TotalsRow) field(d TotalsDim) *string {
	switch d {
	case DimMonth:
		return &r.Month
	case DimCategory:
		return &r.Category
	case DimDonorKind:
		return &r.DonorKind
	case DimBeneficiaryKind:
		return &r.BeneficiaryKind
	}
	return &r.Commune
}

// appendKey appends the row's group key: its keys in the grouping's order,
// each ended by a NUL (sorting keys sorts the rows).
func (r *TotalsRow) appendKey(b []byte, dims []TotalsDim) []byte {
	for _, d := range dims {
		b = append(append(b, *r.field(d)...), 0)
	}
	return b
}

// add sums a part of the group into the row.
func (r *TotalsRow) add(p TotalsRow) {
	r.Received += p.Received
	r.Refurbished += p.Refurbished
	r.Delivered += p.Delivered
	r.Recycled += p.Recycled
	r.Dismantled += p.Dismantled
	r.DivertedKg = round3(r.DivertedKg + p.DivertedKg)
	r.NetKg = round3(r.NetKg + p.NetKg)
	r.LowKg = round3(r.LowKg + p.LowKg)
	r.HighKg = round3(r.HighKg + p.HighKg)
	r.GrossKg = round3(r.GrossKg + p.GrossKg)
	r.Results += p.Results
}

// round3 keeps sums of numeric(.., 3) figures at their three decimals: the
// float nearest each exact sum, as the database's round(sum, 3)::float8.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// empty reports whether a row counts nothing: a group whose facts were all
// removed again (the cube keeps such rows; the base tables have none).
func (r TotalsRow) empty() bool {
	return r.Received == 0 && r.Refurbished == 0 && r.Delivered == 0 && r.Recycled == 0 && r.Dismantled == 0 &&
		r.Results == 0
}

// finish drops empty groups, sorts rows (by their keys, computed once) and
// method versions, and gives an ungrouped answer its one row.
func finish(t Totals, keys []string) Totals {
	idx := make([]int, 0, len(t.Rows))
	for i := range t.Rows {
		r := &t.Rows[i]
		if r.empty() {
			continue
		}
		slices.Sort(r.MethodVersions)
		for _, mv := range r.MethodVersions {
			if !slices.Contains(t.MethodVersions, mv) {
				t.MethodVersions = append(t.MethodVersions, mv)
			}
		}
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	slices.Sort(t.MethodVersions)
	rows := make([]TotalsRow, 0, max(len(idx), 1))
	for _, i := range idx {
		rows = append(rows, t.Rows[i])
	}
	if len(t.GroupBy) == 0 && len(rows) == 0 {
		rows = append(rows, TotalsRow{MethodVersions: []string{}})
	}
	t.Rows = rows
	return t
}
