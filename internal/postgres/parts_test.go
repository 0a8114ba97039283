package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
)

// mustWorkshopDevices: n laptops received by the fixture's workshop, each
// with two recorded drives (hdd WD-<i> at 1, ssd SSD-<i> at 2).
func mustWorkshopDevices(t *testing.T, n int) (intakeFixture, []int64) {
	t.Helper()
	f := mustIntakeFixture(t, n)
	var ids []int64
	for i, d := range f.devices {
		if _, err := f.db.IntakeDevice(context.Background(), f.codes[i], d.ID, f.shop.ID, f.tech, time.Now()); err != nil {
			t.Fatal(err)
		}
		mustExec(t, f.db, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial)
			VALUES ($1, 1, 'hdd', 500, $2), ($1, 2, 'ssd', 256, $3)`, d.ID, fmt.Sprintf("WD-%d", i), fmt.Sprintf("SSD-%d", i))
		mustExec(t, f.db, `UPDATE devices SET storage_drives = 2 WHERE id = $1`, d.ID)
		ids = append(ids, d.ID)
	}
	return f, ids
}

func (f intakeFixture) scope() postgres.DonationScope {
	return postgres.DonationScope{WorkshopOrgID: f.shop.ID}
}

func mustMove(t *testing.T, f intakeFixture, id int64, to lifecycle.State) {
	t.Helper()
	if _, err := f.db.TransitionDevice(context.Background(), id, f.scope(), postgres.Transition{To: to}, f.tech); err != nil {
		t.Fatalf("device %d to %s: %v", id, to, err)
	}
}

// mustWiped takes the i-th device of mustWorkshopDevices to wiped.
func mustWiped(t *testing.T, f intakeFixture, i int, id int64) {
	t.Helper()
	mustDiagnosis(t, f.db, id, true)
	mustMove(t, f, id, lifecycle.Diagnosed)
	mustErasure(t, f.db, id, 1, fmt.Sprintf("WD-%d", i), "passed")
	mustErasure(t, f.db, id, 2, fmt.Sprintf("SSD-%d", i), "passed")
	mustMove(t, f, id, lifecycle.Wiped)
}

func TestAddRepair(t *testing.T) {
	f, ids := mustWorkshopDevices(t, 2)
	ctx := context.Background()
	id := ids[0]
	before, _, err := f.db.DeviceFacts(ctx, id, f.scope())
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.db.AddRepair(ctx, id, f.scope(), parts.Work{Kind: parts.WorkRepair, Description: " Charnière gauche remplacée ", Minutes: 25}, f.tech)
	if err != nil || r.ID == 0 || r.Description != "Charnière gauche remplacée" || r.Cycle != 1 {
		t.Fatalf("repair: %+v %v", r, err)
	}
	if _, err := f.db.AddRepair(ctx, id, f.scope(), parts.Work{Kind: parts.WorkOSInstall, OS: "Debian 13", Minutes: 40}, f.tech); err != nil {
		t.Fatal(err)
	}
	d, err := f.db.Device(ctx, id, f.scope())
	if err != nil || d.Specs.OS != "Debian 13" || d.State != "received" || d.Version != before.Version {
		t.Fatalf("after the OS install: %+v %v", d, err)
	}
	list, err := f.db.DeviceRepairs(ctx, id, 1, 1, postgres.PageSize)
	if err != nil || list.Page.Total != 2 || list.TotalMinutes != 65 || list.Items[0].Kind != parts.WorkOSInstall ||
		list.Items[0].Description != "Debian 13" || list.Items[1].CreatedBy == "" || list.Items[1].Part != nil {
		t.Fatalf("list: %+v %v", list, err)
	}
	events, _, err := f.db.DeviceEvents(ctx, id, 1)
	if err != nil || events[0].Kind != postgres.EventRepair || events[0].From != "received" || events[0].To != "received" ||
		!strings.Contains(events[0].Detail, `"os":"Debian 13"`) || events[1].Note != "Charnière gauche remplacée" {
		t.Fatalf("events: %+v %v", events[:2], err)
	}

	_, err = f.db.AddRepair(ctx, id, f.scope(), parts.Work{Kind: parts.WorkRepair, Minutes: 5}, f.tech)
	wantKind(t, "no description", err, berriz.Invalid, "error.invalid_fields")
	_, err = f.db.AddRepair(ctx, id, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, parts.Work{Kind: parts.WorkCleaning, Description: "x"}, f.tech)
	wantKind(t, "other workshop", err, berriz.NotFound, "device.error.not_found")
	// A declared device is not in the workshop yet; an available one is published.
	mustExec(t, f.db, `UPDATE devices SET state = 'declared' WHERE id = $1`, ids[1])
	_, err = f.db.AddRepair(ctx, ids[1], f.scope(), parts.Work{Kind: parts.WorkCleaning, Description: "x"}, f.tech)
	wantKind(t, "declared", err, berriz.Conflict, "parts.error.work_state")
	mustExec(t, f.db, `UPDATE devices SET state = 'available' WHERE id = $1`, ids[1])
	_, err = f.db.FitPart(ctx, ids[1], f.scope(), parts.Fit{NewPart: parts.NewPart{Kind: "keyboard"}}, f.tech)
	wantKind(t, "available", err, berriz.Conflict, "parts.error.work_state")
}

// A second-hand SSD kept from a dismantled laptop, fitted to a wiped one:
// the device stays erased (the copied erasure record matches the new
// drive) and can be refurbished and published; a new drive is blank.
func TestFitSecondHandDriveKeepsDeviceErased(t *testing.T) {
	f, ids := mustWorkshopDevices(t, 2)
	ctx := context.Background()
	donorDev, target := ids[0], ids[1]
	mustErasure(t, f.db, donorDev, 1, "WD-0", "passed")
	mustErasure(t, f.db, donorDev, 2, "SSD-0", "passed")
	st, kept, err := f.db.DismantleDevice(ctx, donorDev, f.scope(), parts.Dismantle{Note: "carte mère HS",
		Parts: []parts.Kept{{Kind: "ssd_256gb", Drive: 2, Description: "Samsung PM871"}, {Kind: "laptop_battery"}}}, f.tech)
	if err != nil || st.State != lifecycle.Dismantled || len(kept) != 2 {
		t.Fatalf("dismantle: %+v %+v %v", st, kept, err)
	}
	ssd := kept[0]
	if ssd.Condition != parts.SecondHand || ssd.SourceDeviceID != donorDev || ssd.DriveType != device.SSD || ssd.CapacityGB != 256 ||
		ssd.Serial != "SSD-0" || ssd.ErasureID == 0 || ssd.State != parts.InStock || ssd.WorkshopOrgID != f.shop.ID ||
		kept[1].DriveType != "" || kept[1].ErasureID != 0 {
		t.Fatalf("kept: %+v", kept)
	}

	mustWiped(t, f, 1, target)
	r, err := f.db.FitPart(ctx, target, f.scope(), parts.Fit{StockPartID: ssd.ID, Minutes: 10}, f.tech)
	if err != nil || r.Kind != parts.WorkPart || r.Part == nil || r.Part.Condition != parts.SecondHand || r.Part.Drive != 3 ||
		r.Part.Kind != "ssd_256gb" || r.Part.StockPartID != ssd.ID || r.Minutes != 10 {
		t.Fatalf("fit: %+v %v", r, err)
	}
	d, err := f.db.Device(ctx, target, f.scope())
	if err != nil || len(d.Specs.Drives) != 3 || d.Specs.Drives[2] != (device.Drive{Position: 3, Type: device.SSD, CapacityGB: 256, Serial: "SSD-0"}) ||
		d.StorageDrives != 3 {
		t.Fatalf("device after the fit: %+v %v", d.Specs.Drives, err)
	}
	_, facts, err := f.db.DeviceFacts(ctx, target, f.scope())
	if err != nil || facts.Drives != 3 || facts.DrivesErased != 3 || facts.StorageDrives != 3 {
		t.Fatalf("facts %+v %v", facts, err)
	}
	var tool, notes, method string
	var tech *int64
	if err := f.db.SQL().QueryRowContext(ctx, `SELECT tool, notes, method, technician_id FROM erasures WHERE device_id = $1 AND drive_position = 3`,
		target).Scan(&tool, &notes, &method, &tech); err != nil {
		t.Fatal(err)
	}
	if tool != "nwipe" || method != "purge_overwrite" || notes != fmt.Sprintf("from device %d, erasure %d", donorDev, ssd.ErasureID) {
		t.Fatalf("copied erasure: %s %s %q", tool, method, notes)
	}
	sp, err := f.db.StockPart(ctx, ssd.ID, f.shop.ID)
	if err != nil || sp.State != parts.Fitted || sp.FittedDeviceID != target || sp.FittedAt == nil {
		t.Fatalf("stock part after the fit: %+v %v", sp, err)
	}
	events, _, _ := f.db.DeviceEvents(ctx, target, 1)
	var detail struct {
		Kind        string
		Condition   string
		StockPartID int64 `json:"stock_part_id"`
		Drive       device.Drive
	}
	if events[0].Kind != postgres.EventPart || json.Unmarshal([]byte(events[0].Detail), &detail) != nil || detail.StockPartID != ssd.ID ||
		detail.Condition != "second_hand" || detail.Drive.Position != 3 || detail.Drive.Serial != "SSD-0" {
		t.Fatalf("event %+v", events[0])
	}
	// The same part again: it is gone.
	_, err = f.db.FitPart(ctx, target, f.scope(), parts.Fit{StockPartID: ssd.ID}, f.tech)
	wantKind(t, "fitted twice", err, berriz.Conflict, "parts.error.stock_gone")

	// A new drive comes with a blank record; a new battery adds no drive.
	r, err = f.db.FitPart(ctx, target, f.scope(), parts.Fit{NewPart: parts.NewPart{Kind: "ssd_512gb", DriveType: device.NVMe, Serial: "NEW-1"}}, f.tech)
	if err != nil || r.Part.Drive != 4 || r.Part.Condition != parts.New || r.Description != "ssd_512gb" {
		t.Fatalf("new drive: %+v %v", r, err)
	}
	if err := f.db.SQL().QueryRowContext(ctx, `SELECT tool, notes, method FROM erasures WHERE device_id = $1 AND drive_position = 4`,
		target).Scan(&tool, &notes, &method); err != nil || tool != "new_blank" || notes != "new drive" || method != "clear" {
		t.Fatalf("blank record: %s %s %s %v", tool, notes, method, err)
	}
	if _, err := f.db.FitPart(ctx, target, f.scope(), parts.Fit{NewPart: parts.NewPart{Kind: "laptop_battery", Description: "neuve"}, Minutes: 5}, f.tech); err != nil {
		t.Fatal(err)
	}
	if _, facts, _ := f.db.DeviceFacts(ctx, target, f.scope()); facts.Drives != 4 || facts.DrivesErased != 4 {
		t.Fatalf("facts %+v", facts)
	}
	// Still erased: it is graded, gets an OS and goes all the way.
	mustExec(t, f.db, `UPDATE devices SET grade = 'B' WHERE id = $1`, target)
	if _, err := f.db.AddRepair(ctx, target, f.scope(), parts.Work{Kind: parts.WorkOSInstall, OS: "Linux Mint 22"}, f.tech); err != nil {
		t.Fatal(err)
	}
	mustMove(t, f, target, lifecycle.Refurbished)
	mustMove(t, f, target, lifecycle.Available)
	list, err := f.db.DeviceRepairs(ctx, target, 1, 1, postgres.PageSize)
	if err != nil || list.Page.Total != 4 || list.TotalMinutes != 15 || list.Items[1].Part == nil || list.Items[1].Part.Kind != "laptop_battery" {
		t.Fatalf("repairs: %+v %v", list, err)
	}
}

// mustStockDrive puts a second-hand SSD into the stock of the workshop,
// erased as given: verification "" for no erasure at all.
func mustStockDrive(t *testing.T, f intakeFixture, source int64, method, verification string) int64 {
	t.Helper()
	ctx := context.Background()
	var erasure *int64
	if verification != "" {
		var id int64
		if err := f.db.SQL().QueryRowContext(ctx, `INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb,
			drive_serial, method, tool, passes, verification, started_at, ended_at, technician_name)
			VALUES ($1, 1, 2, 'ssd', 256, 'STOCK-SSD', $2, 'nwipe', 1, $3, now(), now(), 'Ane') RETURNING id`, source, method, verification).
			Scan(&id); err != nil {
			t.Fatal(err)
		}
		erasure = &id
	}
	var id int64
	if err := f.db.SQL().QueryRowContext(ctx, `INSERT INTO stock_parts (workshop_org_id, kind, condition, source_device_id, drive_type,
		capacity_gb, serial, erasure_id) VALUES ($1, 'ssd_256gb', 'second_hand', $2, 'ssd', 256, 'STOCK-SSD', $3) RETURNING id`,
		f.shop.ID, source, erasure).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// A stock drive without a verified erasure never enters a device, nor one
// of another workshop's stock.
func TestFitRefusesUnerasedOrForeignStock(t *testing.T) {
	f, ids := mustWorkshopDevices(t, 2)
	ctx := context.Background()
	target := ids[1]
	mustWiped(t, f, 1, target)
	for _, tt := range []struct{ method, verification string }{{"", ""}, {"purge_overwrite", "failed"}, {"destroy", "passed"}} {
		sp := mustStockDrive(t, f, ids[0], tt.method, tt.verification)
		_, err := f.db.FitPart(ctx, target, f.scope(), parts.Fit{StockPartID: sp}, f.tech)
		wantKind(t, "unerased "+tt.verification, err, berriz.Conflict, "parts.error.stock_unerased")
		if p, _ := f.db.StockPart(ctx, sp, 0); p.State != parts.InStock {
			t.Fatalf("refused part changed: %+v", p)
		}
	}
	if _, facts, _ := f.db.DeviceFacts(ctx, target, f.scope()); facts.Drives != 2 || facts.DrivesErased != 2 {
		t.Fatalf("a refused drive was added: %+v", facts)
	}
	foreign, err := f.db.AddStockPart(ctx, f.otherShop.ID, parts.NewPart{Kind: "ram_8gb"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.db.FitPart(ctx, target, f.scope(), parts.Fit{StockPartID: foreign.ID}, f.tech)
	wantKind(t, "other workshop's part", err, berriz.NotFound, "parts.error.stock_not_found")
	// Operators neither: the part must be in the device's workshop.
	_, err = f.db.FitPart(ctx, target, postgres.DonationScope{}, parts.Fit{StockPartID: foreign.ID}, f.tech)
	wantKind(t, "operator, other workshop's part", err, berriz.NotFound, "parts.error.stock_not_found")
	_, err = f.db.FitPart(ctx, target, f.scope(), parts.Fit{StockPartID: 1 << 40}, f.tech)
	wantKind(t, "no such part", err, berriz.NotFound, "parts.error.stock_not_found")
}

// Two technicians reach for the same stock part for two devices at once:
// one gets it, the other a conflict, and the part is fitted once.
func TestConcurrentFitOfOneStockPart(t *testing.T) {
	f, ids := mustWorkshopDevices(t, 3)
	ctx := context.Background()
	sp, err := f.db.AddStockPart(ctx, f.shop.ID, parts.NewPart{Kind: "ssd_256gb", Serial: "NEW-SSD"}, f.tech)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			_, errs[i] = f.db.FitPart(ctx, ids[i+1], f.scope(), parts.Fit{StockPartID: sp.ID}, f.tech)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case berriz.As(err).Message != "parts.error.stock_gone":
			t.Fatalf("loser: %v", err)
		}
	}
	var fitted int
	if err := f.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM device_parts WHERE stock_part_id = $1`, sp.ID).Scan(&fitted); err != nil {
		t.Fatal(err)
	}
	if won != 1 || fitted != 1 {
		t.Fatalf("%d won, %d fitted: %v", won, fitted, errs)
	}
}
