package postgres_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
)

// Dismantling is refused while a drive is not erased (nothing enters the
// stock); a destroyed drive cannot be kept; with erased drives the kept
// parts enter the stock and the event lists them.
func TestDismantleDevice(t *testing.T) {
	f, ids := mustWorkshopDevices(t, 1)
	ctx := context.Background()
	id := ids[0]
	keep := parts.Dismantle{Parts: []parts.Kept{{Kind: "hdd", Drive: 1}, {Kind: "ram_8gb", Description: "DDR4 SO-DIMM"}}}
	_, _, err := f.db.DismantleDevice(ctx, id, f.scope(), keep, f.tech)
	wantKind(t, "unerased", err, berriz.Conflict, "lifecycle.error.erasure_missing")
	mustErasure(t, f.db, id, 1, "WD-0", "passed")
	mustExec(t, f.db, `INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb, drive_serial, method, tool,
		passes, verification, started_at, ended_at, technician_name) VALUES ($1, 1, 2, 'ssd', 256, 'SSD-0', 'destroy', 'shredder', 0,
		'passed', now(), now(), 'Ane')`, id)
	for name, tt := range map[string]struct {
		in    parts.Dismantle
		field string
		key   string
	}{
		"destroyed": {parts.Dismantle{Parts: []parts.Kept{{Kind: "keyboard"}, {Kind: "ssd_256gb", Drive: 2}}}, "parts[1].drive", "parts.error.drive_destroyed"},
		"no drive":  {parts.Dismantle{Parts: []parts.Kept{{Kind: "hdd", Drive: 5}}}, "parts[0].drive", "parts.error.drive_unknown"},
		"bad input": {parts.Dismantle{Parts: []parts.Kept{{Kind: "hdd"}}}, "parts[0].drive", "parts.error.drive_required"},
	} {
		_, _, err := f.db.DismantleDevice(ctx, id, f.scope(), tt.in, f.tech)
		if e := berriz.As(err); e.Kind != berriz.Invalid || e.Fields[tt.field] != tt.key {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, _, err = f.db.DismantleDevice(ctx, id, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, keep, f.tech)
	wantKind(t, "other workshop", err, berriz.NotFound, "device.error.not_found")
	if list, page, _ := f.db.StockParts(ctx, postgres.StockFilter{}); len(list) != 0 || page.Total != 0 {
		t.Fatalf("refused dismantlings left parts: %+v", list)
	}

	st, kept, err := f.db.DismantleDevice(ctx, id, f.scope(), keep, f.tech)
	if err != nil || st.State != lifecycle.Dismantled || len(kept) != 2 || kept[0].Kind != "hdd" || kept[0].DriveType != device.HDD ||
		kept[0].Serial != "WD-0" || kept[0].ErasureID == 0 || kept[1].Description != "DDR4 SO-DIMM" || kept[1].Condition != parts.SecondHand {
		t.Fatalf("dismantle: %+v %+v %v", st, kept, err)
	}
	events, _, _ := f.db.DeviceEvents(ctx, id, 1)
	var detail struct {
		Parts []struct {
			StockPartID int64 `json:"stock_part_id"`
			Kind        string
			Drive       int
		}
	}
	if events[0].To != "dismantled" || json.Unmarshal([]byte(events[0].Detail), &detail) != nil || len(detail.Parts) != 2 ||
		detail.Parts[0].StockPartID != kept[0].ID || detail.Parts[0].Drive != 1 || detail.Parts[1].Kind != "ram_8gb" {
		t.Fatalf("event %+v", events[0])
	}
	_, _, err = f.db.DismantleDevice(ctx, id, f.scope(), parts.Dismantle{}, f.tech)
	wantKind(t, "twice", err, berriz.Conflict, "lifecycle.error.already")
}

func TestStockAddListDiscard(t *testing.T) {
	f, _ := mustWorkshopDevices(t, 1)
	ctx := context.Background()
	ssd, err := f.db.AddStockPart(ctx, f.shop.ID, parts.NewPart{Kind: "ssd_1tb", Description: "Crucial MX500", Serial: "CT1"}, f.tech)
	if err != nil || ssd.Condition != parts.New || ssd.DriveType != device.SSD || ssd.CapacityGB != 1000 || ssd.State != parts.InStock ||
		ssd.WorkshopName != f.shop.Name {
		t.Fatalf("add: %+v %v", ssd, err)
	}
	bat, err := f.db.AddStockPart(ctx, f.shop.ID, parts.NewPart{Kind: "laptop_battery"}, f.tech)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.AddStockPart(ctx, f.otherShop.ID, parts.NewPart{Kind: "keyboard"}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.db.AddStockPart(ctx, f.donor.ID, parts.NewPart{Kind: "keyboard"}, nil)
	if e := berriz.As(err); e.Kind != berriz.Invalid || e.Fields["workshop_organisation_id"] != "parts.error.workshop" {
		t.Fatalf("a donor's stock: %v", err)
	}
	_, err = f.db.AddStockPart(ctx, f.shop.ID, parts.NewPart{Kind: "hdd"}, nil)
	wantKind(t, "no capacity", err, berriz.Invalid, "error.invalid_fields")

	list, page, err := f.db.StockParts(ctx, postgres.StockFilter{WorkshopOrgID: f.shop.ID})
	if err != nil || page.Total != 2 || list[0].ID != bat.ID {
		t.Fatalf("workshop list: %+v %v", list, err)
	}
	if _, page, _ := f.db.StockParts(ctx, postgres.StockFilter{}); page.Total != 3 {
		t.Fatalf("every workshop: %d", page.Total)
	}
	if list, _, _ := f.db.StockParts(ctx, postgres.StockFilter{WorkshopOrgID: f.shop.ID, Kind: "ssd_1tb", State: parts.InStock}); len(list) != 1 || list[0].ID != ssd.ID {
		t.Fatalf("by kind: %+v", list)
	}
	fit, total, err := f.db.FittableStock(ctx, f.shop.ID, 1)
	if err != nil || total != 2 || len(fit) != 1 || fit[0].ID != ssd.ID {
		t.Fatalf("fittable: %+v %d %v", fit, total, err)
	}

	_, err = f.db.DiscardStockPart(ctx, bat.ID, f.shop.ID, " ", f.tech)
	wantKind(t, "no reason", err, berriz.Invalid, "error.invalid_fields")
	_, err = f.db.DiscardStockPart(ctx, bat.ID, f.otherShop.ID, "gonflée", f.tech)
	wantKind(t, "other workshop", err, berriz.NotFound, "parts.error.stock_not_found")
	got, err := f.db.DiscardStockPart(ctx, bat.ID, f.shop.ID, " gonflée ", f.tech)
	if err != nil || got.State != parts.Discarded || got.DiscardReason != "gonflée" || got.DiscardedAt == nil {
		t.Fatalf("discard: %+v %v", got, err)
	}
	_, err = f.db.DiscardStockPart(ctx, bat.ID, 0, "again", f.tech)
	wantKind(t, "twice", err, berriz.Conflict, "parts.error.stock_gone")
	if list, _, _ := f.db.StockParts(ctx, postgres.StockFilter{WorkshopOrgID: f.shop.ID, State: parts.Discarded}); len(list) != 1 {
		t.Fatalf("discarded: %+v", list)
	}
	if _, total, _ := f.db.FittableStock(ctx, f.shop.ID, 10); total != 1 {
		t.Fatalf("discarded part still fittable: %d", total)
	}
}

// From wiped on, the drives change only through parts: specs that change
// them are refused, specs that keep them still update the rest.
func TestSpecsDrivesFrozenOnceWiped(t *testing.T) {
	f, ids := mustWorkshopDevices(t, 1)
	ctx := context.Background()
	id := ids[0]
	ram := 8
	drives := []device.Drive{{Position: 1, Type: device.HDD, CapacityGB: 500, Serial: "WD-0"}, {Position: 2, Type: device.SSD, CapacityGB: 256, Serial: "SSD-0"}}
	// Before erasure the drives may still be corrected.
	changed := append([]device.Drive(nil), drives...)
	changed[1].Serial = "SSD-0-FIXED"
	if err := f.db.SetDeviceSpecs(ctx, id, f.scope(), device.Specs{CPU: "i5", Drives: changed}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetDeviceSpecs(ctx, id, f.scope(), device.Specs{CPU: "i5", Drives: drives}); err != nil {
		t.Fatal(err)
	}
	mustWiped(t, f, 0, id)
	if err := f.db.SetDeviceSpecs(ctx, id, f.scope(), device.Specs{CPU: "i7-8650U", RAMGB: &ram, OS: "Debian", Drives: drives}); err != nil {
		t.Fatalf("same drives: %v", err)
	}
	for name, ds := range map[string][]device.Drive{"serial": changed, "removed": drives[:1], "none": nil,
		"added": append(append([]device.Drive(nil), drives...), device.Drive{Position: 3, Type: device.SSD, CapacityGB: 128})} {
		err := f.db.SetDeviceSpecs(ctx, id, f.scope(), device.Specs{CPU: "changed", Drives: ds})
		wantKind(t, name, err, berriz.Conflict, "parts.error.drives_frozen")
	}
	d, err := f.db.Device(ctx, id, f.scope())
	if err != nil || d.Specs.CPU != "i7-8650U" || d.Specs.OS != "Debian" || *d.Specs.RAMGB != 8 || len(d.Specs.Drives) != 2 || d.StorageDrives != 2 {
		t.Fatalf("after: %+v %v", d, err)
	}
	mustState(t, f, id, lifecycle.Wiped)
}
