package postgres_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/tag"
)

// DeviceByTag reads in one statement what it read in two (the tag, then
// its device): the answer must be the tag as Tag returns it and the device
// as the intake returned it, blank or linked.
func TestDeviceByTagOneStatement(t *testing.T) {
	f := mustIntakeFixture(t, 2)
	ctx := context.Background()
	r, err := f.db.IntakeDevice(ctx, f.codes[0], f.devices[0].ID, f.shop.ID, f.tech, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f.codes[:2] {
		want, err := f.db.Tag(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		td, err := f.db.DeviceByTag(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(td.Tag, want) {
			t.Errorf("tag %s: %+v, want %+v", c, td.Tag, want)
		}
		if c != f.codes[0] {
			if td.Device != nil || td.WorkshopOrgID != 0 {
				t.Errorf("blank tag %s: device %+v, workshop %d", c, td.Device, td.WorkshopOrgID)
			}
			continue
		}
		if td.Device == nil || !reflect.DeepEqual(*td.Device, r.Device) || td.WorkshopOrgID != f.shop.ID {
			t.Errorf("linked tag %s: %+v (workshop %d), want %+v (workshop %d)", c, td.Device, td.WorkshopOrgID, r.Device, f.shop.ID)
		}
	}
	_, err = f.db.DeviceByTag(ctx, tag.Code("ZZZZZZZZ"))
	wantKind(t, "unknown code", err, berriz.NotFound, "error.tag_unknown")
}
