package postgres

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Building the observatory's cube: the cuboids kept, the fold of pending
// deltas (the background job) and the full rebuild. Both hold one advisory
// lock, so folds and rebuilds never interleave; writers never wait for
// them (they only append deltas).

// observatoryLockID serialises folds and rebuilds across instances.
const observatoryLockID = 0x6f6273657276 // "observ"

// cuboids are the dimension sets (TotalsDim bits) the cube keeps: all 32
// combinations, so that the cuboid a query reads keeps exactly the
// dimensions it groups or filters by — one row per group, set and method
// version, in key order — and a page of any grouping is a range of the key;
// and for each one with the month, its cuboid of years (yearBit), so that
// a range of months without grouping by month reads a row per whole year
// rather than one per month.
var cuboids = func() []int {
	out := make([]int, 0, 48)
	for m := range 32 {
		out = append(out, m)
	}
	for m := range 32 {
		if m&1 != 0 {
			out = append(out, m|yearBit)
		}
	}
	return out
}()

// cubeKey is observatory_totals' primary key, the order a rebuild writes
// the cube in.
const cubeKey = `gset, commune, month, category, donor_kind, beneficiary_kind, set_id, method_version`

// cubeRebuildSQL writes the whole cube into an emptied table in primary-key
// order: GROUPING SETS emits the cuboids interleaved, and a cuboid
// scattered over the heap cost a read one page per row (2,091 pages for
// month × category at a million devices, 45 ms); in key order a cuboid is a
// run of contiguous pages.
var cubeRebuildSQL = cubeInsertSQL("observatory_fine", cubeOrder)

// cubeOrder is cubeKey by position in cubeInsertSQL's SELECT (1 gset, 6 the
// commune, 2–5 the other dimensions): by name it would mean the input
// columns, NULL in the grouping sets.
const cubeOrder = " ORDER BY 1, 6, 2, 3, 4, 5, 7, 8"

// cubeCols are observatory_totals' columns but gset: measureCols with the
// kilograms as integer grams (migrations/00022).
const cubeCols = `month, category, donor_kind, beneficiary_kind, commune, set_id, method_version, received,
	refurbished, delivered, recycled, dismantled, diverted_g, net_g, low_g, high_g, gross_g, results`

// cubeInsertSQL inserts the cuboids of the fine rows of source (a table or
// a CTE with the columns of observatory_deltas) into observatory_totals,
// adding to the rows already there, in the order orderBy gives.
func cubeInsertSQL(source, orderBy string) string {
	sets := make([]string, 0, len(cuboids))
	for _, c := range cuboids {
		var cols []string
		for i, d := range TotalsDims {
			if c&(1<<i) == 0 {
				continue
			}
			if d == DimMonth && c&yearBit != 0 {
				cols = append(cols, "year")
				continue
			}
			cols = append(cols, string(d))
		}
		sets = append(sets, "("+strings.Join(cols, ", ")+")")
	}
	// g: the grouped columns as bits (year 32); a cuboid of years keeps
	// the month bit too (g | g >> 5), its month column the year's first day.
	return `INSERT INTO observatory_totals AS t (gset, ` + cubeCols + `)
		SELECT g | (g >> 5), coalesce(month, year, '0001-01-01'), category, donor_kind, beneficiary_kind, commune,
			set_id, method_version, received, refurbished, delivered, recycled, dismantled, diverted_g, net_g,
			low_g, high_g, gross_g, results
		FROM (SELECT 63 - GROUPING(year, commune, beneficiary_kind, donor_kind, category, month) AS g,
			month, year, coalesce(category, '') AS category, coalesce(donor_kind, '') AS donor_kind,
			coalesce(beneficiary_kind, '') AS beneficiary_kind, coalesce(commune, '') AS commune, set_id, method_version,
			sum(received) AS received, sum(refurbished) AS refurbished, sum(delivered) AS delivered,
			sum(recycled) AS recycled, sum(dismantled) AS dismantled, (sum(diverted_kg) * 1000)::int8 AS diverted_g,
			(sum(net_kg) * 1000)::int8 AS net_g, (sum(low_kg) * 1000)::int8 AS low_g,
			(sum(high_kg) * 1000)::int8 AS high_g, (sum(gross_kg) * 1000)::int8 AS gross_g, sum(results) AS results
		FROM (SELECT *, date_trunc('year', month)::date AS year FROM ` + source + `) f
		GROUP BY set_id, method_version, GROUPING SETS (` + strings.Join(sets, ", ") + `)) c` + orderBy + `
		ON CONFLICT (` + cubeKey + `) DO UPDATE SET
			received = t.received + excluded.received, refurbished = t.refurbished + excluded.refurbished,
			delivered = t.delivered + excluded.delivered, recycled = t.recycled + excluded.recycled,
			dismantled = t.dismantled + excluded.dismantled, diverted_g = t.diverted_g + excluded.diverted_g,
			net_g = t.net_g + excluded.net_g, low_g = t.low_g + excluded.low_g,
			high_g = t.high_g + excluded.high_g, gross_g = t.gross_g + excluded.gross_g,
			results = t.results + excluded.results`
}

