package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"gorm.io/gorm"
)

// Returns (docs/handover.md): a delivered device that comes back becomes
// returned through the lifecycle's existing Direct step, taken by the
// workshop from the device's return page (s.transitionDevice): that step's
// event, in the device's hash-chained log, is the record of the return —
// who, when, and the reason as its note. The beneficiary, who cannot change
// a device's state, asks for a return here: the request is kept with the
// cycle the device was delivered in, so it is settled by the return itself
// (a new cycle starts) without a second write.

// EventReturnRequest is the device event of a beneficiary's return
// request.
const EventReturnRequest = "return_request"

// ReturnRequest is a beneficiary's request to take a delivered device
// back.
type ReturnRequest struct {
	ID          int64     `json:"id"`
	DeviceID    int64     `json:"device_id"`
	Tag         string    `json:"tag,omitempty"`
	Device      string    `json:"device"` // brand and model
	HandoverID  int64     `json:"handover_id"`
	Reason      string    `json:"reason"`
	RequestedBy string    `json:"requested_by,omitempty"` // the user's name, while the account exists
	RequestedAt time.Time `json:"requested_at"`
}

// NewReturnRequest names the device of a handover to take back (by id or
// by its tag's compact code) and why.
type NewReturnRequest struct {
	DeviceID int64
	Tag      string // compact code
	Reason   string
}

const returnRequestColumns = `q.id, q.device_id, coalesce((SELECT t.code FROM tags t WHERE t.device_id = q.device_id), ''),
	trim(v.brand || ' ' || v.model), q.handover_id, q.reason, coalesce(u.name, ''), q.requested_at`

func scanReturnRequest(row interface{ Scan(...any) error }) (ReturnRequest, error) {
	var q ReturnRequest
	var code string
	err := row.Scan(&q.ID, &q.DeviceID, &code, &q.Device, &q.HandoverID, &q.Reason, &q.RequestedBy, &q.RequestedAt)
	q.Tag = printedTag(code)
	return q, err
}

// RequestReturn records a beneficiary's request to take back a device
// delivered by a confirmed handover the scope sees, and tells the
// workshop. A device not delivered by this handover is a field error; one
// already asked for, or no longer delivered, a conflict.
func (db *DB) RequestReturn(ctx context.Context, handoverID int64, scope HandoverScope, in NewReturnRequest,
	actor *account.Principal) (ReturnRequest, error) {
	reason, err := allocation.CheckReason(in.Reason)
	if err != nil {
		return ReturnRequest{}, err
	}
	var out ReturnRequest
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		var (
			state    allocation.HandoverState
			number   string
			workshop int64
		)
		if err := tx.Raw(`SELECT h.state, h.number, h.workshop_org_id FROM handovers h JOIN requests r ON r.id = h.request_id
			WHERE h.id = ? AND `+handoverScopeCond+` FOR SHARE OF h`, append([]any{handoverID}, scope.args()...)...).Row().
			Scan(&state, &number, &workshop); err != nil {
			return notFound(err, "handover.error.not_found")
		}
		if state != allocation.HandoverConfirmed {
			return berriz.E(berriz.Conflict, "handover.error.not_confirmed").WithArg("handover", number)
		}
		var dev int64
		err := tx.Raw(`SELECT x.device_id FROM reservations x WHERE x.handover_id = ? AND x.state = 'delivered'
			AND (? = 0 OR x.device_id = ?) AND (? = '' OR EXISTS (SELECT 1 FROM tags t WHERE t.device_id = x.device_id AND t.code = ?))
			ORDER BY x.id LIMIT 1`, handoverID, in.DeviceID, in.DeviceID, in.Tag, in.Tag).Row().Scan(&dev)
		if isNoRows(err) || in.DeviceID == 0 && in.Tag == "" {
			field := allocation.FieldTag
			if in.DeviceID != 0 {
				field = "device_id"
			}
			return berriz.FieldErrors{field: "handover.error.device_not_in_handover"}.Err()
		}
		if err != nil {
			return err
		}
		d, err := lockDeviceFacts(tx, dev, DonationScope{})
		if err != nil {
			return err
		}
		label, err := deviceLabel(tx, dev)
		if err != nil {
			return err
		}
		if d.State != lifecycle.Delivered {
			return berriz.E(berriz.Conflict, "handover.error.not_delivered").WithArg("device", label).
				WithKeyArg("state", d.State.Key()).WithDetail("device_id", dev)
		}
		var by any
		if actor != nil && actor.UserID != 0 {
			by = actor.UserID
		}
		var id int64
		err = tx.Raw(`INSERT INTO return_requests (device_id, cycle, handover_id, reason, requested_by) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (device_id, cycle) DO NOTHING RETURNING id`, dev, d.Cycle, handoverID, reason, by).Row().Scan(&id)
		if isNoRows(err) {
			return berriz.E(berriz.Conflict, "handover.error.return_already_requested").WithArg("device", label).
				WithDetail("device_id", dev)
		}
		if err != nil {
			return err
		}
		place, err := devicePlace(tx, d.WorkshopOrgID, d.Location)
		if err != nil {
			return err
		}
		detail, err := json.Marshal(map[string]any{"handover": handoverID, "number": number, "return_request": id})
		if err != nil {
			return err
		}
		if err := appendDeviceEvent(tx, dev, actor, DeviceEvent{Kind: EventReturnRequest, From: string(d.State), To: string(d.State),
			Place: place, Note: reason, Detail: string(detail)}); err != nil {
			return err
		}
		if err := notifyOrg(tx, workshop, Notice{Kind: "notify.return_requested", Link: handoverLink(handoverID),
			Args: map[string]string{"handover": number, "device": label}}); err != nil {
			return err
		}
		out, err = scanReturnRequest(tx.Raw(`SELECT `+returnRequestColumns+` FROM return_requests q JOIN devices v ON v.id = q.device_id
			LEFT JOIN users u ON u.id = q.requested_by WHERE q.id = ?`, id).Row())
		return err
	})
	if err != nil {
		return ReturnRequest{}, fmt.Errorf("return request in handover %d: %w", handoverID, err)
	}
	return out, nil
}

