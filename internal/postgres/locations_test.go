package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
)

func wantField(t *testing.T, what string, err error, field, key string) {
	t.Helper()
	if be := berriz.As(err); berriz.KindOf(err) != berriz.Invalid || be.Fields[field] != key {
		t.Fatalf("%s: got %v, want %s: %s", what, err, field, key)
	}
}

func TestLocations(t *testing.T) {
	f, ids := mustHeld(t, 2)
	ctx := context.Background()
	shelf, err := f.db.CreateLocation(ctx, f.shop.ID, "  Étagère   A3 ")
	if err != nil || shelf.Name != "Étagère A3" || shelf.WorkshopOrgID != f.shop.ID || shelf.WorkshopName != "Atelier" {
		t.Fatalf("location %+v, %v", shelf, err)
	}
	_, err = f.db.CreateLocation(ctx, f.shop.ID, "Étagère A3")
	wantField(t, "same name", err, "name", "scan.location.error.name_taken")
	_, err = f.db.CreateLocation(ctx, f.shop.ID, "   ")
	wantField(t, "blank", err, "name", "scan.location.error.name_required")
	_, err = f.db.CreateLocation(ctx, f.shop.ID, strings.Repeat("é", 101))
	wantField(t, "long", err, "name", "scan.location.error.name_long")
	_, err = f.db.CreateLocation(ctx, f.donor.ID, "Cave")
	wantField(t, "a donor", err, "workshop", "scan.location.error.workshop")
	_, err = f.db.CreateLocation(ctx, 999999, "Cave")
	wantField(t, "no such organisation", err, "workshop", "scan.location.error.workshop")
	elsewhere, err := f.db.CreateLocation(ctx, f.otherShop.ID, "Étagère A3") // same name, another workshop
	if err != nil {
		t.Fatal(err)
	}
	pallet, err := f.db.CreateLocation(ctx, f.shop.ID, "Palette DEEE")
	if err != nil {
		t.Fatal(err)
	}
	locs, page, err := f.db.Locations(ctx, f.shop.ID, 1)
	if err != nil || page.Total != 2 || locs[0].Name != "Palette DEEE" || locs[1].ID != shelf.ID {
		t.Fatalf("locations %+v, %v", locs, err)
	}
	if _, page, _ := f.db.Locations(ctx, 0, 1); page.Total != 3 {
		t.Fatalf("operators see %d locations", page.Total)
	}
	_, err = f.db.Location(ctx, elsewhere.ID, f.shop.ID)
	wantKind(t, "another workshop's", err, berriz.NotFound, "scan.location.error.not_found")

	// Moving: the location is set, the version grows, the move is in the chain.
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	st := mustState(t, f, ids[0], "received")
	m, err := f.db.MoveDevice(ctx, ids[0], scope, shelf.ID, st.Version, f.tech)
	if err != nil || !m.Changed || m.Location != "Étagère A3" || m.Version != st.Version+1 || m.State != "received" {
		t.Fatalf("move %+v, %v", m, err)
	}
	events := mustEvents(t, f.db, ids[0])
	var detail map[string]any
	if e := events[0]; e.Kind != postgres.EventMoved || e.From != "received" || e.To != "received" || e.Place != "Atelier — Étagère A3" ||
		json.Unmarshal([]byte(e.Detail), &detail) != nil || detail["location_id"] != float64(shelf.ID) {
		t.Fatalf("move event %+v", e)
	}
	_, err = f.db.MoveDevice(ctx, ids[0], scope, pallet.ID, st.Version, f.tech)
	wantKind(t, "stale", err, berriz.Conflict, "lifecycle.error.stale")
	again, err := f.db.MoveDevice(ctx, ids[0], scope, shelf.ID, 0, f.tech)
	if err != nil || again.Changed || again.Version != m.Version || len(mustEvents(t, f.db, ids[0])) != len(events) {
		t.Fatalf("same place %+v, %v", again, err)
	}
	if locs, _, _ := f.db.Locations(ctx, f.shop.ID, 1); locs[1].Devices != 1 {
		t.Fatalf("shelf counts %d devices", locs[1].Devices)
	}
	_, err = f.db.MoveDevice(ctx, ids[0], postgres.DonationScope{}, elsewhere.ID, 0, f.tech)
	wantKind(t, "another workshop's location", err, berriz.Conflict, "scan.error.location_elsewhere")
	_, err = f.db.MoveDevice(ctx, ids[0], postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, elsewhere.ID, 0, f.tech)
	wantKind(t, "another workshop's device", err, berriz.NotFound, "device.error.not_found")
	_, err = f.db.MoveDevice(ctx, ids[0], scope, 999999, 0, f.tech)
	wantKind(t, "no such location", err, berriz.NotFound, "scan.location.error.not_found")
	mustExec(t, f.db, `UPDATE devices SET state = 'delivered' WHERE id = $1`, ids[1])
	_, err = f.db.MoveDevice(ctx, ids[1], scope, shelf.ID, 0, f.tech)
	wantKind(t, "delivered", err, berriz.Conflict, "scan.error.move_not_held")
	if be := berriz.As(err); be.KeyArgs["state"] != "donation.device_state.delivered" {
		t.Fatalf("refusal %+v", be)
	}
}

func TestScanLog(t *testing.T) {
	f, ids := mustHeld(t, 1)
	ctx := context.Background()
	u := f.tech.UserID
	for i := range 12 {
		e := postgres.ScanEntry{Code: strings.Repeat("x", 50), Result: "scan.result.invalid", Outcome: postgres.ScanInvalid}
		if i == 11 {
			e = postgres.ScanEntry{Code: "7KQ2-M9XD", Result: "lifecycle.error.erasure_missing", Outcome: postgres.ScanRefused,
				Args: map[string]string{"count": "2"}, KeyArgs: map[string]string{"from": "donation.device_state.received"},
				DeviceID: ids[0]}
		}
		if err := f.db.RecordScan(ctx, u, e); err != nil {
			t.Fatal(err)
		}
	}
	lines, err := f.db.ScanLog(ctx, u)
	if err != nil || len(lines) != 10 {
		t.Fatalf("%d lines, %v", len(lines), err)
	}
	l := lines[0]
	if l.Result != "lifecycle.error.erasure_missing" || l.Outcome != postgres.ScanRefused || l.Args["count"] != "2" ||
		l.KeyArgs["from"] != "donation.device_state.received" || l.DeviceID != ids[0] || l.Device != "Dell" {
		t.Fatalf("last line %+v", l)
	}
	if lines[1].Code != strings.Repeat("x", 40) || lines[1].Device != "" {
		t.Fatalf("an unreadable code %+v", lines[1])
	}
	other := mustUser(t, f.db, f.shop.ID, "other@atelier.example", false)
	if lines, _ := f.db.ScanLog(ctx, other.ID); len(lines) != 0 {
		t.Fatal("another user sees the scans")
	}
	label, err := f.db.DeviceLabel(ctx, ids[0])
	if err != nil || !strings.HasPrefix(label, "Dell (") {
		t.Fatalf("label %q, %v", label, err)
	}
}
