package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
)

// mustExec runs SQL the way an administrator would, outside the stores.
func mustExec(t *testing.T, db *postgres.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL().ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// mustReceived: a received laptop with two recorded drives, linked to a tag.
func mustReceived(t *testing.T) (intakeFixture, int64) {
	t.Helper()
	f := mustIntakeFixture(t, 1)
	ctx := context.Background()
	id := f.devices[0].ID
	if _, err := f.db.IntakeDevice(ctx, f.codes[0], id, f.shop.ID, f.tech, time.Now()); err != nil {
		t.Fatal(err)
	}
	mustExec(t, f.db, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, 1, 'hdd', 500, 'WD-1'), ($1, 2, 'ssd', 256, 'SSD-2')`, id)
	mustExec(t, f.db, `UPDATE devices SET storage_drives = 2 WHERE id = $1`, id)
	return f, id
}

func mustDiagnosis(t *testing.T, db *postgres.DB, id int64, complete bool) {
	t.Helper()
	mustExec(t, db, `INSERT INTO diagnoses (device_id, cycle, checklist, complete) SELECT id, cycle, 'laptop/v1', $2 FROM devices WHERE id = $1`, id, complete)
}

func mustErasure(t *testing.T, db *postgres.DB, id int64, position int, serial, verification string) {
	t.Helper()
	mustExec(t, db, `INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb, drive_serial, method, tool,
		passes, verification, started_at, ended_at, technician_name)
		SELECT id, cycle, $2, 'hdd', 500, $3, 'purge_overwrite', 'nwipe', 1, $4, now(), now(), 'Ane' FROM devices WHERE id = $1`,
		id, position, serial, verification)
}

func mustState(t *testing.T, f intakeFixture, id int64, want lifecycle.State) postgres.DeviceState {
	t.Helper()
	st, _, err := f.db.DeviceFacts(context.Background(), id, postgres.DonationScope{})
	if err != nil || st.State != want {
		t.Fatalf("device %d: %+v, %v; want %s", id, st, err, want)
	}
	return st
}

// A device goes through the workshop's steps, each refused until its
// facts hold, with the facts read from the records of the current cycle.
func TestTransitionsFollowTheRules(t *testing.T) {
	f, id := mustReceived(t)
	ctx := context.Background()
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	move := func(to lifecycle.State) error {
		_, err := f.db.TransitionDevice(ctx, id, scope, postgres.Transition{To: to}, f.tech)
		return err
	}
	wantKind(t, "no diagnosis", move("diagnosed"), berriz.Conflict, "lifecycle.error.diagnosis_missing")
	mustDiagnosis(t, f.db, id, false)
	wantKind(t, "incomplete diagnosis", move("diagnosed"), berriz.Conflict, "lifecycle.error.diagnosis_missing")
	mustDiagnosis(t, f.db, id, true)
	if err := move("diagnosed"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "skip", move("refurbished"), berriz.Conflict, "lifecycle.error.order")
	wantKind(t, "no erasure", move("wiped"), berriz.Conflict, "lifecycle.error.erasure_missing")
	mustErasure(t, f.db, id, 1, "WD-1", "passed")
	mustErasure(t, f.db, id, 2, "SSD-2", "failed")
	err := move("wiped")
	wantKind(t, "failed verification", err, berriz.Conflict, "lifecycle.error.erasure_failed")
	if a := berriz.As(err).Args["count"]; a != "1" {
		t.Errorf("failed count %q", a)
	}
	// An erasure of another drive (another serial) does not count.
	mustErasure(t, f.db, id, 2, "OTHER", "passed")
	wantKind(t, "other serial", move("wiped"), berriz.Conflict, "lifecycle.error.erasure_failed")
	mustErasure(t, f.db, id, 2, "SSD-2", "passed")
	if err := move("wiped"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "no grade", move("refurbished"), berriz.Conflict, "lifecycle.error.grade_missing")
	mustExec(t, f.db, `UPDATE devices SET grade = 'B' WHERE id = $1`, id)
	wantKind(t, "no OS", move("refurbished"), berriz.Conflict, "lifecycle.error.os_missing")
	mustExec(t, f.db, `UPDATE devices SET os = 'Debian 13' WHERE id = $1`, id)
	for _, to := range []lifecycle.State{"refurbished", "available"} {
		if err := move(to); err != nil {
			t.Fatalf("%s: %v", to, err)
		}
	}
	wantKind(t, "reserve directly", move("reserved"), berriz.Conflict, "lifecycle.error.path")
	// Another workshop does not see the device.
	_, err = f.db.TransitionDevice(ctx, id, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, postgres.Transition{To: "recycled"}, f.tech)
	wantKind(t, "other workshop", err, berriz.NotFound, "device.error.not_found")

	// Back from a beneficiary: a new cycle, the old records no longer count.
	mustExec(t, f.db, `UPDATE devices SET state = 'delivered' WHERE id = $1`, id)
	if err := move("returned"); err != nil {
		t.Fatal(err)
	}
	st := mustState(t, f, id, "returned")
	if st.Cycle != 2 {
		t.Fatalf("cycle %d after return", st.Cycle)
	}
	wantKind(t, "rediagnose", move("diagnosed"), berriz.Conflict, "lifecycle.error.diagnosis_missing")
	mustDiagnosis(t, f.db, id, true)
	if err := move("diagnosed"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "erase again", move("wiped"), berriz.Conflict, "lifecycle.error.erasure_missing")

	events, page, err := f.db.DeviceEvents(ctx, id, 1)
	if err != nil || page.Total != 7 || len(events) != 7 {
		t.Fatalf("events: %d of %d, %v", len(events), page.Total, err)
	}
	if e := events[0]; e.From != "returned" || e.To != "diagnosed" || e.Seq != 7 || e.ActorID != f.tech.UserID || e.Place != "Atelier" {
		t.Fatalf("last event %+v", e)
	}
	if rep, err := f.db.VerifyEventChains(ctx); err != nil || len(rep.Breaks) != 0 || rep.Events != 7 {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
}

// A client that saw an older version gets a conflict with the fresh state.
func TestStaleVersionIsAConflict(t *testing.T) {
	f, id := mustReceived(t)
	ctx := context.Background()
	mustDiagnosis(t, f.db, id, true)
	st := mustState(t, f, id, "received")
	got, err := f.db.TransitionDevice(ctx, id, postgres.DonationScope{}, postgres.Transition{To: "diagnosed", Version: st.Version}, f.tech)
	if err != nil || got.Version != st.Version+1 || got.State != "diagnosed" {
		t.Fatalf("first: %+v, %v", got, err)
	}
	_, err = f.db.TransitionDevice(ctx, id, postgres.DonationScope{}, postgres.Transition{To: "recycled", Version: st.Version}, f.tech)
	wantKind(t, "stale", err, berriz.Conflict, "lifecycle.error.stale")
	be := berriz.As(err)
	if be.Details["state"] != "diagnosed" || be.Details["version"] != st.Version+1 {
		t.Fatalf("details %v", be.Details)
	}
}

// 50 concurrent requests to move one device: with the version the clients
// saw, exactly one wins and 49 are told it changed; without a version (the
// scan station), exactly one wins and 49 are told it is already there. The
// device's log gains exactly one event each time: no lost update.
func TestConcurrentTransitionsOneWins(t *testing.T) {
	f, id := mustReceived(t)
	ctx := context.Background()
	mustDiagnosis(t, f.db, id, true)
	for _, withVersion := range []bool{true, false} {
		t.Run(fmt.Sprint("version=", withVersion), func(t *testing.T) {
			st, _, err := f.db.DeviceFacts(ctx, id, postgres.DonationScope{})
			if err != nil {
				t.Fatal(err)
			}
			to := lifecycle.Diagnosed
			want := "lifecycle.error.already"
			if st.State == lifecycle.Diagnosed {
				mustErasure(t, f.db, id, 1, "WD-1", "passed")
				mustErasure(t, f.db, id, 2, "SSD-2", "passed")
				to = lifecycle.Wiped
			}
			tr := postgres.Transition{To: to}
			if withVersion {
				tr.Version, want = st.Version, "lifecycle.error.stale"
			}
			var (
				wg        sync.WaitGroup
				mu        sync.Mutex
				wins      int
				conflicts = map[string]int{}
			)
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := f.db.TransitionDevice(ctx, id, postgres.DonationScope{WorkshopOrgID: f.shop.ID}, tr, f.tech)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						wins++
						return
					}
					if berriz.KindOf(err) != berriz.Conflict {
						t.Errorf("not a conflict: %v", err)
						return
					}
					conflicts[berriz.As(err).Message]++
				}()
			}
			wg.Wait()
			if wins != 1 || conflicts[want] != 49 {
				t.Fatalf("%d wins, conflicts %v; want 1 and 49 %s", wins, conflicts, want)
			}
			after := mustState(t, f, id, to)
			if after.Version != st.Version+1 {
				t.Fatalf("version %d → %d", st.Version, after.Version)
			}
			_, page, err := f.db.DeviceEvents(ctx, id, 1)
			if err != nil {
				t.Fatal(err)
			}
			var seq int
			if err := f.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM device_events WHERE device_id = $1 AND to_state = $2`, id, string(to)).Scan(&seq); err != nil || seq != 1 {
				t.Fatalf("%d events to %s (%v), chain of %d", seq, to, err, page.Total)
			}
		})
	}
}