// OpenReturnRequests returns the return requests of a handover (already
// checked to be in scope) whose device is not back yet, oldest first: at
// most limit, and how many there are.
func (db *DB) OpenReturnRequests(ctx context.Context, handoverID int64, limit int) ([]ReturnRequest, int, error) {
	const open = ` FROM return_requests q JOIN devices v ON v.id = q.device_id LEFT JOIN users u ON u.id = q.requested_by
		WHERE q.handover_id = ? AND v.cycle = q.cycle AND v.state = 'delivered'`
	g := db.gorm.WithContext(ctx)
	var total int
	if err := g.Raw(`SELECT count(*)`+open, handoverID).Row().Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("return requests of handover %d: %w", handoverID, err)
	}
	rows, err := g.Raw(`SELECT `+returnRequestColumns+open+` ORDER BY q.id LIMIT ?`, handoverID, limit).Rows()
	if err != nil {
		return nil, 0, fmt.Errorf("return requests of handover %d: %w", handoverID, err)
	}
	defer rows.Close()
	var out []ReturnRequest
	for rows.Next() {
		q, err := scanReturnRequest(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("return requests of handover %d: %w", handoverID, err)
		}
		out = append(out, q)
	}
	return out, total, rows.Err()
}

// DeviceDelivery is how a device (already checked to be in scope) left:
// the confirmed handover of its latest delivery, and the beneficiary's
// open return request, if any.
type DeviceDelivery struct {
	HandoverID      int64          `json:"handover_id"`
	HandoverNumber  string         `json:"handover_number"`
	BeneficiaryName string         `json:"beneficiary_name"`
	ConfirmedAt     time.Time      `json:"confirmed_at"`
	Request         *ReturnRequest `json:"return_request,omitempty"`
}

// DeviceDeliveryOf returns how a device left; a device never delivered has
// none (not found).
func (db *DB) DeviceDeliveryOf(ctx context.Context, deviceID int64) (DeviceDelivery, error) {
	g := db.gorm.WithContext(ctx)
	var out DeviceDelivery
	err := g.Raw(`SELECT h.id, h.number, b.name, h.confirmed_at FROM reservations x JOIN handovers h ON h.id = x.handover_id
		JOIN requests r ON r.id = h.request_id JOIN organisations b ON b.id = r.beneficiary_org_id
		WHERE x.device_id = ? AND x.state = 'delivered' AND h.state = 'confirmed' ORDER BY h.confirmed_at DESC, h.id DESC LIMIT 1`,
		deviceID).Row().Scan(&out.HandoverID, &out.HandoverNumber, &out.BeneficiaryName, &out.ConfirmedAt)
	if err != nil {
		return DeviceDelivery{}, fmt.Errorf("delivery of device %d: %w", deviceID, notFound(err, "handover.error.never_delivered"))
	}
	q, err := scanReturnRequest(g.Raw(`SELECT `+returnRequestColumns+` FROM return_requests q JOIN devices v ON v.id = q.device_id
		LEFT JOIN users u ON u.id = q.requested_by WHERE q.device_id = ? AND q.cycle = v.cycle AND v.state = 'delivered'`,
		deviceID).Row())
	switch {
	case err == nil:
		out.Request = &q
	case !isNoRows(err):
		return DeviceDelivery{}, fmt.Errorf("return request of device %d: %w", deviceID, err)
	}
	return out, nil
}
