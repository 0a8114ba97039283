package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
)

func TestDevicesScopeAndFilters(t *testing.T) {
	f := mustDonationFixture(t)
	ctx := context.Background()
	mine := f.mustCreate(t, f.donor.ID, donation.Line{Category: "laptop", Quantity: 3, WeightKg: 2},
		donation.Line{Category: "monitor_24", Quantity: 2, WeightKg: 4.5})
	theirs := f.mustCreate(t, f.other.ID, donation.Line{Category: "laptop", Quantity: 4, WeightKg: 2})
	if _, err := f.db.AssignWorkshop(ctx, theirs.ID, f.shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    postgres.DeviceFilter
		want int
	}{
		{"operator", postgres.DeviceFilter{}, 9},
		{"donor", postgres.DeviceFilter{Scope: postgres.DonationScope{DonorOrgID: f.donor.ID}}, 5},
		{"donor laptops", postgres.DeviceFilter{Scope: postgres.DonationScope{DonorOrgID: f.donor.ID}, Category: "laptop"}, 3},
		{"workshop", postgres.DeviceFilter{Scope: postgres.DonationScope{WorkshopOrgID: f.shop.ID}}, 4},
		{"by donation", postgres.DeviceFilter{DonationID: mine.ID}, 5},
		{"by workshop", postgres.DeviceFilter{WorkshopID: f.shop.ID}, 4},
		{"by state", postgres.DeviceFilter{State: "received"}, 0},
		{"donor asking other donation", postgres.DeviceFilter{Scope: postgres.DonationScope{DonorOrgID: f.donor.ID}, DonationID: theirs.ID}, 0},
	} {
		list, page, err := f.db.Devices(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := f.db.EachDevice(ctx, tc.f, func(postgres.DeviceRow) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if len(list) != tc.want || page.Total != tc.want || n != tc.want {
			t.Errorf("%s: %d rows, total %d, streamed %d; want %d", tc.name, len(list), page.Total, n, tc.want)
		}
	}
	devs, _, _ := f.db.Devices(ctx, postgres.DeviceFilter{DonationID: theirs.ID})
	if _, err := f.db.Device(ctx, devs[0].ID, postgres.DonationScope{DonorOrgID: f.donor.ID}); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("other donor's device: %v", err)
	}
	if d, err := f.db.Device(ctx, devs[0].ID, postgres.DonationScope{WorkshopOrgID: f.shop.ID}); err != nil || d.WorkshopName != "Atelier" {
		t.Errorf("workshop's device: %+v %v", d, err)
	}
}

func TestDeviceSpecsAndFiles(t *testing.T) {
	f := mustDonationFixture(t)
	ctx := context.Background()
	d := f.mustCreate(t, f.donor.ID, donation.Line{Category: "laptop", Quantity: 1, WeightKg: 2, StorageDrives: 1})
	devs, _, _ := f.db.Devices(ctx, postgres.DeviceFilter{DonationID: d.ID})
	id := devs[0].ID
	specs, fe := device.Input{"cpu": "i5", "ram_gb": "8", "screen_inches": "13.3", "battery_health_pct": "87",
		"drive_type_1": "ssd", "drive_capacity_1": "256", "drive_type_2": "hdd", "drive_capacity_2": "1000"}.Parse()
	if fe != nil {
		t.Fatal(fe)
	}
	if err := f.db.SetDeviceSpecs(ctx, id, postgres.DonationScope{}, specs); err != nil {
		t.Fatal(err)
	}
	got, err := f.db.Device(ctx, id, postgres.DonationScope{})
	if err != nil || got.Specs.CPU != "i5" || *got.Specs.RAMGB != 8 || *got.Specs.ScreenInches != 13.3 ||
		*got.Specs.BatteryHealthPct != 87 || len(got.Specs.Drives) != 2 || got.StorageDrives != 2 {
		t.Fatalf("stored %+v %v", got, err)
	}
	if err := f.db.SetDeviceSpecs(ctx, id, postgres.DonationScope{WorkshopOrgID: f.shop.ID}, specs); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("out of scope: %v", err)
	}
	// Ten concurrent photo records: exactly MaxPhotos win.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := "devices/x/photos/" + strings.Repeat("a", i+1)
			_, err := f.db.AddDeviceFile(ctx, postgres.DonationScope{}, postgres.DeviceFile{DeviceID: id, Kind: "photo",
				Key: k + ".jpg", ThumbKey: k + "-t.jpg", ContentType: "image/jpeg", Size: 10, SHA256: strings.Repeat("0", 64)}, f.actor)
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if berriz.KindOf(err) != berriz.Invalid {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	files, err := f.db.DeviceFiles(ctx, id)
	if ok != device.MaxPhotos || len(files) != device.MaxPhotos || err != nil {
		t.Fatalf("%d photos stored, %d listed (%v)", ok, len(files), err)
	}
	if _, err := f.db.DeviceFile(ctx, id, files[0].ID, postgres.DonationScope{DonorOrgID: f.other.ID}); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("other donor reads a file: %v", err)
	}
	del, err := f.db.DeleteDeviceFile(ctx, id, files[0].ID, postgres.DonationScope{})
	if err != nil || del.Key != files[0].Key {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if _, err := f.db.DeleteDeviceFile(ctx, id, files[0].ID, postgres.DonationScope{}); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("second delete: %v", err)
	}
}
