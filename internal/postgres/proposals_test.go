package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
)

// proposalDevices returns, per line, the devices a proposal gives it.
func proposalDevices(t *testing.T, f *allocFixture, p postgres.Proposal) map[int64][]int64 {
	t.Helper()
	ctx := context.Background()
	lines, _, err := f.db.ProposalLines(ctx, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][]int64{}
	for _, l := range lines {
		rs, _, err := f.db.ProposalDevices(ctx, p.ID, l.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != l.InProposal+l.Dropped {
			t.Fatalf("line %d: %d devices listed, %d+%d counted", l.ID, len(rs), l.InProposal, l.Dropped)
		}
		for _, r := range rs {
			if r.DroppedReason == "" {
				out[l.ID] = append(out[l.ID], r.Device.ID)
			}
		}
	}
	return out
}

// Matching through the store: the devices available now against the open
// lines' remaining needs, by priority and best fit; one draft at a time;
// the operator's edits.
func TestRunMatchingAndEdit(t *testing.T) {
	f := mustAllocFixture(t)
	ctx := context.Background()
	now := time.Now()
	ids := f.mustAvailable(t, spec{"laptop", 16, 512, 15.6, "A"}, spec{"laptop", 8, 256, 14, "B"}, spec{"laptop", 8, 128, 13.3, "C"},
		spec{"laptop", 4, 128, 13.3, "B"}, spec{"tablet", 4, 64, 10.1, "A"}, spec{"tablet", 2, 32, 8, "C"})
	// The school waited less but has the higher priority; the association
	// wants 16 GB; one line of the school is already served by a
	// reservation.
	_, school := f.mustRequest(t, f.school.ID, 40, now.Add(-time.Hour), allocation.Line{Category: "laptop", Quantity: 2, MinRAMGB: 8},
		allocation.Line{Category: "tablet", Quantity: 1})
	_, assoc := f.mustRequest(t, f.assoc.ID, 20, now.Add(-48*time.Hour), allocation.Line{Category: "laptop", Quantity: 1, MinRAMGB: 16},
		allocation.Line{Category: "laptop", Quantity: 3})
	if _, err := f.db.ReserveFromCatalogue(ctx, ids[4], school[1], f.school.ID, f.teacher); err != nil {
		t.Fatal(err)
	}
	p, err := f.db.RunMatching(ctx, f.op)
	if err != nil {
		t.Fatal(err)
	}
	if p.State != postgres.ProposalDraft || p.Devices != 4 || p.Lines != 3 || p.Orgs != 2 || p.CreatedBy != "op@example.org" {
		t.Fatalf("draft %+v", p)
	}
	got := proposalDevices(t, f, p)
	want := map[int64][]int64{school[0]: {ids[2], ids[1]}, assoc[0]: {ids[0]}, assoc[1]: {ids[3]}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("assignments %v, want %v", got, want)
	}
	lines, page, err := f.db.ProposalLines(ctx, p, 1)
	if err != nil || page.Total != 3 || lines[0].ID != school[0] || lines[0].Need != 2 || lines[0].InProposal != 2 ||
		lines[2].ID != assoc[1] || lines[2].Need != 3 || lines[2].InProposal != 1 {
		t.Fatalf("lines %+v, %+v, %v", lines, page, err)
	}
	for _, id := range ids[:4] {
		mustDeviceState(t, f.db, id, lifecycle.Available) // a draft reserves nothing
	}
	if draft, err := f.db.DraftProposal(ctx); err != nil || draft != p.ID {
		t.Fatalf("draft %d, %v", draft, err)
	}
	_, err = f.db.RunMatching(ctx, f.op)
	wantKind(t, "second draft", err, berriz.Conflict, "matching.error.draft_exists")

	// Edits: the 4 GB laptop off the association's line, then back; it
	// cannot go to the 8 GB line; the school's line is full.
	rs, _, err := f.db.ProposalDevices(ctx, p.ID, assoc[1], 1)
	if err != nil || len(rs) != 1 {
		t.Fatal(err)
	}
	if err := f.db.RemoveFromProposal(ctx, p.ID, rs[0].ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "removed twice", f.db.RemoveFromProposal(ctx, p.ID, rs[0].ID), berriz.NotFound, "matching.error.reservation_not_found")
	_, err = f.db.AddToProposal(ctx, p.ID, school[1], ids[5], f.op)
	wantKind(t, "line full", err, berriz.Conflict, "matching.error.line_full")
	_, err = f.db.AddToProposal(ctx, p.ID, assoc[0], ids[3], f.op)
	wantKind(t, "unfit", err, berriz.Conflict, "matching.error.device_unfit")
	_, err = f.db.AddToProposal(ctx, p.ID, assoc[1], ids[1], f.op)
	wantKind(t, "already proposed", err, berriz.Conflict, "matching.error.already_proposed")
	_, err = f.db.AddToProposal(ctx, p.ID, assoc[1], ids[4], f.op)
	wantKind(t, "reserved device", err, berriz.Conflict, "matching.error.device_taken")
	r, err := f.db.AddToProposal(ctx, p.ID, assoc[1], ids[3], f.op)
	if err != nil || r.State != allocation.ReservationProposed || r.ProposalID != p.ID {
		t.Fatalf("added %+v, %v", r, err)
	}

	// Discarded: its reservations go, matching may run again.
	if d, err := f.db.DiscardProposal(ctx, p.ID); err != nil || d.State != postgres.ProposalDiscarded || d.Devices != 0 {
		t.Fatalf("discarded %+v, %v", d, err)
	}
	_, err = f.db.AddToProposal(ctx, p.ID, assoc[1], ids[3], f.op)
	wantKind(t, "edit a discarded proposal", err, berriz.Conflict, "matching.error.not_draft")
	again, err := f.db.RunMatching(ctx, f.op)
	if err != nil || again.Devices != 4 {
		t.Fatalf("again %+v, %v", again, err)
	}
	list, page, err := f.db.Proposals(ctx, 1)
	if err != nil || page.Total != 2 || list[0].ID != again.ID || list[1].ID != p.ID {
		t.Fatalf("proposals %+v, %v", list, err)
	}
}

// Two operators running matching at once: one draft, one conflict.
func TestRunMatchingConcurrently(t *testing.T) {
	f := mustAllocFixture(t)
	f.mustAvailable(t, spec{"laptop", 8, 256, 14, "B"})
	f.mustRequest(t, f.school.ID, 40, time.Now(), allocation.Line{Category: "laptop", Quantity: 1})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.db.RunMatching(context.Background(), f.op)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if berriz.As(err).Message != "matching.error.draft_exists" {
			t.Errorf("unexpected %v", err)
		}
	}
	if ok != 1 || countRows(t, f.db, `SELECT count(*) FROM proposals`) != 1 {
		t.Fatalf("%d drafts", ok)
	}
}

