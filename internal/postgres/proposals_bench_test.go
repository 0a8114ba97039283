package postgres_test

import (
	"context"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres/pgtest"
)

// BenchmarkRunMatching measures matching as the operator runs it
// (RunMatching): 10,000 available devices and 1,000 open request lines
// read from PostgreSQL, matched (allocation.Match, measured alone by
// BenchmarkMatching) and the draft's proposed reservations inserted, in
// one transaction. Issue 6's target: under 2 s (ns/op). Each draft is
// discarded between runs, outside the measure. See docs/benchmarks.md.
func BenchmarkRunMatching(b *testing.B) {
	db := pgtest.MustDB(b)
	ctx := context.Background()
	op := &account.Principal{OrgKind: account.KindOperator}
	exec := func(q string, args ...any) {
		b.Helper()
		if _, err := db.SQL().ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	// 10,000 devices over five categories with varied specs, each with
	// one recorded drive; the same mix of minimums as BenchmarkMatching.
	exec(`INSERT INTO organisations (kind, name, commune) VALUES ('workshop', 'Atelier', '64102'), ('commune', 'Mairie', '64102')`)
	exec(`INSERT INTO donations (donor_org_id, workshop_org_id, state, title)
		SELECT (SELECT id FROM organisations WHERE kind = 'commune'), (SELECT id FROM organisations WHERE kind = 'workshop'), 'received', 'Parc'`)
	exec(`INSERT INTO devices (donation_id, line, category, weight_kg, state, storage_drives, ram_gb, screen_inches, grade, os)
		SELECT 1, i, (ARRAY['laptop', 'laptop', 'laptop', 'desktop', 'desktop', 'tablet', 'monitor_24', 'smartphone'])[1 + i % 8],
			2, 'available', 1, (ARRAY[2, 4, 4, 8, 8, 8, 16, 16, 32])[1 + (i * 7) % 9], (ARRAY[10.1, 13.3, 14, 15.6, 24])[1 + (i * 3) % 5],
			(ARRAY['A', 'B', 'B', 'C'])[1 + (i * 5) % 4], 'Debian 12'
		FROM generate_series(1, 10000) i`)
	exec(`INSERT INTO device_drives (device_id, position, type, capacity_gb, serial)
		SELECT id, 1, 'ssd', (ARRAY[64, 128, 256, 256, 500, 512, 1000])[1 + (id * 11) % 7], 'S' || id FROM devices`)
	// 1,000 lines: 334 approved requests of up to three lines, 1 to 20
	// devices each, priorities and waits spread.
	for i := range 334 {
		org := int64(0)
		if err := db.SQL().QueryRowContext(ctx, `INSERT INTO organisations (kind, name, commune) VALUES ('school', $1, '64102')
			RETURNING id`, "École "+string(rune('A'+i%26))+string(rune('a'+i/26))).Scan(&org); err != nil {
			b.Fatal(err)
		}
		exec(`INSERT INTO requests (beneficiary_org_id, state, purpose, delivery_commune, priority, submitted_at)
			VALUES ($1, 'approved', 'Équiper les classes', '64102', $2, now() - $3 * interval '1 hour')`, org, 5*(i%20), i)
	}
	exec(`INSERT INTO request_lines (request_id, line, category, quantity, min_ram_gb, min_storage_gb, min_screen_inches, min_grade)
		SELECT r.id, n, (ARRAY['laptop', 'laptop', 'laptop', 'desktop', 'desktop', 'tablet', 'monitor_24', 'smartphone'])[1 + (r.id * 3 + n) % 8],
			1 + (r.id * 7 + n) % 20, (ARRAY[2, 4, 4, 8, 8, 8, 16, 16, 32])[1 + (r.id + n * 5) % 9],
			CASE WHEN (r.id + n) % 2 = 0 THEN (ARRAY[64, 128, 256, 500])[1 + (r.id * n) % 4] END,
			CASE WHEN (r.id + n) % 3 = 0 THEN 13.3 END, CASE WHEN (r.id * n) % 3 = 0 THEN 'B' END
		FROM requests r CROSS JOIN generate_series(1, 3) n WHERE r.id * 3 + n <= 1003`)
	var lines int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM request_lines`).Scan(&lines); err != nil || lines != 1000 {
		b.Fatalf("%d lines, %v", lines, err)
	}
	exec(`ANALYZE`)
	proposed := 0
	for b.Loop() {
		p, err := db.RunMatching(ctx, op)
		if err != nil {
			b.Fatal(err)
		}
		proposed = p.Devices
		b.StopTimer()
		if _, err := db.DiscardProposal(ctx, p.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(proposed), "devices_proposed")
	b.ReportMetric(float64(lines), "lines")
}
