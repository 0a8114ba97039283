package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/postgres"
)

// mustChains: two devices with a few events each.
func mustChains(t *testing.T) (intakeFixture, []int64) {
	t.Helper()
	f := mustIntakeFixture(t, 2)
	ctx := context.Background()
	var ids []int64
	for i, d := range f.devices {
		if _, err := f.db.IntakeDevice(ctx, f.codes[i], d.ID, f.shop.ID, f.tech, time.Now()); err != nil {
			t.Fatal(err)
		}
		mustDiagnosis(t, f.db, d.ID, true)
		if _, err := f.db.TransitionDevice(ctx, d.ID, postgres.DonationScope{}, postgres.Transition{To: "diagnosed", Note: "écran rayé, clavier AZERTY"}, f.tech); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.TransitionDevice(ctx, d.ID, postgres.DonationScope{}, postgres.Transition{To: "wiped"}, f.tech); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	return f, ids
}

// tamper changes the log behind berriz's back, as someone with SQL access
// could: the append-only trigger is switched off for the session.
func tamper(t *testing.T, db *postgres.DB, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range []string{`ALTER TABLE device_events DISABLE TRIGGER device_events_no_change`, q,
		`ALTER TABLE device_events ENABLE TRIGGER device_events_no_change`} {
		a := args
		if s != q {
			a = nil
		}
		if _, err := conn.ExecContext(ctx, s, a...); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func mustEventID(t *testing.T, db *postgres.DB, device int64, seq int) int64 {
	t.Helper()
	var id int64
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT id FROM device_events WHERE device_id = $1 AND seq = $2`, device, seq).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAuditVerify(t *testing.T) {
	cases := []struct {
		name   string
		change string // SQL with $1 = device, $2 = event id
		seq    int    // the event named, 0 for the head
		reason string
	}{
		{"note altered", `UPDATE device_events SET note = 'rien à signaler' WHERE id = $2 AND device_id = $1`, 2, postgres.BreakAltered},
		{"state altered", `UPDATE device_events SET to_state = 'available' WHERE id = $2 AND device_id = $1`, 2, postgres.BreakAltered},
		{"time altered", `UPDATE device_events SET at = at - interval '1 day' WHERE id = $2 AND device_id = $1`, 2, postgres.BreakAltered},
		{"event removed", `DELETE FROM device_events WHERE id = $2 AND device_id = $1`, 3, postgres.BreakSequence},
		{"last event removed", `DELETE FROM device_events WHERE id = $2 AND device_id = $1`, 0, postgres.BreakHead},
		{"hash rewritten", `UPDATE device_events SET hash = sha256(hash) WHERE id = $2 AND device_id = $1`, 2, postgres.BreakAltered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, ids := mustChains(t)
			ctx := context.Background()
			rep, err := f.db.VerifyEventChains(ctx)
			if err != nil || len(rep.Breaks) != 0 || rep.Devices != 2 || rep.Events != 6 || len(rep.Digest) != 64 {
				t.Fatalf("clean database: %+v, %v", rep, err)
			}
			victim := ids[1]
			seq := 2
			if c.name == "last event removed" {
				seq = 3
			}
			event := mustEventID(t, f.db, victim, seq)
			tamper(t, f.db, c.change, victim, event)
			rep, err = f.db.VerifyEventChains(ctx)
			if err != nil || len(rep.Breaks) != 1 {
				t.Fatalf("after tampering: %+v, %v", rep, err)
			}
			b := rep.Breaks[0]
			wantEvent := event
			if c.seq == 0 {
				wantEvent = 0
			} else if c.seq != seq {
				wantEvent = mustEventID(t, f.db, victim, c.seq)
			}
			if b.DeviceID != victim || b.Reason != c.reason || b.EventID != wantEvent || b.Tag != f.codes[1].String() {
				t.Fatalf("break %+v; want device %d event %d (%s), tag %s", b, victim, wantEvent, c.reason, f.codes[1])
			}
		})
	}
}

// The SQL twin of the chain's hash, which the migration used to chain the
// events recorded before chaining existed, agrees with the Go function that
// chains every new event: the chains built in Go verify against it.
func TestEventHashSQLTwin(t *testing.T) {
	f, ids := mustChains(t)
	ctx := context.Background()
	var mismatches int
	err := f.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM device_events
		WHERE device_id = ANY($1) AND hash <> device_event_hash(prev_hash, device_id, seq, at, actor_id, kind, from_state,
			to_state, place, note, detail)`, ids).Scan(&mismatches)
	if err != nil || mismatches != 0 {
		t.Fatalf("%d events hashed differently in SQL, %v", mismatches, err)
	}
}
