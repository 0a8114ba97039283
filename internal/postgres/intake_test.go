package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
)

type intakeFixture struct {
	donationFixture
	otherShop account.Organisation
	tech      *account.Principal
	don       postgres.Donation
	devices   []postgres.Device
	codes     []tag.Code
}

// mustIntakeFixture: a donation of n devices assigned to the workshop, and
// a batch of 5 blank tags of the workshop.
func mustIntakeFixture(t *testing.T, n int) intakeFixture {
	t.Helper()
	ctx := context.Background()
	f := intakeFixture{donationFixture: mustDonationFixture(t)}
	f.otherShop = mustOrg(t, f.db, account.KindWorkshop, "Atelier voisin")
	u := mustUser(t, f.db, f.shop.ID, "tech@atelier.example", false)
	f.tech = &account.Principal{UserID: u.ID, OrgID: f.shop.ID, OrgKind: f.shop.Kind}
	f.don = f.mustCreate(t, f.donor.ID, donation.Line{Category: "laptop", Brand: "Dell", Quantity: n, WeightKg: 2})
	if _, err := f.db.AssignWorkshop(ctx, f.don.ID, f.shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	var err error
	f.devices, _, err = f.db.DonationDevices(ctx, f.don.ID, postgres.DonationScope{}, 1)
	if err != nil || len(f.devices) != n {
		t.Fatalf("devices: %v", err)
	}
	_, f.codes = mustTagBatch(t, f.db, f.shop.ID, u.ID, randGen, 5)
	return f
}

func wantKind(t *testing.T, what string, err error, kind berriz.Kind, key string) {
	t.Helper()
	if berriz.KindOf(err) != kind || berriz.As(err) == nil || berriz.As(err).Message != key {
		t.Fatalf("%s: got %v, want %v %s", what, err, kind, key)
	}
}

func TestIntakeDevice(t *testing.T) {
	f := mustIntakeFixture(t, 2)
	ctx := context.Background()
	now := time.Now()
	r, err := f.db.IntakeDevice(ctx, f.codes[0], f.devices[0].ID, f.shop.ID, f.tech, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Device.State != "received" || r.Donation.State != donation.Collected {
		t.Fatalf("after first intake: device %s, donation %s", r.Device.State, r.Donation.State)
	}
	td, err := f.db.DeviceByTag(ctx, f.codes[0])
	if err != nil || td.Device == nil || td.Device.ID != f.devices[0].ID || td.WorkshopOrgID != f.shop.ID || td.Tag.LinkedAt == nil {
		t.Fatalf("DeviceByTag: %+v, %v", td, err)
	}

	// The same tag again, on the other device: refused.
	_, err = f.db.IntakeDevice(ctx, f.codes[0], f.devices[1].ID, f.shop.ID, f.tech, now)
	wantKind(t, "linked tag", err, berriz.Conflict, "error.tag_already_linked")
	// A second tag for the received device: refused.
	_, err = f.db.IntakeDevice(ctx, f.codes[1], f.devices[0].ID, f.shop.ID, f.tech, now)
	wantKind(t, "second tag", err, berriz.Conflict, "scan.error.device_already_tagged")
	// Another workshop: neither the tag nor the device exists for it.
	_, err = f.db.IntakeDevice(ctx, f.codes[1], f.devices[1].ID, f.otherShop.ID, f.tech, now)
	wantKind(t, "other workshop", err, berriz.NotFound, "error.tag_unknown")
	_, otherCodes := mustTagBatch(t, f.db, f.otherShop.ID, 0, randGen, 1)
	_, err = f.db.IntakeDevice(ctx, otherCodes[0], f.devices[1].ID, f.otherShop.ID, f.tech, now)
	wantKind(t, "other workshop's device", err, berriz.NotFound, "scan.error.device_not_found")
	_, err = f.db.IntakeDevice(ctx, "ZZZZZZZZ", f.devices[1].ID, f.shop.ID, f.tech, now)
	wantKind(t, "unknown tag", err, berriz.NotFound, "error.tag_unknown")

	// The last declared device in: the donation is received.
	r, err = f.db.IntakeDevice(ctx, f.codes[1], f.devices[1].ID, 0, f.tech, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Donation.State != donation.Received {
		t.Fatalf("donation %s after the last intake", r.Donation.State)
	}
	var events, donEvents int
	_ = f.db.SQL().QueryRow(`SELECT count(*) FROM device_events WHERE to_state = 'received'`).Scan(&events)
	_ = f.db.SQL().QueryRow(`SELECT count(*) FROM donation_events WHERE detail = 'intake'`).Scan(&donEvents)
	if events != 2 || donEvents != 2 {
		t.Fatalf("%d device events, %d donation events", events, donEvents)
	}
	if _, err := f.db.SQL().Exec(`DELETE FROM device_events`); err == nil {
		t.Fatal("device events can be deleted")
	}
}

func TestIntakeConcurrentSameTag(t *testing.T) {
	f := mustIntakeFixture(t, 4)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, len(f.devices))
	for i, d := range f.devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.db.IntakeDevice(ctx, f.codes[0], d.ID, f.shop.ID, f.tech, time.Now())
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case berriz.KindOf(err) != berriz.Conflict:
			t.Fatalf("loser got %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d intakes won", won)
	}
	// And the same device (one still declared) with different tags at
	// once: one wins.
	var free int64
	for i, err := range errs {
		if err != nil {
			free = f.devices[i].ID
		}
	}
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.db.IntakeDevice(ctx, f.codes[1+i], free, f.shop.ID, f.tech, time.Now())
		}()
	}
	wg.Wait()
	won = 0
	for _, err := range errs {
		if err == nil {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d intakes of one device won: %v", won, errs)
	}
}

