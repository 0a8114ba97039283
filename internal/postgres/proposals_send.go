package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"gorm.io/gorm"
)

// Sending a draft reserves its devices. Between the draft and the send,
// things move: a beneficiary reserves a device from the catalogue, a
// technician sends one to recycling, a request is cancelled or a line
// filled. The send does not refuse the whole proposal for that: every
// device still available goes out, and each one that no longer can is
// dropped and reported with the reason (docs/matching.md); its reservation
// stays 'proposed' with the reason (migrations/00014_matching.sql), so the
// proposal keeps the record. Only a proposal of which nothing is left is
// refused.

// The reasons a device is dropped at the send.
const (
	DropDeviceTaken   = "device_taken"   // no longer available (reserved meanwhile, in a recycling batch...)
	DropRequestClosed = "request_closed" // its request is no longer open
	DropLineFull      = "line_full"      // its line no longer needs it
)

// Dropped is a device taken off a proposal at the send, and why.
type Dropped struct {
	ReservationID int64  `json:"reservation_id"`
	DeviceID      int64  `json:"device_id"`
	Device        string `json:"device"` // brand, model and tag
	RequestID     int64  `json:"request_id"`
	Line          int    `json:"line"`
	Reason        string `json:"reason"`
}

// SendResult is a sent proposal, with the devices the send dropped.
type SendResult struct {
	Proposal Proposal  `json:"proposal"`
	Dropped  []Dropped `json:"dropped"`
}

