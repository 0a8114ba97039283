package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"gorm.io/gorm"
)

// Preparing and cancelling a handover. Preparing checks, under the locks
// of the request (shared: it cannot be cancelled meanwhile), of the chosen
// reservations and of their devices, that every reservation is accepted
// and in no other handover, and every device reserved, held by one
// workshop (the caller's), erased as its certificate of the current cycle
// says; then it numbers the handover, has the receipt rendered and stored
// (render, like the erasure certificate's), links the reservations and
// tells the beneficiary. Two preparations of the same reservations queue
// on their row locks: the second finds them taken.

// EventHandover is the device event of a handover prepared or cancelled
// (its delivery is a change of state).
const EventHandover = "handover"

// NewHandover is what a handover is prepared from.
type NewHandover struct {
	RequestID      int64   `json:"request_id"`
	ReservationIDs []int64 `json:"reservation_ids"`
}

// PrepareHandover prepares a handover of reservations of one request,
// whose devices the workshop holds (0: operators, for whichever single
// workshop holds them all); lang is the receipt's language. render writes
// and stores the receipt (the caller deletes the blob when this fails
// after render stored it).
func (db *DB) PrepareHandover(ctx context.Context, in NewHandover, workshop int64, lang string, actor *account.Principal,
	render func(allocation.Receipt) (CertificateBlob, error)) (Handover, error) {
	ids, err := allocation.CheckReservations(in.ReservationIDs)
	if err != nil {
		return Handover{}, err
	}
	var id int64
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		var (
			state       allocation.RequestState
			beneficiary int64
		)
		if err := tx.Raw(`SELECT r.state, r.beneficiary_org_id FROM requests r WHERE r.id = ? AND (? = 0 OR EXISTS (
				SELECT 1 FROM reservations x JOIN request_lines l ON l.id = x.request_line_id JOIN devices v ON v.id = x.device_id
				JOIN donations d ON d.id = v.donation_id WHERE l.request_id = r.id AND d.workshop_org_id = ?)) FOR SHARE OF r`,
			in.RequestID, workshop, workshop).Row().Scan(&state, &beneficiary); err != nil {
			return notFound(err, "handover.error.request_not_found")
		}
		if !state.Open() {
			return berriz.E(berriz.Conflict, "handover.error.request_closed").WithKeyArg("state", state.Key())
		}
		devices, err := lockReservations(tx, in.RequestID, ids)
		if err != nil {
			return err
		}
		shop, err := lockHandoverDevices(tx, devices, workshop)
		if err != nil {
			return err
		}
		receipt, err := receiptContent(tx, in.RequestID, shop, devices, lang)
		if err != nil {
			return err
		}
		blob, err := render(receipt)
		if err != nil {
			return fmt.Errorf("render receipt %s: %w", receipt.Number, err)
		}
		var by any
		if actor != nil && actor.UserID != 0 {
			by = actor.UserID
		}
		if err := tx.Raw(`INSERT INTO handovers (request_id, workshop_org_id, number, receipt_key, receipt_size, receipt_sha256,
				created_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, in.RequestID, shop, receipt.Number, blob.Key, blob.Size,
			blob.SHA256, by).Row().Scan(&id); err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE reservations SET handover_id = ? WHERE id IN ?`, id, ids).Error; err != nil {
			return err
		}
		if err := handoverEvents(tx, devices, id, receipt.Number, "prepared", actor); err != nil {
			return err
		}
		return notifyOrg(tx, beneficiary, Notice{Kind: "notify.handover_prepared", Link: handoverLink(id),
			Args: map[string]string{"handover": receipt.Number, "workshop": receipt.Workshop.Name,
				"count": strconv.Itoa(len(devices)), "request": strconv.FormatInt(in.RequestID, 10)}})
	})
	if err != nil {
		return Handover{}, fmt.Errorf("prepare handover of request %d: %w", in.RequestID, err)
	}
	return db.Handover(ctx, id, HandoverScope{})
}

func handoverLink(id int64) string { return "/handovers/" + strconv.FormatInt(id, 10) }

