package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
)

func idText(n int64) string { return strconv.FormatInt(n, 10) }

// mustRequestReservation records a reservation with SQL, as the matching and
// handover code will: the device is put in the state its reservation
// means (reserved while live, delivered, available otherwise), graded and
// with an OS so the lifecycle lets it become available again.
func mustRequestReservation(t *testing.T, db *postgres.DB, device, line, proposal int64, state string) int64 {
	t.Helper()
	deviceState := map[string]string{"reserved": "reserved", "accepted": "reserved", "delivered": "delivered"}[state]
	if deviceState == "" {
		deviceState = "available"
	}
	mustExec(t, db, `UPDATE devices SET state = $2, grade = 'B', os = 'Debian 12' WHERE id = $1`, device, deviceState)
	var id int64
	if err := db.SQL().QueryRowContext(context.Background(), `INSERT INTO reservations (device_id, request_line_id, proposal_id, state,
		expires_at) VALUES ($1, $2, nullif($3, 0), $4, CASE WHEN $4 = 'reserved' THEN now() + interval '7 days' END) RETURNING id`,
		device, line, proposal, state).Scan(&id); err != nil {
		t.Fatalf("reservation: %v", err)
	}
	return id
}

func mustRequestProposal(t *testing.T, db *postgres.DB, state string) int64 {
	t.Helper()
	var id int64
	q := `INSERT INTO proposals (state) VALUES ('draft') RETURNING id`
	if state == "sent" {
		q = `INSERT INTO proposals (state, sent_at, expires_at) VALUES ('sent', now(), now() + interval '7 days') RETURNING id`
	}
	if err := db.SQL().QueryRowContext(context.Background(), q).Scan(&id); err != nil {
		t.Fatalf("proposal: %v", err)
	}
	return id
}

