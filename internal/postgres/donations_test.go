package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
)

type donationFixture struct {
	db                 *postgres.DB
	donor, other, shop account.Organisation
	actor              *account.Principal
}

func mustDonationFixture(t *testing.T) donationFixture {
	t.Helper()
	db := pgtest.MustDB(t)
	f := donationFixture{db: db, donor: mustOrg(t, db, account.KindCommune, "Mairie de Bayonne"),
		other: mustOrg(t, db, account.KindCompany, "Entreprise"), shop: mustOrg(t, db, account.KindWorkshop, "Atelier")}
	u := mustUser(t, db, f.donor.ID, "donor@example.org", false)
	f.actor = &account.Principal{UserID: u.ID, OrgID: f.donor.ID, OrgKind: f.donor.Kind}
	return f
}

func (f donationFixture) mustCreate(t *testing.T, orgID int64, lines ...donation.Line) postgres.Donation {
	t.Helper()
	d, err := f.db.CreateDonation(context.Background(), orgID, f.actor, "Lot", "", lines)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCreateDonationExpandsQuantities(t *testing.T) {
	f := mustDonationFixture(t)
	ctx := context.Background()
	d := f.mustCreate(t, f.donor.ID,
		donation.Line{Category: "laptop", Brand: "Dell", Serial: "SN1", Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.9},
		donation.Line{Category: "monitor_24", Quantity: 30, WeightKg: 4.5, Notes: "Sans câble"})
	if d.Devices != 31 || d.WeightKg != 136.9 || d.State != donation.Declared || d.DonorName != "Mairie de Bayonne" ||
		d.DeclaredByName != "donor@example.org" || d.WorkshopOrgID != 0 || d.Version != 1 {
		t.Fatalf("created %+v", d)
	}
	devs, page, err := f.db.DonationDevices(ctx, d.ID, postgres.DonationScope{DonorOrgID: f.donor.ID}, 1)
	if err != nil || page.Total != 31 || len(devs) != postgres.PageSize || page.Pages() != 2 {
		t.Fatalf("devices: %d, %+v, %v", len(devs), page, err)
	}
	first := devs[0]
	if first.Line != 1 || first.Serial != "SN1" || first.Year != 2019 || first.WeightKg != 1.9 || first.State != "declared" {
		t.Fatalf("first device %+v", first)
	}
	if devs[1].Line != 2 || devs[1].Year != 0 || devs[1].Notes != "Sans câble" {
		t.Fatalf("second device %+v", devs[1])
	}
	devs, _, _ = f.db.DonationDevices(ctx, d.ID, postgres.DonationScope{DonorOrgID: f.other.ID}, 1)
	if len(devs) != 0 {
		t.Fatal("another donor sees the devices")
	}
}

// A line the database refuses, after more than a batch of devices went
// in: nothing of the donation remains.
func TestCreateDonationAllOrNone(t *testing.T) {
	f := mustDonationFixture(t)
	ctx := context.Background()
	_, err := f.db.CreateDonation(ctx, f.donor.ID, f.actor, "Lot", "", []donation.Line{
		{Category: "mouse", Quantity: 500, WeightKg: 0.1},
		{Category: "mouse", Quantity: 500, WeightKg: 0.1},
		{Category: "keyboard", Quantity: 400, WeightKg: 0.6},
		{Category: "laptop", Quantity: 1, WeightKg: 2, Year: 3000},
	})
	if berriz.KindOf(err) != berriz.Invalid {
		t.Fatalf("err = %v, want Invalid from the database check", err)
	}
	var donations, devices int
	_ = f.db.SQL().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM donations), (SELECT count(*) FROM devices)`).Scan(&donations, &devices)
	if donations != 0 || devices != 0 {
		t.Fatalf("%d donations and %d devices left behind", donations, devices)
	}
	for name, org := range map[string]int64{"workshop": f.shop.ID, "missing": 999999} {
		_, err := f.db.CreateDonation(ctx, org, f.actor, "Lot", "", []donation.Line{{Category: "laptop", Quantity: 1, WeightKg: 2}})
		if e := berriz.As(err); e.Kind != berriz.Invalid || e.Fields["donor"] == "" {
			t.Errorf("%s donor: %v", name, err)
		}
	}
	if _, err := f.db.CreateDonation(ctx, f.donor.ID, f.actor, "Lot", "", nil); berriz.KindOf(err) != berriz.Invalid {
		t.Errorf("no lines: %v", err)
	}
}

func TestDonationScoping(t *testing.T) {
	f := mustDonationFixture(t)
	ctx := context.Background()
	line := donation.Line{Category: "laptop", Quantity: 1, WeightKg: 2}
	mine := f.mustCreate(t, f.donor.ID, line)
	theirs := f.mustCreate(t, f.other.ID, line)
	f.mustCreate(t, f.other.ID, line)
	if _, err := f.db.AssignWorkshop(ctx, theirs.ID, f.shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	count := func(s postgres.DonationScope, state donation.State) int {
		t.Helper()
		ds, page, err := f.db.Donations(ctx, postgres.DonationFilter{Scope: s, State: state})
		if err != nil || len(ds) != page.Total {
			t.Fatalf("list: %v", err)
		}
		return page.Total
	}
	if n := count(postgres.DonationScope{DonorOrgID: f.donor.ID}, ""); n != 1 {
		t.Errorf("donor sees %d", n)
	}
	if n := count(postgres.DonationScope{WorkshopOrgID: f.shop.ID}, ""); n != 1 {
		t.Errorf("workshop sees %d", n)
	}
	if n := count(postgres.DonationScope{}, ""); n != 3 {
		t.Errorf("operator sees %d", n)
	}
	if n := count(postgres.DonationScope{}, donation.Collected); n != 0 {
		t.Errorf("collected: %d", n)
	}
	if _, err := f.db.Donation(ctx, theirs.ID, postgres.DonationScope{DonorOrgID: f.donor.ID}); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("donor reads another's donation: %v", err)
	}
	if _, err := f.db.Donation(ctx, mine.ID, postgres.DonationScope{WorkshopOrgID: f.shop.ID}); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("workshop reads an unassigned donation: %v", err)
	}
	if _, err := f.db.SetDonationState(ctx, mine.ID, postgres.DonationScope{WorkshopOrgID: f.shop.ID}, "", donation.Collected, nil); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("workshop moves an unassigned donation: %v", err)
	}
	if d, err := f.db.Donation(ctx, theirs.ID, postgres.DonationScope{WorkshopOrgID: f.shop.ID}); err != nil || d.WorkshopName != "Atelier" || d.Version != 2 {
		t.Errorf("workshop reads its donation: %+v %v", d, err)
	}
}

func TestAssignAndStates(t *testing.T) {
	f := mustDonationFixture(t)
	ctx := context.Background()
	d := f.mustCreate(t, f.donor.ID, donation.Line{Category: "laptop", Quantity: 1, WeightKg: 2})
	if _, err := f.db.SetDonationState(ctx, d.ID, postgres.DonationScope{}, "", donation.Collected, nil); berriz.As(err).Message != "donation.error.no_workshop" {
		t.Fatalf("collected without workshop: %v", err)
	}
	closed := mustOrg(t, f.db, account.KindWorkshop, "Fermé")
	if err := f.db.SetOrganisationActive(ctx, closed.ID, false, nil, ""); err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]int64{"donor": f.other.ID, "inactive": closed.ID, "missing": 999999} {
		if _, err := f.db.AssignWorkshop(ctx, d.ID, id, nil); berriz.As(err).Fields["workshop"] != "donation.error.workshop_invalid" {
			t.Errorf("assign to %s: %v", name, err)
		}
	}
	if _, err := f.db.AssignWorkshop(ctx, 999999, f.shop.ID, nil); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("missing donation: %v", err)
	}
	if _, err := f.db.AssignWorkshop(ctx, d.ID, f.shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	for _, to := range []donation.State{donation.Collected, donation.Received} {
		if _, err := f.db.SetDonationState(ctx, d.ID, scope, "", to, nil); err != nil {
			t.Fatalf("to %s: %v", to, err)
		}
	}
	if _, err := f.db.AssignWorkshop(ctx, d.ID, f.shop.ID, nil); berriz.As(err).Message != "donation.error.assign_late" {
		t.Errorf("reassign a received donation: %v", err)
	}
	if _, err := f.db.SetDonationState(ctx, d.ID, scope, donation.Collected, donation.Closed, nil); berriz.As(err).Message != "donation.error.state_changed" {
		t.Errorf("stale from: %v", err)
	}
	got, err := f.db.SetDonationState(ctx, d.ID, scope, donation.Received, donation.Closed, f.actor)
	if err != nil || got.State != donation.Closed {
		t.Fatalf("close: %+v %v", got, err)
	}
	var events int
	_ = f.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM donation_events WHERE donation_id = $1`, d.ID).Scan(&events)
	if events != 5 {
		t.Errorf("%d events, want declared, assigned and three state changes", events)
	}
}

// Many people press "collected" at once: exactly one wins, the others get
// a conflict, and the version moved once.
func TestConcurrentStateChangesOneWins(t *testing.T) {
	f := mustDonationFixture(t)
	ctx := context.Background()
	d := f.mustCreate(t, f.donor.ID, donation.Line{Category: "laptop", Quantity: 1, WeightKg: 2})
	d, err := f.db.AssignWorkshop(ctx, d.ID, f.shop.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := donation.Declared
			if i%2 == 1 {
				from = "" // API clients that do not say what they saw
			}
			_, err := f.db.SetDonationState(ctx, d.ID, postgres.DonationScope{}, from, donation.Collected, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch berriz.KindOf(err) {
		case berriz.Internal:
			if err != nil {
				t.Fatal(err)
			}
			wins++
		case berriz.Conflict:
		default:
			t.Fatalf("unexpected %v", err)
		}
	}
	got, _ := f.db.Donation(ctx, d.ID, postgres.DonationScope{})
	if wins != 1 || got.State != donation.Collected || got.Version != d.Version+1 {
		t.Fatalf("%d winners, %+v", wins, got)
	}
}