// SendProposal sends a draft: each of its devices still available becomes
// reserved (the lifecycle's Allocation path) and its reservation
// 'reserved' until now + days; the others are dropped and reported; the
// proposal is sent and each beneficiary organisation told. One
// transaction, locks in the allocation order: the proposal, its requests
// by id, then its devices by id.
func (db *DB) SendProposal(ctx context.Context, id int64, now time.Time, days int, actor *account.Principal) (SendResult, error) {
	if days < 1 {
		return SendResult{}, fmt.Errorf("send proposal %d: %d days", id, days)
	}
	expires := now.AddDate(0, 0, days)
	var dropped []Dropped
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		dropped = nil
		if err := lockDraft(tx, id); err != nil {
			return err
		}
		type planned struct {
			id, device, line, request, org int64
			lineNo                         int
		}
		rows, err := tx.Raw(`SELECT r.id, r.device_id, r.request_line_id, l.request_id, q.beneficiary_org_id, l.line
			FROM reservations r JOIN request_lines l ON l.id = r.request_line_id JOIN requests q ON q.id = l.request_id
			WHERE r.proposal_id = ? AND r.dropped_reason IS NULL ORDER BY r.id`, id).Rows()
		if err != nil {
			return err
		}
		var plan []planned
		for rows.Next() {
			var p planned
			if err := rows.Scan(&p.id, &p.device, &p.line, &p.request, &p.org, &p.lineNo); err != nil {
				rows.Close()
				return err
			}
			plan = append(plan, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(plan) == 0 {
			return berriz.E(berriz.Conflict, "matching.error.proposal_empty")
		}
		var requests, lines, devices idArray
		for _, p := range plan {
			requests, lines, devices = append(requests, p.request), append(lines, p.line), append(devices, p.device)
		}
		slices.Sort(requests)
		slices.Sort(lines)
		slices.Sort(devices)
		requests, lines = slices.Compact(requests), slices.Compact(lines)
		open := map[int64]bool{}
		rs, err := tx.Raw(`SELECT id, state FROM requests WHERE id = ANY (?::bigint[]) ORDER BY id FOR UPDATE`, requests).Rows()
		if err != nil {
			return err
		}
		for rs.Next() {
			var rid int64
			var state string
			if err := rs.Scan(&rid, &state); err != nil {
				rs.Close()
				return err
			}
			open[rid] = allocation.RequestState(state).Open()
		}
		rs.Close()
		// The lines' needs, read after their requests' locks.
		need := map[int64]int{}
		ns, err := tx.Raw(`SELECT l.id, l.quantity - (SELECT count(*) FROM reservations nr WHERE nr.request_line_id = l.id
			AND nr.state IN ('reserved', 'accepted', 'delivered')) FROM request_lines l WHERE l.id = ANY (?::bigint[])`, lines).Rows()
		if err != nil {
			return err
		}
		for ns.Next() {
			var lid int64
			var n int
			if err := ns.Scan(&lid, &n); err != nil {
				ns.Close()
				return err
			}
			need[lid] = n
		}
		ns.Close()
		locked := make(map[int64]lockedDevice, len(devices))
		for _, dev := range devices {
			d, err := lockDeviceFacts(tx, dev, DonationScope{})
			if err != nil {
				return err
			}
			locked[dev] = d
		}
		// Live reservations of an available device (read after the locks): never, unless some
		// path forgot to move it; the unique index would then refuse the
		// whole send, so the device is dropped instead.
		var held []int64
		if err := tx.Raw(`SELECT device_id FROM reservations WHERE device_id = ANY (?::bigint[]) AND state IN ('reserved', 'accepted')`,
			devices).Scan(&held).Error; err != nil {
			return err
		}
		var kept idArray
		gone := map[string]idArray{}
		sent := map[int64]int{} // devices per organisation
		for _, p := range plan {
			d := locked[p.device]
			reason := ""
			switch {
			case !open[p.request]:
				reason = DropRequestClosed
			case d.State != lifecycle.Available || d.Facts.InRecyclingBatch || slices.Contains(held, p.device):
				reason = DropDeviceTaken
			case need[p.line] <= 0:
				reason = DropLineFull
			}
			if reason != "" {
				name, err := deviceLabel(tx, p.device)
				if err != nil {
					return err
				}
				dropped = append(dropped, Dropped{ReservationID: p.id, DeviceID: p.device, Device: name, RequestID: p.request,
					Line: p.lineNo, Reason: reason})
				gone[reason] = append(gone[reason], p.id)
				continue
			}
			need[p.line]--
			detail, _ := json.Marshal(map[string]any{"reservation": p.id, "proposal": id, "request": p.request, "line": p.lineNo})
			if _, err := moveDevice(tx, d, lifecycle.Reserved, lifecycle.Allocation, actor, "", string(detail)); err != nil {
				return err
			}
			kept = append(kept, p.id)
			sent[p.org]++
		}
		if len(kept) == 0 {
			return berriz.E(berriz.Conflict, "matching.error.nothing_left").WithDetail("dropped", len(dropped))
		}
		for reason, ids := range gone {
			if err := tx.Exec(`UPDATE reservations SET dropped_reason = ? WHERE id = ANY (?::bigint[])`, reason, ids).Error; err != nil {
				return err
			}
		}
		if err := tx.Exec(`UPDATE reservations SET state = 'reserved', expires_at = ? WHERE id = ANY (?::bigint[])`,
			expires, kept).Error; err != nil {
			return fmt.Errorf("reserve: %w", err)
		}
		if err := tx.Exec(`UPDATE proposals SET state = 'sent', sent_at = ?, expires_at = ?, sent_by = ? WHERE id = ?`,
			now, expires, allocUser(actor), id).Error; err != nil {
			return err
		}
		orgs := make([]int64, 0, len(sent))
		for org := range sent {
			orgs = append(orgs, org)
		}
		slices.Sort(orgs)
		for _, org := range orgs {
			if err := notifyOrg(tx, org, Notice{Kind: "notify.proposal_sent", Link: "/reservations",
				Args: map[string]string{"count": strconv.Itoa(sent[org]), "expires": expires.Format(time.DateOnly)}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SendResult{}, fmt.Errorf("send proposal %d: %w", id, err)
	}
	p, err := db.Proposal(ctx, id)
	return SendResult{Proposal: p, Dropped: dropped}, err
}