func requestReservationState(t *testing.T, db *postgres.DB, id int64) string {
	t.Helper()
	var s string
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT state FROM reservations WHERE id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (f requestFixture) mustApproved(t *testing.T, org int64) postgres.Request {
	t.Helper()
	r := f.mustRequest(t, f.op, org)
	r, err := f.db.DecideRequest(context.Background(), r.ID, postgres.RequestDecision{Decision: allocation.Approve, Version: r.Version}, f.op)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Cancelling releases the request's live reservations and gives their
// devices back, and only those: delivered devices stay delivered, answered
// or draft reservations and other requests' reservations are untouched.
func TestCancelReleasesReservations(t *testing.T) {
	f := mustIntakeFixture(t, 6)
	rf := mustRequestFixture(t, f.db)
	ctx := context.Background()
	r := rf.mustApproved(t, rf.school.ID)
	other := rf.mustApproved(t, rf.assoc.ID)
	sent, draft := mustRequestProposal(t, f.db, "sent"), mustRequestProposal(t, f.db, "draft")
	line := r.Lines[0].ID
	d := func(i int) int64 { return f.devices[i].ID }
	reserved := mustRequestReservation(t, f.db, d(0), line, sent, "reserved")
	accepted := mustRequestReservation(t, f.db, d(1), line, sent, "accepted")
	delivered := mustRequestReservation(t, f.db, d(2), line, sent, "delivered")
	declined := mustRequestReservation(t, f.db, d(3), line, sent, "declined")
	proposed := mustRequestReservation(t, f.db, d(4), line, draft, "proposed")
	elsewhere := mustRequestReservation(t, f.db, d(5), other.Lines[0].ID, sent, "reserved")

	// The progress of the line, drafts counted for operators only.
	got, err := f.db.Request(ctx, r.ID, postgres.RequestScope{})
	if l := got.Lines[0]; err != nil || l.Proposed != 1 || l.Reserved != 1 || l.Accepted != 1 || l.Delivered != 1 || got.Delivered != 1 {
		t.Fatalf("progress: %+v %v", got.Lines, err)
	}
	if got, _ = f.db.Request(ctx, r.ID, rf.schoolScope); got.Lines[0].Proposed != 0 || got.Lines[0].Reserved != 1 {
		t.Fatalf("beneficiary's progress: %+v", got.Lines[0])
	}

	_, err = f.db.CancelRequest(ctx, r.ID, rf.assocScope, r.Version, "", rf.volunteer)
	wantKind(t, "another beneficiary", err, berriz.NotFound, "request.error.not_found")
	_, err = f.db.CancelRequest(ctx, r.ID, rf.schoolScope, r.Version-1, "", rf.teacher)
	wantKind(t, "stale", err, berriz.Conflict, "request.error.stale")

	out, err := f.db.CancelRequest(ctx, r.ID, rf.schoolScope, r.Version, "Le projet est reporté.", rf.teacher)
	if err != nil || out.State != allocation.Cancelled || out.Version != r.Version+1 {
		t.Fatalf("cancel: %+v %v", out, err)
	}
	last := out.History[len(out.History)-1]
	if last.From != allocation.Approved || last.To != allocation.Cancelled || last.ActorName != rf.teacher.Name || last.Reason != "Le projet est reporté." {
		t.Errorf("trace %+v", last)
	}
	for _, c := range []struct {
		reservation int64
		device      int
		want        string
		state       lifecycle.State
	}{
		{reserved, 0, "released", lifecycle.Available},
		{accepted, 1, "released", lifecycle.Available},
		{delivered, 2, "delivered", lifecycle.Delivered},
		{declined, 3, "declined", lifecycle.Available},
		{proposed, 4, "proposed", lifecycle.Available},
		{elsewhere, 5, "reserved", lifecycle.Reserved},
	} {
		if s := requestReservationState(t, f.db, c.reservation); s != c.want {
			t.Errorf("reservation of device %d: %s, want %s", c.device, s, c.want)
		}
		mustState(t, f, d(c.device), c.state)
	}
	// The devices' logs say why, in their hash chains.
	var detail string
	if err := f.db.SQL().QueryRowContext(ctx, `SELECT detail FROM device_events WHERE device_id = $1 AND kind = 'state'
		AND from_state = 'reserved' AND to_state = 'available'`, d(1)).Scan(&detail); err != nil || !strings.Contains(detail, `"request_cancelled"`) {
		t.Errorf("device event: %q %v", detail, err)
	}
	if rep, err := f.db.VerifyEventChains(ctx); err != nil || len(rep.Breaks) != 0 {
		t.Errorf("audit: %+v %v", rep.Breaks, err)
	}
	if n := mustRequestCount(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.request_cancelled' AND user_id IN ($1, $2)`,
		rf.operatorUser, rf.otherOperator); n != 2 {
		t.Errorf("operators told %d times", n)
	}
	_, err = f.db.CancelRequest(ctx, r.ID, rf.schoolScope, out.Version, "", rf.teacher)
	wantKind(t, "cancelled twice", err, berriz.Conflict, "request.error.step")

	// An operator cancels a submitted request: the beneficiary is told.
	s := rf.mustRequest(t, rf.teacher, rf.school.ID)
	if _, err := f.db.CancelRequest(ctx, s.ID, postgres.RequestScope{}, s.Version, "", rf.op); err != nil {
		t.Fatal(err)
	}
	if n := mustRequestCount(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.request_cancelled' AND user_id = $1`,
		rf.teacher.UserID); n != 1 {
		t.Errorf("beneficiary told %d times", n)
	}
}

// The operator decides while the beneficiary cancels, with the same
// version: exactly one wins, the other gets a conflict, and the request
// ends in the winner's state.
func TestConcurrentDecideAndCancel(t *testing.T) {
	f := mustIntakeFixture(t, 10)
	rf := mustRequestFixture(t, f.db)
	ctx := context.Background()
	for round := range 10 {
		r := rf.mustRequest(t, rf.teacher, rf.school.ID)
		// Half the rounds have a reserved device to release: the
		// cancellation then also takes device locks.
		if round%2 == 1 {
			mustRequestReservation(t, f.db, f.devices[round].ID, r.Lines[0].ID, mustRequestProposal(t, f.db, "sent"), "reserved")
		}
		var wg sync.WaitGroup
		var decideErr, cancelErr error
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, decideErr = f.db.DecideRequest(ctx, r.ID, postgres.RequestDecision{Decision: allocation.Approve, Version: r.Version}, rf.op)
		}()
		go func() {
			defer wg.Done()
			<-start
			_, cancelErr = f.db.CancelRequest(ctx, r.ID, rf.schoolScope, r.Version, "", rf.teacher)
		}()
		close(start)
		wg.Wait()
		if (decideErr == nil) == (cancelErr == nil) {
			t.Fatalf("round %d: decide %v, cancel %v: want exactly one winner", round, decideErr, cancelErr)
		}
		want, lost := allocation.Approved, cancelErr
		if cancelErr == nil {
			want, lost = allocation.Cancelled, decideErr
		}
		if berriz.KindOf(lost) != berriz.Conflict {
			t.Errorf("round %d: the loser got %v, want a conflict", round, lost)
		}
		got, err := f.db.Request(ctx, r.ID, postgres.RequestScope{})
		if err != nil || got.State != want || got.Version != 2 || len(got.History) != 2 {
			t.Errorf("round %d: %s v%d (%d events), want %s v2", round, got.State, got.Version, len(got.History), want)
		}
	}
}
