package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reading the totals, one page at a time.
//
// Rows come in the cube's key order: commune, month, category, donor kind,
// beneficiary kind — those grouped by — whatever the order of the
// grouping asked (a cursor is then a position in the cuboid's primary key).
// The cube keeps every combination of dimensions, so the cuboid a query
// reads keeps exactly the dimensions it groups or filters by: its rows are
// one per group, factor set and method version, in key order, and a page
// is a range of the primary key. Only a month range without grouping by
// month spans several rows of a group: then the rows of one commune (when
// grouped by commune) or of the whole cuboid are summed together.
//
// Everything is read in one repeatable-read snapshot (the cuboid's rows,
// in batches, and the pending deltas), so a fold between two statements
// neither counts a delta twice nor loses it. Kilograms are integer grams:
// the cube keeps them so (migrations/00022), the deltas' numeric sums (three
// decimals) are converted; exact sums in Go, rows decoded from their wire
// bytes (rowDecoder).

// cubeBatch is how many cube rows one statement reads, and pageRows how
// many a page reads before it ends when it sums several rows per group by
// commune (a month range over a cuboid grouped by commune): it then ends
// at the first commune's (or window's) end past that many rows, with fewer
// groups than its limit. Such a page costs about 10 µs a row read at a
// million devices, where an exact page reads a row or two per group
// (docs/benchmarks.md): 1,024 rows keep it near an exact page of 1,000
// groups; the whole answer takes as long in more pages. Variables for the
// tests, which read a few rows at a time.
var (
	cubeBatch = 4096
	pageRows  = 1024
)

// keyOrder is the cube's key order of the dimensions (TotalsDims indexes):
// commune, month, category, donor kind, beneficiary kind.
var keyOrder = [5]int{4, 0, 1, 2, 3}

// keyDims returns the grouped dimensions in key order.
func (q TotalsQuery) keyDims() []TotalsDim {
	out := make([]TotalsDim, 0, len(q.GroupBy))
	for _, i := range keyOrder {
		if slices.Contains(q.GroupBy, TotalsDims[i]) {
			out = append(out, TotalsDims[i])
		}
	}
	return out
}

// exactMask is the set of dimensions whose cuboid has at most one row per
// answer group, set and method version: needMask but the month, unless
// grouped by or filtered on one month.
func (q TotalsQuery) exactMask() int {
	m := q.needMask() &^ DimMonth.bit()
	if slices.Contains(q.GroupBy, DimMonth) || q.From != "" && q.From == q.To {
		m |= DimMonth.bit()
	}
	return m
}

// measures are a fact row's figures, kilograms in thousandths.
type measures struct {
	received, refurbished, delivered, recycled, dismantled int64
	milli                                                  [5]int64 // diverted, net, low, high, gross
	results                                                int64
}

func (m *measures) add(p *measures) {
	m.received += p.received
	m.refurbished += p.refurbished
	m.delivered += p.delivered
	m.recycled += p.recycled
	m.dismantled += p.dismantled
	for i := range m.milli {
		m.milli[i] += p.milli[i]
	}
	m.results += p.results
}

// empty reports whether a group counts nothing: one whose facts were all
// removed again (the cube keeps such rows; the base tables have none), or
// whose months read were all taken away again (a partial year).
func (m *measures) empty() bool {
	return m.received == 0 && m.refurbished == 0 && m.delivered == 0 && m.recycled == 0 && m.dismantled == 0 &&
		m.results == 0
}

// factRow is one row read: its dimensions (month as YYYY-MM), factor set,
// method version and figures.
type factRow struct {
	dims     [5]string // in TotalsDims order
	month    time.Time
	set, mv  string
	measures measures
}

// scanDest returns the destinations of a row selected as factCols.
func (r *factRow) scanDest() []any {
	m := &r.measures
	return []any{&r.dims[4], &r.month, &r.dims[1], &r.dims[2], &r.dims[3], &r.set, &r.mv,
		&m.received, &m.refurbished, &m.delivered, &m.recycled, &m.dismantled,
		&m.milli[0], &m.milli[1], &m.milli[2], &m.milli[3], &m.milli[4], &m.results}
}

// factCols selects the deltas' rows in key order for scanDest or a
// rowDecoder, and cubeFactCols the cube's (whose kilograms are grams).
const (
	factCols = `commune, month, category, donor_kind, beneficiary_kind, set_id, method_version,
	received, refurbished, delivered, recycled, dismantled, (diverted_kg * 1000)::int8, (net_kg * 1000)::int8,
	(low_kg * 1000)::int8, (high_kg * 1000)::int8, (gross_kg * 1000)::int8, results`
	cubeFactCols = `commune, month, category, donor_kind, beneficiary_kind, set_id, method_version,
	received, refurbished, delivered, recycled, dismantled, diverted_g, net_g, low_g, high_g, gross_g, results`
)

// cubeNegFactCols selects a cube row as cubeFactCols, its figures negated
// (a part taken away), named as cubeFactCols's.
const cubeNegFactCols = `commune, month, category, donor_kind, beneficiary_kind, set_id, method_version,
	-received AS received, -refurbished AS refurbished, -delivered AS delivered, -recycled AS recycled,
	-dismantled AS dismantled, -diverted_g AS diverted_g, -net_g AS net_g, -low_g AS low_g, -high_g AS high_g,
	-gross_g AS gross_g, -results AS results`

