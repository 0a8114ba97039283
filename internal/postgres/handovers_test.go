package postgres_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
)

// handoverFixture: n laptops of the workshop, each with two erased drives
// (WD-<i>, SSD-<i>), graded B and available with their erasure
// certificate issued, then reserved from the catalogue for one approved
// request of a school (one line of quantity want) and accepted.
type handoverFixture struct {
	intakeFixture
	ids          []int64 // the devices
	reservations []int64 // theirs, in the same order
	school       account.Organisation
	otherSchool  account.Organisation
	teacher      *account.Principal
	op           *account.Principal
	request      postgres.Request
	certs        []string // the devices' certificate numbers
}

func mustHandoverFixture(t *testing.T, n, want int) handoverFixture {
	t.Helper()
	ctx := context.Background()
	base, ids := mustWorkshopDevices(t, n)
	f := handoverFixture{intakeFixture: base, ids: ids}
	f.school = mustOrg(t, f.db, account.KindSchool, "École Jules Ferry")
	f.otherSchool = mustOrg(t, f.db, account.KindSchool, "Collège voisin")
	u := mustUser(t, f.db, f.school.ID, "prof@ecole.example", false)
	f.teacher = &account.Principal{UserID: u.ID, OrgID: f.school.ID, OrgKind: f.school.Kind, Name: u.Name}
	opOrg := mustOrg(t, f.db, account.KindOperator, "Agence numérique")
	opUser := mustUser(t, f.db, opOrg.ID, "op@agence.example", true)
	f.op = &account.Principal{UserID: opUser.ID, OrgID: opOrg.ID, OrgKind: opOrg.Kind, Name: opUser.Name}
	for i, id := range ids {
		mustWiped(t, f.intakeFixture, i, id)
		mustExec(t, f.db, `UPDATE devices SET grade = 'B', os = 'Debian 13' WHERE id = $1`, id)
		mustMove(t, f.intakeFixture, id, lifecycle.Refurbished)
		mustMove(t, f.intakeFixture, id, lifecycle.Available)
		c, _, err := f.db.IssueErasureCertificate(ctx, id, postgres.DonationScope{}, "fr", f.tech, (&fakeBlob{}).render)
		if err != nil {
			t.Fatal(err)
		}
		f.certs = append(f.certs, c.Number)
	}
	r, err := f.db.CreateRequest(ctx, f.school.ID, f.teacher, allocation.NewRequest{Purpose: "Classe mobile du CM2",
		DeliveryCommune: "64102", Lines: []allocation.Line{{Category: "laptop", Quantity: want}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.DecideRequest(ctx, r.ID, postgres.RequestDecision{Decision: allocation.Approve, Version: r.Version}, f.op); err != nil {
		t.Fatal(err)
	}
	if f.request, err = f.db.Request(ctx, r.ID, postgres.RequestScope{}); err != nil || len(f.request.Lines) != 1 {
		t.Fatalf("request: %+v, %v", f.request, err)
	}
	for _, id := range ids {
		res, err := f.db.ReserveFromCatalogue(ctx, id, f.request.Lines[0].ID, f.school.ID, f.teacher)
		if err != nil {
			t.Fatal(err)
		}
		f.reservations = append(f.reservations, res.ID)
	}
	return f
}

// receiptRecorder stands for the server's renderer of receipts.
type receiptRecorder struct {
	mu       sync.Mutex
	receipts []allocation.Receipt
}

func (r *receiptRecorder) render(rc allocation.Receipt) (postgres.CertificateBlob, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.receipts = append(r.receipts, rc)
	return postgres.CertificateBlob{Key: "handovers/" + rc.Number + ".pdf", Size: 2048, SHA256: strings.Repeat("d", 64)}, nil
}

func (f handoverFixture) mustPrepare(t *testing.T, rec *receiptRecorder, reservations ...int64) postgres.Handover {
	t.Helper()
	h, err := f.db.PrepareHandover(context.Background(), postgres.NewHandover{RequestID: f.request.ID, ReservationIDs: reservations},
		f.shop.ID, "fr", f.tech, rec.render)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func hoCount(t *testing.T, db *postgres.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

var handoverNumberRE = regexp.MustCompile(`^BRZ-H-20[0-9]{2}-[0-9]{6}$`)

// A handover of two of three accepted devices: its receipt says what it
// must, its reservations are linked, the school is told; the school's
// confirmation delivers them, keeps its answer, makes the request
// partially fulfilled and tells the workshop; the last device's handover
// fulfils it.
func TestPrepareAndConfirmHandover(t *testing.T) {
	f := mustHandoverFixture(t, 3, 3)
	ctx := context.Background()
	rec := &receiptRecorder{}
	h := f.mustPrepare(t, rec, f.reservations[1], f.reservations[0], f.reservations[1])
	if !handoverNumberRE.MatchString(h.Number) || h.State != allocation.HandoverPrepared || h.Devices != 2 ||
		h.WorkshopOrgID != f.shop.ID || h.BeneficiaryOrgID != f.school.ID || h.ReceiptKey != "handovers/"+h.Number+".pdf" ||
		h.ReceiptSize != 2048 || h.CreatedBy != "tech@atelier.example" || h.ConfirmedAt != nil {
		t.Fatalf("prepared %+v", h)
	}
	rc := rec.receipts[0]
	if rc.Number != h.Number || rc.RequestID != f.request.ID || rc.Beneficiary != (allocation.Party{Name: "École Jules Ferry", Commune: "64102"}) ||
		rc.Workshop.Name != "Atelier" || len(rc.Donors) != 1 || rc.Donors[0].Name != "Mairie de Bayonne" ||
		rc.Purpose != "Classe mobile du CM2" || rc.DeliveryCommune != "64102" || len(rc.Devices) != 2 {
		t.Fatalf("receipt %+v", rc)
	}
	for i, d := range rc.Devices {
		if d.ID != f.ids[i] || d.Tag != f.codes[i].String() || d.Brand != "Dell" || d.Grade != "B" || d.Certificate != f.certs[i] ||
			d.CheckToken == "" || !slices.Equal(d.Drives, []string{fmt.Sprintf("WD-%d", i), fmt.Sprintf("SSD-%d", i)}) {
			t.Errorf("receipt device %d: %+v", i, d)
		}
	}
	if n := hoCount(t, f.db, `SELECT count(*) FROM reservations WHERE handover_id = $1`, h.ID); n != 2 {
		t.Fatalf("%d reservations linked", n)
	}
	if n := hoCount(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.handover_prepared' AND user_id = $1`, f.teacher.UserID); n != 1 {
		t.Fatalf("school told %d times", n)
	}
	if n := hoCount(t, f.db, `SELECT count(*) FROM device_events WHERE kind = 'handover' AND note = $1`, h.Number); n != 2 {
		t.Fatalf("%d handover events", n)
	}
	devs, page, err := f.db.HandoverDevices(ctx, h.ID, 1)
	if err != nil || page.Total != 2 || len(devs) != 2 || devs[0].Certificate != f.certs[0] || !strings.HasPrefix(devs[0].CheckPath, "/c/") ||
		devs[1].Tag != f.codes[1].String() || devs[0].State != lifecycle.Reserved {
		t.Fatalf("devices %+v %+v %v", devs, page, err)
	}

	// The same reservation again: taken.
	_, err = f.db.PrepareHandover(ctx, postgres.NewHandover{RequestID: f.request.ID, ReservationIDs: []int64{f.reservations[0]}},
		f.shop.ID, "fr", f.tech, rec.render)
	wantKind(t, "again", err, berriz.Conflict, "handover.error.already_in_handover")

	// Someone else's handover is not found; an answer must be known.
	_, err = f.db.ConfirmHandover(ctx, h.ID, postgres.HandoverScope{BeneficiaryOrgID: f.otherSchool.ID}, "", f.teacher)
	wantKind(t, "other school", err, berriz.NotFound, "handover.error.not_found")
	_, err = f.db.ConfirmHandover(ctx, h.ID, postgres.HandoverScope{BeneficiaryOrgID: f.school.ID}, "maybe", f.teacher)
	wantKind(t, "answer", err, berriz.Invalid, "error.invalid_fields")

	done, err := f.db.ConfirmHandover(ctx, h.ID, postgres.HandoverScope{BeneficiaryOrgID: f.school.ID}, allocation.BoughtSecondHand, f.teacher)
	if err != nil || done.State != allocation.HandoverConfirmed || done.Answer != allocation.BoughtSecondHand ||
		done.ConfirmedAt == nil || done.ConfirmedBy != "prof@ecole.example" {
		t.Fatalf("confirmed %+v, %v", done, err)
	}
	for _, id := range f.ids[:2] {
		mustState(t, f.intakeFixture, id, lifecycle.Delivered)
	}
	mustState(t, f.intakeFixture, f.ids[2], lifecycle.Reserved)
	if n := hoCount(t, f.db, `SELECT count(*) FROM reservations WHERE handover_id = $1 AND state = 'delivered'`, h.ID); n != 2 {
		t.Fatalf("%d reservations delivered", n)
	}
	req, err := f.db.Request(ctx, f.request.ID, postgres.RequestScope{})
	if err != nil || req.State != allocation.PartiallyFulfilled {
		t.Fatalf("request %s, %v", req.State, err)
	}
	if n := hoCount(t, f.db, `SELECT count(*) FROM notifications n JOIN users u ON u.id = n.user_id
		WHERE n.kind = 'notify.handover_confirmed' AND u.organisation_id = $1`, f.shop.ID); n != 1 {
		t.Fatalf("workshop told %d times", n)
	}
	_, err = f.db.ConfirmHandover(ctx, h.ID, postgres.HandoverScope{}, "", f.op)
	wantKind(t, "twice", err, berriz.Conflict, "handover.error.already_confirmed")

	last := f.mustPrepare(t, rec, f.reservations[2])
	if _, err := f.db.ConfirmHandover(ctx, last.ID, postgres.HandoverScope{}, "", f.op); err != nil {
		t.Fatal(err)
	}
	if req, err = f.db.Request(ctx, f.request.ID, postgres.RequestScope{}); err != nil || req.State != allocation.Fulfilled {
		t.Fatalf("request %s, %v", req.State, err)
	}
	if got, _ := f.db.Handover(ctx, last.ID, postgres.HandoverScope{}); got.Answer != "" {
		t.Fatalf("no answer given, %q kept", got.Answer)
	}
}

// Two confirmations at once: one delivers, the other is a conflict, and
// each device is delivered once.
func TestConfirmHandoverConcurrently(t *testing.T) {
	f := mustHandoverFixture(t, 2, 2)
	h := f.mustPrepare(t, &receiptRecorder{}, f.reservations...)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.db.ConfirmHandover(context.Background(), h.ID, postgres.HandoverScope{BeneficiaryOrgID: f.school.ID},
				allocation.BoughtNew, f.teacher)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case berriz.KindOf(err) != berriz.Conflict:
			t.Errorf("loser: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d confirmations won: %v", ok, errs)
	}
	for _, id := range f.ids {
		if n := hoCount(t, f.db, `SELECT count(*) FROM device_events WHERE device_id = $1 AND to_state = 'delivered'`, id); n != 1 {
			t.Errorf("device %d delivered %d times", id, n)
		}
	}
}

// What a preparation refuses, each with its reason; nothing is recorded.
func TestPrepareHandoverRefusals(t *testing.T) {
	f := mustHandoverFixture(t, 3, 3)
	ctx := context.Background()
	rec := &receiptRecorder{}
	prepare := func(workshop int64, ids ...int64) error {
		_, err := f.db.PrepareHandover(ctx, postgres.NewHandover{RequestID: f.request.ID, ReservationIDs: ids}, workshop, "fr", f.tech,
			rec.render)
		return err
	}
	wantKind(t, "none", prepare(f.shop.ID), berriz.Invalid, "error.invalid_fields")
	wantKind(t, "unknown", prepare(f.shop.ID, f.reservations[0], 999999), berriz.Invalid, "error.invalid_fields")
	// Another workshop does not see the request at all.
	wantKind(t, "other workshop", prepare(f.otherShop.ID, f.reservations[0]), berriz.NotFound, "handover.error.request_not_found")
	// A drive recorded since, not erased: the device is no longer safe to hand over.
	mustExec(t, f.db, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, 3, 'ssd', 128, 'NEW-3')`, f.ids[1])
	mustExec(t, f.db, `UPDATE devices SET storage_drives = 3 WHERE id = $1`, f.ids[1])
	err := prepare(f.shop.ID, f.reservations[0], f.reservations[1])
	wantKind(t, "not erased", err, berriz.Conflict, "handover.error.not_erased")
	if d := berriz.As(err).Args["device"]; !strings.Contains(d, f.codes[1].String()) {
		t.Errorf("the refusal names %q", d)
	}
	// A certificate that could not be issued.
	mustExec(t, f.db, `UPDATE erasure_certificates SET cycle = cycle + 10 WHERE device_id = $1`, f.ids[2])
	wantKind(t, "no certificate", prepare(0, f.reservations[2]), berriz.Conflict, "handover.error.certificate_missing")
	if len(rec.receipts) != 0 || hoCount(t, f.db, `SELECT count(*) FROM handovers`) != 0 {
		t.Fatal("a refused preparation left something")
	}
	// A cancelled request hands nothing over.
	mustExec(t, f.db, `UPDATE requests SET state = 'cancelled' WHERE id = $1`, f.request.ID)
	wantKind(t, "cancelled request", prepare(f.shop.ID, f.reservations[0]), berriz.Conflict, "handover.error.request_closed")
}

// A prepared handover cancelled frees its reservations for another; it
// can be neither cancelled again nor confirmed.
func TestCancelHandover(t *testing.T) {
	f := mustHandoverFixture(t, 2, 2)
	ctx := context.Background()
	rec := &receiptRecorder{}
	h := f.mustPrepare(t, rec, f.reservations...)
	_, err := f.db.CancelHandover(ctx, h.ID, f.otherShop.ID, f.tech)
	wantKind(t, "other workshop", err, berriz.NotFound, "handover.error.not_found")
	c, err := f.db.CancelHandover(ctx, h.ID, f.shop.ID, f.tech)
	if err != nil || c.State != allocation.HandoverCancelled || c.CancelledAt == nil || c.Devices != 0 || c.ReceiptKey == "" {
		t.Fatalf("cancelled %+v, %v", c, err)
	}
	_, err = f.db.CancelHandover(ctx, h.ID, 0, f.op)
	wantKind(t, "twice", err, berriz.Conflict, "handover.error.not_prepared")
	_, err = f.db.ConfirmHandover(ctx, h.ID, postgres.HandoverScope{}, "", f.op)
	wantKind(t, "confirm cancelled", err, berriz.Conflict, "handover.error.cancelled")
	if n := hoCount(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.handover_cancelled' AND user_id = $1`, f.teacher.UserID); n != 1 {
		t.Fatalf("school told %d times", n)
	}
	again := f.mustPrepare(t, rec, f.reservations...)
	if again.Devices != 2 || again.Number == h.Number {
		t.Fatalf("prepared again %+v", again)
	}
	for _, id := range f.ids {
		mustState(t, f.intakeFixture, id, lifecycle.Reserved)
	}
}

// Each party sees its own handovers; the ready lists show what remains.
func TestHandoverScopes(t *testing.T) {
	f := mustHandoverFixture(t, 3, 3)
	ctx := context.Background()
	ready, total, err := f.db.HandoversReady(ctx, f.shop.ID, 0, 10)
	if err != nil || total != 1 || len(ready) != 1 || ready[0].Devices != 3 || ready[0].BeneficiaryName != "École Jules Ferry" {
		t.Fatalf("ready %+v %d %v", ready, total, err)
	}
	if ready, total, err = f.db.HandoversReady(ctx, f.otherShop.ID, 0, 10); err != nil || total != 0 || len(ready) != 0 {
		t.Fatalf("ready elsewhere %+v %d %v", ready, total, err)
	}
	h := f.mustPrepare(t, &receiptRecorder{}, f.reservations[0])
	cands, page, err := f.db.HandoverCandidates(ctx, f.request.ID, f.shop.ID, 1)
	if err != nil || page.Total != 2 || len(cands) != 2 || cands[0].ReservationID != f.reservations[1] || cands[0].Line != 1 ||
		cands[0].Tag != f.codes[1].String() {
		t.Fatalf("candidates %+v %+v %v", cands, page, err)
	}
	if _, err := f.db.HandoverRequestOf(ctx, f.request.ID, f.otherShop.ID); berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("other workshop sees the request: %v", err)
	}
	if r, err := f.db.HandoverRequestOf(ctx, f.request.ID, f.shop.ID); err != nil || r.BeneficiaryName != "École Jules Ferry" {
		t.Fatalf("request %+v, %v", r, err)
	}
	for _, c := range []struct {
		scope postgres.HandoverScope
		want  int
	}{
		{postgres.HandoverScope{}, 1},
		{postgres.HandoverScope{WorkshopOrgID: f.shop.ID}, 1},
		{postgres.HandoverScope{BeneficiaryOrgID: f.school.ID}, 1},
		{postgres.HandoverScope{WorkshopOrgID: f.otherShop.ID}, 0},
		{postgres.HandoverScope{BeneficiaryOrgID: f.otherSchool.ID}, 0},
	} {
		list, page, err := f.db.Handovers(ctx, c.scope, 1)
		if err != nil || page.Total != c.want || len(list) != c.want {
			t.Errorf("%+v: %d handovers, %v", c.scope, page.Total, err)
		}
		_, err = f.db.Handover(ctx, h.ID, c.scope)
		if (err == nil) != (c.want == 1) {
			t.Errorf("%+v: handover %v", c.scope, err)
		}
	}
}
