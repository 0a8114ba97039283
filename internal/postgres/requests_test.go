package postgres_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"gorm.io/gorm"
)

type requestFixture struct {
	db                          *postgres.DB
	school, assoc, workshop     account.Organisation
	op, teacher, volunteer      *account.Principal
	schoolScope, assocScope     postgres.RequestScope
	operatorUser, otherOperator int64
}

func requestActor(u account.User, o account.Organisation) *account.Principal {
	return &account.Principal{UserID: u.ID, OrgID: o.ID, OrgKind: o.Kind, Name: u.Name}
}

// mustRequestFixture: a school and an association (beneficiaries, one
// user each), a workshop, and the operator's organisation with two
// operators.
func mustRequestFixture(t *testing.T, db *postgres.DB) requestFixture {
	t.Helper()
	if db == nil {
		db = pgtest.MustDB(t)
	}
	f := requestFixture{db: db, school: mustOrg(t, db, account.KindSchool, "École Jules Ferry"),
		assoc: mustOrg(t, db, account.KindAssociation, "Emmaüs Connect"), workshop: mustOrg(t, db, account.KindWorkshop, "Atelier")}
	opOrg := mustOrg(t, db, account.KindOperator, "Agence numérique")
	op := mustUser(t, db, opOrg.ID, "op@agence.example", true)
	f.operatorUser, f.otherOperator = op.ID, mustUser(t, db, opOrg.ID, "op2@agence.example", false).ID
	f.op = requestActor(op, opOrg)
	f.teacher = requestActor(mustUser(t, db, f.school.ID, "prof@ecole.example", false), f.school)
	f.volunteer = requestActor(mustUser(t, db, f.assoc.ID, "benevole@emmaus.example", false), f.assoc)
	f.schoolScope, f.assocScope = postgres.RequestScope{BeneficiaryOrgID: f.school.ID}, postgres.RequestScope{BeneficiaryOrgID: f.assoc.ID}
	return f
}

func sampleRequest(criteria ...allocation.Criterion) allocation.NewRequest {
	return allocation.NewRequest{Purpose: "Classe mobile pour le CM2", DeliveryCommune: "64102", Criteria: criteria,
		Lines: []allocation.Line{
			{Category: "laptop", Quantity: 3, MinRAMGB: 8, MinStorageGB: 128, MinScreenInches: 13.3, MinGrade: "B", Notes: "Avec chargeur"},
			{Category: "monitor_24", Quantity: 2},
		}}
}