// lockReservations locks the chosen reservations (ids ascending) and
// returns their devices, ascending: each must be of the request, accepted
// and in no handover.
func lockReservations(tx *gorm.DB, requestID int64, ids []int64) ([]int64, error) {
	rows, err := tx.Raw(`SELECT x.id, x.state, coalesce(x.handover_id, 0), x.device_id, l.request_id
		FROM reservations x JOIN request_lines l ON l.id = x.request_line_id
		WHERE x.id IN ? ORDER BY x.id FOR UPDATE OF x`, ids).Rows()
	if err != nil {
		return nil, fmt.Errorf("lock reservations: %w", err)
	}
	type res struct {
		id, handover, device, request int64
		state                         allocation.ReservationState
	}
	var got []res
	for rows.Next() {
		var r res
		if err := rows.Scan(&r.id, &r.state, &r.handover, &r.device, &r.request); err != nil {
			rows.Close()
			return nil, err
		}
		got = append(got, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(got) != len(ids) {
		return nil, berriz.FieldErrors{allocation.FieldReservations: "handover.error.reservation_unknown"}.Err()
	}
	devices := make([]int64, 0, len(got))
	for _, r := range got {
		if r.request != requestID {
			return nil, berriz.FieldErrors{allocation.FieldReservations: "handover.error.reservation_unknown"}.Err()
		}
		if r.handover != 0 {
			label, err := deviceLabel(tx, r.device)
			if err != nil {
				return nil, err
			}
			return nil, berriz.E(berriz.Conflict, "handover.error.already_in_handover").WithArg("device", label).
				WithDetail("reservation_id", r.id).WithDetail("handover_id", r.handover)
		}
		if r.state != allocation.ReservationAccepted {
			label, err := deviceLabel(tx, r.device)
			if err != nil {
				return nil, err
			}
			return nil, berriz.E(berriz.Conflict, "handover.error.not_accepted").WithArg("device", label).
				WithDetail("reservation_id", r.id)
		}
		devices = append(devices, r.device)
	}
	slices.Sort(devices)
	return devices, nil
}

// lockHandoverDevices locks the devices (ids ascending) in the workshop's
// scope (0: any) and checks each is reserved, held by the same workshop
// and erased, with its cycle's certificate issued; it returns the
// workshop.
func lockHandoverDevices(tx *gorm.DB, ids []int64, workshop int64) (int64, error) {
	var shop int64
	for _, id := range ids {
		d, err := lockDeviceFacts(tx, id, DonationScope{WorkshopOrgID: workshop})
		if berriz.KindOf(err) == berriz.NotFound {
			// Reserved for the request but held by another workshop:
			// not the caller's to hand over.
			return 0, berriz.FieldErrors{allocation.FieldReservations: "handover.error.reservation_unknown"}.Err()
		}
		if err != nil {
			return 0, err
		}
		refuse := func(key string) (int64, error) {
			label, err := deviceLabel(tx, id)
			if err != nil {
				return 0, err
			}
			return 0, berriz.E(berriz.Conflict, key).WithArg("device", label).WithKeyArg("state", d.State.Key()).
				WithDetail("device_id", id)
		}
		switch {
		case d.WorkshopOrgID == 0 || shop != 0 && d.WorkshopOrgID != shop:
			return 0, berriz.FieldErrors{allocation.FieldReservations: "handover.error.one_workshop"}.Err()
		case d.State != lifecycle.Reserved:
			return refuse("handover.error.device_state")
		case !CertificateDue(d.State, d.Facts):
			return refuse("handover.error.not_erased")
		}
		shop = d.WorkshopOrgID
		var certified bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM erasure_certificates WHERE device_id = ? AND cycle = ?)`, id, d.Cycle).
			Row().Scan(&certified); err != nil {
			return 0, err
		}
		if !certified {
			return refuse("handover.error.certificate_missing")
		}
	}
	return shop, nil
}

// receiptContent gathers what the receipt says, numbering the handover.
func receiptContent(tx *gorm.DB, requestID, workshop int64, devices []int64, lang string) (allocation.Receipt, error) {
	r := allocation.Receipt{Lang: lang, RequestID: requestID}
	var (
		year int
		seq  int64
	)
	err := tx.Raw(`SELECT r.purpose, r.delivery_commune, b.name, b.commune, w.name, w.commune, date_trunc('second', now()),
			extract(year FROM now() AT TIME ZONE 'Europe/Paris')::int, nextval('handover_numbers')
		FROM requests r JOIN organisations b ON b.id = r.beneficiary_org_id, organisations w
		WHERE r.id = ? AND w.id = ?`, requestID, workshop).Row().Scan(&r.Purpose, &r.DeliveryCommune, &r.Beneficiary.Name,
		&r.Beneficiary.Commune, &r.Workshop.Name, &r.Workshop.Commune, &r.IssuedAt, &year, &seq)
	if err != nil {
		return r, fmt.Errorf("receipt of request %d: %w", requestID, err)
	}
	r.Number = allocation.HandoverNumber(year, seq)
	if err := tx.Raw(`SELECT DISTINCT o.name, o.commune FROM devices v JOIN donations d ON d.id = v.donation_id
		JOIN organisations o ON o.id = d.donor_org_id WHERE v.id IN ? ORDER BY o.name, o.commune`, devices).
		Scan(&r.Donors).Error; err != nil {
		return r, fmt.Errorf("donors of the receipt: %w", err)
	}
	rows, err := tx.Raw(`SELECT v.id, coalesce((SELECT t.code FROM tags t WHERE t.device_id = v.id), ''), v.category, v.brand,
			v.model, v.serial, coalesce(v.grade, ''), c.number, c.verify_token,
			coalesce((SELECT string_agg(coalesce(nullif(dd.serial, ''), '—'), E'\n' ORDER BY dd.position)
				FROM device_drives dd WHERE dd.device_id = v.id), '')
		FROM devices v JOIN erasure_certificates c ON c.device_id = v.id AND c.cycle = v.cycle
		WHERE v.id IN ? ORDER BY v.id`, devices).Rows()
	if err != nil {
		return r, fmt.Errorf("devices of the receipt: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			d      allocation.ReceiptDevice
			code   string
			drives string
		)
		if err := rows.Scan(&d.ID, &code, &d.Category, &d.Brand, &d.Model, &d.Serial, &d.Grade, &d.Certificate, &d.CheckToken,
			&drives); err != nil {
			return r, fmt.Errorf("devices of the receipt: %w", err)
		}
		d.Tag = printedTag(code)
		if drives != "" { // a drive recorded without its serial shows "—"
			d.Drives = strings.Split(drives, "\n")
		}
		r.Devices = append(r.Devices, d)
	}
	return r, rows.Err()
}

// handoverEvents appends a handover event to each device's chain (the
// devices are locked).
func handoverEvents(tx *gorm.DB, devices []int64, id int64, number, action string, actor *account.Principal) error {
	detail, err := json.Marshal(map[string]any{"handover": id, "number": number, "action": action})
	if err != nil {
		return err
	}
	for _, dev := range devices {
		var (
			state    string
			workshop int64
			location string
		)
		if err := tx.Raw(`SELECT v.state, coalesce(d.workshop_org_id, 0), v.location FROM devices v
			JOIN donations d ON d.id = v.donation_id WHERE v.id = ?`, dev).Row().Scan(&state, &workshop, &location); err != nil {
			return err
		}
		place, err := devicePlace(tx, workshop, location)
		if err != nil {
			return err
		}
		if err := appendDeviceEvent(tx, dev, actor, DeviceEvent{Kind: EventHandover, From: state, To: state, Place: place,
			Note: number, Detail: string(detail)}); err != nil {
			return err
		}
	}
	return nil
}

// CancelHandover cancels a prepared handover of the workshop (0: any):
// its reservations are freed for another handover, its receipt kept as it
// was, the beneficiary told.
func (db *DB) CancelHandover(ctx context.Context, id, workshop int64, actor *account.Principal) (Handover, error) {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var (
			state       allocation.HandoverState
			number      string
			beneficiary int64
		)
		if err := tx.Raw(`SELECT h.state, h.number, r.beneficiary_org_id FROM handovers h JOIN requests r ON r.id = h.request_id
			WHERE h.id = ? AND (? = 0 OR h.workshop_org_id = ?) FOR UPDATE OF h`, id, workshop, workshop).Row().
			Scan(&state, &number, &beneficiary); err != nil {
			return notFound(err, "handover.error.not_found")
		}
		if state != allocation.HandoverPrepared {
			return berriz.E(berriz.Conflict, "handover.error.not_prepared").WithKeyArg("state", state.Key()).
				WithDetail("state", string(state))
		}
		var devices []int64
		if err := tx.Raw(`SELECT device_id FROM reservations WHERE handover_id = ? ORDER BY id FOR UPDATE`, id).
			Scan(&devices).Error; err != nil {
			return err
		}
		slices.Sort(devices)
		for _, dev := range devices {
			if err := tx.Exec(`SELECT 1 FROM devices WHERE id = ? FOR UPDATE`, dev).Error; err != nil {
				return err
			}
		}
		if err := tx.Exec(`UPDATE reservations SET handover_id = NULL WHERE handover_id = ?`, id).Error; err != nil {
			return err
		}
		var by any
		if actor != nil && actor.UserID != 0 {
			by = actor.UserID
		}
		if err := tx.Exec(`UPDATE handovers SET state = 'cancelled', cancelled_by = ?, cancelled_at = now() WHERE id = ?`,
			by, id).Error; err != nil {
			return err
		}
		if err := handoverEvents(tx, devices, id, number, "cancelled", actor); err != nil {
			return err
		}
		return notifyOrg(tx, beneficiary, Notice{Kind: "notify.handover_cancelled", Link: handoverLink(id),
			Args: map[string]string{"handover": number}})
	})
	if err != nil {
		return Handover{}, fmt.Errorf("cancel handover %d: %w", id, err)
	}
	return db.Handover(ctx, id, HandoverScope{})
}
