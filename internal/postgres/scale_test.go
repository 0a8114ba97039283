package postgres_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
)

// TestLoadScale loads a small territory at scale and checks it against
// what the product writes: devices by state, one delivery event and one
// current emission result per delivered device, valid hash chains, and
// handovers holding their devices.
func TestLoadScale(t *testing.T) {
	db := pgtest.MustDB(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	res, err := db.LoadScale(ctx, postgres.ScaleOptions{Devices: 2000, Seed: 7, Now: now, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Devices != 2000 || res.States["delivered"] != 600 || res.Deliveries != 620 || res.Emissions != 620 {
		t.Fatalf("result %+v", res)
	}
	q := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := db.SQL().QueryRowContext(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	for state, want := range res.States {
		if got := q(`SELECT count(*) FROM devices WHERE state = $1`, state); got != want {
			t.Errorf("%s devices: %d, want %d", state, got, want)
		}
	}
	checks := []struct {
		what string
		sql  string
		want int
	}{
		{"devices", `SELECT count(*) FROM devices`, 2000},
		{"delivery events", `SELECT count(*) FROM device_events WHERE kind = 'state' AND to_state = 'delivered'`, res.Deliveries},
		{"current results", `SELECT count(*) FROM emission_results WHERE current`, res.Deliveries},
		{"results of a delivery", `SELECT count(DISTINCT (e.device_id, e.cycle)) FROM emission_results e
			JOIN reservations r ON r.device_id = e.device_id AND r.handover_id = e.handover_id AND r.state = 'delivered'`, res.Deliveries},
		{"consolidated results", `SELECT count(*) FROM emission_results WHERE status = 'consolidated' AND current`, res.States["returned"]},
		{"tags", `SELECT count(*) FROM tags WHERE device_id IS NOT NULL`, 2000 - res.States["declared"]},
		{"events", `SELECT count(*) FROM device_events`, res.Events},
		{"handovers", `SELECT count(*) FROM handovers WHERE state = 'confirmed'`, res.Handovers},
		{"delivered reservations", `SELECT count(*) FROM reservations WHERE state = 'delivered'`, res.Deliveries},
		{"accepted reservations", `SELECT count(*) FROM reservations WHERE state = 'accepted'`, res.States["reserved"]},
		{"events in the future", `SELECT count(*) FROM device_events WHERE at > now()`, 0},
		{"chains out of order", `SELECT count(*) FROM device_events a JOIN device_events b ON b.device_id = a.device_id
			AND b.seq = a.seq + 1 WHERE b.at < a.at`, 0},
		{"heads", `SELECT count(*) FROM devices WHERE event_seq <> (SELECT count(*) FROM device_events e WHERE e.device_id = devices.id)`, 0},
		{"results credited to another day", `SELECT count(*) FROM emission_results e JOIN handovers h ON h.id = e.handover_id
			WHERE e.delivered_on <> (h.confirmed_at AT TIME ZONE 'Europe/Paris')::date`, 0},
		{"delivered at confirmation", `SELECT count(*) FROM device_events e JOIN reservations r ON r.device_id = e.device_id
			JOIN handovers h ON h.id = r.handover_id WHERE e.to_state = 'delivered' AND e.at <> h.confirmed_at`, 0},
		{"months", `SELECT count(DISTINCT date_trunc('month', at)) FROM device_events`, 0},
		{"communes", `SELECT count(DISTINCT commune) FROM organisations`, 150},
	}
	for _, c := range checks {
		got := q(c.sql)
		if c.what == "months" {
			if got < 48 {
				t.Errorf("events spread over %d months, want about 60", got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
	// the emission figures are the method's: the first laptop delivered
	// has the default D (METHOD.md: 0.7 × 182.3 × 3/5 − 3 = 73.566 kg)
	var net float64
	if err := db.SQL().QueryRowContext(ctx, `SELECT e.net_kg FROM emission_results e JOIN devices v ON v.id = e.device_id
		JOIN handovers h ON h.id = e.handover_id WHERE v.category = 'laptop' AND e.status = 'estimated'
		ORDER BY h.confirmed_at LIMIT 1`).Scan(&net); err != nil {
		t.Fatal(err)
	}
	if net != 73.566 {
		t.Errorf("first laptop estimate %v kg, want 73.566", net)
	}
	if rows, err := db.SQL().QueryContext(ctx, `SELECT a.device_id, a.to_state, a.at, b.to_state, b.at FROM device_events a JOIN device_events b ON b.device_id = a.device_id
			AND b.seq = a.seq + 1 WHERE b.at < a.at LIMIT 5`); err == nil {
		for rows.Next() {
			var id int64
			var s1, s2 string
			var t1, t2 time.Time
			rows.Scan(&id, &s1, &t1, &s2, &t2)
			t.Logf("out of order: %d %s %s -> %s %s", id, s1, t1, s2, t2)
		}
		rows.Close()
	}
	for _, tq := range []postgres.TotalsQuery{{}, {GroupBy: []postgres.TotalsDim{"month", "category"}},
		{GroupBy: []postgres.TotalsDim{"commune"}}, {GroupBy: []postgres.TotalsDim{"beneficiary_kind", "donor_kind"}},
		{Commune: "64102", Category: "laptop"}, {From: "2024-01", To: "2024-12", GroupBy: []postgres.TotalsDim{"month"}}} {
		got, err := db.ObservatoryTotals(ctx, tq)
		if err != nil {
			t.Fatal(err)
		}
		want, err := db.ObservatoryTotalsNaive(ctx, tq)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: maintained %+v\nnaive %+v", tq, got, want)
		}
		if len(tq.GroupBy) == 0 && tq.Commune == "" && (len(got.Rows) != 1 || got.Rows[0].Delivered != int64(res.Deliveries) ||
			got.Rows[0].Results != int64(res.Deliveries) || got.Rows[0].Received != int64(2000-res.States["declared"])) {
			t.Errorf("grand total %+v, want %d delivered and results", got.Rows, res.Deliveries)
		}
	}
	rep, err := db.VerifyEventChains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Breaks) > 0 || rep.Events != res.Events || rep.Devices != 2000-res.States["declared"] {
		t.Fatalf("audit: %d devices, %d events, breaks %+v", rep.Devices, rep.Events, rep.Breaks[:min(3, len(rep.Breaks))])
	}
}
