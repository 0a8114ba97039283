package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/jackc/pgx/v5/pgconn"
)

// allocFixture: a workshop with a donor's devices, two beneficiaries (a
// school and an association) and an operator.
type allocFixture struct {
	db                  *postgres.DB
	shop, donor         account.Organisation
	school, assoc       account.Organisation
	op, teacher, helper *account.Principal
	donations           int
}

func mustAllocFixture(t *testing.T) *allocFixture {
	t.Helper()
	db := pgtest.MustDB(t)
	f := &allocFixture{db: db, shop: mustOrg(t, db, account.KindWorkshop, "Atelier Hazparne"),
		donor:  mustOrg(t, db, account.KindCommune, "Mairie de Bayonne"),
		school: mustOrg(t, db, account.KindSchool, "Collège Marracq"), assoc: mustOrg(t, db, account.KindAssociation, "Emmaüs Lescar")}
	opOrg := mustOrg(t, db, account.KindOperator, "Opérateur")
	principal := func(org account.Organisation, email string) *account.Principal {
		u := mustUser(t, db, org.ID, email, false)
		return &account.Principal{UserID: u.ID, OrgID: org.ID, OrgKind: org.Kind, Name: email}
	}
	f.op, f.teacher, f.helper = principal(opOrg, "op@example.org"), principal(f.school, "prof@example.org"), principal(f.assoc, "aide@example.org")
	return f
}

// spec is what a test device is: its category and specs.
type spec struct {
	category string
	ram, gb  int // RAM, and one drive of gb (0: no drive)
	screen   float64
	grade    string
}

