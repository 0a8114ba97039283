package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"gorm.io/gorm"
)

// A request's changes of state. Each takes the request's row lock first
// (lockRequest), then, when reservations and devices are involved, the
// reservations' and the devices' row locks, each in ascending id order:
// the lock order of the allocation area, so that a cancellation, a
// handover and the expiry job never wait on each other in a circle. Decisions and cancellations carry the version the person
// saw, and a stale one is a conflict rather than a blind overwrite.

// lockedRequest is a request read under its row lock.
type lockedRequest struct {
	ID      int64
	OrgID   int64
	OrgName string
	State   allocation.RequestState
	Version int
}

// lockRequest locks a request the scope may see.
func lockRequest(tx *gorm.DB, id int64, scope RequestScope) (lockedRequest, error) {
	var r lockedRequest
	err := tx.Raw(`SELECT r.id, r.beneficiary_org_id, o.name, r.state, r.version
		FROM requests r JOIN organisations o ON o.id = r.beneficiary_org_id
		WHERE r.id = ? AND `+requestScopeCond+` FOR UPDATE OF r`, append([]any{id}, scope.args()...)...).Row().
		Scan(&r.ID, &r.OrgID, &r.OrgName, &r.State, &r.Version)
	return r, notFound(err, "request.error.not_found")
}

// staleRequest is the conflict of a client that saw an older version: the
// message names the state now, the details give state and version so an
// API client can look again.
func staleRequest(r lockedRequest) error {
	return berriz.E(berriz.Conflict, "request.error.stale").WithKeyArg("state", r.State.Key()).
		WithDetail("state", string(r.State)).WithDetail("version", r.Version)
}

// setRequestState moves a locked request, traces it and bumps its version.
func setRequestState(tx *gorm.DB, r lockedRequest, to allocation.RequestState, actor *account.Principal, reason string) error {
	if err := allocation.CheckRequestStep(r.State, to); err != nil {
		return err
	}
	if err := tx.Exec(`UPDATE requests SET state = ?, version = version + 1 WHERE id = ?`, string(to), r.ID).Error; err != nil {
		return err
	}
	return recordRequestEvent(tx, r.ID, actor, r.State, to, reason)
}

// RequestDecision is the operator's answer to a submitted request, with
// the version of the request the operator saw.
type RequestDecision struct {
	Decision allocation.Decision
	Reason   string // required to decline (allocation.ParseDecision)
	Version  int
}

// DecideRequest approves or declines a submitted request (operators; the
// caller checked the decision with allocation.ParseDecision) and tells the
// beneficiary organisation.
func (db *DB) DecideRequest(ctx context.Context, id int64, d RequestDecision, actor *account.Principal) (Request, error) {
	if d.Decision != allocation.Approve && d.Decision != allocation.Decline {
		return Request{}, berriz.FieldErrors{allocation.FieldDecision: "request.error.decision_unknown"}.Err()
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := lockRequest(tx, id, RequestScope{})
		if err != nil {
			return err
		}
		if d.Version != r.Version {
			return staleRequest(r)
		}
		to := d.Decision.State()
		if err := allocation.CheckRequestStep(r.State, to); err != nil {
			return err
		}
		// One statement: a declined request always has its reason.
		if err := tx.Exec(`UPDATE requests SET state = ?, decided_by = nullif(?, 0), decided_at = now(), decision_reason = ?,
			version = version + 1 WHERE id = ?`, string(to), actorID(actor), d.Reason, id).Error; err != nil {
			return err
		}
		if err := recordRequestEvent(tx, id, actor, r.State, to, d.Reason); err != nil {
			return err
		}
		kind := "notify.request_approved"
		if to == allocation.Declined {
			kind = "notify.request_declined"
		}
		return notifyOrg(tx, r.OrgID, Notice{Kind: kind, Link: requestLink(id),
			Args: map[string]string{"request": strconv.FormatInt(id, 10), "reason": d.Reason}})
	})
	if err != nil {
		return Request{}, fmt.Errorf("decide request %d: %w", id, err)
	}
	return db.Request(ctx, id, RequestScope{})
}

