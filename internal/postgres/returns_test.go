package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
)

// The school asks for a delivered device to be taken back (by its tag):
// once, for a device of the confirmed handover only; the workshop is told.
// When the workshop records the device back (the lifecycle's step, with
// the reason as the event's note), the request is settled and the device
// starts a new cycle.
func TestReturnRequest(t *testing.T) {
	f := mustHandoverFixture(t, 2, 2)
	ctx := context.Background()
	school := postgres.HandoverScope{BeneficiaryOrgID: f.school.ID}
	h := f.mustPrepare(t, &receiptRecorder{}, f.reservations...)
	ask := func(scope postgres.HandoverScope, in postgres.NewReturnRequest) (postgres.ReturnRequest, error) {
		return f.db.RequestReturn(ctx, h.ID, scope, in, f.teacher)
	}
	tagOf := func(i int) string { return string(f.codes[i]) }
	_, err := ask(school, postgres.NewReturnRequest{Tag: tagOf(0), Reason: "L'écran clignote"})
	wantKind(t, "not confirmed", err, berriz.Conflict, "handover.error.not_confirmed")
	if _, err := f.db.ConfirmHandover(ctx, h.ID, school, "", f.teacher); err != nil {
		t.Fatal(err)
	}
	_, err = ask(school, postgres.NewReturnRequest{Tag: tagOf(0)})
	wantKind(t, "no reason", err, berriz.Invalid, "error.invalid_fields")
	_, err = ask(school, postgres.NewReturnRequest{Tag: "ZZZZZZZZ", Reason: "Écran"})
	wantKind(t, "unknown tag", err, berriz.Invalid, "error.invalid_fields")
	_, err = ask(postgres.HandoverScope{BeneficiaryOrgID: f.otherSchool.ID}, postgres.NewReturnRequest{Tag: tagOf(0), Reason: "Écran"})
	wantKind(t, "other school", err, berriz.NotFound, "handover.error.not_found")

	q, err := ask(school, postgres.NewReturnRequest{Tag: tagOf(0), Reason: "  L'écran clignote  "})
	if err != nil || q.DeviceID != f.ids[0] || q.Reason != "L'écran clignote" || q.Tag != f.codes[0].String() || q.HandoverID != h.ID ||
		q.RequestedBy != "prof@ecole.example" {
		t.Fatalf("request %+v, %v", q, err)
	}
	_, err = ask(school, postgres.NewReturnRequest{DeviceID: f.ids[0], Reason: "Encore"})
	wantKind(t, "twice", err, berriz.Conflict, "handover.error.return_already_requested")
	if n := hoCount(t, f.db, `SELECT count(*) FROM notifications n JOIN users u ON u.id = n.user_id
		WHERE n.kind = 'notify.return_requested' AND u.organisation_id = $1`, f.shop.ID); n != 1 {
		t.Fatalf("workshop told %d times", n)
	}
	open, total, err := f.db.OpenReturnRequests(ctx, h.ID, 10)
	if err != nil || total != 1 || len(open) != 1 || open[0].ID != q.ID {
		t.Fatalf("open %+v %d %v", open, total, err)
	}
	del, err := f.db.DeviceDeliveryOf(ctx, f.ids[0])
	if err != nil || del.HandoverID != h.ID || del.BeneficiaryName != "École Jules Ferry" || del.Request == nil || del.Request.ID != q.ID {
		t.Fatalf("delivery %+v, %v", del, err)
	}
	devs, _, err := f.db.HandoverDevices(ctx, h.ID, 1)
	if err != nil || !devs[0].ReturnRequested || devs[1].ReturnRequested {
		t.Fatalf("devices %+v, %v", devs, err)
	}

	// The workshop records it back.
	st, err := f.db.TransitionDevice(ctx, f.ids[0], f.scope(), postgres.Transition{To: lifecycle.Returned, Note: q.Reason}, f.tech)
	if err != nil || st.State != lifecycle.Returned || st.Cycle != 2 {
		t.Fatalf("returned %+v, %v", st, err)
	}
	if open, total, err = f.db.OpenReturnRequests(ctx, h.ID, 10); err != nil || total != 0 || len(open) != 0 {
		t.Fatalf("still open %+v %d %v", open, total, err)
	}
	if del, err = f.db.DeviceDeliveryOf(ctx, f.ids[0]); err != nil || del.Request != nil {
		t.Fatalf("delivery after the return %+v, %v", del, err)
	}
	devs, _, _ = f.db.HandoverDevices(ctx, h.ID, 1)
	if devs[0].State != lifecycle.Returned || devs[0].ReturnRequested || devs[0].Certificate != f.certs[0] {
		t.Fatalf("returned device %+v", devs[0])
	}
	_, err = ask(school, postgres.NewReturnRequest{Tag: tagOf(0), Reason: "Encore"})
	wantKind(t, "back already", err, berriz.Conflict, "handover.error.not_delivered")
	events := mustEvents(t, f.db, f.ids[0])
	if events[0].To != "returned" || events[0].Note != "L'écran clignote" || events[1].Kind != postgres.EventReturnRequest ||
		!strings.Contains(events[1].Detail, `"return_request"`) {
		t.Fatalf("events %+v", events[:2])
	}
	_, err = f.db.DeviceDeliveryOf(ctx, f.ids[0]+1000)
	wantKind(t, "never delivered", err, berriz.NotFound, "handover.error.never_delivered")
}
