package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/postgres"
)

// nwipeRun is one verified nwipe pass over a drive, with a log.
func nwipeRun(position int, serial string, v erasure.Verification, log string) postgres.NewErasure {
	now := time.Now()
	in := postgres.NewErasure{Drive: erasure.DriveRef{Position: position, Serial: serial, HasSerial: serial != ""},
		Record: erasure.Record{Method: erasure.Clear, Tool: erasure.NWipe, ToolVersion: "0.35", Passes: 1, Verification: v,
			StartedAt: now.Add(-2 * time.Hour), EndedAt: now.Add(-time.Hour)}, Now: now}
	if log != "" {
		in.Log = &postgres.ErasureLog{Key: "devices/x/erasure-logs/" + log + ".txt", Name: log + ".log",
			ContentType: erasure.LogText, Size: 42, SHA256: strings.Repeat(log[:1], 64)}
	}
	return in
}

func driveStatuses(t *testing.T, db *postgres.DB, id int64) string {
	t.Helper()
	drives, err := db.DriveErasures(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range drives {
		out = append(out, d.Serial+"="+string(d.Status))
	}
	return strings.Join(out, " ")
}

func flagged(t *testing.T, db *postgres.DB, id int64) bool {
	t.Helper()
	d, err := db.Device(context.Background(), id, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := db.Devices(context.Background(), postgres.DeviceFilter{DonationID: d.DonationID})
	if err != nil || len(list) == 0 || list[0].ErasureFailed != d.ErasureFailed {
		t.Fatalf("listing %+v, %v: disagrees with the device", list, err)
	}
	return d.ErasureFailed
}

// Erasure records: a snapshot of the drive, the checks that need the
// drive and the device, statuses per drive, the failed flag in the
// inventory, the event in the device's chain, and the scope.
func TestRecordErasure(t *testing.T) {
	f, id := mustReceived(t)
	ctx := context.Background()
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	e, err := f.db.RecordErasure(ctx, id, scope, nwipeRun(1, "WD-1", erasure.Passed, "a"), f.tech)
	if err != nil {
		t.Fatal(err)
	}
	if e.Drive != (erasure.Drive{Position: 1, Type: "hdd", CapacityGB: 500, Serial: "WD-1"}) || e.Cycle != 1 ||
		e.TechnicianName != "tech@atelier.example" || e.Log == nil || e.Log.SHA256 != strings.Repeat("a", 64) {
		t.Fatalf("recorded %+v", e)
	}
	if got := driveStatuses(t, f.db, id); got != "WD-1=erased SSD-2=missing" || flagged(t, f.db, id) {
		t.Fatalf("statuses %s", got)
	}
	// The SSD fails its verification: flagged, in the listing too.
	failed := nwipeRun(2, "", erasure.Failed, "")
	if _, err := f.db.RecordErasure(ctx, id, scope, failed, f.tech); err != nil {
		t.Fatal(err)
	}
	if got := driveStatuses(t, f.db, id); got != "WD-1=erased SSD-2=failed" || !flagged(t, f.db, id) {
		t.Fatalf("after the failure: %s", got)
	}
	// Erased again by the drive's own command: the flag goes.
	again := nwipeRun(2, "SSD-2", erasure.Passed, "")
	again.Record.Tool, again.Record.Method, again.Record.Passes = erasure.NVMeSanitize, erasure.PurgeBlockErase, 0
	if _, err := f.db.RecordErasure(ctx, id, scope, again, f.tech); err != nil {
		t.Fatal(err)
	}
	if got := driveStatuses(t, f.db, id); got != "WD-1=erased SSD-2=erased" || flagged(t, f.db, id) {
		t.Fatalf("after the new erasure: %s", got)
	}

	refusals := []struct {
		name  string
		in    func() postgres.NewErasure
		kind  berriz.Kind
		key   string
		field string
	}{
		{"no such drive", func() postgres.NewErasure { return nwipeRun(3, "", erasure.Passed, "") }, berriz.Invalid, "", "drive"},
		{"drive replaced meanwhile", func() postgres.NewErasure { return nwipeRun(1, "WD-OLD", erasure.Passed, "") }, berriz.Conflict, "erasure.error.drive_changed", ""},
		{"in the future", func() postgres.NewErasure {
			in := nwipeRun(1, "", erasure.Passed, "")
			in.Record.EndedAt = in.Now.Add(time.Hour)
			return in
		}, berriz.Invalid, "", "ended_at"},
		{"overwrite purges no SSD", func() postgres.NewErasure {
			in := nwipeRun(2, "", erasure.Passed, "")
			in.Record.Method = erasure.PurgeOverwrite
			return in
		}, berriz.Invalid, "", "method"},
		{"500 GB in a second", func() postgres.NewErasure {
			in := nwipeRun(1, "", erasure.Passed, "")
			in.Record.Passes, in.Record.StartedAt = 7, in.Record.EndedAt.Add(-time.Second)
			return in
		}, berriz.Invalid, "", "ended_at"},
	}
	for _, r := range refusals {
		_, err := f.db.RecordErasure(ctx, id, scope, r.in(), f.tech)
		be := berriz.As(err)
		if be.Kind != r.kind || r.key != "" && be.Message != r.key || r.field != "" && be.Fields[r.field] == "" {
			t.Errorf("%s: %v", r.name, err)
		}
	}
	_, err = f.db.RecordErasure(ctx, id, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, nwipeRun(1, "", erasure.Passed, ""), f.tech)
	wantKind(t, "other workshop", err, berriz.NotFound, "device.error.not_found")
	_, err = f.db.RecordErasure(ctx, id, scope, nwipeRun(1, "", erasure.Passed, ""), nil)
	wantKind(t, "nobody", err, berriz.Forbidden, "erasure.error.technician")
	_, err = f.db.RecordErasure(ctx, f.devices[0].ID+1000, scope, nwipeRun(1, "", erasure.Passed, ""), f.tech)
	wantKind(t, "unknown device", err, berriz.NotFound, "device.error.not_found")

	// Newest first, a page at a time; one record by id, in scope only.
	list, page, err := f.db.DeviceErasures(ctx, id, 1, 2)
	if err != nil || page.Total != 3 || len(list) != 2 || list[0].Tool != erasure.NVMeSanitize || list[1].Verification != erasure.Failed {
		t.Fatalf("page 1: %+v %+v %v", list, page, err)
	}
	if list, _, _ := f.db.DeviceErasures(ctx, id, 2, 2); len(list) != 1 || list[0].ID != e.ID {
		t.Fatalf("page 2: %+v", list)
	}
	got, err := f.db.DeviceErasure(ctx, id, e.ID, scope)
	if err != nil || got.Log == nil || got.Log.Key != e.Log.Key || !got.StartedAt.Equal(e.StartedAt.Truncate(time.Microsecond)) {
		t.Fatalf("by id: %+v %v", got, err)
	}
	_, err = f.db.DeviceErasure(ctx, id, e.ID, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID})
	wantKind(t, "by id, other workshop", err, berriz.NotFound, "erasure.error.not_found")

	// Each record is an event of the device's chain, with the log's checksum.
	events, _, err := f.db.DeviceEvents(ctx, id, 1)
	if err != nil || events[2].Kind != postgres.EventErasure || events[2].From != "received" || events[2].To != "received" ||
		!strings.Contains(events[2].Detail, `"log_sha256":"`+strings.Repeat("a", 64)+`"`) || !strings.Contains(events[1].Detail, `"verification":"failed"`) {
		t.Fatalf("events %+v %v", events, err)
	}
	if rep, err := f.db.VerifyEventChains(ctx); err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}

	// Not before reception, nor once reserved or gone.
	for _, st := range []string{"declared", "reserved", "delivered", "recycled"} {
		mustExec(t, f.db, `UPDATE devices SET state = $2 WHERE id = $1`, id, st)
		_, err := f.db.RecordErasure(ctx, id, scope, nwipeRun(1, "", erasure.Passed, ""), f.tech)
		wantKind(t, st, err, berriz.Conflict, "erasure.error.state")
	}
	mustExec(t, f.db, `UPDATE devices SET state = 'refurbished' WHERE id = $1`, id)
	if _, err := f.db.RecordErasure(ctx, id, scope, nwipeRun(1, "", erasure.Passed, ""), f.tech); err != nil {
		t.Errorf("refurbished: %v", err)
	}
}
