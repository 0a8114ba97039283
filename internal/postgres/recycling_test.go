package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/recycling"
)

// mustHeld: n laptops held by the workshop, received — the first five at
// the scan station with their tag, the others directly.
func mustHeld(t *testing.T, n int) (intakeFixture, []int64) {
	t.Helper()
	f := mustIntakeFixture(t, n)
	var ids []int64
	for i, d := range f.devices {
		if i < len(f.codes) {
			if _, err := f.db.IntakeDevice(context.Background(), f.codes[i], d.ID, f.shop.ID, f.tech, time.Now()); err != nil {
				t.Fatal(err)
			}
		} else {
			mustExec(t, f.db, `UPDATE devices SET state = 'received' WHERE id = $1`, d.ID)
		}
		ids = append(ids, d.ID)
	}
	return f, ids
}

// mustDrive records a drive on a device (and counts it as declared).
func mustDrive(t *testing.T, db *postgres.DB, id int64, position int, serial string) {
	t.Helper()
	mustExec(t, db, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, $2, 'ssd', 256, $3)`,
		id, position, serial)
	mustExec(t, db, `UPDATE devices SET storage_drives = (SELECT count(*) FROM device_drives WHERE device_id = $1) WHERE id = $1`, id)
}

var testCert = postgres.Certificate{Key: "recycling/1/certificate-test.pdf", Name: "bsd.pdf", Size: 1234,
	SHA256: strings.Repeat("ab", 32)}

func testHandover() recycling.Handover {
	return recycling.Handover{Recycler: "Ecologic", HandedOverOn: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC),
		TotalWeightKg: 5.7, CertificateRef: "BSD-2026-42"}
}

func mustJoin(t *testing.T, f intakeFixture, id int64) postgres.RecyclingJoin {
	t.Helper()
	j, err := f.db.AddToRecycling(context.Background(), id, postgres.DonationScope{WorkshopOrgID: f.shop.ID}, f.tech)
	if err != nil {
		t.Fatalf("join device %d: %v", id, err)
	}
	return j
}

// A whole batch: three devices sent to recycling, one refused because a
// drive is not erased; a device in the batch is held; the handover makes
// the two others recycled, with every step in their event chains.
func TestRecyclingBatchFlow(t *testing.T) {
	f, ids := mustHeld(t, 3)
	ctx := context.Background()
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	mustDrive(t, f.db, ids[2], 1, "SSD-UNERASED")

	a := mustJoin(t, f, ids[0])
	b := mustJoin(t, f, ids[1])
	if a.BatchID == 0 || a.BatchID != b.BatchID || a.State != lifecycle.Received {
		t.Fatalf("joins %+v %+v", a, b)
	}
	_, err := f.db.AddToRecycling(ctx, ids[2], scope, f.tech)
	wantKind(t, "unerased drive", err, berriz.Conflict, "lifecycle.error.erasure_missing")
	_, err = f.db.AddToRecycling(ctx, ids[0], scope, f.tech)
	wantKind(t, "twice", err, berriz.Conflict, "recycling.error.already_in_batch")

	// Held: no other step while in the batch.
	mustDiagnosis(t, f.db, ids[0], true)
	_, err = f.db.TransitionDevice(ctx, ids[0], scope, postgres.Transition{To: lifecycle.Diagnosed}, f.tech)
	wantKind(t, "held", err, berriz.Conflict, "lifecycle.error.in_recycling")
	// Out and in again.
	if _, err := f.db.RemoveFromRecycling(ctx, ids[1], scope, f.tech); err != nil {
		t.Fatal(err)
	}
	if _, facts, _ := f.db.DeviceFacts(ctx, ids[1], scope); facts.InRecyclingBatch {
		t.Fatal("still held after leaving")
	}
	_, err = f.db.RemoveFromRecycling(ctx, ids[1], scope, f.tech)
	wantKind(t, "leave twice", err, berriz.Conflict, "recycling.error.not_in_batch")
	if j := mustJoin(t, f, ids[1]); j.BatchID != a.BatchID {
		t.Fatalf("a second open batch: %d", j.BatchID)
	}

	// Another workshop sees neither the batch nor the devices.
	other := postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}
	_, err = f.db.AddToRecycling(ctx, ids[2], other, f.tech)
	wantKind(t, "other workshop", err, berriz.NotFound, "device.error.not_found")
	_, err = f.db.RecyclingBatch(ctx, a.BatchID, f.otherShop.ID)
	wantKind(t, "other workshop's batch", err, berriz.NotFound, "recycling.error.not_found")
	_, err = f.db.HandOverRecycling(ctx, a.BatchID, f.otherShop.ID, testHandover(), testCert, f.tech)
	wantKind(t, "other workshop's handover", err, berriz.NotFound, "recycling.error.not_found")

	batch, err := f.db.RecyclingBatch(ctx, a.BatchID, f.shop.ID)
	if err != nil || batch.State != recycling.Open || batch.Devices != 2 || batch.DevicesWeightKg != 4 {
		t.Fatalf("open batch %+v, %v", batch, err)
	}
	done, err := f.db.HandOverRecycling(ctx, a.BatchID, f.shop.ID, testHandover(), testCert, f.tech)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != recycling.HandedOver || done.Recycler != "Ecologic" || done.HandedOverOn != "2026-03-10" ||
		done.TotalWeightKg != 5.7 || done.CertificateRef != "BSD-2026-42" || done.CertificateSHA256 != testCert.SHA256 ||
		done.CertificateKey != testCert.Key || done.HandedOverAt == nil || done.Devices != 2 {
		t.Fatalf("handed over %+v", done)
	}
	mustState(t, f, ids[0], lifecycle.Recycled)
	mustState(t, f, ids[1], lifecycle.Recycled)
	mustState(t, f, ids[2], lifecycle.Received)
	devices, page, err := f.db.RecyclingBatchDevices(ctx, a.BatchID, 1)
	if err != nil || page.Total != 2 || len(devices) != 2 || devices[0].State != "recycled" {
		t.Fatalf("batch devices %+v %+v, %v", devices, page, err)
	}

	// The chain of the first device: received, joined, recycled.
	events, _, err := f.db.DeviceEvents(ctx, ids[0], 1)
	if err != nil || len(events) != 3 {
		t.Fatalf("events %+v, %v", events, err)
	}
	if e := events[0]; e.Kind != postgres.EventState || e.From != "received" || e.To != "recycled" ||
		!strings.Contains(e.Detail, `"certificate_ref":"BSD-2026-42"`) {
		t.Fatalf("handover event %+v", e)
	}
	var joined map[string]any
	if e := events[1]; e.Kind != postgres.EventRecycling || json.Unmarshal([]byte(e.Detail), &joined) != nil ||
		joined["action"] != "joined" || joined["batch"] != float64(a.BatchID) {
		t.Fatalf("join event %+v", e)
	}
	if n := len(mustEvents(t, f.db, ids[1])); n != 5 { // received, joined, left, joined, recycled
		t.Fatalf("second device: %d events", n)
	}
	if rep, err := f.db.VerifyEventChains(ctx); err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("audit: %+v, %v", rep, err)
	}

	// The batch is closed for good; the next device opens a new one.
	_, err = f.db.HandOverRecycling(ctx, a.BatchID, 0, testHandover(), testCert, f.tech)
	wantKind(t, "again", err, berriz.Conflict, "recycling.error.handed_over")
	_, err = f.db.RemoveFromRecycling(ctx, ids[0], scope, f.tech)
	wantKind(t, "leave a handed-over batch", err, berriz.Conflict, "recycling.error.handed_over")
	mustErasure(t, f.db, ids[2], 1, "SSD-UNERASED", "passed")
	if j := mustJoin(t, f, ids[2]); j.BatchID == a.BatchID {
		t.Fatal("joined a handed-over batch")
	}
	batches, page, err := f.db.RecyclingBatches(ctx, f.shop.ID, 1)
	if err != nil || page.Total != 2 || batches[0].State != recycling.Open || batches[1].ID != a.BatchID {
		t.Fatalf("batches %+v, %v", batches, err)
	}
	if got, _, _ := f.db.RecyclingBatches(ctx, f.otherShop.ID, 1); len(got) != 0 {
		t.Fatalf("another workshop lists %d batches", len(got))
	}
}

func mustEvents(t *testing.T, db *postgres.DB, id int64) []postgres.DeviceEvent {
	t.Helper()
	events, _, err := db.DeviceEvents(context.Background(), id, 1)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// A handover refused because of one device changes nothing: no device
// recycled, the batch still open, no event appended.
func TestRecyclingHandoverAllOrNothing(t *testing.T) {
	f, ids := mustHeld(t, 3)
	ctx := context.Background()
	var batch int64
	for _, id := range ids {
		batch = mustJoin(t, f, id).BatchID
	}
	// A drive recorded after the last device joined: it may not leave.
	mustDrive(t, f.db, ids[2], 1, "LATE-DRIVE")
	before := len(mustEvents(t, f.db, ids[0]))
	_, err := f.db.HandOverRecycling(ctx, batch, f.shop.ID, testHandover(), testCert, f.tech)
	wantKind(t, "late drive", err, berriz.Conflict, "recycling.error.device_refused")
	be := berriz.As(err)
	if be.Details["device_id"] != ids[2] || !strings.Contains(be.Args["device"], "Dell") {
		t.Fatalf("refusal %+v", be)
	}
	if berriz.As(be.Err).Message != "lifecycle.error.erasure_missing" {
		t.Fatalf("reason %v", be.Err)
	}
	for _, id := range ids {
		mustState(t, f, id, lifecycle.Received)
	}
	if n := len(mustEvents(t, f.db, ids[0])); n != before {
		t.Fatalf("%d events after a refused handover, %d before", n, before)
	}
	b, err := f.db.RecyclingBatch(ctx, batch, 0)
	if err != nil || b.State != recycling.Open || b.CertificateKey != "" || b.Recycler != "" {
		t.Fatalf("batch after refusal %+v, %v", b, err)
	}
	// Once the device is taken out, the others go.
	if _, err := f.db.RemoveFromRecycling(ctx, ids[2], postgres.DonationScope{}, f.tech); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.HandOverRecycling(ctx, batch, 0, testHandover(), testCert, f.tech); err != nil {
		t.Fatal(err)
	}
	mustState(t, f, ids[0], lifecycle.Recycled)
	// An empty batch has nothing to hand over; a handover needs its certificate.
	_, err = f.db.HandOverRecycling(ctx, batch+1000, 0, testHandover(), testCert, f.tech)
	wantKind(t, "missing batch", err, berriz.NotFound, "recycling.error.not_found")
	mustErasure(t, f.db, ids[2], 1, "LATE-DRIVE", "passed")
	j := mustJoin(t, f, ids[2])
	if _, err := f.db.RemoveFromRecycling(ctx, ids[2], postgres.DonationScope{}, f.tech); err != nil {
		t.Fatal(err)
	}
	_, err = f.db.HandOverRecycling(ctx, j.BatchID, 0, testHandover(), testCert, f.tech)
	wantKind(t, "empty", err, berriz.Conflict, "recycling.error.empty")
	_, err = f.db.HandOverRecycling(ctx, j.BatchID, 0, testHandover(), postgres.Certificate{}, f.tech)
	wantKind(t, "no certificate", err, berriz.Invalid, "error.invalid_fields")
}

// Two handovers of one batch at once: one wins, the other is told the
// batch is gone; devices are recycled once.
func TestRecyclingConcurrentHandovers(t *testing.T) {
	f, ids := mustHeld(t, 4)
	var batch int64
	for _, id := range ids {
		batch = mustJoin(t, f, id).BatchID
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cert := testCert
			cert.Key += string(rune('a' + i))
			_, errs[i] = f.db.HandOverRecycling(context.Background(), batch, f.shop.ID, testHandover(), cert, f.tech)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case berriz.As(err).Message != "recycling.error.handed_over":
			t.Fatalf("loser: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d handovers won: %v", wins, errs)
	}
	for _, id := range ids {
		if n := len(mustEvents(t, f.db, id)); n != 3 {
			t.Fatalf("device %d: %d events", id, n)
		}
	}
}

// Devices sent to recycling at the same time land in one open batch: the
// database holds one open batch per workshop.
func TestRecyclingOneOpenBatch(t *testing.T) {
	f, ids := mustHeld(t, 8)
	var wg sync.WaitGroup
	batches := make([]int64, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := f.db.AddToRecycling(context.Background(), id, postgres.DonationScope{}, f.tech)
			if err != nil {
				t.Errorf("device %d: %v", id, err)
			}
			batches[i] = j.BatchID
		}()
	}
	wg.Wait()
	for _, b := range batches {
		if b != batches[0] || b == 0 {
			t.Fatalf("batches %v", batches)
		}
	}
	var open int
	if err := f.db.SQL().QueryRow(`SELECT count(*) FROM recycling_batches WHERE state = 'open'`).Scan(&open); err != nil || open != 1 {
		t.Fatalf("%d open batches, %v", open, err)
	}
	if _, err := f.db.SQL().Exec(`INSERT INTO recycling_batches (workshop_org_id) VALUES ($1)`, f.shop.ID); err == nil {
		t.Fatal("a second open batch was accepted")
	}
	// A declared device (no workshop yet) is refused by the lifecycle.
	g := mustIntakeFixture(t, 1)
	_, err := g.db.AddToRecycling(context.Background(), g.devices[0].ID, postgres.DonationScope{}, g.tech)
	wantKind(t, "declared", err, berriz.Conflict, "lifecycle.error.order")
}
