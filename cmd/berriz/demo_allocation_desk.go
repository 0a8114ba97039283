package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/storage"
)

// demoDesk is the allocation at work: the operator, the beneficiaries and
// the workshop, through the store calls of their pages. As demoBench, each
// step does nothing once one failed, and the first error is kept.
type demoDesk struct {
	ctx   context.Context
	db    *postgres.DB
	files storage.Store
	docs  *server.Documents
	res   *demoResult
	op    *account.Principal
	tech  *account.Principal
	lang  string // the technician's: certificates and receipts
	days  int    // how long a sent proposal holds its devices
	now   time.Time
	err   error
}

func (d *demoDesk) fail(step string, err error) {
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("allocation, %s: %w", step, err)
	}
}

// member is the administrator of a beneficiary organisation, who acts
// for it.
func (d *demoDesk) member(orgKey string) *account.Principal {
	p, err := d.res.principal(orgKey, orgKey+".admin")
	d.fail("member of "+orgKey, err)
	if p == nil {
		p = &account.Principal{}
	}
	return p
}

// file files a request as the form does: checked by the API's rules
// (allocation.RequestJSON), then stored for the member's organisation.
func (d *demoDesk) file(orgKey string, in allocation.RequestJSON) int64 {
	who := d.member(orgKey)
	if d.err != nil {
		return 0
	}
	nr, fe := in.Parse()
	if fe != nil {
		d.fail("request of "+orgKey, fe.Err())
		return 0
	}
	r, err := d.db.CreateRequest(d.ctx, who.OrgID, who, nr)
	d.fail("request of "+orgKey, err)
	return r.ID
}

// version is a request's version, as its page shows it.
func (d *demoDesk) version(id int64) int {
	if d.err != nil {
		return 0
	}
	r, err := d.db.Request(d.ctx, id, postgres.RequestScope{})
	d.fail(fmt.Sprintf("request %d", id), err)
	return r.Version
}

// decide is the operator's decision on a request.
func (d *demoDesk) decide(id int64, decision, reason string) {
	v := d.version(id)
	if d.err != nil {
		return
	}
	dec, reason, fe := allocation.ParseDecision(decision, reason)
	if fe != nil {
		d.fail(fmt.Sprintf("decision on request %d", id), fe.Err())
		return
	}
	_, err := d.db.DecideRequest(d.ctx, id, postgres.RequestDecision{Decision: dec, Reason: reason, Version: v}, d.op)
	d.fail(fmt.Sprintf("decision on request %d", id), err)
}

// cancel withdraws a request, as its beneficiary does from its page.
func (d *demoDesk) cancel(id int64, orgKey, reason string) {
	who, v := d.member(orgKey), d.version(id)
	if d.err != nil {
		return
	}
	fe := berriz.FieldErrors{}
	reason = allocation.CheckRequestReason(fe, reason, false)
	if len(fe) > 0 {
		d.fail(fmt.Sprintf("cancel request %d", id), fe.Err())
		return
	}
	_, err := d.db.CancelRequest(d.ctx, id, postgres.RequestScope{BeneficiaryOrgID: who.OrgID}, v, reason, who)
	d.fail(fmt.Sprintf("cancel request %d", id), err)
}

// propose runs matching and sends the draft as it is, as the operator
// does after reviewing it; every device must go out.
func (d *demoDesk) propose() {
	if d.err != nil {
		return
	}
	p, err := d.db.RunMatching(d.ctx, d.op)
	if err != nil {
		d.fail("matching", err)
		return
	}
	sent, err := d.db.SendProposal(d.ctx, p.ID, d.now, d.days, d.op)
	if err == nil && len(sent.Dropped) > 0 {
		err = fmt.Errorf("%d devices dropped", len(sent.Dropped))
	}
	d.fail(fmt.Sprintf("send proposal %d", p.ID), err)
}

// waiting lists the reservations of a beneficiary that wait for its
// answer, oldest first.
func (d *demoDesk) waiting(orgKey string) []postgres.Reservation {
	who := d.member(orgKey)
	var out []postgres.Reservation
	for page := 1; d.err == nil; page++ {
		rs, p, err := d.db.LiveReservations(d.ctx, who.OrgID, page)
		if err != nil {
			d.fail("reservations of "+orgKey, err)
			return nil
		}
		for _, r := range rs {
			if r.State == allocation.ReservationReserved {
				out = append(out, r)
			}
		}
		if page >= p.Pages() {
			break
		}
	}
	slices.SortFunc(out, func(a, b postgres.Reservation) int { return int(a.ID - b.ID) })
	return out
}

// answer is the beneficiary's answer to a reserved device.
func (d *demoDesk) answer(orgKey string, r postgres.Reservation, accept bool) {
	who := d.member(orgKey)
	if d.err != nil {
		return
	}
	_, err := d.db.AnswerReservation(d.ctx, r.ID, who.OrgID, accept, d.now, who)
	d.fail(fmt.Sprintf("answer to reservation %d", r.ID), err)
}