func TestCreateDeviceAtIntakeAndReceiveTagged(t *testing.T) {
	f := mustIntakeFixture(t, 1)
	ctx := context.Background()
	r, err := f.db.CreateDeviceAtIntake(ctx, f.codes[0], f.don.ID, f.shop.ID,
		donation.Line{Category: "mouse", Brand: "Logitech", WeightKg: 0.1}, f.tech, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.Device.State != "received" || r.Device.Line != 2 || r.Donation.State != donation.Collected || r.Donation.Devices != 2 {
		t.Fatalf("found device: %+v / %+v", r.Device, r.Donation)
	}
	_, err = f.db.CreateDeviceAtIntake(ctx, f.codes[1], f.don.ID, f.otherShop.ID,
		donation.Line{Category: "mouse", WeightKg: 0.1}, f.tech, time.Now())
	wantKind(t, "other workshop", err, berriz.NotFound, "error.tag_unknown")

	// A tag linked to a declared device (printed for it) is received by
	// the "receive" card.
	if _, err := f.db.SQL().Exec(`UPDATE tags SET device_id = $1, linked_at = now() WHERE code = $2`, f.devices[0].ID, string(f.codes[2])); err != nil {
		t.Fatal(err)
	}
	_, err = f.db.ReceiveTagged(ctx, f.codes[3], f.shop.ID, f.tech)
	wantKind(t, "blank", err, berriz.Conflict, "scan.error.receive_blank")
	_, err = f.db.ReceiveTagged(ctx, f.codes[2], f.otherShop.ID, f.tech)
	wantKind(t, "other workshop", err, berriz.NotFound, "scan.error.device_not_found")
	r, err = f.db.ReceiveTagged(ctx, f.codes[2], f.shop.ID, f.tech)
	if err != nil || r.Device.State != "received" || r.Donation.State != donation.Received {
		t.Fatalf("receive: %+v, %v", r, err)
	}
	_, err = f.db.ReceiveTagged(ctx, f.codes[2], f.shop.ID, f.tech)
	wantKind(t, "twice", err, berriz.Conflict, "scan.error.already_received")
}

func TestDeclaredDevices(t *testing.T) {
	f := mustIntakeFixture(t, 1)
	ctx := context.Background()
	cands, p, err := f.db.DeclaredDevices(ctx, f.shop.ID, 1)
	if err != nil || p.Total != 1 || len(cands) != 1 || cands[0].DonorName != "Mairie de Bayonne" {
		t.Fatalf("candidates %+v %+v %v", cands, p, err)
	}
	if cands, _, _ := f.db.DeclaredDevices(ctx, f.otherShop.ID, 1); len(cands) != 0 {
		t.Fatal("another workshop sees the declared devices")
	}
}