// mustAvailable creates available devices of a donation of the workshop:
// graded, with an OS and their one drive erased, as the lifecycle wants
// them to become available again after a reservation.
func (f *allocFixture) mustAvailable(t *testing.T, specs ...spec) []int64 {
	t.Helper()
	ctx := context.Background()
	f.donations++
	var lines []donation.Line
	for _, s := range specs {
		lines = append(lines, donation.Line{Category: s.category, Brand: "Dell", Model: "Latitude", Quantity: 1, WeightKg: 2})
	}
	d, err := f.db.CreateDonation(ctx, f.donor.ID, nil, fmt.Sprintf("Lot %d", f.donations), "", lines)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.AssignWorkshop(ctx, d.ID, f.shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i, s := range specs {
		var id int64
		if err := f.db.SQL().QueryRowContext(ctx, `UPDATE devices SET state = 'available', grade = $3, os = 'Debian 12',
			ram_gb = nullif($4, 0), screen_inches = nullif($5::numeric, 0), storage_drives = CASE WHEN $6 > 0 THEN 1 ELSE 0 END
			WHERE donation_id = $1 AND line = $2 RETURNING id`, d.ID, i+1, s.grade, s.ram, s.screen, s.gb).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if s.gb > 0 {
			mustExec(t, f.db, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, 1, 'ssd', $2, $3)`,
				id, s.gb, fmt.Sprintf("SSD-%d", id))
			mustErasure(t, f.db, id, 1, fmt.Sprintf("SSD-%d", id), "passed")
		}
		ids = append(ids, id)
	}
	return ids
}

// mustRequest files an approved request of org with its lines, submitted
// at the given time with the given priority; it returns the lines' ids.
func (f *allocFixture) mustRequest(t *testing.T, org int64, priority int, at time.Time, lines ...allocation.Line) (int64, []int64) {
	t.Helper()
	ctx := context.Background()
	var id int64
	if err := f.db.SQL().QueryRowContext(ctx, `INSERT INTO requests (beneficiary_org_id, state, purpose, delivery_commune, priority,
		submitted_at, decided_at) VALUES ($1, 'approved', 'Équiper la salle informatique', '64102', $2, $3, $3) RETURNING id`,
		org, priority, at).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var out []int64
	for i, l := range lines {
		var lid int64
		if err := f.db.SQL().QueryRowContext(ctx, `INSERT INTO request_lines (request_id, line, category, quantity, min_ram_gb,
			min_storage_gb, min_screen_inches, min_grade) VALUES ($1, $2, $3, $4, nullif($5, 0), nullif($6, 0), nullif($7::numeric, 0),
			nullif($8, '')) RETURNING id`, id, i+1, l.Category, l.Quantity, l.MinRAMGB, l.MinStorageGB, l.MinScreenInches,
			string(l.MinGrade)).Scan(&lid); err != nil {
			t.Fatal(err)
		}
		out = append(out, lid)
	}
	return id, out
}

func mustDeviceState(t *testing.T, db *postgres.DB, id int64, want lifecycle.State) {
	t.Helper()
	st, _, err := db.DeviceFacts(context.Background(), id, postgres.DonationScope{})
	if err != nil || st.State != want {
		t.Fatalf("device %d: %+v, %v; want %s", id, st, err, want)
	}
}

func countRows(t *testing.T, db *postgres.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// The catalogue shows the available devices the filters' minimums accept,
// and none that is reserved, waiting in a recycling batch or not available.
func TestCatalogueFilters(t *testing.T) {
	f := mustAllocFixture(t)
	ctx := context.Background()
	ids := f.mustAvailable(t, spec{"laptop", 8, 256, 14, "B"}, spec{"laptop", 16, 512, 15.6, "A"}, spec{"laptop", 4, 128, 13.3, "C"},
		spec{"tablet", 4, 64, 10.1, "A"}, spec{"laptop", 8, 256, 14, "A"}, spec{"laptop", 8, 0, 14, "A"})
	mustExec(t, f.db, `UPDATE devices SET state = 'refurbished' WHERE id = $1`, ids[4])
	mustExec(t, f.db, `INSERT INTO recycling_batches (workshop_org_id) VALUES ($1)`, f.shop.ID)
	mustExec(t, f.db, `UPDATE devices SET recycling_batch_id = (SELECT max(id) FROM recycling_batches) WHERE id = $1`, ids[5])
	cases := []struct {
		filter allocation.Line
		want   []int64
	}{
		{allocation.Line{}, ids[:4]},
		{allocation.Line{Category: "laptop"}, ids[:3]},
		{allocation.Line{MinRAMGB: 8}, ids[:2]},
		{allocation.Line{MinStorageGB: 256, MinGrade: "B"}, ids[:2]},
		{allocation.Line{MinGrade: "A"}, []int64{ids[1], ids[3]}},
		{allocation.Line{MinScreenInches: 14}, ids[:2]},
		{allocation.Line{Category: "tablet", MinRAMGB: 8}, nil},
	}
	for _, c := range cases {
		got, page, err := f.db.Catalogue(ctx, c.filter, 1)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []int64
		for _, d := range got {
			gotIDs = append(gotIDs, d.ID)
			if !c.filter.Meets(d.Specs()) && c.filter.Category != "" {
				t.Errorf("%+v: device %+v does not meet the filter", c.filter, d)
			}
		}
		if fmt.Sprint(gotIDs) != fmt.Sprint(c.want) || page.Total != len(c.want) {
			t.Errorf("%+v: got %v (total %d), want %v", c.filter, gotIDs, page.Total, c.want)
		}
	}
	got, _, err := f.db.Catalogue(ctx, allocation.Line{}, 1)
	if err != nil || got[1].RAMGB != 16 || got[1].StorageGB != 512 || got[1].ScreenInches != 15.6 || got[1].Grade != "A" ||
		got[1].WorkshopName != "Atelier Hazparne" || got[1].OS != "Debian 12" {
		t.Fatalf("device as listed: %+v, %v", got, err)
	}
	cats, err := f.db.CatalogueCategories(ctx)
	if err != nil || fmt.Sprint(cats) != "[laptop tablet]" {
		t.Fatalf("categories %v, %v", cats, err)
	}
	// Reserved from the catalogue: gone from it.
	_, lines := f.mustRequest(t, f.school.ID, 30, time.Now(), allocation.Line{Category: "laptop", Quantity: 2})
	if _, err := f.db.ReserveFromCatalogue(ctx, ids[0], lines[0], f.school.ID, f.teacher); err != nil {
		t.Fatal(err)
	}
	if _, page, _ := f.db.Catalogue(ctx, allocation.Line{Category: "laptop"}, 1); page.Total != 2 {
		t.Fatalf("after the reservation: %d laptops", page.Total)
	}
}

func TestReserveFromCatalogue(t *testing.T) {
	f := mustAllocFixture(t)
	ctx := context.Background()
	ids := f.mustAvailable(t, spec{"laptop", 8, 256, 14, "B"}, spec{"laptop", 4, 128, 13.3, "C"}, spec{"laptop", 16, 512, 15.6, "A"},
		spec{"tablet", 4, 64, 10.1, "A"})
	_, lines := f.mustRequest(t, f.school.ID, 30, time.Now(), allocation.Line{Category: "laptop", Quantity: 1, MinRAMGB: 8})
	assocReq, assocLines := f.mustRequest(t, f.assoc.ID, 20, time.Now(), allocation.Line{Category: "laptop", Quantity: 3})

	if ok, err := f.db.HasOpenRequest(ctx, f.school.ID); err != nil || !ok {
		t.Fatalf("open request: %v, %v", ok, err)
	}
	r, err := f.db.ReserveFromCatalogue(ctx, ids[0], lines[0], f.school.ID, f.teacher)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != allocation.ReservationAccepted || r.Device.ID != ids[0] || r.OrgID != f.school.ID || r.RequestLineID != lines[0] ||
		r.ProposalID != 0 || r.AnsweredAt == nil || r.ExpiresAt != nil {
		t.Fatalf("reservation %+v", r)
	}
	mustDeviceState(t, f.db, ids[0], lifecycle.Reserved)
	if n := countRows(t, f.db, `SELECT count(*) FROM device_events WHERE device_id = $1 AND to_state = 'reserved'
		AND detail LIKE '%"from":"catalogue"%'`, ids[0]); n != 1 {
		t.Fatalf("%d reservation events", n)
	}
	if n := countRows(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.catalogue_reserved' AND user_id = $1`,
		f.op.UserID); n != 1 {
		t.Fatalf("%d notifications to the operator", n)
	}
	// The line is full now; the same device again is taken; another
	// organisation's line is none of ours; an unfit device is refused.
	_, err = f.db.ReserveFromCatalogue(ctx, ids[2], lines[0], f.school.ID, f.teacher)
	wantKind(t, "line full", err, berriz.Conflict, "matching.error.line_full")
	_, err = f.db.ReserveFromCatalogue(ctx, ids[0], assocLines[0], f.assoc.ID, f.helper)
	wantKind(t, "taken", err, berriz.Conflict, "matching.error.device_taken")
	_, err = f.db.ReserveFromCatalogue(ctx, ids[2], assocLines[0], f.school.ID, f.teacher)
	wantKind(t, "other organisation's line", err, berriz.NotFound, "matching.error.line_not_found")
	_, err = f.db.ReserveFromCatalogue(ctx, ids[3], assocLines[0], f.assoc.ID, f.helper)
	wantKind(t, "unfit", err, berriz.Conflict, "matching.error.device_unfit")
	_, err = f.db.ReserveFromCatalogue(ctx, 999999, assocLines[0], f.assoc.ID, f.helper)
	wantKind(t, "no device", err, berriz.NotFound, "matching.error.device_not_found")
	// A request no longer open takes nothing.
	mustExec(t, f.db, `UPDATE requests SET state = 'cancelled' WHERE id = $1`, assocReq)
	_, err = f.db.ReserveFromCatalogue(ctx, ids[1], assocLines[0], f.assoc.ID, f.helper)
	wantKind(t, "closed", err, berriz.Conflict, "matching.error.request_closed")
	if ok, err := f.db.HasOpenRequest(ctx, f.assoc.ID); err != nil || ok {
		t.Fatalf("open request after cancelling: %v, %v", ok, err)
	}
	mustDeviceState(t, f.db, ids[1], lifecycle.Available)
	// An operator may reserve for any organisation's line.
	mustExec(t, f.db, `UPDATE requests SET state = 'approved' WHERE id = $1`, assocReq)
	if _, err := f.db.ReserveFromCatalogue(ctx, ids[1], assocLines[0], 0, f.op); err != nil {
		t.Fatal(err)
	}
	open, err := f.db.OpenLines(ctx, f.assoc.ID)
	if err != nil || len(open) != 1 || open[0].Need != 2 || open[0].OrgName != "Emmaüs Lescar" {
		t.Fatalf("open lines: %+v, %v", open, err)
	}
}

// The partial unique index reservations_one_live refuses a second live
// reservation of a device, even written by hand past every check.
func TestOneLiveReservationByConstraint(t *testing.T) {
	f := mustAllocFixture(t)
	ctx := context.Background()
	ids := f.mustAvailable(t, spec{"laptop", 8, 256, 14, "B"})
	_, lines := f.mustRequest(t, f.school.ID, 30, time.Now(), allocation.Line{Category: "laptop", Quantity: 2})
	_, other := f.mustRequest(t, f.assoc.ID, 30, time.Now(), allocation.Line{Category: "laptop", Quantity: 2})
	if _, err := f.db.ReserveFromCatalogue(ctx, ids[0], lines[0], f.school.ID, f.teacher); err != nil {
		t.Fatal(err)
	}
	for _, state := range []string{"accepted", "reserved"} {
		_, err := f.db.SQL().ExecContext(ctx, `INSERT INTO reservations (device_id, request_line_id, state, expires_at)
			VALUES ($1, $2, $3, now() + interval '1 day')`, ids[0], other[0], state)
		var pg *pgconn.PgError
		if !errors.As(err, &pg) || pg.Code != "23505" || pg.ConstraintName != "reservations_one_live" {
			t.Fatalf("second live reservation (%s): %v", state, err)
		}
	}
	// Ended reservations do not count: a declined one may sit beside it.
	mustExec(t, f.db, `INSERT INTO reservations (device_id, request_line_id, state) VALUES ($1, $2, 'declined')`, ids[0], other[0])
}

// Concurrent reservations of one device, for several organisations' lines:
// exactly one wins, the others get the conflict naming the device.
func TestReserveConcurrently(t *testing.T) {
	f := mustAllocFixture(t)
	ctx := context.Background()
	ids := f.mustAvailable(t, spec{"laptop", 8, 256, 14, "B"})
	_, school := f.mustRequest(t, f.school.ID, 30, time.Now(), allocation.Line{Category: "laptop", Quantity: 5})
	_, assoc := f.mustRequest(t, f.assoc.ID, 30, time.Now(), allocation.Line{Category: "laptop", Quantity: 5})
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		wins      int
		conflicts int
	)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, org, who := school[0], f.school.ID, f.teacher
			if i%2 == 1 {
				line, org, who = assoc[0], f.assoc.ID, f.helper
			}
			_, err := f.db.ReserveFromCatalogue(ctx, ids[0], line, org, who)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case berriz.As(err).Message == "matching.error.device_taken":
				conflicts++
			default:
				t.Errorf("attempt %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != 29 {
		t.Fatalf("%d wins, %d conflicts", wins, conflicts)
	}
	if n := countRows(t, f.db, `SELECT count(*) FROM reservations WHERE device_id = $1`, ids[0]); n != 1 {
		t.Fatalf("%d reservations", n)
	}
	if n := countRows(t, f.db, `SELECT count(*) FROM device_events WHERE device_id = $1 AND to_state = 'reserved'`, ids[0]); n != 1 {
		t.Fatalf("%d events", n)
	}
}
