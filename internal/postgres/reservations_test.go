package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
)

// mustSent: n laptops proposed to the school's line and sent at now for
// days; it returns the school's reservations, in device order.
func mustSent(t *testing.T, f *allocFixture, n int, now time.Time, days int) []postgres.Reservation {
	t.Helper()
	ctx := context.Background()
	specs := make([]spec, n)
	for i := range specs {
		specs[i] = spec{"laptop", 8, 256, 14, "B"}
	}
	f.mustAvailable(t, specs...)
	f.mustRequest(t, f.school.ID, 40, now, allocation.Line{Category: "laptop", Quantity: n})
	p, err := f.db.RunMatching(ctx, f.op)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.db.SendProposal(ctx, p.ID, now, days, f.op); err != nil || len(res.Dropped) != 0 {
		t.Fatalf("send: %+v, %v", res, err)
	}
	var out []postgres.Reservation
	for page := 1; ; page++ {
		rs, pg, err := f.db.LiveReservations(ctx, f.school.ID, page)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rs...)
		if page >= pg.Pages() {
			break
		}
	}
	if len(out) != n {
		t.Fatalf("%d reservations, want %d", len(out), n)
	}
	return out
}

func TestAnswerReservations(t *testing.T) {
	f := mustAllocFixture(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	rs := mustSent(t, f, 4, now, 7)
	// Another organisation's reservation does not exist for it.
	_, err := f.db.AnswerReservation(ctx, rs[0].ID, f.assoc.ID, true, now, f.helper)
	wantKind(t, "other organisation", err, berriz.NotFound, "matching.error.reservation_not_found")

	r, err := f.db.AnswerReservation(ctx, rs[0].ID, f.school.ID, true, now.Add(time.Hour), f.teacher)
	if err != nil || r.State != allocation.ReservationAccepted || r.AnsweredAt == nil || r.ExpiresAt != nil {
		t.Fatalf("accepted %+v, %v", r, err)
	}
	mustDeviceState(t, f.db, rs[0].Device.ID, lifecycle.Reserved)
	if n := countRows(t, f.db, `SELECT count(*) FROM device_events WHERE device_id = $1 AND kind = 'reservation'
		AND detail LIKE '%"answer":"accepted"%'`, rs[0].Device.ID); n != 1 {
		t.Fatalf("%d acceptance events", n)
	}
	r, err = f.db.AnswerReservation(ctx, rs[1].ID, f.school.ID, false, now.Add(time.Hour), f.teacher)
	if err != nil || r.State != allocation.ReservationDeclined {
		t.Fatalf("declined %+v, %v", r, err)
	}
	mustDeviceState(t, f.db, rs[1].Device.ID, lifecycle.Available)
	_, err = f.db.AnswerReservation(ctx, rs[1].ID, f.school.ID, true, now.Add(time.Hour), f.teacher)
	wantKind(t, "answered twice", err, berriz.Conflict, "matching.error.not_reserved")
	// Past its expiry, even before the job ran, no answer is taken.
	_, err = f.db.AnswerReservation(ctx, rs[2].ID, f.school.ID, true, now.AddDate(0, 0, 7), f.teacher)
	wantKind(t, "expired", err, berriz.Conflict, "matching.error.expired")
	// An operator answers for the school.
	if _, err := f.db.AnswerReservation(ctx, rs[2].ID, 0, true, now, f.op); err != nil {
		t.Fatal(err)
	}

	// Release: an accepted reservation goes back, the school is told.
	r, err = f.db.ReleaseReservation(ctx, rs[0].ID, f.op)
	if err != nil || r.State != allocation.ReservationReleased {
		t.Fatalf("released %+v, %v", r, err)
	}
	mustDeviceState(t, f.db, rs[0].Device.ID, lifecycle.Available)
	if n := countRows(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.reservation_released' AND user_id = $1`,
		f.teacher.UserID); n != 1 {
		t.Fatalf("%d release notifications", n)
	}
	_, err = f.db.ReleaseReservation(ctx, rs[0].ID, f.op)
	wantKind(t, "released twice", err, berriz.Conflict, "matching.error.not_live")
	// One a prepared handover holds is refused.
	var handover int64
	if err := f.db.SQL().QueryRowContext(ctx, `INSERT INTO handovers (request_id, workshop_org_id, number)
		VALUES ($1, $2, 'BRZ-H-2026-000001') RETURNING id`, rs[2].RequestID, f.shop.ID).Scan(&handover); err != nil {
		t.Fatal(err)
	}
	mustExec(t, f.db, `UPDATE reservations SET handover_id = $1 WHERE id = $2`, handover, rs[2].ID)
	_, err = f.db.ReleaseReservation(ctx, rs[2].ID, f.op)
	wantKind(t, "in a handover", err, berriz.Conflict, "matching.error.in_handover")
	_, err = f.db.ReleaseReservation(ctx, 999999, f.op)
	wantKind(t, "no reservation", err, berriz.NotFound, "matching.error.reservation_not_found")
}

// Two instances run the expiry job at once: every reservation past its
// expiry is expired exactly once (one event back to available per device,
// one notice each), and those not yet due stay.
func TestExpireReservationsTwoInstances(t *testing.T) {
	f := mustAllocFixture(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	rs := mustSent(t, f, 40, now, 7)
	// The last five were sent later: not due yet.
	late := rs[35:]
	for _, r := range late {
		mustExec(t, f.db, `UPDATE reservations SET expires_at = $1 WHERE id = $2`, now.AddDate(0, 0, 10), r.ID)
	}
	// One is accepted meanwhile: it never expires.
	if _, err := f.db.AnswerReservation(ctx, rs[0].ID, f.school.ID, true, now, f.teacher); err != nil {
		t.Fatal(err)
	}
	at := now.AddDate(0, 0, 7)
	var wg sync.WaitGroup
	done := make([]int, 2)
	errs := make([]error, 2)
	for i := range done {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done[i], errs[i] = f.db.ExpireReservations(ctx, at)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || done[0]+done[1] != 34 {
		t.Fatalf("expired %v, %v", done, errs)
	}
	if n := countRows(t, f.db, `SELECT count(*) FROM reservations WHERE state = 'expired'`); n != 34 {
		t.Fatalf("%d expired", n)
	}
	if n := countRows(t, f.db, `SELECT count(*) FROM device_events WHERE kind = 'state' AND from_state = 'reserved'
		AND to_state = 'available'`); n != 34 {
		t.Fatalf("%d devices back to available", n)
	}
	if n := countRows(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.reservation_expired' AND user_id = $1`,
		f.teacher.UserID); n != 34 {
		t.Fatalf("%d expiry notices", n)
	}
	mustDeviceState(t, f.db, rs[0].Device.ID, lifecycle.Reserved)
	mustDeviceState(t, f.db, late[0].Device.ID, lifecycle.Reserved)
	mustDeviceState(t, f.db, rs[1].Device.ID, lifecycle.Available)
	// Nothing left to do; the late ones expire in their turn.
	if n, err := f.db.ExpireReservations(ctx, at); n != 0 || err != nil {
		t.Fatalf("again: %d, %v", n, err)
	}
	if n, err := f.db.ExpireReservations(ctx, now.AddDate(0, 0, 10)); n != 5 || err != nil {
		t.Fatalf("later: %d, %v", n, err)
	}
}

// A reservation whose device the lifecycle refuses to release is left as
// it is and reported; the others still expire.
func TestExpireReservationsReportsRefusals(t *testing.T) {
	f := mustAllocFixture(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	rs := mustSent(t, f, 3, now, 1)
	// A drive recorded on it since, not erased: it may not become available.
	mustExec(t, f.db, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, 2, 'hdd', 500, 'WD-9')`,
		rs[1].Device.ID)
	mustExec(t, f.db, `UPDATE devices SET storage_drives = 2 WHERE id = $1`, rs[1].Device.ID)
	n, err := f.db.ExpireReservations(ctx, now.AddDate(0, 0, 1))
	if n != 2 || err == nil {
		t.Fatalf("expired %d, %v", n, err)
	}
	mustDeviceState(t, f.db, rs[1].Device.ID, lifecycle.Reserved)
	if r, _ := f.db.Reservation(ctx, rs[1].ID, 0); r.State != allocation.ReservationReserved {
		t.Fatalf("refused one: %+v", r)
	}
}

// Reminders: once per reservation still waiting within two days of its
// expiry (and sent at least a day before), one notice per organisation,
// never twice, even with two instances at once.
func TestRemindReservations(t *testing.T) {
	f := mustAllocFixture(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	rs := mustSent(t, f, 6, now, 7)
	if _, err := f.db.AnswerReservation(ctx, rs[0].ID, f.school.ID, true, now, f.teacher); err != nil {
		t.Fatal(err)
	}
	if n, err := f.db.RemindReservations(ctx, now.Add(time.Hour)); n != 0 || err != nil {
		t.Fatalf("too early: %d, %v", n, err)
	}
	at := now.AddDate(0, 0, 5).Add(time.Hour)
	var wg sync.WaitGroup
	got := make([]int, 2)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := f.db.RemindReservations(ctx, at)
			if err != nil {
				t.Error(err)
			}
			got[i] = n
		}()
	}
	wg.Wait()
	if got[0]+got[1] != 5 || countRows(t, f.db, `SELECT count(*) FROM reservations WHERE reminded_at IS NOT NULL`) != 5 {
		t.Fatalf("reminded %v", got)
	}
	if n := countRows(t, f.db, `SELECT coalesce(sum((args->>'count')::int), 0) FROM notifications
		WHERE kind = 'notify.reservation_expiring' AND user_id = $1`, f.teacher.UserID); n != 5 {
		t.Fatalf("the notices count %d devices", n)
	}
	if n, err := f.db.RemindReservations(ctx, at.Add(time.Hour)); n != 0 || err != nil {
		t.Fatalf("again: %d, %v", n, err)
	}
	// Past the expiry, nothing to remind: the expiry takes them.
	if n, _ := f.db.RemindReservations(ctx, now.AddDate(0, 0, 8)); n != 0 {
		t.Fatalf("after the expiry: %d", n)
	}
}
