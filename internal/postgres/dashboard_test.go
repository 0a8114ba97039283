package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/postgres"
)

// The dashboard counts the workshop's devices per state, lists the ones
// waiting longest (oldest first) and sums the state changes per week.
func TestWorkshopDashboard(t *testing.T) {
	f := mustIntakeFixture(t, 3)
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC) // a Wednesday
	for i, d := range f.devices[:2] {
		if _, err := f.db.IntakeDevice(ctx, f.codes[i], d.ID, f.shop.ID, f.tech, now); err != nil {
			t.Fatal(err)
		}
	}
	// The first device was received three weeks ago and has waited since;
	// the second moved on to diagnosed last week.
	mustExec(t, f.db, `ALTER TABLE device_events DISABLE TRIGGER device_events_no_change`)
	mustExec(t, f.db, `UPDATE device_events SET at = '2026-11-11 09:00:00+01' WHERE device_id = $1`, f.devices[0].ID)
	mustExec(t, f.db, `UPDATE device_events SET at = '2026-11-23 00:30:00+01' WHERE device_id = $1`, f.devices[1].ID)
	mustExec(t, f.db, `ALTER TABLE device_events ENABLE TRIGGER device_events_no_change`)
	mustExec(t, f.db, `UPDATE devices SET state_since = '2026-11-11 09:00:00+01' WHERE id = $1`, f.devices[0].ID)
	mustDiagnosis(t, f.db, f.devices[1].ID, true)
	if _, err := f.db.TransitionDevice(ctx, f.devices[1].ID, postgres.DonationScope{}, postgres.Transition{To: "diagnosed"}, f.tech); err != nil {
		t.Fatal(err)
	}

	dash, err := f.db.WorkshopDashboard(ctx, f.shop.ID, now, 4)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, s := range dash.States {
		counts[s.State] = s.Count
	}
	if len(dash.States) != 11 || counts["declared"] != 1 || counts["received"] != 1 || counts["diagnosed"] != 1 {
		t.Fatalf("states %+v", dash.States)
	}
	if len(dash.Waiting) != 2 || dash.Waiting[0].ID != f.devices[0].ID || dash.Waiting[0].Tag != f.codes[0].String() ||
		dash.Waiting[1].ID != f.devices[1].ID || dash.Waiting[0].Workshop != "Atelier" {
		t.Fatalf("waiting %+v", dash.Waiting)
	}
	if len(dash.Weeks) != 4 || dash.Weeks[0].Week.Format(time.DateOnly) != "2026-11-09" || dash.Weeks[3].Week.Format(time.DateOnly) != "2026-11-30" {
		t.Fatalf("weeks %+v", dash.Weeks)
	}
	// 11 November is in the week of the 9th; 00:30 in Paris on Monday 23
	// November is in the week of the 23rd, although it is still Sunday in
	// UTC.
	if dash.Weeks[0].Received != 1 || dash.Weeks[2].Received != 1 || dash.Weeks[1].Received != 0 || dash.Weeks[3].Received != 0 {
		t.Fatalf("received per week %+v", dash.Weeks)
	}
	// Another workshop's dashboard is empty; every workshop's has them.
	other, err := f.db.WorkshopDashboard(ctx, f.otherShop.ID, now, 4)
	if err != nil || len(other.Waiting) != 0 || other.Weeks[0].Received != 0 {
		t.Fatalf("other workshop: %+v, %v", other, err)
	}
	all, err := f.db.WorkshopDashboard(ctx, 0, now, 4)
	if err != nil || len(all.Waiting) != 2 {
		t.Fatalf("every workshop: %+v, %v", all, err)
	}
}
