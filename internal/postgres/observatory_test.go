package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
)

// obsQueries are the filters the equality checks run, each with every
// grouping (all 32 subsets of the dimensions).
func obsQueries(month string) []postgres.TotalsQuery {
	year, _ := strconv.Atoi(month[:4])
	y := func(d int, m string) string { return fmt.Sprintf("%04d-%s", year+d, m) }
	filters := []postgres.TotalsQuery{{}, {From: month, To: month}, {From: "2020-01"}, {Category: "laptop"},
		// Month ranges read from the cuboids of years and of months: a
		// whole year, years then months, months then years, both ends
		// open, months of two years, a year with the months around it.
		{From: y(0, "01"), To: y(0, "12")}, {From: y(-2, "01"), To: month}, {From: y(0, month[5:]), To: y(1, "12")},
		{To: y(1, "12")}, {From: y(-1, "03"), To: y(0, "12")}, {From: y(-1, "07"), To: y(1, "02"), Commune: "64102"},
		{From: y(-1, "12"), To: y(1, "01"), DonorKind: "commune"}, {From: monthsOnlyFrom(month), To: month},
		{DonorKind: "commune"}, {BeneficiaryKind: "school"}, {Commune: "64102"}, {Commune: "64102", BeneficiaryKind: "school"},
		{Category: "tv"}}
	return withEveryGrouping(filters)
}

// withEveryGrouping returns each filter with each of the 32 groupings.
func withEveryGrouping(filters []postgres.TotalsQuery) []postgres.TotalsQuery {
	var out []postgres.TotalsQuery
	for _, f := range filters {
		for mask := 0; mask < 32; mask++ {
			q := f
			for i, d := range postgres.TotalsDims {
				if mask&(1<<i) != 0 {
					q.GroupBy = append(q.GroupBy, d)
				}
			}
			out = append(out, q)
		}
	}
	return out
}

// monthsOnlyFrom is a start that makes [start, month] a range of months
// without a whole year in it (February of month's year, or of the year
// before in January).
func monthsOnlyFrom(month string) string {
	y, _ := strconv.Atoi(month[:4])
	if month[5:] == "01" {
		y--
	}
	return fmt.Sprintf("%04d-02", y)
}