const cubeKeyCols = `commune, month, category, donor_kind, beneficiary_kind`

// totalsGroup is one answer row being summed.
type totalsGroup struct {
	key  string // the grouped dimensions' values in key order, each ended by a NUL
	dims [5]string
	measures
	mvs []mvResults
}

// mvResults counts one method version's results in a group.
type mvResults struct {
	mv string
	n  int64
}

func (g *totalsGroup) add(r *factRow) {
	g.measures.add(&r.measures)
	if r.mv == "" {
		return
	}
	for i := range g.mvs {
		if g.mvs[i].mv == r.mv {
			g.mvs[i].n += r.measures.results
			return
		}
	}
	g.mvs = append(g.mvs, mvResults{r.mv, r.measures.results})
}

// row is the answer row of g, with the grouped dimensions of dims.
func (g *totalsGroup) row(dims []TotalsDim) TotalsRow {
	r := TotalsRow{Received: g.received, Refurbished: g.refurbished, Delivered: g.delivered, Recycled: g.recycled,
		Dismantled: g.dismantled, DivertedKg: kg(g.milli[0]), NetKg: kg(g.milli[1]), LowKg: kg(g.milli[2]),
		HighKg: kg(g.milli[3]), GrossKg: kg(g.milli[4]), Results: g.results, MethodVersions: []string{}}
	for _, d := range dims {
		*r.field(d) = g.dims[slices.Index(TotalsDims, d)]
	}
	// A method version is met where its results do not cancel out.
	for _, m := range g.mvs {
		if m.n != 0 {
			r.MethodVersions = append(r.MethodVersions, m.mv)
		}
	}
	slices.Sort(r.MethodVersions)
	return r
}

// kg converts thousandths to kilograms: the float nearest the exact value.
func kg(milli int64) float64 { return float64(milli) / 1000 }

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

// grouper sums rows into groups keyed by the grouped dimensions.
type grouper struct {
	dims   []TotalsDim // grouped, in key order
	idx    []int       // their TotalsDims indexes
	after  string      // the cursor's key: groups up to it are skipped
	cursor bool        // whether there is a cursor
	months map[time.Time]string
	kb     []byte
}

func newGrouper(q TotalsQuery) *grouper {
	g := &grouper{dims: q.keyDims(), months: map[time.Time]string{}}
	for _, d := range g.dims {
		g.idx = append(g.idx, slices.Index(TotalsDims, d))
	}
	if q.After != nil {
		g.after, g.cursor = joinKey(q.After), true
	}
	return g
}

// past reports whether a group comes after the cursor.
func (g *grouper) past(key []byte) bool { return !g.cursor || string(key) > g.after }

// joinKey is the group key of values in key order.
func joinKey(values []string) string {
	var b strings.Builder
	for _, v := range values {
		b.WriteString(v)
		b.WriteByte(0)
	}
	return b.String()
}

// key computes r's month text and group key (valid until the next call).
func (g *grouper) key(r *factRow) []byte {
	m, ok := g.months[r.month]
	if !ok {
		m = r.month.Format("2006-01")
		g.months[r.month] = m
	}
	r.dims[0] = m
	g.kb = g.kb[:0]
	for _, i := range g.idx {
		g.kb = append(append(g.kb, r.dims[i]...), 0)
	}
	return g.kb
}

// chunk sums rows into groups until sealed, in key order.
type chunk struct {
	byKey  map[string]*totalsGroup
	groups []*totalsGroup
}

func (c *chunk) add(key []byte, r *factRow) {
	if c.byKey == nil {
		c.byKey = map[string]*totalsGroup{}
	}
	gr, ok := c.byKey[string(key)]
	if !ok {
		gr = &totalsGroup{key: string(key), dims: r.dims}
		c.byKey[gr.key] = gr
		c.groups = append(c.groups, gr)
	}
	gr.add(r)
}

// seal returns the chunk's groups in key order and empties it.
func (c *chunk) seal() []*totalsGroup {
	out := c.groups
	slices.SortFunc(out, func(a, b *totalsGroup) int { return strings.Compare(a.key, b.key) })
	c.byKey, c.groups = nil, nil
	return out
}

// page keeps the groups of one page out of the sorted candidates: at most
// limit non-empty groups (all when limit is 0), and the key of the last
// group consumed when more may follow (more: the source was not read to
// its end).
func page(cands []*totalsGroup, limit int, more bool) (kept []*totalsGroup, next string, hasNext bool) {
	last := ""
	for _, g := range cands {
		if limit > 0 && len(kept) == limit {
			return kept, last, true
		}
		last = g.key
		if !g.measures.empty() {
			kept = append(kept, g)
		}
	}
	return kept, last, more
}

