package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/berriz/berriz/internal/tag"
)

// seqGen hands out the given codes in order, then fails.
func seqGen(codes ...tag.Code) func() (tag.Code, error) {
	i := 0
	return func() (tag.Code, error) {
		if i == len(codes) {
			return "", errors.New("generator exhausted")
		}
		i++
		return codes[i-1], nil
	}
}

func randGen() (tag.Code, error) { return tag.Generate(rand.Reader) }

func mustTagBatch(t *testing.T, db *postgres.DB, orgID, userID int64, gen func() (tag.Code, error), count int) (postgres.TagBatch, []tag.Code) {
	t.Helper()
	b, codes, err := db.CreateTagBatch(context.Background(), orgID, userID, count, gen)
	if err != nil {
		t.Fatalf("create batch: %v", err)
	}
	return b, codes
}

func TestCreateTagBatch(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	ws := mustOrg(t, db, account.KindWorkshop, "Atelier")
	u := mustUser(t, db, ws.ID, "tech@atelier.example", false)

	b, codes := mustTagBatch(t, db, ws.ID, u.ID, randGen, 1000)
	if b.ID == 0 || b.OrgID != ws.ID || b.OrgName != "Atelier" || b.CreatedByName != u.Name || b.Count != 1000 || b.Linked != 0 || b.CreatedAt.IsZero() {
		t.Fatalf("batch = %+v", b)
	}
	if len(codes) != 1000 {
		t.Fatalf("%d codes", len(codes))
	}
	stored, err := db.BatchCodes(ctx, b.ID, ws.ID)
	if err != nil || len(stored) != 1000 {
		t.Fatalf("BatchCodes: %d codes, %v", len(stored), err)
	}
	seen := map[tag.Code]bool{}
	for _, c := range stored {
		if seen[c] || !c.Valid() {
			t.Fatalf("code %q repeated or invalid", c)
		}
		seen[c] = true
	}
	for _, c := range codes {
		if !seen[c] {
			t.Fatalf("returned code %q not stored", c)
		}
	}
	got, err := db.Tag(ctx, codes[0])
	if err != nil || got.Code != codes[0] || got.BatchID != b.ID || got.OrgID != ws.ID || got.DeviceID != nil || got.LinkedAt != nil {
		t.Fatalf("Tag = %+v, %v", got, err)
	}
	page, p, err := db.BatchTags(ctx, b.ID, ws.ID, 2)
	if err != nil || len(page) != postgres.PageSize || p.Total != 1000 || p.Pages() != 40 || page[0].Code != stored[postgres.PageSize] {
		t.Fatalf("BatchTags page 2: %d tags, %+v, %v", len(page), p, err)
	}

	for _, n := range []int{0, -1, 1001} {
		_, _, err := db.CreateTagBatch(ctx, ws.ID, u.ID, n, randGen)
		if be := berriz.As(err); be.Kind != berriz.Invalid || be.Fields["count"] != "error.tag_count" {
			t.Errorf("count %d: %v", n, err)
		}
	}
	// A batch without a user (a command-line run), and one for an
	// organisation that does not exist.
	if b, _ := mustTagBatch(t, db, ws.ID, 0, randGen, 1); b.CreatedByName != "" {
		t.Errorf("batch without user: %+v", b)
	}
	if _, _, err := db.CreateTagBatch(ctx, 999999, 0, 1, randGen); berriz.KindOf(err) != berriz.Invalid && berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("unknown organisation: %v", err)
	}

	if _, err := db.Tag(ctx, "ZZZZZZZZ"); !errors.Is(err, berriz.E(berriz.NotFound, "")) || berriz.As(err).Message != "error.tag_unknown" {
		t.Errorf("unknown tag: %v", err)
	}
}