// certify issues a device's erasure certificate, as the server does when
// the device enters wiped: written by the server's Documents, stored, and
// deleted again when the store refuses it.
func (d *demoDesk) certify(id int64) {
	if d.err != nil {
		return
	}
	stored := ""
	_, _, err := d.db.IssueErasureCertificate(d.ctx, id, postgres.DonationScope{WorkshopOrgID: d.tech.OrgID}, d.lang, d.tech,
		d.docs.CertificateWriter(d.ctx, d.files, id, d.lang, &stored))
	if err != nil && stored != "" {
		_ = d.files.Delete(d.ctx, stored)
	}
	d.fail(fmt.Sprintf("certificate of device %d", id), err)
}

// prepare is the workshop's handover of accepted reservations of a
// request, with its receipt; n of them, the oldest first (all when n is 0).
func (d *demoDesk) prepare(requestID int64, n int) postgres.Handover {
	if d.err != nil {
		return postgres.Handover{}
	}
	cands, _, err := d.db.HandoverCandidates(d.ctx, requestID, d.tech.OrgID, 0)
	if err != nil {
		d.fail(fmt.Sprintf("handover of request %d", requestID), err)
		return postgres.Handover{}
	}
	in := postgres.NewHandover{RequestID: requestID}
	for _, c := range cands {
		in.ReservationIDs = append(in.ReservationIDs, c.ReservationID)
	}
	slices.Sort(in.ReservationIDs)
	if n > 0 {
		in.ReservationIDs = in.ReservationIDs[:min(n, len(in.ReservationIDs))]
	}
	stored := ""
	h, err := d.db.PrepareHandover(d.ctx, in, d.tech.OrgID, d.lang, d.tech, d.docs.ReceiptWriter(d.ctx, d.files, d.lang, &stored))
	if err != nil && stored != "" {
		_ = d.files.Delete(d.ctx, stored)
	}
	d.fail(fmt.Sprintf("handover of request %d", requestID), err)
	return h
}

// confirm is the beneficiary's confirmation of receipt, with its answer
// to the question ("" for none).
func (d *demoDesk) confirm(h postgres.Handover, orgKey string, a allocation.Answer) {
	who := d.member(orgKey)
	if d.err != nil {
		return
	}
	_, err := d.db.ConfirmHandover(d.ctx, h.ID, postgres.HandoverScope{BeneficiaryOrgID: who.OrgID}, a, who)
	d.fail("confirm handover "+h.Number, err)
}

// takeBack is a return: the beneficiary asks, from the handover's page,
// then the workshop records the device back from the device's return
// page (the lifecycle's Direct step, the reason as its note).
func (d *demoDesk) takeBack(h postgres.Handover, orgKey, reason string) {
	who := d.member(orgKey)
	if d.err != nil {
		return
	}
	devs, _, err := d.db.HandoverDevices(d.ctx, h.ID, 1)
	if err != nil || len(devs) == 0 {
		d.fail("return from handover "+h.Number, fmt.Errorf("no device: %w", err))
		return
	}
	q, err := d.db.RequestReturn(d.ctx, h.ID, postgres.HandoverScope{BeneficiaryOrgID: who.OrgID},
		postgres.NewReturnRequest{DeviceID: devs[0].DeviceID, Reason: reason}, who)
	if err != nil {
		d.fail("return request in handover "+h.Number, err)
		return
	}
	reason, err = allocation.CheckReason(q.Reason)
	if err == nil {
		_, err = d.db.TransitionDevice(d.ctx, q.DeviceID, postgres.DonationScope{WorkshopOrgID: d.tech.OrgID},
			postgres.Transition{To: lifecycle.Returned, Via: lifecycle.Direct, Note: reason}, d.tech)
	}
	d.fail(fmt.Sprintf("return of device %d", q.DeviceID), err)
}

// publish takes a received laptop through the workshop to available:
// specs, a clean diagnosis, its drive erased (and its certificate issued,
// as the server does on entering wiped), Linux installed, graded as
// suggested, refurbished and published.
func (d *demoDesk) publish(b *demoBench, id int64, s device.Specs, cosmetic diagnosis.Grade) {
	b.specs(id, s)
	b.diagnose(id, cosmetic, "", nil)
	b.to(id, lifecycle.Diagnosed)
	if s.Drives[0].Type == device.NVMe {
		b.erase(id, nvmeSanitize(""))
	} else {
		b.erase(id, hdparmErase(erasure.Passed, ""))
	}
	b.to(id, lifecycle.Wiped)
	d.fail("workshop", b.err)
	d.certify(id)
	b.work(id, parts.WorkOSInstall, "", 30, "Linux Mint 22.1 Xfce")
	b.grade(id, cosmetic, "")
	b.to(id, lifecycle.Refurbished)
	b.to(id, lifecycle.Available)
	d.fail("workshop", b.err)
}