// mustSameTotals checks that the maintained totals equal the naive
// recomputation for every query, with the deltas pending, then folded,
// then after a full rebuild.
func mustSameTotals(t *testing.T, db *postgres.DB, step string) {
	t.Helper()
	ctx := context.Background()
	month := thisMonth(t, db)
	check := func(phase string) {
		t.Helper()
		for _, q := range obsQueries(month) {
			got, err := db.ObservatoryTotals(ctx, q)
			if err != nil {
				t.Fatalf("%s, %s: %+v: %v", step, phase, q, err)
			}
			want, err := db.ObservatoryTotalsNaive(ctx, q)
			if err != nil {
				t.Fatalf("%s, %s naive: %+v: %v", step, phase, q, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, %s: %+v:\n maintained %+v\n naive      %+v", step, phase, q, got, want)
			}
		}
	}
	check("pending")
	checkPages(t, db, step+", pending", month, 1)
	if _, err := db.MergeObservatoryDeltas(ctx); err != nil {
		t.Fatal(err)
	}
	if n := hoCount(t, db, `SELECT count(*) FROM observatory_deltas`); n != 0 {
		t.Fatalf("%s: %d deltas left after a fold", step, n)
	}
	// Folded: read in batches of 2 rows, so that every answer goes
	// through the joins between batches, pages summed by commune end at
	// the first commune's end past 2 rows, before their limit, and
	// filtered ones read windows of one commune and more.
	restore := postgres.SetCubeBatch(2)
	check("folded")
	checkPages(t, db, step+", folded", month, 3)
	restore()
	if err := db.RebuildObservatoryTotals(ctx); err != nil {
		t.Fatal(err)
	}
	check("rebuilt")
}

// checkPages walks the answers page by page (limit rows a page), from the
// cube and from the naive query: each page equal, and the pages together
// the whole answer. The page checks of mustSameTotals run it without a
// filter and with the month ranges (read from the cuboids of years and of
// months, several rows per group), with every grouping.
func checkPages(t *testing.T, db *postgres.DB, step, month string, limit int) {
	t.Helper()
	var qs []postgres.TotalsQuery
	for _, q := range obsQueries(month) {
		if q.Category == "" && q.DonorKind == "" && q.BeneficiaryKind == "" && q.Commune == "" && (q.From != q.To || q.From == "") {
			qs = append(qs, q)
		}
	}
	pagedAnswers += walkPages(t, db, step, qs, limit)
}

// walkPages checks each query's answer page by page and returns how many
// answers came in more than one page.
func walkPages(t *testing.T, db *postgres.DB, step string, qs []postgres.TotalsQuery, limit int) int {
	t.Helper()
	ctx := context.Background()
	paged := 0
	for _, q := range qs {
		whole, err := db.ObservatoryTotals(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if whole.Next != nil {
			t.Fatalf("%s: %+v: an answer without a limit has a next page %q", step, q, whole.Next)
		}
		var rows []postgres.TotalsRow
		pq := q
		pq.Limit = limit
		for pages := 0; ; pages++ {
			got, err := db.ObservatoryTotals(ctx, pq)
			if err != nil {
				t.Fatalf("%s: %+v: %v", step, pq, err)
			}
			want, err := db.ObservatoryTotalsNaive(ctx, pq)
			if err != nil {
				t.Fatal(err)
			}
			// The cube may end a page early (a month range summed by
			// commune): the naive page then holds more, from the same start.
			if len(got.Rows) < len(want.Rows) && got.Next != nil {
				want.Rows, want.Next, want.NextCursor = want.Rows[:len(got.Rows)], got.Next, got.NextCursor
				want.MethodVersions = got.MethodVersions
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: page %d of %+v:\n maintained %+v\n naive      %+v", step, pages, pq, got, want)
			}
			if len(got.Rows) > limit || pages > 10000 {
				t.Fatalf("%s: %+v: %d rows on page %d", step, pq, len(got.Rows), pages)
			}
			if len(q.GroupBy) > 0 || len(rows) == 0 {
				rows = append(rows, got.Rows...)
			}
			if got.Next == nil {
				break
			}
			if pages == 0 {
				paged++
			}
			pq.After = got.Next
		}
		if len(rows) == 0 {
			rows = []postgres.TotalsRow{}
		}
		if !reflect.DeepEqual(rows, whole.Rows) {
			t.Fatalf("%s: %+v: the pages hold\n %+v\n the whole answer\n %+v", step, q, rows, whole.Rows)
		}
	}
	return paged
}

// pagedAnswers counts the answers checkPages read in more than one page.
var pagedAnswers int

func thisMonth(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var m string
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT to_char(observatory_month(now()), 'YYYY-MM')`).Scan(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustTotal(t *testing.T, db *postgres.DB, q postgres.TotalsQuery) postgres.TotalsRow {
	t.Helper()
	got, err := db.ObservatoryTotals(context.Background(), q)
	if err != nil || len(got.Rows) != 1 {
		t.Fatalf("totals %+v: %+v, %v", q, got, err)
	}
	return got.Rows[0]
}

// Pages over facts of many groups and years: 7 categories from 2 donors in
// 2 communes, received and recycled over three years and a half, so that
// answers have many groups and month ranges read whole years and months
// around them; each page equals the naive query's (read a row at a time,
// pages ending early by commune, and as is), with deltas pending and
// folded, and together they are the whole answer.
func TestObservatoryPagesEqualNaive(t *testing.T) {
	f := mustIntakeFixture(t, 1)
	ctx := context.Background()
	db := f.db
	other := mustOrg(t, db, account.KindCompany, "Entreprise du port")
	mustExec(t, db, `UPDATE organisations SET commune = '64445' WHERE id = $1`, other.ID)
	var ids []int64
	for _, donor := range []int64{f.donor.ID, other.ID} {
		var lines []donation.Line
		for _, c := range []string{"laptop", "desktop", "tv", "smartphone", "tablet", "monitor_24", "printer_inkjet"} {
			lines = append(lines, donation.Line{Category: c, Brand: "X", Quantity: 2, WeightKg: 3})
		}
		d := f.mustCreate(t, donor, lines...)
		devs, _, err := db.DonationDevices(ctx, d.ID, postgres.DonationScope{}, 1)
		if err != nil || len(devs) != 14 {
			t.Fatalf("devices %d, %v", len(devs), err)
		}
		for _, v := range devs {
			ids = append(ids, v.ID)
		}
	}
	if err := db.RebuildObservatoryTotals(ctx); err != nil { // the commune's change made it stale
		t.Fatal(err)
	}
	// Facts from 2023-07 to 2026-12, written as events (their hashes are
	// not checked here).
	event := func(id int64, seq int, from, to string, at time.Time) {
		mustExec(t, db, `INSERT INTO device_events (device_id, seq, kind, from_state, to_state, actor_id, prev_hash, hash, at)
			VALUES ($1, $2, 'state', $3, $4, 0, decode(repeat('11', 32), 'hex'), decode(repeat('22', 32), 'hex'), $5)`,
			id, seq, from, to, at)
	}
	start := time.Date(2023, 7, 15, 12, 0, 0, 0, time.UTC)
	for i, id := range ids {
		at := start.AddDate(0, (i*3)%42, 0)
		event(id, 100, "declared", "received", at)
		if i%3 == 0 {
			event(id, 101, "received", "recycled", at.AddDate(0, 5, 0))
		}
	}
	qs := withEveryGrouping([]postgres.TotalsQuery{{}, {From: "2024-01", To: "2025-12"}, {From: "2023-10"},
		{To: "2025-06"}, {From: "2024-03", To: "2026-02"}, {From: "2023-08", To: "2026-09"}, {From: "2024-05", To: "2024-11"}, {From: "2025-01", To: "2025-12"},
		{From: "2024-02", To: "2024-02"}, {Commune: "64445", From: "2024-01"}, {Category: "tv"},
		{Category: "tv", From: "2024-03", To: "2026-02"},
		// Every month of the cube (2023-07..2027-03): the cuboid without
		// the month alone, read exactly (monthParts' complement).
		{From: "2023-05", To: "2027-06"}})
	for _, phase := range []string{"pending", "folded"} {
		if phase == "folded" {
			if _, err := db.MergeObservatoryDeltas(ctx); err != nil {
				t.Fatal(err)
			}
		}
		paged := walkPages(t, db, phase, qs, 4)
		restore := postgres.SetCubeBatch(2)
		paged += walkPages(t, db, phase+", 2 rows a statement", qs, 4)
		restore()
		if paged < 200 {
			t.Fatalf("%s: only %d answers came in more than one page", phase, paged)
		}
		t.Logf("%s: %d answers read page by page", phase, paged)
	}
}

// The maintained totals equal a full recomputation after each kind of
// change: receipts and publications, deliveries by handover confirmation,
// a return (its result consolidated), recycling and dismantling, a new
// active factor set, and a rare change of dimension (stale, then rebuilt).
func TestObservatoryTotalsEqualNaive(t *testing.T) {
	f := mustHandoverFixture(t, 4, 4)
	ctx := context.Background()
	db := f.db
	mustSameTotals(t, db, "available")
	if r := mustTotal(t, db, postgres.TotalsQuery{}); r.Received != 4 || r.Refurbished != 4 || r.Delivered != 0 {
		t.Fatalf("before deliveries %+v", r)
	}

	rec := &receiptRecorder{}
	school := postgres.HandoverScope{BeneficiaryOrgID: f.school.ID}
	h1 := f.mustPrepare(t, rec, f.reservations[0], f.reservations[1])
	if _, err := db.ConfirmHandover(ctx, h1.ID, school, "bought_new", f.teacher); err != nil {
		t.Fatal(err)
	}
	mustSameTotals(t, db, "first handover")
	h2 := f.mustPrepare(t, rec, f.reservations[2])
	if _, err := db.ConfirmHandover(ctx, h2.ID, school, "", f.teacher); err != nil {
		t.Fatal(err)
	}
	mustSameTotals(t, db, "second handover")
	r := mustTotal(t, db, postgres.TotalsQuery{BeneficiaryKind: "school"})
	if r.Delivered != 3 || r.Results != 3 || r.NetKg <= 0 || r.DivertedKg <= 0 || r.Received != 0 {
		t.Fatalf("after deliveries %+v", r)
	}
	diverted := r.DivertedKg

	// Device 0 comes back (its result is consolidated) and is dismantled;
	// device 1 comes back and is recycled.
	mustMove(t, f.intakeFixture, f.ids[0], lifecycle.Returned)
	mustMove(t, f.intakeFixture, f.ids[1], lifecycle.Returned)
	mustSameTotals(t, db, "returns")
	if r := mustTotal(t, db, postgres.TotalsQuery{}); r.Delivered != 3 || r.DivertedKg != diverted || r.Results != 3 {
		t.Fatalf("a return un-counted a delivery: %+v", r)
	}
	for i, id := range f.ids[:2] {
		mustErasure(t, db, id, 1, fmt.Sprintf("WD-%d", i), "passed")
		mustErasure(t, db, id, 2, fmt.Sprintf("SSD-%d", i), "passed")
	}
	if _, _, err := db.DismantleDevice(ctx, f.ids[0], f.scope(), parts.Dismantle{}, f.tech); err != nil {
		t.Fatal(err)
	}
	batch := mustJoin(t, f.intakeFixture, f.ids[1]).BatchID
	if _, err := db.HandOverRecycling(ctx, batch, f.shop.ID, testHandover(), testCert, f.tech); err != nil {
		t.Fatal(err)
	}
	mustSameTotals(t, db, "recycled and dismantled")
	if r := mustTotal(t, db, postgres.TotalsQuery{DonorKind: string(f.donor.Kind)}); r.Recycled != 1 || r.Dismantled != 1 || r.Received != 4 {
		t.Fatalf("after recycling %+v", r)
	}

	// A new active set: the totals switch to its results once filled; the
	// old set's sums are still there when asked for.
	before := mustTotal(t, db, postgres.TotalsQuery{})
	mustImportSet(t, db, "fr-ademe-2026")
	if _, err := db.ActivateFactorSet(ctx, "fr-ademe-2026", f.op); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FillAllEmissions(ctx, 100, 10); err != nil {
		t.Fatal(err)
	}
	mustSameTotals(t, db, "new factor set")
	now, err := db.ObservatoryTotals(ctx, postgres.TotalsQuery{})
	if err != nil || now.FactorSet != "fr-ademe-2026" || now.Rows[0].Results != 3 || now.Rows[0].NetKg == before.NetKg {
		t.Fatalf("new set totals %+v (before %+v), %v", now, before, err)
	}
	old := mustTotal(t, db, postgres.TotalsQuery{FactorSet: "fr-ademe-2025"})
	if old.NetKg != before.NetKg || old.Results != before.Results {
		t.Fatalf("old set %+v, before %+v", old, before)
	}

	// A rare change: the donor becomes a company. The cube is stale: the
	// answers come from the base tables until the job rebuilds it.
	if _, err := db.PatchOrganisation(ctx, f.donor.ID, func(o account.Organisation) (account.Organisation, error) {
		o.Kind = account.KindCompany
		return o, nil
	}, nil, ""); err != nil {
		t.Fatal(err)
	}
	if r := mustTotal(t, db, postgres.TotalsQuery{DonorKind: "company"}); r.Received != 4 {
		t.Fatalf("stale answer %+v", r)
	}
	mustSameTotals(t, db, "donor kind changed")
	if n := hoCount(t, db, `SELECT count(*) FROM observatory_state WHERE stale_gen > clean_gen`); n != 0 {
		t.Fatal("still stale after the job")
	}
	if pagedAnswers < 20 {
		t.Fatalf("only %d answers came in more than one page: the page checks checked little", pagedAnswers)
	}
	t.Logf("%d answers read page by page", pagedAnswers)
}

// Two deliveries of the same month, confirmed at once, add to the same
// aggregate rows: neither waits for the other's aggregate row nor is lost,
// and a fold running meanwhile loses nothing.
func TestObservatoryConcurrentDeliveries(t *testing.T) {
	f := mustHandoverFixture(t, 4, 4)
	ctx := context.Background()
	rec := &receiptRecorder{}
	var hs []postgres.Handover
	for _, r := range f.reservations {
		hs = append(hs, f.mustPrepare(t, rec, r))
	}
	if _, err := f.db.MergeObservatoryDeltas(ctx); err != nil {
		t.Fatal(err)
	}
	v0, err := f.db.ObservatoryVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(hs)+2)
	for _, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.db.ConfirmHandover(ctx, h.ID, postgres.HandoverScope{}, "", f.teacher)
			errs <- err
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.db.MergeObservatoryDeltas(ctx)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if v1, _ := f.db.ObservatoryVersion(ctx); v1 == v0 {
		t.Fatalf("version unchanged by deliveries: %s", v1)
	}
	if r := mustTotal(t, f.db, postgres.TotalsQuery{GroupBy: nil}); r.Delivered != 4 || r.Results != 4 {
		t.Fatalf("concurrent deliveries %+v", r)
	}
	mustSameTotals(t, f.db, "concurrent deliveries")
}

// The open-data export has one row per delivery, without ids.
func TestObservatoryDeliveriesExport(t *testing.T) {
	f := mustHandoverFixture(t, 2, 2)
	ctx := context.Background()
	h := f.mustPrepare(t, &receiptRecorder{}, f.reservations...)
	if _, err := f.db.ConfirmHandover(ctx, h.ID, postgres.HandoverScope{}, "", f.teacher); err != nil {
		t.Fatal(err)
	}
	var rows []postgres.DeliveryRow
	var set string
	err := f.db.ObservatoryDeliveries(ctx, postgres.DeliveriesQuery{}, func(s, _ string) error { set = s; return nil },
		func(r postgres.DeliveryRow) error { rows = append(rows, r); return nil })
	if err != nil || len(rows) != 2 || set != "fr-ademe-2025" {
		t.Fatalf("export %+v %s %v", rows, set, err)
	}
	r := rows[0]
	if r.Month != thisMonth(t, f.db) || r.Grade != "B" || r.BeneficiaryKind != "school" || r.Commune != "64102" ||
		r.NetKg == nil || r.FactorSet != "fr-ademe-2025" || r.MethodVersion == "" || r.WeightKg <= 0 {
		t.Fatalf("row %+v", r)
	}
	rows = nil
	err = f.db.ObservatoryDeliveries(ctx, postgres.DeliveriesQuery{From: "2001-01", To: "2001-12"}, func(string, string) error { return nil },
		func(r postgres.DeliveryRow) error { rows = append(rows, r); return nil })
	if err != nil || len(rows) != 0 {
		t.Fatalf("filtered export %+v %v", rows, err)
	}
}