// Codes are never handed out twice: a generator that repeats itself and
// codes that other batches hold are replaced, and the batch still gets
// exactly the count it asked for.
func TestTagCodesNeverReused(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	ws := mustOrg(t, db, account.KindWorkshop, "Atelier")
	first, _ := mustTagBatch(t, db, ws.ID, 0, seqGen("AAAAAAAA", "BBBBBBBB", "CCCCCCCC"), 3)

	// Repeats within the batch, and codes of the first batch.
	b, codes := mustTagBatch(t, db, ws.ID, 0, seqGen("AAAAAAAA", "DDDDDDDD", "DDDDDDDD", "BBBBBBBB", "AAAAAAAA", "EEEEEEEE", "CCCCCCCC", "FFFFFFFF"), 3)
	want := []tag.Code{"DDDDDDDD", "EEEEEEEE", "FFFFFFFF"}
	if len(codes) != 3 || codes[0] != want[0] || codes[1] != want[1] || codes[2] != want[2] {
		t.Fatalf("codes = %q, want %q", codes, want)
	}
	if got, err := db.BatchCodes(ctx, first.ID, 0); err != nil || len(got) != 3 || got[0] != "AAAAAAAA" {
		t.Fatalf("first batch now holds %q, %v", got, err)
	}
	if got, err := db.BatchCodes(ctx, b.ID, 0); err != nil || len(got) != 3 || got[0] != "DDDDDDDD" {
		t.Fatalf("second batch holds %q, %v", got, err)
	}

	// A generator that only ever repeats taken codes fails the batch as a
	// whole: nothing is left behind.
	stuck := func() (tag.Code, error) { return "AAAAAAAA", nil }
	if _, _, err := db.CreateTagBatch(ctx, ws.ID, 0, 2, stuck); err == nil || berriz.KindOf(err) != berriz.Internal {
		t.Fatalf("stuck generator: %v", err)
	}
	// A failing generator and an invalid code roll back too.
	if _, _, err := db.CreateTagBatch(ctx, ws.ID, 0, 2, seqGen("GGGGGGGG")); err == nil {
		t.Fatal("exhausted generator succeeded")
	}
	if _, _, err := db.CreateTagBatch(ctx, ws.ID, 0, 1, seqGen("UUUUUUUU")); err == nil {
		t.Fatal("invalid code accepted")
	}
	batches, p, err := db.TagBatches(ctx, 0, 1)
	if err != nil || p.Total != 2 || len(batches) != 2 {
		t.Fatalf("after failures: %d batches (total %d), %v", len(batches), p.Total, err)
	}
	if _, err := db.Tag(ctx, "GGGGGGGG"); berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("rolled-back code stored: %v", err)
	}

	// The database itself refuses a malformed code.
	if err := db.SQL().QueryRowContext(ctx, `INSERT INTO tags (code, batch_id) VALUES ('ILOU0000', $1) RETURNING code`, b.ID).Scan(new(string)); err == nil {
		t.Fatal("malformed code stored")
	}
}

// Workshops see their own batches only; operators see every batch.
func TestTagBatchScope(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	a := mustOrg(t, db, account.KindWorkshop, "Atelier A")
	bOrg := mustOrg(t, db, account.KindWorkshop, "Atelier B")
	op := mustOrg(t, db, account.KindOperator, "Opérateur")
	r := bytes.NewReader(bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 100))
	gen := func() (tag.Code, error) { return tag.Generate(r) }
	ba, _ := mustTagBatch(t, db, a.ID, 0, gen, 2)
	bb, _ := mustTagBatch(t, db, bOrg.ID, 0, gen, 3)
	bop, _ := mustTagBatch(t, db, op.ID, 0, gen, 4)

	tests := []struct {
		scope int64
		want  []int64
	}{
		{a.ID, []int64{ba.ID}},
		{bOrg.ID, []int64{bb.ID}},
		{0, []int64{bop.ID, bb.ID, ba.ID}}, // newest first
	}
	for _, tt := range tests {
		got, p, err := db.TagBatches(ctx, tt.scope, 1)
		if err != nil || p.Total != len(tt.want) || len(got) != len(tt.want) {
			t.Fatalf("scope %d: %+v (total %d), %v", tt.scope, got, p.Total, err)
		}
		for i := range got {
			if got[i].ID != tt.want[i] {
				t.Errorf("scope %d: batch %d = %d, want %d", tt.scope, i, got[i].ID, tt.want[i])
			}
		}
	}
	if _, err := db.TagBatch(ctx, bb.ID, a.ID); berriz.As(err).Kind != berriz.NotFound || berriz.As(err).Message != "error.tag_batch_not_found" {
		t.Errorf("other workshop's batch: %v", err)
	}
	if _, err := db.BatchCodes(ctx, bb.ID, a.ID); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("other workshop's codes: %v", err)
	}
	if _, _, err := db.BatchTags(ctx, bb.ID, a.ID, 1); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("other workshop's tags: %v", err)
	}
	if b, err := db.TagBatch(ctx, bb.ID, 0); err != nil || b.Count != 3 {
		t.Errorf("operator: %+v, %v", b, err)
	}
}

