package postgres_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
)

// TagView answers a linked tag with its device exactly as Device does,
// within the scope only, and a blank tag with who generated it.
func TestTagView(t *testing.T) {
	f := mustIntakeFixture(t, 2)
	ctx := context.Background()
	linked, blank := f.codes[0], f.codes[1]
	if _, err := f.db.IntakeDevice(ctx, linked, f.devices[0].ID, f.shop.ID, f.tech, time.Now()); err != nil {
		t.Fatal(err)
	}
	ram, screen := 8, 13.3
	specs := device.Specs{CPU: "i5", RAMGB: &ram, ScreenInches: &screen, OS: "Debian", Drives: []device.Drive{
		{Position: 1, Type: device.SSD, CapacityGB: 256, Serial: "A"}, {Position: 2, Type: device.HDD, CapacityGB: 1000}}}
	if err := f.db.SetDeviceSpecs(ctx, f.devices[0].ID, postgres.DonationScope{}, specs); err != nil {
		t.Fatal(err)
	}
	want, err := f.db.Device(ctx, f.devices[0].ID, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []postgres.DonationScope{{}, {WorkshopOrgID: f.shop.ID}, {DonorOrgID: f.donor.ID}} {
		tv, err := f.db.TagView(ctx, linked, sc)
		if err != nil {
			t.Fatalf("scope %+v: %v", sc, err)
		}
		if tv.Device == nil || !reflect.DeepEqual(*tv.Device, want) {
			t.Errorf("scope %+v: device\n%+v\nwant\n%+v", sc, tv.Device, want)
		}
		if tv.Tag.Code != linked || tv.Tag.DeviceID == nil || *tv.Tag.DeviceID != want.ID || tv.Tag.LinkedAt == nil || tv.Tag.BatchID == 0 {
			t.Errorf("scope %+v: tag %+v", sc, tv.Tag)
		}
	}
	// Outside the scope, and unknown codes: not found, alike.
	for _, tc := range []struct {
		code tag.Code
		sc   postgres.DonationScope
	}{{linked, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}}, {linked, postgres.DonationScope{DonorOrgID: f.other.ID}},
		{tag.Code("ZZZZZZZZ"), postgres.DonationScope{}}} {
		_, err := f.db.TagView(ctx, tc.code, tc.sc)
		wantKind(t, "tag view "+string(tc.code), err, berriz.NotFound, "error.tag_unknown")
	}
	// A blank tag, whoever asks: its maker for the caller's rules.
	for _, sc := range []postgres.DonationScope{{}, {WorkshopOrgID: f.otherShop.ID}, {DonorOrgID: f.other.ID}} {
		tv, err := f.db.TagView(ctx, blank, sc)
		if err != nil || tv.Device != nil || tv.Tag.OrgID != f.shop.ID || tv.OwnerKind != account.KindWorkshop ||
			tv.Tag.DeviceID != nil || tv.Tag.LinkedAt != nil {
			t.Errorf("blank, scope %+v: %+v %v", sc, tv, err)
		}
	}
	// A device without drives has none, not a null list's surprise.
	if _, err := f.db.IntakeDevice(ctx, blank, f.devices[1].ID, f.shop.ID, f.tech, time.Now()); err != nil {
		t.Fatal(err)
	}
	tv, err := f.db.TagView(ctx, blank, postgres.DonationScope{})
	if err != nil || tv.Device == nil || tv.Device.Specs.Drives != nil || tv.Device.Specs.RAMGB != nil {
		t.Errorf("no drives: %+v %v", tv.Device, err)
	}
}