// CancelRequest withdraws a request the scope may see (its beneficiary,
// or an operator) while it is submitted, approved or partially fulfilled.
// Its live reservations are released and their devices are available
// again, in the same transaction; what was delivered stays delivered. The
// other side is told: the operators when the beneficiary cancels, the
// beneficiary when an operator does.
func (db *DB) CancelRequest(ctx context.Context, id int64, scope RequestScope, version int, reason string,
	actor *account.Principal) (Request, error) {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := lockRequest(tx, id, scope)
		if err != nil {
			return err
		}
		if version != r.Version {
			return staleRequest(r)
		}
		if err := setRequestState(tx, r, allocation.Cancelled, actor, reason); err != nil {
			return err
		}
		if err := releaseReservations(tx, id, actor); err != nil {
			return err
		}
		n := Notice{Kind: "notify.request_cancelled", Link: requestLink(id),
			Args: map[string]string{"request": strconv.FormatInt(id, 10), "organisation": r.OrgName}}
		if actor != nil && actor.IsOperator() {
			return notifyOrg(tx, r.OrgID, n)
		}
		return notifyOperators(tx, n)
	})
	if err != nil {
		return Request{}, fmt.Errorf("cancel request %d: %w", id, err)
	}
	return db.Request(ctx, id, scope)
}

// releaseReservations releases the live reservations (reserved, accepted)
// of a locked request and makes their devices available again. It locks
// the reservations (by id), then their devices (by id): the order of the
// reservations' own answers and expiry (reservation, then device) and of
// handovers (request, reservations, devices), so none of them waits on
// this in a circle. A reservation that expired or was answered before its
// lock is no longer live and is left as it is; reservations of a draft
// proposal hold no device and are left to the proposal.
func releaseReservations(tx *gorm.DB, requestID int64, actor *account.Principal) error {
	type live struct{ ID, DeviceID int64 }
	var held []live
	if err := tx.Raw(`SELECT v.id, v.device_id FROM reservations v JOIN request_lines l ON l.id = v.request_line_id
		WHERE l.request_id = ? AND v.state IN ('reserved', 'accepted') ORDER BY v.id FOR UPDATE OF v`, requestID).
		Scan(&held).Error; err != nil {
		return fmt.Errorf("live reservations of request %d: %w", requestID, err)
	}
	slices.SortFunc(held, func(a, b live) int { return cmp.Compare(a.DeviceID, b.DeviceID) })
	for _, r := range held {
		d, err := lockDeviceFacts(tx, r.DeviceID, DonationScope{})
		if err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE reservations SET state = 'released' WHERE id = ?`, r.ID).Error; err != nil {
			return fmt.Errorf("release reservation %d: %w", r.ID, err)
		}
		if d.State != lifecycle.Reserved {
			continue // nothing holds it any more: leave the device where it is
		}
		detail, err := json.Marshal(map[string]any{"request": requestID, "reservation": r.ID, "reason": "request_cancelled"})
		if err != nil {
			return err
		}
		if _, err := moveDevice(tx, d, lifecycle.Available, lifecycle.Allocation, actor, "", string(detail)); err != nil {
			return fmt.Errorf("release device %d: %w", r.DeviceID, err)
		}
	}
	return nil
}

// UpdateFulfilment recomputes what a request received — delivered
// reservations, each line counted up to its quantity — and moves an open
// request to partially fulfilled or fulfilled (allocation.FulfilmentState),
// with a trace whose actor is berriz itself. Handovers call it in their
// confirmation's transaction; to keep the lock order, lock the request
// (lockRequest) before the devices, as this does first.
func UpdateFulfilment(tx *gorm.DB, requestID int64) error {
	r, err := lockRequest(tx, requestID, RequestScope{})
	if err != nil {
		return fmt.Errorf("fulfilment of request %d: %w", requestID, err)
	}
	var delivered, wanted int
	if err := tx.Raw(`SELECT coalesce(sum(least(l.quantity, (SELECT count(*) FROM reservations v
			WHERE v.request_line_id = l.id AND v.state = 'delivered'))), 0), coalesce(sum(l.quantity), 0)
		FROM request_lines l WHERE l.request_id = ?`, requestID).Row().Scan(&delivered, &wanted); err != nil {
		return fmt.Errorf("fulfilment of request %d: %w", requestID, err)
	}
	to := allocation.FulfilmentState(r.State, delivered, wanted)
	if to == r.State {
		return nil
	}
	if err := setRequestState(tx, r, to, nil, ""); err != nil {
		return fmt.Errorf("fulfilment of request %d: %w", requestID, err)
	}
	return nil
}