var (
	// One statement, one snapshot: the deltas deleted are exactly the
	// ones folded; deltas committed meanwhile wait for the next fold.
	// In key order too: the groups a fold adds (a new month's) land
	// together, a cuboid's next to each other, and the updates lock rows
	// in one order.
	foldSQL = `WITH d AS (DELETE FROM observatory_deltas RETURNING ` + measureCols + `) ` + cubeInsertSQL("d", cubeOrder)
	// The rebuild's first statement: the facts, the deltas they already
	// include (deleted) and the stale generation they reflect, all read in
	// one snapshot.
	rebuildFineSQL = `WITH d AS (DELETE FROM observatory_deltas RETURNING 1),
		f AS (INSERT INTO observatory_fine SELECT ` + measureColsSummed + ` FROM observatory_facts
			GROUP BY month, category, donor_kind, beneficiary_kind, commune, set_id, method_version RETURNING 1)
		SELECT stale_gen FROM observatory_state`
)

const measureColsSummed = `month, category, donor_kind, beneficiary_kind, commune, set_id, method_version,
	sum(received), sum(refurbished), sum(delivered), sum(recycled), sum(dismantled), sum(diverted_kg),
	sum(net_kg), sum(low_kg), sum(high_kg), sum(gross_kg), sum(results)`

// MergeObservatoryDeltas folds the pending deltas into the cube and
// returns how many it folded; the background job calls it every tick. A
// stale cube is rebuilt instead.
func (db *DB) MergeObservatoryDeltas(ctx context.Context) (int64, error) {
	var stale bool
	if err := db.gorm.WithContext(ctx).Raw(`SELECT stale_gen > clean_gen FROM observatory_state`).Row().Scan(&stale); err != nil {
		return 0, fmt.Errorf("observatory state: %w", err)
	}
	if stale {
		return 0, db.rebuildObservatory(ctx, true)
	}
	var n int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, observatoryLockID).Error; err != nil {
			return err
		}
		res := tx.Exec(foldSQL)
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		if n == 0 {
			return nil
		}
		return tx.Exec(`UPDATE observatory_state SET version = version + 1`).Error
	})
	if err != nil {
		return 0, fmt.Errorf("fold observatory deltas: %w", err)
	}
	return n, nil
}

// RebuildObservatoryTotals recomputes the cube from the base tables, in
// one transaction that writers do not wait for: deltas committed after its
// snapshot stay pending and are folded later. Bulk loaders call it once at
// the end; the job calls it when the cube is stale.
func (db *DB) RebuildObservatoryTotals(ctx context.Context) error {
	return db.rebuildObservatory(ctx, false)
}

// rebuildObservatory rebuilds the cube; onlyIfStale skips it when another
// instance rebuilt it while this one waited for the lock.
func (db *DB) rebuildObservatory(ctx context.Context, onlyIfStale bool) error {
	rebuilt := false
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, observatoryLockID).Error; err != nil {
			return err
		}
		if onlyIfStale {
			var stale bool
			if err := tx.Raw(`SELECT stale_gen > clean_gen FROM observatory_state`).Row().Scan(&stale); err != nil || !stale {
				return err
			}
		}
		if err := tx.Exec(`CREATE TEMP TABLE observatory_fine ON COMMIT DROP AS
			SELECT ` + measureCols + ` FROM observatory_deltas WITH NO DATA`).Error; err != nil {
			return err
		}
		var gen int64
		if err := tx.Raw(rebuildFineSQL).Row().Scan(&gen); err != nil {
			return err
		}
		// DELETE, not TRUNCATE: readers keep reading the old cube (MVCC)
		// until the commit instead of waiting on an exclusive lock. The new
		// rows go to pages vacuum freed or to the table's end, in key order
		// either way.
		if err := tx.Exec(`DELETE FROM observatory_totals`).Error; err != nil {
			return err
		}
		if err := tx.Exec(cubeRebuildSQL).Error; err != nil {
			return err
		}
		rebuilt = true
		return tx.Exec(`UPDATE observatory_state SET version = version + 1, clean_gen = greatest(clean_gen, ?),
			built_at = now()`, gen).Error
	})
	if err != nil {
		return fmt.Errorf("rebuild observatory totals: %w", err)
	}
	if !rebuilt {
		return nil
	}
	// Vacuum the old cube away and analyze the new one now, not when
	// autovacuum comes: until then index scans still visit the old rows'
	// entries (scattered pages) and the planner, without statistics,
	// expected 11 rows of a 3,000-row cuboid. Outside the transaction
	// (VACUUM cannot run in one); it blocks neither readers nor writers.
	if err := db.gorm.WithContext(ctx).Exec(`VACUUM (ANALYZE) observatory_totals`).Error; err != nil {
		return fmt.Errorf("vacuum observatory totals: %w", err)
	}
	return nil
}

// ObservatoryVersion names the state of everything the totals and the
// export read, cheaply (no aggregation): the cube's version, the pending
// deltas' count (between two folds they only grow), the stale generation
// and the active factor set. Equal versions mean equal answers.
func (db *DB) ObservatoryVersion(ctx context.Context) (string, error) {
	var (
		version, stale, clean, pending int64
		set                            string
	)
	err := db.gorm.WithContext(ctx).Raw(`SELECT s.version, s.stale_gen, s.clean_gen,
			(SELECT count(*) FROM observatory_deltas), coalesce((SELECT id FROM factor_sets WHERE active), '')
		FROM observatory_state s`).Row().Scan(&version, &stale, &clean, &pending, &set)
	if err != nil {
		return "", fmt.Errorf("observatory version: %w", err)
	}
	return fmt.Sprintf("%d.%d.%d.%d.%s", version, pending, stale, clean, set), nil
}
