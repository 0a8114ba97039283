package postgres_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
)

// DevicePage reads in one statement what Device, DeviceFiles and
// DeviceFacts read: the same device, the same files (zone included), and
// the facts the records of the current cycle give, within the scope only.
func TestDevicePage(t *testing.T) {
	f, id := mustReceived(t) // two drives, WD-1 and SSD-2
	ctx := context.Background()
	all := postgres.DonationScope{}

	// A bare device first: no file, no diagnosis, no erasure.
	p, err := f.db.DevicePage(ctx, id, all)
	if err != nil {
		t.Fatal(err)
	}
	want := lifecycle.Facts{StorageDrives: 2, Drives: 2, NeedsOS: true}
	if p.Files != nil || p.Facts != want || p.State.State != lifecycle.Received || p.State.ID != id {
		t.Errorf("bare device: files %v, state %+v, facts %+v; want facts %+v", p.Files, p.State, p.Facts, want)
	}

	// Then records: a complete diagnosis, one drive erased, the other's
	// erasure failed (after an earlier pass: the latest counts), files.
	mustDiagnosis(t, f.db, id, false)
	mustDiagnosis(t, f.db, id, true)
	mustErasure(t, f.db, id, 1, "WD-1", "passed")
	mustErasure(t, f.db, id, 2, "SSD-2", "passed")
	mustErasure(t, f.db, id, 2, "SSD-2", "failed")
	for i, kind := range []string{postgres.FileDocument, postgres.FilePhoto, postgres.FilePhoto} {
		file := postgres.DeviceFile{DeviceID: id, Kind: kind, Key: "devices/x/" + strings.Repeat("b", i+1),
			ContentType: "application/pdf", Size: 1234, SHA256: strings.Repeat("0", 64), OriginalName: "Fiche « été ».pdf"}
		if kind == postgres.FilePhoto {
			file.ContentType, file.ThumbKey, file.OriginalName = "image/jpeg", file.Key+"-t.jpg", ""
		}
		if _, err := f.db.AddDeviceFile(ctx, all, file, f.tech); err != nil {
			t.Fatal(err)
		}
	}
	for _, sc := range []postgres.DonationScope{all, {WorkshopOrgID: f.shop.ID}, {DonorOrgID: f.donor.ID}} {
		p, err := f.db.DevicePage(ctx, id, sc)
		if err != nil {
			t.Fatalf("scope %+v: %v", sc, err)
		}
		d, err := f.db.Device(ctx, id, sc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Device, d) || !d.ErasureFailed {
			t.Errorf("scope %+v: device\n%+v\nwant\n%+v", sc, p.Device, d)
		}
		files, err := f.db.DeviceFiles(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 3 || files[0].Kind != postgres.FilePhoto || !reflect.DeepEqual(p.Files, files) {
			t.Errorf("scope %+v: files\n%+v\nwant\n%+v", sc, p.Files, files)
		}
		st, facts, err := f.db.DeviceFacts(ctx, id, sc)
		if err != nil {
			t.Fatal(err)
		}
		want := lifecycle.Facts{StorageDrives: 2, Drives: 2, DrivesErased: 1, DrivesFailed: 1, Diagnosed: true, NeedsOS: true}
		if p.Facts != want || facts != want || p.State != st {
			t.Errorf("scope %+v: facts %+v and %+v (DeviceFacts), state %+v and %+v; want %+v", sc, p.Facts, facts, p.State, st, want)
		}
	}
	// Outside the scope, and an unknown device: not found, alike.
	for _, tc := range []struct {
		id int64
		sc postgres.DonationScope
	}{{id, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}}, {id, postgres.DonationScope{DonorOrgID: f.other.ID}},
		{id + 1000, all}} {
		_, err := f.db.DevicePage(ctx, tc.id, tc.sc)
		wantKind(t, "device page", err, berriz.NotFound, "device.error.not_found")
		_, _, err = f.db.DeviceFacts(ctx, tc.id, tc.sc)
		wantKind(t, "device facts", err, berriz.NotFound, "device.error.not_found")
	}
}