// Sending reserves what is still available, drops and reports the rest,
// and tells each beneficiary.
func TestSendProposal(t *testing.T) {
	f := mustAllocFixture(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ids := f.mustAvailable(t, spec{"laptop", 8, 256, 14, "B"}, spec{"laptop", 8, 256, 14, "B"}, spec{"laptop", 8, 256, 14, "B"},
		spec{"tablet", 4, 64, 10.1, "A"}, spec{"desktop", 8, 500, 0, "A"})
	_, school := f.mustRequest(t, f.school.ID, 40, now, allocation.Line{Category: "laptop", Quantity: 2},
		allocation.Line{Category: "desktop", Quantity: 1})
	assocReq, _ := f.mustRequest(t, f.assoc.ID, 20, now, allocation.Line{Category: "laptop", Quantity: 1},
		allocation.Line{Category: "tablet", Quantity: 1})
	p, err := f.db.RunMatching(ctx, f.op)
	if err != nil || p.Devices != 5 {
		t.Fatalf("draft %+v, %v", p, err)
	}
	// Meanwhile: the school reserves one of its laptops from the catalogue
	// (its line now needs one less: one of its two proposed laptops is
	// dropped), the desktop goes to recycling, the association cancels.
	if _, err := f.db.ReserveFromCatalogue(ctx, ids[2], school[0], f.school.ID, f.teacher); err != nil {
		t.Fatal(err)
	}
	mustExec(t, f.db, `INSERT INTO recycling_batches (workshop_org_id) VALUES ($1)`, f.shop.ID)
	mustExec(t, f.db, `UPDATE devices SET recycling_batch_id = (SELECT max(id) FROM recycling_batches) WHERE id = $1`, ids[4])
	mustExec(t, f.db, `UPDATE requests SET state = 'cancelled' WHERE id = $1`, assocReq)

	res, err := f.db.SendProposal(ctx, p.ID, now, 7, f.op)
	if err != nil {
		t.Fatal(err)
	}
	if res.Proposal.State != postgres.ProposalSent || res.Proposal.Waiting != 1 || res.Proposal.Devices != 1 || res.Proposal.Dropped != 4 ||
		!res.Proposal.ExpiresAt.Equal(now.AddDate(0, 0, 7)) || res.Proposal.SentBy != "op@example.org" {
		t.Fatalf("sent %+v", res.Proposal)
	}
	reasons := map[int64]string{}
	for _, d := range res.Dropped {
		reasons[d.DeviceID] = d.Reason
	}
	// Laptops 0 and 1 were proposed to the school's line (least powerful
	// first, equal: by id); laptop 2 to the association's.
	want := map[int64]string{ids[1]: postgres.DropLineFull, ids[2]: postgres.DropRequestClosed, ids[3]: postgres.DropRequestClosed,
		ids[4]: postgres.DropDeviceTaken}
	if fmt.Sprint(reasons) != fmt.Sprint(want) {
		t.Fatalf("dropped %v, want %v", reasons, want)
	}
	// The record of the send: the sent device, and the dropped ones with
	// their reasons.
	if got := proposalDevices(t, f, res.Proposal); fmt.Sprint(got) != fmt.Sprint(map[int64][]int64{school[0]: {ids[0]}}) {
		t.Fatalf("sent devices %v", got)
	}
	rows, _, err := f.db.ProposalDevices(ctx, p.ID, school[0], 1)
	if err != nil || len(rows) != 2 || rows[1].Device.ID != ids[1] || rows[1].DroppedReason != postgres.DropLineFull ||
		rows[1].State != allocation.ReservationProposed {
		t.Fatalf("rows of the school's line: %+v, %v", rows, err)
	}
	mustDeviceState(t, f.db, ids[0], lifecycle.Reserved)
	mustDeviceState(t, f.db, ids[1], lifecycle.Available)
	mustDeviceState(t, f.db, ids[3], lifecycle.Available)
	rs, _, err := f.db.LiveReservations(ctx, f.school.ID, 1)
	if err != nil || len(rs) != 2 || rs[0].State != allocation.ReservationReserved || rs[0].Device.ID != ids[0] ||
		!rs[0].ExpiresAt.Equal(now.AddDate(0, 0, 7)) || rs[1].State != allocation.ReservationAccepted {
		t.Fatalf("the school's reservations %+v, %v", rs, err)
	}
	if n := countRows(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.proposal_sent'
		AND args->>'count' = '1' AND user_id = $1`, f.teacher.UserID); n != 1 {
		t.Fatalf("%d notifications to the school", n)
	}
	if n := countRows(t, f.db, `SELECT count(*) FROM notifications WHERE kind = 'notify.proposal_sent' AND user_id = $1`,
		f.helper.UserID); n != 0 {
		t.Fatalf("%d notifications to the association, whose devices were all dropped", n)
	}
	_, err = f.db.SendProposal(ctx, p.ID, now, 7, f.op)
	wantKind(t, "sent twice", err, berriz.Conflict, "matching.error.not_draft")

	// A draft of which nothing is left is refused, and stays a draft.
	mustExec(t, f.db, `UPDATE requests SET state = 'approved' WHERE id = $1`, assocReq)
	p2, err := f.db.RunMatching(ctx, f.op)
	if err != nil || p2.Devices != 2 {
		t.Fatalf("second draft %+v, %v", p2, err)
	}
	mustExec(t, f.db, `UPDATE requests SET state = 'cancelled' WHERE id = $1`, assocReq)
	_, err = f.db.SendProposal(ctx, p2.ID, now, 7, f.op)
	wantKind(t, "nothing left", err, berriz.Conflict, "matching.error.nothing_left")
	if d, _ := f.db.Proposal(ctx, p2.ID); d.State != postgres.ProposalDraft || d.Devices != 2 {
		t.Fatalf("after a refused send: %+v", d)
	}
	_, err = f.db.SendProposal(ctx, 999999, now, 7, f.op)
	wantKind(t, "no proposal", err, berriz.NotFound, "matching.error.proposal_not_found")
	if _, err := f.db.DiscardProposal(ctx, p2.ID); err != nil {
		t.Fatal(err)
	}
	p3, err := f.db.RunMatching(ctx, f.op)
	if err != nil || p3.Devices != 0 {
		t.Fatalf("empty draft %+v, %v", p3, err)
	}
	_, err = f.db.SendProposal(ctx, p3.ID, now, 7, f.op)
	wantKind(t, "empty", err, berriz.Conflict, "matching.error.proposal_empty")
}