// Tags printed for chosen existing devices are linked from the start, in
// the order asked, and leave the devices declared.
func TestCreateTagsForDevices(t *testing.T) {
	f := mustIntakeFixture(t, 4)
	ctx := context.Background()
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	ids := []int64{f.devices[2].ID, f.devices[0].ID}

	untagged, total, err := f.db.UntaggedDevices(ctx, f.don.ID, scope, 10)
	if err != nil || total != 4 || len(untagged) != 4 || untagged[0] != f.devices[0].ID {
		t.Fatalf("UntaggedDevices before: %v (total %d), %v", untagged, total, err)
	}

	b, codes, err := f.db.CreateTagsForDevices(ctx, f.shop.ID, f.tech.UserID, ids, scope, randGen)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID == 0 || b.OrgID != f.shop.ID || b.Count != 2 || b.Linked != 2 || len(codes) != 2 {
		t.Fatalf("batch = %+v, codes %q", b, codes)
	}
	for i, c := range codes {
		td, err := f.db.DeviceByTag(ctx, c)
		if err != nil || td.Device == nil || td.Device.ID != ids[i] || td.Tag.BatchID != b.ID || td.Tag.LinkedAt == nil {
			t.Fatalf("tag %s: %+v, %v", c, td, err)
		}
		if td.Device.State != postgres.DeviceDeclared {
			t.Errorf("device %d is %s, want declared", ids[i], td.Device.State)
		}
	}
	if got, err := f.db.BatchCodes(ctx, b.ID, f.shop.ID); err != nil || len(got) != 2 {
		t.Fatalf("BatchCodes: %q, %v", got, err)
	}
	untagged, total, err = f.db.UntaggedDevices(ctx, f.don.ID, scope, 1)
	if err != nil || total != 2 || len(untagged) != 1 || untagged[0] != f.devices[1].ID {
		t.Fatalf("UntaggedDevices after: %v (total %d), %v", untagged, total, err)
	}
	if _, total, _ := f.db.UntaggedDevices(ctx, f.don.ID, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, 10); total != 0 {
		t.Errorf("other workshop sees %d untagged devices", total)
	}

	// The receive card takes such a tag: the device is received.
	r, err := f.db.ReceiveTagged(ctx, codes[0], f.shop.ID, f.tech)
	if err != nil || r.Device.ID != ids[0] || r.Device.State != postgres.DeviceReceived {
		t.Fatalf("ReceiveTagged: %+v, %v", r, err)
	}
}

// One device already tagged, or out of scope, refuses the whole batch.
func TestCreateTagsForDevicesRefused(t *testing.T) {
	f := mustIntakeFixture(t, 3)
	ctx := context.Background()
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	batches := func() int {
		t.Helper()
		_, p, err := f.db.TagBatches(ctx, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	before := batches() // the fixture's blank batch

	if _, err := f.db.IntakeDevice(ctx, f.codes[0], f.devices[1].ID, f.shop.ID, f.tech, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.db.CreateTagsForDevices(ctx, f.shop.ID, 0, []int64{f.devices[0].ID, f.devices[1].ID, f.devices[2].ID}, scope, randGen)
	wantKind(t, "already tagged", err, berriz.Conflict, "scan.error.device_already_tagged")
	_, _, err = f.db.CreateTagsForDevices(ctx, f.otherShop.ID, 0, []int64{f.devices[0].ID}, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, randGen)
	wantKind(t, "other workshop", err, berriz.NotFound, "scan.error.device_not_found")
	_, _, err = f.db.CreateTagsForDevices(ctx, f.shop.ID, 0, []int64{f.devices[0].ID, 999999}, scope, randGen)
	wantKind(t, "unknown device", err, berriz.NotFound, "scan.error.device_not_found")
	_, _, err = f.db.CreateTagsForDevices(ctx, f.shop.ID, 0, nil, scope, randGen)
	wantKind(t, "no device", err, berriz.Invalid, "donation.error.tag_devices_count")
	_, _, err = f.db.CreateTagsForDevices(ctx, f.shop.ID, 0, []int64{f.devices[0].ID, f.devices[0].ID}, scope, randGen)
	wantKind(t, "twice the same device", err, berriz.Invalid, "donation.error.tag_devices_count")
	_, _, err = f.db.CreateTagsForDevices(ctx, f.shop.ID, 0, make([]int64, postgres.MaxDeviceTags+1), scope, randGen)
	wantKind(t, "too many devices", err, berriz.Invalid, "donation.error.tag_devices_count")

	if got := batches(); got != before {
		t.Errorf("%d batches after refusals, want %d", got, before)
	}
	if _, total, err := f.db.UntaggedDevices(ctx, f.don.ID, scope, 10); err != nil || total != 2 {
		t.Errorf("untagged after refusals: %d, %v", total, err)
	}
	// The operator's zero scope reaches any donation's devices.
	if _, codes, err := f.db.CreateTagsForDevices(ctx, f.shop.ID, 0, []int64{f.devices[0].ID, f.devices[2].ID}, postgres.DonationScope{}, randGen); err != nil || len(codes) != 2 {
		t.Fatalf("zero scope: %q, %v", codes, err)
	}
}