// ObservatoryTotals answers q from the maintained cube: the cuboid that
// keeps every dimension q filters or groups by, plus the deltas not folded
// yet, in one snapshot (exact). While a rare change has left the cube
// stale, it answers from the base tables.
func (db *DB) ObservatoryTotals(ctx context.Context, q TotalsQuery) (Totals, error) {
	if err := q.Validate(); err != nil {
		return Totals{}, err
	}
	var out Totals
	stale := false
	err := db.withPgx(ctx, func(conn *pgx.Conn) error {
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		var set, version *string
		if err := tx.QueryRow(ctx, `SELECT s.stale_gen > s.clean_gen, f.id, f.version FROM observatory_state s
				LEFT JOIN factor_sets f ON CASE WHEN $1 = '' THEN f.active ELSE f.id = $1 END`, q.FactorSet).
			Scan(&stale, &set, &version); err != nil {
			return err
		}
		if stale {
			return nil
		}
		if set == nil {
			return factorSetMissing(q.FactorSet, pgx.ErrNoRows)
		}
		out, err = cubeTotals(ctx, tx, q, *set, *version)
		return err
	})
	if err != nil {
		return Totals{}, fmt.Errorf("observatory totals: %w", err)
	}
	if stale {
		return db.ObservatoryTotalsNaive(ctx, q)
	}
	return out, nil
}

// withPgx runs fn on one connection of the pool through pgx itself: binary
// columns scanned into typed fields, without database/sql's conversion by
// reflection of each of thousands of rows × 18 columns.
func (db *DB) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return fn(c.Conn())
}

// yearBit marks the cuboids of years: their month column holds January 1st
// of a year and their rows sum that year's months (gset = the month
// cuboid's bits | yearBit).
const yearBit = 32

// monthPart is a part of the cube a query reads: a cuboid's rows with their
// month column between two dates (inclusive, YYYY-MM-DD), added to the
// answer or, neg, taken from it.
type monthPart struct {
	gset     int
	from, to string
	neg      bool
}

// selectSQL selects the part's rows as cubeFactCols (negated when neg)
// where the condition holds, its months' range added (arguments through
// arg), for a statement to go on with more conditions.
func (p monthPart) selectSQL(where string, arg func(any) string) string {
	cols := cubeFactCols
	if p.neg {
		cols = cubeNegFactCols
	}
	if p.gset&DimCommune.bit() == 0 {
		// The cuboid's constant, for the index (gset, commune, month, …)
		// to range over the months rather than filter the whole cuboid.
		where += " AND commune = ''"
	}
	if p.from != "" {
		where += " AND month BETWEEN " + arg(p.from) + "::date AND " + arg(p.to) + "::date"
	}
	return `SELECT ` + cols + ` FROM observatory_totals WHERE gset = ` + strconv.Itoa(p.gset) + ` AND ` + where
}

// noMonth is the month column of the cuboids without the month.
const noMonth = "0001-01-01"

// monthParts splits q's reading of cuboid gset (which keeps the month)
// when q has a month range without grouping by month (rangeParts), or reads
// the cuboid without the month minus the cube's months outside the range
// when that reads fewer rows per group: extent gives the cube's first and
// last months ("YYYY-MM", "" for an empty cube; cubeExtent), asked only
// when the range is more than one row per group, so 2022-03..2026-09 over
// 2022-01..2026-11 reads all the months once minus 2022-01..02 and
// 2026-10..11 (5 rows a group) rather than the years 2022 to 2026 minus
// the same months and December (9 within the cube). constMonth is the
// month column's one value when the parts read one row per group (exact),
// else "".
func (q TotalsQuery) monthParts(gset int, extent func() (first, last string, err error)) (parts []monthPart, constMonth string,
	err error) {
	from, to := q.From, q.To
	if from == "" {
		from = "0001-01"
	}
	if to == "" {
		to = "9999-12"
	}
	if from != to && slices.Contains(q.GroupBy, DimMonth) || from > to {
		return []monthPart{{gset: gset, from: from + "-01", to: to + "-01"}}, "", nil
	}
	parts, constMonth = rangeParts(gset, from, to)
	if constMonth != "" {
		// One month or one year: one row per group already.
		return parts, constMonth, nil
	}
	first, last, err := extent()
	if err != nil || first == "" {
		return parts, constMonth, err
	}
	// The complement: all months, minus those of the cube before and
	// after the range, each read as rangeParts would, negated.
	all := []monthPart{{gset: gset &^ DimMonth.bit()}}
	if first < from {
		before, _ := rangeParts(gset, first, monthBefore(from))
		all = append(all, negated(before)...)
	}
	if to < last {
		after, _ := rangeParts(gset, monthAfter(to), last)
		all = append(all, negated(after)...)
	}
	if partsCost(all, first, last) >= partsCost(parts, first, last) {
		return parts, constMonth, nil
	}
	if len(all) == 1 {
		return all, noMonth, nil
	}
	return all, "", nil
}