func (f requestFixture) mustRequest(t *testing.T, actor *account.Principal, org int64, criteria ...allocation.Criterion) postgres.Request {
	t.Helper()
	r, err := f.db.CreateRequest(context.Background(), org, actor, sampleRequest(criteria...))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRequestCount(t *testing.T, db *postgres.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestCreateRequestAndScope(t *testing.T) {
	f := mustRequestFixture(t, nil)
	ctx := context.Background()
	r := f.mustRequest(t, f.teacher, f.school.ID, "rep_plus", "qpv")
	if r.State != allocation.Submitted || r.Priority != 70 || r.Version != 1 || r.Devices != 5 || r.Delivered != 0 ||
		r.SubmittedByName != f.teacher.Name || r.BeneficiaryName != "École Jules Ferry" ||
		!reflect.DeepEqual(r.Criteria, []allocation.Criterion{"rep_plus", "qpv"}) {
		t.Fatalf("created %+v", r)
	}
	if len(r.Lines) != 2 || r.Lines[0].Number != 1 || r.Lines[0].Line != sampleRequest().Lines[0] ||
		r.Lines[1].Line != sampleRequest().Lines[1] {
		t.Fatalf("lines %+v", r.Lines)
	}
	if len(r.History) != 1 || r.History[0].From != "" || r.History[0].To != allocation.Submitted ||
		r.History[0].ActorName != f.teacher.Name || r.History[0].ActorOrg != "École Jules Ferry" {
		t.Fatalf("history %+v", r.History)
	}
	// Both operators are told, nobody else.
	if n := mustRequestCount(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.request_submitted' AND link = $1
		AND args->>'request' = $2 AND user_id IN ($3, $4)`, "/requests/"+idText(r.ID), idText(r.ID), f.operatorUser, f.otherOperator); n != 2 {
		t.Errorf("%d operators told", n)
	}
	if n := mustRequestCount(t, f.db, `SELECT count(*) FROM notifications`); n != 2 {
		t.Errorf("%d notifications", n)
	}

	// An operator files for the association, with a lower priority.
	low := f.mustRequest(t, f.op, f.assoc.ID, "social")
	high := f.mustRequest(t, f.op, f.assoc.ID, "rep_plus", "qpv", "disability")
	if low.SubmittedByName != f.op.Name || low.BeneficiaryOrgID != f.assoc.ID {
		t.Fatalf("filed by the operator: %+v", low)
	}

	// Another beneficiary's request is not found, in the detail and the list.
	if _, err := f.db.Request(ctx, r.ID, f.assocScope); berriz.KindOf(err) != berriz.NotFound {
		t.Errorf("other beneficiary's request: %v", err)
	}
	if _, err := f.db.Request(ctx, r.ID, f.schoolScope); err != nil {
		t.Errorf("own request: %v", err)
	}
	list, page, err := f.db.Requests(ctx, postgres.RequestFilter{Scope: f.assocScope})
	if err != nil || page.Total != 2 || len(list) != 2 || list[0].ID != high.ID || list[1].ID != low.ID {
		t.Fatalf("association's list (newest first): %+v %v", list, err)
	}
	// The operators' queue: by priority, then waiting time.
	list, page, err = f.db.Requests(ctx, postgres.RequestFilter{})
	if err != nil || page.Total != 3 || list[0].ID != high.ID || list[1].ID != r.ID || list[2].ID != low.ID {
		t.Fatalf("queue: %+v %v", list, err)
	}
	// The state filter.
	if _, err := f.db.DecideRequest(ctx, high.ID, postgres.RequestDecision{Decision: allocation.Decline, Reason: "Hors périmètre",
		Version: 1}, f.op); err != nil {
		t.Fatal(err)
	}
	list, _, err = f.db.Requests(ctx, postgres.RequestFilter{State: allocation.Submitted})
	if err != nil || len(list) != 2 || list[0].ID != r.ID {
		t.Fatalf("submitted: %+v %v", list, err)
	}
	// Closed requests come after open ones in the queue, whatever their priority.
	list, _, _ = f.db.Requests(ctx, postgres.RequestFilter{})
	if list[2].ID != high.ID {
		t.Errorf("queue after decline: %d last, want %d", list[2].ID, high.ID)
	}

	// Only an active beneficiary organisation may receive a request.
	for name, org := range map[string]int64{"workshop": f.workshop.ID, "unknown": 999999} {
		_, err := f.db.CreateRequest(ctx, org, f.op, sampleRequest())
		if be := berriz.As(err); be.Kind != berriz.Invalid || be.Fields["beneficiary"] != "request.error.beneficiary_invalid" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := f.db.SetOrganisationActive(ctx, f.assoc.ID, false, f.op, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateRequest(ctx, f.assoc.ID, f.op, sampleRequest()); berriz.KindOf(err) != berriz.Invalid {
		t.Errorf("inactive organisation: %v", err)
	}
	if _, err := f.db.CreateRequest(ctx, f.school.ID, f.teacher, allocation.NewRequest{Purpose: "x", DeliveryCommune: "64102"}); berriz.KindOf(err) != berriz.Invalid {
		t.Errorf("no lines: %v", err)
	}
}

func TestDecideRequest(t *testing.T) {
	f := mustRequestFixture(t, nil)
	ctx := context.Background()
	r := f.mustRequest(t, f.teacher, f.school.ID)

	// A stale version is a conflict naming the state now.
	_, err := f.db.DecideRequest(ctx, r.ID, postgres.RequestDecision{Decision: allocation.Approve, Version: 2}, f.op)
	be := berriz.As(err)
	if be.Kind != berriz.Conflict || be.Message != "request.error.stale" || be.Details["state"] != "submitted" || be.Details["version"] != 1 {
		t.Fatalf("stale: %v %v", err, be.Details)
	}
	out, err := f.db.DecideRequest(ctx, r.ID, postgres.RequestDecision{Decision: allocation.Approve, Reason: "Livraison en mars", Version: 1}, f.op)
	if err != nil || out.State != allocation.Approved || out.Version != 2 || out.DecidedByName != f.op.Name || out.DecidedAt == nil ||
		out.DecisionReason != "Livraison en mars" {
		t.Fatalf("approve: %+v %v", out, err)
	}
	if len(out.History) != 2 || out.History[1].From != allocation.Submitted || out.History[1].To != allocation.Approved ||
		out.History[1].ActorName != f.op.Name || out.History[1].Reason != "Livraison en mars" {
		t.Fatalf("history %+v", out.History)
	}
	if n := mustRequestCount(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.request_approved' AND user_id = $1`,
		f.teacher.UserID); n != 1 {
		t.Errorf("beneficiary told %d times", n)
	}
	// A decision is taken once.
	_, err = f.db.DecideRequest(ctx, r.ID, postgres.RequestDecision{Decision: allocation.Decline, Reason: "Non", Version: 2}, f.op)
	wantKind(t, "decided twice", err, berriz.Conflict, "request.error.step")

	d := f.mustRequest(t, f.teacher, f.school.ID)
	out, err = f.db.DecideRequest(ctx, d.ID, postgres.RequestDecision{Decision: allocation.Decline, Reason: "Déjà équipés", Version: 1}, f.op)
	if err != nil || out.State != allocation.Declined || out.DecisionReason != "Déjà équipés" {
		t.Fatalf("decline: %+v %v", out, err)
	}
	if n := mustRequestCount(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.request_declined' AND user_id = $1
		AND args->>'reason' = 'Déjà équipés'`, f.teacher.UserID); n != 1 {
		t.Errorf("decline told %d times", n)
	}
	_, err = f.db.DecideRequest(ctx, 999999, postgres.RequestDecision{Decision: allocation.Approve, Version: 1}, f.op)
	wantKind(t, "unknown request", err, berriz.NotFound, "request.error.not_found")
	_, err = f.db.DecideRequest(ctx, d.ID, postgres.RequestDecision{Decision: "maybe", Version: 2}, f.op)
	if berriz.KindOf(err) != berriz.Invalid {
		t.Errorf("unknown decision: %v", err)
	}
}

// mustFulfilment runs the handovers' fulfilment step in a transaction of
// its own.
func mustFulfilment(t *testing.T, db *postgres.DB, id int64) {
	t.Helper()
	if err := db.Tx(context.Background(), func(tx *gorm.DB) error { return postgres.UpdateFulfilment(tx, id) }); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateFulfilment(t *testing.T) {
	f := mustIntakeFixture(t, 6)
	rf := mustRequestFixture(t, f.db)
	ctx := context.Background()
	r := rf.mustRequest(t, rf.teacher, rf.school.ID) // 3 laptops, 2 monitors
	mustFulfilment(t, f.db, r.ID)                    // submitted: nothing to count
	if got, _ := f.db.Request(ctx, r.ID, postgres.RequestScope{}); got.State != allocation.Submitted || got.Version != 1 {
		t.Fatalf("submitted request moved: %+v", got)
	}
	if _, err := f.db.DecideRequest(ctx, r.ID, postgres.RequestDecision{Decision: allocation.Approve, Version: 1}, rf.op); err != nil {
		t.Fatal(err)
	}
	deliver := func(device int64, line int64) {
		mustExec(t, f.db, `INSERT INTO reservations (device_id, request_line_id, state) VALUES ($1, $2, 'delivered')`, device, line)
	}
	laptops, monitors := r.Lines[0].ID, r.Lines[1].ID
	mustFulfilment(t, f.db, r.ID)
	if got, _ := f.db.Request(ctx, r.ID, postgres.RequestScope{}); got.State != allocation.Approved {
		t.Fatalf("nothing delivered: %s", got.State)
	}
	// Four laptops for a line of three: the extra one fulfils nothing else.
	for _, d := range f.devices[:4] {
		deliver(d.ID, laptops)
	}
	mustFulfilment(t, f.db, r.ID)
	got, _ := f.db.Request(ctx, r.ID, postgres.RequestScope{})
	if got.State != allocation.PartiallyFulfilled || got.Delivered != 3 || got.Lines[0].Delivered != 4 || got.Version != 3 {
		t.Fatalf("partially: %+v", got)
	}
	mustFulfilment(t, f.db, r.ID) // again: no change, no trace
	deliver(f.devices[4].ID, monitors)
	deliver(f.devices[5].ID, monitors)
	mustFulfilment(t, f.db, r.ID)
	got, _ = f.db.Request(ctx, r.ID, postgres.RequestScope{})
	if got.State != allocation.Fulfilled || got.Delivered != 5 {
		t.Fatalf("fulfilled: %+v", got)
	}
	var steps []allocation.RequestState
	for _, e := range got.History {
		steps = append(steps, e.To)
		if e.To == allocation.Fulfilled && (e.ActorName != "" || e.ActorOrg != "") {
			t.Errorf("fulfilment by %q %q, want berriz itself", e.ActorName, e.ActorOrg)
		}
	}
	if want := []allocation.RequestState{"submitted", "approved", "partially_fulfilled", "fulfilled"}; !reflect.DeepEqual(steps, want) {
		t.Errorf("history %v, want %v", steps, want)
	}
	_, err := f.db.CancelRequest(ctx, r.ID, postgres.RequestScope{}, got.Version, "", rf.op)
	wantKind(t, "cancel a fulfilled request", err, berriz.Conflict, "request.error.step")
}
