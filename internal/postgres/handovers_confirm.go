package postgres

import (
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

// Confirming receipt: one transaction locks the handover (a second
// confirmation waits, then finds it confirmed: a conflict, never a second
// delivery), its request, its reservations and their devices in id order;
// every device becomes delivered through the lifecycle's Allocation path,
// every reservation delivered, the request's fulfilment is recomputed and
// the workshop told. The beneficiary's answer to the question of
// co2/METHOD.md, if any, is kept on the handover.

// ConfirmHandover confirms receipt of a prepared handover the scope sees.
func (db *DB) ConfirmHandover(ctx context.Context, id int64, scope HandoverScope, answer allocation.Answer,
	actor *account.Principal) (Handover, error) {
	if answer != "" && !answer.Valid() {
		return Handover{}, berriz.FieldErrors{allocation.FieldAnswer: "handover.error.answer"}.Err()
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var (
			state     allocation.HandoverState
			number    string
			requestID int64
			workshop  int64
		)
		if err := tx.Raw(`SELECT h.state, h.number, h.request_id, h.workshop_org_id FROM handovers h
			JOIN requests r ON r.id = h.request_id WHERE h.id = ? AND `+handoverScopeCond+` FOR UPDATE OF h`,
			append([]any{id}, scope.args()...)...).Row().Scan(&state, &number, &requestID, &workshop); err != nil {
			return notFound(err, "handover.error.not_found")
		}
		switch state {
		case allocation.HandoverConfirmed:
			return berriz.E(berriz.Conflict, "handover.error.already_confirmed").WithArg("handover", number).
				WithDetail("state", string(state))
		case allocation.HandoverCancelled:
			return berriz.E(berriz.Conflict, "handover.error.cancelled").WithArg("handover", number).
				WithDetail("state", string(state))
		}
		// The request before the devices: the allocation area's lock order
		// (UpdateFulfilment locks it again, a no-op then).
		if _, err := lockRequest(tx, requestID, RequestScope{}); err != nil {
			return err
		}
		type res struct {
			ID       int64
			State    allocation.ReservationState
			DeviceID int64
		}
		var rs []res
		if err := tx.Raw(`SELECT id, state, device_id FROM reservations WHERE handover_id = ? ORDER BY id FOR UPDATE`, id).
			Scan(&rs).Error; err != nil {
			return err
		}
		if len(rs) == 0 {
			return berriz.E(berriz.Conflict, "handover.error.empty").WithArg("handover", number)
		}
		devices := make([]int64, 0, len(rs))
		for _, r := range rs {
			if r.State != allocation.ReservationAccepted {
				label, err := deviceLabel(tx, r.DeviceID)
				if err != nil {
					return err
				}
				return berriz.E(berriz.Conflict, "handover.error.reservation_changed").WithArg("device", label).
					WithArg("handover", number).WithDetail("device_id", r.DeviceID)
			}
			devices = append(devices, r.DeviceID)
		}
		slices.Sort(devices)
		detail, err := json.Marshal(map[string]any{"handover": id, "number": number, "request": requestID})
		if err != nil {
			return err
		}
		for _, dev := range devices {
			d, err := lockDeviceFacts(tx, dev, DonationScope{})
			if err != nil {
				return err
			}
			if _, err := moveDevice(tx, d, lifecycle.Delivered, lifecycle.Allocation, actor, number, string(detail)); err != nil {
				if berriz.KindOf(err) != berriz.Conflict {
					return err
				}
				label, lerr := deviceLabel(tx, dev)
				if lerr != nil {
					return lerr
				}
				return berriz.E(berriz.Conflict, "handover.error.device_refused").WithArg("device", label).
					WithArg("handover", number).WithDetail("device_id", dev).WithCause(err)
			}
		}
		if err := tx.Exec(`UPDATE reservations SET state = 'delivered' WHERE handover_id = ?`, id).Error; err != nil {
			return err
		}
		var by any
		if actor != nil && actor.UserID != 0 {
			by = actor.UserID
		}
		if err := tx.Exec(`UPDATE handovers SET state = 'confirmed', confirmed_by = ?, confirmed_at = now(), answer = nullif(?, '')
			WHERE id = ?`, by, string(answer), id).Error; err != nil {
			return err
		}
		if err := recordHandoverEmissions(tx, id); err != nil { // emissions.go
			return err
		}
		if err := UpdateFulfilment(tx, requestID); err != nil {
			return err
		}
		return notifyOrg(tx, workshop, Notice{Kind: "notify.handover_confirmed", Link: handoverLink(id),
			Args: map[string]string{"handover": number, "count": strconv.Itoa(len(devices))}})
	})
	if err != nil {
		return Handover{}, fmt.Errorf("confirm handover %d: %w", id, err)
	}
	return db.Handover(ctx, id, HandoverScope{})
}