// partsCost is the rows a group has at most in parts, within the cube's
// months first..last: a row per month or year of a part, one for the
// cuboid without the month.
func partsCost(parts []monthPart, first, last string) int {
	n := 0
	for _, p := range parts {
		switch {
		case p.from == "":
			n++
		case p.gset&yearBit != 0:
			n += max(0, min(atoi(p.to[:4]), atoi(last[:4]))-max(atoi(p.from[:4]), atoi(first[:4]))+1)
		default:
			n += max(0, min(monthIndex(p.to[:7]), monthIndex(last))-max(monthIndex(p.from[:7]), monthIndex(first))+1)
		}
	}
	return n
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// monthIndex numbers the months "YYYY-MM" in order.
func monthIndex(m string) int { return atoi(m[:4])*12 + atoi(m[5:7]) - 1 }

func monthOf(i int) string { return fmt.Sprintf("%04d-%02d", i/12, i%12+1) }

func monthBefore(m string) string { return monthOf(monthIndex(m) - 1) }
func monthAfter(m string) string  { return monthOf(monthIndex(m) + 1) }

// negated is parts taken away instead of added (and the other way).
func negated(parts []monthPart) []monthPart {
	out := make([]monthPart, len(parts))
	for i, p := range parts {
		p.neg = !p.neg
		out[i] = p
	}
	return out
}

// cubeExtent returns the cube's first and last months ("YYYY-MM"), ""
// when it has no row: the ends of the cuboid of months, two index probes.
func cubeExtent(ctx context.Context, tx pgx.Tx) (first, last string, err error) {
	var lo, hi *time.Time
	if err := tx.QueryRow(ctx, `SELECT min(month), max(month) FROM observatory_totals WHERE gset = `+
		strconv.Itoa(DimMonth.bit())+` AND commune = ''`).Scan(&lo, &hi); err != nil || lo == nil || hi == nil {
		return "", "", err
	}
	return lo.Format("2006-01"), hi.Format("2006-01"), nil
}

// rangeParts splits the months from..to ("YYYY-MM", from before to) of
// cuboid gset: the years in the range from the cuboid of years, the
// months around them from the cuboid of months (a range of three years
// reads 3 rows per group, not 36). A year the range cuts is read as its
// months in the range, or as its year row minus its months outside the
// range when that reads fewer rows (2022-03..2022-12: the year 2022 minus
// January and February, 3 rows instead of 10). constMonth is the month
// column's one value when a single month or a single whole year is read
// (one row per group: exact), else "".
func rangeParts(gset int, from, to string) (parts []monthPart, constMonth string) {
	if from == to {
		return []monthPart{{gset: gset, from: from + "-01", to: to + "-01"}}, from + "-01"
	}
	fy, ty := from[:4], to[:4]
	fm, _ := strconv.Atoi(from[5:])
	tm, _ := strconv.Atoi(to[5:])
	// byYear: whether a year whose months first..last are in the range is
	// read from its year row (it reads 1 + the months outside, not n).
	byYear := func(first, last int) bool { n := last - first + 1; return n == 12 || 1+12-n < n }
	month := func(y string, m int) string { return fmt.Sprintf("%s-%02d-01", y, m) }
	headLast := 12
	if fy == ty {
		headLast = tm
	}
	headYear, tailYear := byYear(fm, headLast), fy != ty && byYear(1, tm)
	firstYear, lastYear := fy, ty // read from the cuboid of years
	if !headYear {
		parts = append(parts, monthPart{gset: gset, from: from + "-01", to: month(fy, headLast)})
		firstYear = yearAfter(fy)
	} else if fm > 1 {
		parts = append(parts, monthPart{gset: gset, from: fy + "-01-01", to: month(fy, fm-1), neg: true})
	}
	if fy != ty && !tailYear {
		lastYear = yearBefore(ty)
	}
	if firstYear <= lastYear {
		parts = append(parts, monthPart{gset: gset | yearBit, from: firstYear + "-01-01", to: lastYear + "-01-01"})
	}
	if fy == ty && headYear && tm < 12 || tailYear && tm < 12 {
		parts = append(parts, monthPart{gset: gset, from: month(ty, tm+1), to: ty + "-12-01", neg: true})
	} else if fy != ty && !tailYear {
		parts = append(parts, monthPart{gset: gset, from: ty + "-01-01", to: to + "-01"})
	}
	if len(parts) == 1 && parts[0].gset&yearBit != 0 && firstYear == lastYear {
		constMonth = firstYear + "-01-01"
	}
	return parts, constMonth
}

func yearAfter(y string) string  { n, _ := strconv.Atoi(y); return fmt.Sprintf("%04d", n+1) }
func yearBefore(y string) string { n, _ := strconv.Atoi(y); return fmt.Sprintf("%04d", n-1) }

// cubeTotals reads one page of q's answer from the cube and the deltas.
func cubeTotals(ctx context.Context, tx pgx.Tx, q TotalsQuery, set, version string) (Totals, error) {
	gset := q.needMask()
	exact := gset&^q.exactMask() == 0
	parts := []monthPart{{gset: gset}}
	constMonth := noMonth
	if gset&DimMonth.bit() != 0 {
		var err error
		parts, constMonth, err = q.monthParts(gset, func() (string, string, error) { return cubeExtent(ctx, tx) })
		if err != nil {
			return Totals{}, err
		}
		exact = exact || constMonth != ""
	}
	gr := newGrouper(q)
	// Conditions on the dimensions, for the cube and the deltas alike.
	conds, args := []string{"set_id IN ('', $1)"}, []any{set}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	for i, v := range []string{q.Category, q.DonorKind, q.BeneficiaryKind, q.Commune} {
		if v != "" {
			conds = append(conds, string(TotalsDims[i+1])+" = "+arg(v))
		}
	}
	dimFilter := strings.Join(conds, " AND ")
	nDim := len(args)
	// Where the read starts: after the cursor's group. In an exact read a
	// group is one value of the key columns; otherwise a commune's rows are
	// read again from its first (its groups up to the cursor are skipped).
	start := ""
	if q.After != nil {
		switch {
		case exact:
			start = "(" + cubeKeyCols + ") > (" + strings.Join(cursorTuple(q, constMonth, arg), ", ") + ")"
		case slices.Contains(q.GroupBy, DimCommune):
			start = "commune >= " + arg(q.After[0])
		}
	}
	nStart := len(args)

	chunkByCommune := !exact && slices.Contains(q.GroupBy, DimCommune)
	// A page of an exact cuboid reads about 1.5 rows per group (the counts,
	// and the set's emissions where there are deliveries).
	batch := cubeBatch
	switch {
	case exact && q.Limit > 0:
		batch = min(cubeBatch, 2*(q.Limit+1)+16)
	case chunkByCommune && q.Limit > 0:
		batch = min(cubeBatch, max(pageRows/2, 1))
	}
	// Each part is read in key order by its own statements (one index
	// scan, batch rows at a time) and the parts merged here: PostgreSQL
	// sorts a UNION of them instead of merging. A month range grouped by
	// commune (not filtered on one) reads all its parts a window of
	// communes at a time instead (windowReader).
	base := append([]any(nil), args[:nStart]...)
	dec := newRowDecoder()
	var (
		readers []*partReader
		win     *windowReader
	)
	if chunkByCommune && q.Commune == "" {
		win = &windowReader{parts: parts, where: dimFilter, base: args[:nDim], dec: dec}
		defer win.release()
		if q.After != nil {
			win.from = q.After[0]
		}
	} else {
		readers = make([]*partReader, len(parts))
		for i, p := range parts {
			readers[i] = &partReader{part: p, where: dimFilter, base: base, batch: batch, dec: dec}
			if start != "" {
				readers[i].where += " AND " + start
			}
		}
	}

	var (
		sealed []*totalsGroup
		cur    chunk
		curKey []byte // exact: the group being summed; otherwise the commune
		more   = false
		read   = 0 // rows read by this page
	)
	flush := func() {
		for _, g := range cur.seal() {
			if gr.past([]byte(g.key)) {
				sealed = append(sealed, g)
			}
		}
	}
	for {
		var (
			r   *factRow
			err error
		)
		if win != nil {
			r, err = win.next(ctx, tx, read)
		} else {
			r, err = nextRow(ctx, tx, readers)
		}
		if err != nil {
			return Totals{}, err
		}
		if r == nil {
			flush()
			// A window's end, communes after it: the page ends there once
			// it has read pageRows, else reads the next window.
			if win != nil && win.more() {
				if q.Limit > 0 && (len(sealed) > q.Limit || read >= pageRows) && len(sealed) > 0 {
					more = true
					break
				}
				continue
			}
			break
		}
		key := gr.key(r)
		boundary := key
		if !exact {
			boundary = nil
			if chunkByCommune {
				boundary = []byte(r.dims[4])
			}
		}
		if curKey != nil && string(boundary) != string(curKey) {
			flush()
			// (A window's rows are read: its page ends at its end, below.)
			if q.Limit > 0 && (len(sealed) > q.Limit || win == nil && chunkByCommune && read >= pageRows && len(sealed) > 0) {
				more = true
				break
			}
		}
		read++
		curKey = append(curKey[:0], boundary...)
		if curKey == nil {
			curKey = []byte{}
		}
		cur.add(key, r)
	}

	// The pending deltas, summed into the groups of this page: all of them
	// past the cursor on the last page, up to the last group read on
	// another.
	limitKey := ""
	if more {
		limitKey = sealed[len(sealed)-1].key
	}
	dc := chunk{groups: sealed, byKey: make(map[string]*totalsGroup, len(sealed))}
	for _, g := range sealed {
		dc.byKey[g.key] = g
	}
	// The deltas' months (they are not cuboid rows).
	args = args[:nDim]
	deltaFilter := dimFilter
	if q.From != "" {
		deltaFilter += " AND month >= " + arg(q.From+"-01") + "::date"
	}
	if q.To != "" {
		deltaFilter += " AND month <= " + arg(q.To+"-01") + "::date"
	}
	rows, err := tx.Query(ctx, `SELECT `+factCols+` FROM observatory_deltas WHERE `+deltaFilter, args...)
	if err != nil {
		return Totals{}, err
	}
	var r factRow
	for rows.Next() {
		if err := dec.decode(rows, &r); err != nil {
			rows.Close()
			return Totals{}, err
		}
		key := gr.key(&r)
		if !gr.past(key) || (more && string(key) > limitKey) {
			continue
		}
		dc.add(key, &r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Totals{}, err
	}
	kept, next, hasNext := page(dc.seal(), q.Limit, more)
	return answer(q, set, version, gr.dims, kept, next, hasNext), nil
}

// partReader reads one part of the cube in key order, a batch at a time.
type partReader struct {
	part    monthPart
	where   string // the dimensions' filter and the cursor's start
	base    []any  // their arguments
	batch   int
	dec     *rowDecoder
	rows    []factRow // the last batch read, consumed from pos on
	pos     int
	last    factRow // the last row read: the next batch starts after it
	started bool
	done    bool // no rows left beyond rows
}

// fill reads the part's next batch.
func (p *partReader) fill(ctx context.Context, tx pgx.Tx) error {
	args := append([]any(nil), p.base...)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	sql := p.part.selectSQL(p.where, arg)
	if l := &p.last; p.started {
		sql += " AND (" + cubeKeyCols + ", set_id, method_version) > (" + arg(l.dims[4]) + ", " +
			arg(l.month.Format(time.DateOnly)) + "::date, " + arg(l.dims[1]) + ", " + arg(l.dims[2]) + ", " +
			arg(l.dims[3]) + ", " + arg(l.set) + ", " + arg(l.mv) + ")"
	}
	sql += ` ORDER BY ` + cubeKeyCols + `, set_id, method_version LIMIT ` + strconv.Itoa(p.batch)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	p.pos = 0
	if p.rows, err = p.dec.decodeAll(rows, p.rows[:0]); err != nil {
		return err
	}
	p.done = len(p.rows) < p.batch
	if len(p.rows) > 0 {
		p.last, p.started = p.rows[len(p.rows)-1], true
	}
	return nil
}

// windowReader reads a month range grouped by commune (the rows of a
// commune summed in Go, in any order) a window of communes at a time:
// the cuboid of communes lists them from the cursor's on, and one statement
// reads every part's rows of a window's communes, each commune its own
// index range (commune = c, the month range, the filter). PostgreSQL 15
// has no skip scan: one scan of the key (gset, commune, month, category,
// …) reads the months outside the range and the values outside the
// filter as index entries for nothing, and a batch read that way, rarely
// filled, reads on to the cuboid's end (all of a 287,000-row cuboid's
// 2,499 index pages for the 78 rows of two months of laptops); and each
// part read in batches of its own reads on past the page's last commune (a
// part of one month row per commune went 90 communes on where the page
// took 36; an unfiltered range read up to a batch of each part for
// nothing). A window is sized from the rows per commune
// read so far to end near pageRows; a page ends at the first window's end
// past pageRows (or at a commune's end past its limit of groups).
type windowReader struct {
	parts    []monthPart
	where    string // the dimensions' filter
	base     []any  // its arguments
	dec      *rowDecoder
	from     string   // the cursor's commune: communes from it on
	communes []string // the communes left, listed at the first window
	listed   bool
	rows     []factRow // the window's rows, by commune, consumed from pos on
	pos      int
	nRead    int // communes read so far
}

// windowRows keeps the windows' row buffers from one page to the next: a
// page's 2,000 rows of 224 bytes, grown anew each time, cost a third of
// its time in copies and garbage collection.
var windowRows = sync.Pool{New: func() any { b := make([]factRow, 0, 2*pageRows); return &b }}

// release gives the window's buffer back (unless an unusual window grew
// it past 16,384 rows: the pool would keep it for nothing).
func (w *windowReader) release() {
	if w.rows != nil && cap(w.rows) <= 16384 {
		b := w.rows[:0]
		windowRows.Put(&b)
		w.rows = nil
	}
}

// firstWindow is how many communes the first window reads: it knows
// nothing yet of the rows per commune (from a few to over a thousand). A variable
// for the tests, which read a commune at a time.
var firstWindow = 2

// more reports whether communes are left after the windows read.
func (w *windowReader) more() bool { return !w.listed || len(w.communes) > 0 }

// next returns the window's next row, nil at its end (and when no commune
// is left); called again after that, it reads the next window, sized by
// the rows the page has read (read).
func (w *windowReader) next(ctx context.Context, tx pgx.Tx, read int) (*factRow, error) {
	if w.pos < len(w.rows) {
		w.pos++
		return &w.rows[w.pos-1], nil
	}
	if w.pos > 0 || w.listed && len(w.communes) == 0 {
		w.rows, w.pos = w.rows[:0], 0
		return nil, nil // the window's end (or the last)
	}
	if !w.listed {
		rows, err := tx.Query(ctx, `SELECT DISTINCT commune FROM observatory_totals WHERE gset = `+
			strconv.Itoa(DimCommune.bit())+` AND commune >= $1 ORDER BY commune`, w.from)
		if err != nil {
			return nil, err
		}
		if w.communes, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, err
		}
		w.listed = true
	}
	for len(w.communes) > 0 && w.pos == len(w.rows) {
		n := firstWindow
		if w.nRead > 0 {
			// Enough communes to reach pageRows at the density read so far,
			// at most 16 times as many as read (a sparse start is no proof).
			n = min(max(1, (pageRows-read)*w.nRead/max(read, 1)+1), 16*w.nRead)
		}
		n = min(n, len(w.communes))
		if err := w.read(ctx, tx, w.communes[:n]); err != nil {
			return nil, err
		}
		w.communes, w.nRead = w.communes[n:], w.nRead+n
	}
	return w.next(ctx, tx, read)
}

// read reads the rows of the communes' window and orders them by commune.
func (w *windowReader) read(ctx context.Context, tx pgx.Tx, communes []string) error {
	args := append([]any(nil), w.base...)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	win := arg(communes)
	sels := make([]string, len(w.parts))
	for i, p := range w.parts {
		sels[i] = p.selectSQL("commune = c.commune AND "+w.where, arg)
	}
	rows, err := tx.Query(ctx, `SELECT t.* FROM unnest(`+win+`::text[]) AS c(commune) CROSS JOIN LATERAL (`+
		strings.Join(sels, " UNION ALL ")+`) t`, args...)
	if err != nil {
		return err
	}
	if w.rows == nil {
		w.rows = (*windowRows.Get().(*[]factRow))[:0]
	}
	w.pos = 0
	if w.rows, err = w.dec.decodeAll(rows, w.rows[:0]); err != nil {
		return err
	}
	// The statement's order is the nested loop's, not promised: by commune
	// here (the rows of one commune are summed in any order).
	slices.SortStableFunc(w.rows, func(a, b factRow) int { return strings.Compare(a.dims[4], b.dims[4]) })
	return nil
}

// nextRow returns the next row of the parts merged in key order, nil at
// their end; the row is valid until the next call.
func nextRow(ctx context.Context, tx pgx.Tx, parts []*partReader) (*factRow, error) {
	var best *partReader
	for _, p := range parts {
		if p.pos == len(p.rows) && !p.done {
			if err := p.fill(ctx, tx); err != nil {
				return nil, err
			}
		}
		if p.pos < len(p.rows) && (best == nil || keyLess(&p.rows[p.pos], &best.rows[best.pos])) {
			best = p
		}
	}
	if best == nil {
		return nil, nil
	}
	best.pos++
	return &best.rows[best.pos-1], nil
}

// keyLess orders rows as the cube's key (text byte by byte: COLLATE "C").
func keyLess(a, b *factRow) bool {
	if a.dims[4] != b.dims[4] {
		return a.dims[4] < b.dims[4]
	}
	if !a.month.Equal(b.month) {
		return a.month.Before(b.month)
	}
	for _, i := range []int{1, 2, 3} {
		if a.dims[i] != b.dims[i] {
			return a.dims[i] < b.dims[i]
		}
	}
	if a.set != b.set {
		return a.set < b.set
	}
	return a.mv < b.mv
}

// cursorTuple renders the values of the cube's key columns at the cursor:
// the cursor's value for a grouped dimension, the filter's for a filtered
// one, the month read (month) or the cuboid's constant (”) for the others.
func cursorTuple(q TotalsQuery, month string, arg func(any) string) []string {
	filters := [5]string{"", q.Category, q.DonorKind, q.BeneficiaryKind, q.Commune}
	after := map[TotalsDim]string{}
	for i, d := range q.keyDims() {
		after[d] = q.After[i]
	}
	out := make([]string, 0, 5)
	for _, i := range keyOrder {
		d := TotalsDims[i]
		v, grouped := after[d]
		if d == DimMonth {
			if grouped {
				v += "-01"
			} else {
				v = month
			}
			out = append(out, arg(v)+"::date")
			continue
		}
		if !grouped {
			v = filters[i]
		}
		out = append(out, arg(v))
	}
	return out
}

// answer builds the answer from the page's groups.
func answer(q TotalsQuery, set, version string, dims []TotalsDim, groups []*totalsGroup, next string, hasNext bool) Totals {
	t := Totals{FactorSet: set, FactorSetVersion: version, GroupBy: q.GroupBy, MethodVersions: []string{},
		Rows: make([]TotalsRow, 0, max(len(groups), 1))}
	if t.GroupBy == nil {
		t.GroupBy = []TotalsDim{}
	}
	for _, g := range groups {
		r := g.row(dims)
		for _, mv := range r.MethodVersions {
			if !slices.Contains(t.MethodVersions, mv) {
				t.MethodVersions = append(t.MethodVersions, mv)
			}
		}
		t.Rows = append(t.Rows, r)
	}
	slices.Sort(t.MethodVersions)
	if len(q.GroupBy) == 0 && len(t.Rows) == 0 {
		t.Rows = append(t.Rows, TotalsRow{MethodVersions: []string{}})
	}
	if hasNext {
		t.Next = strings.Split(strings.TrimSuffix(next, "\x00"), "\x00")
		t.NextCursor = EncodeTotalsCursor(t.Next)
	}
	return t
}

// ObservatoryTotalsNaive computes the same answer with a GROUP BY over the
// base tables (the observatory_facts view): the tests, the benchmark, and
// the answers while the cube is stale.
func (db *DB) ObservatoryTotalsNaive(ctx context.Context, q TotalsQuery) (Totals, error) {
	if err := q.Validate(); err != nil {
		return Totals{}, err
	}
	set, version, err := db.factorSetOf(ctx, q.FactorSet)
	if err != nil {
		return Totals{}, err
	}
	where, wargs := q.where(set)
	// The naive GROUP BY: by the grouped dimensions (the others as the
	// cube's constants), factor set and method version.
	cols := make([]string, 0, 5)
	groupBy := []string{"set_id", "method_version"}
	for _, i := range keyOrder {
		d := TotalsDims[i]
		switch {
		case slices.Contains(q.GroupBy, d):
			cols, groupBy = append(cols, string(d)), append(groupBy, string(d))
		case d == DimMonth:
			cols = append(cols, "'"+noMonth+"'::date")
		default:
			cols = append(cols, "''")
		}
	}
	sql := `SELECT ` + strings.Join(cols, ", ") + `, set_id, method_version, sum(received)::int8, sum(refurbished)::int8,
			sum(delivered)::int8, sum(recycled)::int8, sum(dismantled)::int8, (sum(diverted_kg) * 1000)::int8,
			(sum(net_kg) * 1000)::int8, (sum(low_kg) * 1000)::int8, (sum(high_kg) * 1000)::int8,
			(sum(gross_kg) * 1000)::int8, sum(results)::int8
		FROM observatory_facts WHERE ` + where + `
		GROUP BY ` + strings.Join(groupBy, ", ")
	gr := newGrouper(q)
	var c chunk
	err = db.withPgx(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, dollars(sql), wargs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var r factRow
		dest := r.scanDest()
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if key := gr.key(&r); gr.past(key) {
				c.add(key, &r)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return Totals{}, fmt.Errorf("observatory totals (naive): %w", err)
	}
	kept, next, hasNext := page(c.seal(), q.Limit, false)
	return answer(q, set, version, gr.dims, kept, next, hasNext), nil
}

// rowDecoder reads rows selected as factCols from their wire bytes: text
// columns interned (a read meets a few dozen distinct values thousands of
// times), numbers and dates decoded without reflection or allocation —
// pgx's Scan of 18 columns made each row cost several allocations, and
// the garbage collector most of a wide read's time.
type rowDecoder struct {
	strs map[string]string
}

func newRowDecoder() *rowDecoder { return &rowDecoder{strs: map[string]string{}} }

// decodeAll appends every row of rows to buf, and closes rows.
func (d *rowDecoder) decodeAll(rows pgx.Rows, buf []factRow) ([]factRow, error) {
	defer rows.Close()
	var r factRow
	for rows.Next() {
		if err := d.decode(rows, &r); err != nil {
			return buf, err
		}
		buf = append(buf, r)
	}
	return buf, rows.Err()
}

// decode fills r from the current row of rows.
func (d *rowDecoder) decode(rows pgx.Rows, r *factRow) error {
	vals, fds := rows.RawValues(), rows.FieldDescriptions()
	if len(vals) != 18 || len(fds) != 18 {
		return fmt.Errorf("observatory row: %d columns, want 18", len(vals))
	}
	for i, v := range vals {
		if v == nil {
			return fmt.Errorf("observatory row: %s is null", fds[i].Name)
		}
	}
	r.dims[4], r.dims[1], r.dims[2], r.dims[3] = d.str(vals[0]), d.str(vals[2]), d.str(vals[3]), d.str(vals[4])
	r.set, r.mv = d.str(vals[5]), d.str(vals[6])
	var err error
	if r.month, err = wireDate(vals[1], fds[1].Format); err != nil {
		return fmt.Errorf("observatory row: month: %w", err)
	}
	m := &r.measures
	for i, p := range [...]*int64{&m.received, &m.refurbished, &m.delivered, &m.recycled, &m.dismantled,
		&m.milli[0], &m.milli[1], &m.milli[2], &m.milli[3], &m.milli[4], &m.results} {
		if *p, err = wireInt(vals[7+i], fds[7+i].Format); err != nil {
			return fmt.Errorf("observatory row: %s: %w", fds[7+i].Name, err)
		}
	}
	return nil
}

func (d *rowDecoder) str(b []byte) string {
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	d.strs[s] = s
	return s
}

// wireInt decodes an integer column in either wire format.
func wireInt(b []byte, format int16) (int64, error) {
	if format == pgx.TextFormatCode {
		return strconv.ParseInt(string(b), 10, 64)
	}
	switch len(b) {
	case 8:
		return int64(binary.BigEndian.Uint64(b)), nil
	case 4:
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	case 2:
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	}
	return 0, fmt.Errorf("integer of %d bytes", len(b))
}

// wireDate decodes a date column in either wire format (binary: days
// since 2000-01-01), as midnight UTC.
func wireDate(b []byte, format int16) (time.Time, error) {
	if format == pgx.TextFormatCode {
		return time.Parse(time.DateOnly, string(b))
	}
	if len(b) != 4 {
		return time.Time{}, fmt.Errorf("date of %d bytes", len(b))
	}
	days := int64(int32(binary.BigEndian.Uint32(b)))
	if days == math.MaxInt32 || days == math.MinInt32 {
		return time.Time{}, fmt.Errorf("infinite date")
	}
	return time.Unix((days+10957)*86400, 0).UTC(), nil
}
