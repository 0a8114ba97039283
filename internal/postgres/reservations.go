package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"gorm.io/gorm"
)

// Reservations: a device promised to a request line. A sent proposal's
// reservations are 'reserved' until the beneficiary accepts (the device
// stays reserved, waiting for the handover) or declines (the device is
// available again), or until they expire: the expiry job releases them.
// An operator may release any live reservation that no prepared handover
// holds. Each change of a device's state goes through moveDevice on the
// Allocation path, with the reservation in the event's detail; an answer
// that changes no state is appended to the device's chain too.

// EventReservation is the event kind of a reservation's answer that
// leaves the device's state as it is (accepted).
const EventReservation = "reservation"

// Reservation is a device promised to a request line, with the device.
type Reservation struct {
	ID            int64                       `json:"id"`
	State         allocation.ReservationState `json:"state"`
	RequestID     int64                       `json:"request_id"`
	RequestLineID int64                       `json:"request_line_id"`
	Line          int                         `json:"line"`
	OrgID         int64                       `json:"organisation_id"`
	OrgName       string                      `json:"organisation_name"`
	ProposalID    int64                       `json:"proposal_id,omitempty"` // 0: reserved from the catalogue
	ExpiresAt     *time.Time                  `json:"expires_at,omitempty"`  // while reserved
	CreatedAt     time.Time                   `json:"created_at"`
	AnsweredAt    *time.Time                  `json:"answered_at,omitempty"`
	HandoverID    int64                       `json:"handover_id,omitempty"`
	// DroppedReason says why a proposal's send left it out (still
	// 'proposed'): device_taken, request_closed or line_full.
	DroppedReason string          `json:"dropped_reason,omitempty"`
	Device        CatalogueDevice `json:"device"`
}

// reservationColumns are the device's columns, then the reservation's
// (scanCatalogueDevice reads its own first).
const reservationColumns = catalogueColumns + `, r.id, r.state, l.request_id, r.request_line_id, l.line,
	q.beneficiary_org_id, o.name, coalesce(r.proposal_id, 0), r.expires_at, r.created_at, r.answered_at,
	coalesce(r.handover_id, 0), coalesce(r.dropped_reason, '')`

const reservationFrom = ` FROM reservations r JOIN request_lines l ON l.id = r.request_line_id
	JOIN requests q ON q.id = l.request_id JOIN organisations o ON o.id = q.beneficiary_org_id
	JOIN devices v ON v.id = r.device_id JOIN donations d ON d.id = v.donation_id
	LEFT JOIN organisations w ON w.id = d.workshop_org_id LEFT JOIN tags t ON t.device_id = v.id`

func scanReservation(row interface{ Scan(...any) error }) (Reservation, error) {
	var r Reservation
	var state string
	d, err := scanCatalogueDevice(row, &r.ID, &state, &r.RequestID, &r.RequestLineID, &r.Line, &r.OrgID, &r.OrgName,
		&r.ProposalID, &r.ExpiresAt, &r.CreatedAt, &r.AnsweredAt, &r.HandoverID, &r.DroppedReason)
	r.State, r.Device = allocation.ReservationState(state), d
	return r, err
}

// Reservation returns a reservation of the organisation's requests (0:
// any); another organisation's is not found, exactly as a missing one.
func (db *DB) Reservation(ctx context.Context, id, org int64) (Reservation, error) {
	r, err := scanReservation(db.gorm.WithContext(ctx).Raw(`SELECT `+reservationColumns+reservationFrom+
		` WHERE r.id = ? AND (? = 0 OR q.beneficiary_org_id = ?)`, id, org, org).Row())
	if err != nil {
		return Reservation{}, fmt.Errorf("reservation %d: %w", id, notFound(err, "matching.error.reservation_not_found"))
	}
	return r, nil
}

// LiveReservations returns one page of the live reservations (reserved or
// accepted) of an organisation's requests (0: every organisation's): those
// waiting for an answer first, the soonest to expire first.
func (db *DB) LiveReservations(ctx context.Context, org int64, page int) ([]Reservation, Page, error) {
	p := Page{Number: max(page, 1)}
	const cond = ` WHERE r.state IN ('reserved', 'accepted') AND (? = 0 OR q.beneficiary_org_id = ?)`
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM reservations r JOIN request_lines l ON l.id = r.request_line_id
		JOIN requests q ON q.id = l.request_id`+cond, org, org).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count reservations: %w", err)
	}
	out, err := db.reservations(ctx, cond+` ORDER BY r.state = 'reserved' DESC, r.expires_at, r.id LIMIT ? OFFSET ?`,
		org, org, PageSize, offset(p.Number))
	return out, p, err
}

func (db *DB) reservations(ctx context.Context, where string, args ...any) ([]Reservation, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT `+reservationColumns+reservationFrom+where, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("reservations: %w", err)
	}
	defer rows.Close()
	var out []Reservation
	for rows.Next() {
		r, err := scanReservation(rows)
		if err != nil {
			return nil, fmt.Errorf("reservations: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// lockedReservation is a reservation read under its row lock.
type lockedReservation struct {
	ID, DeviceID, RequestID, OrgID int64
	State                          allocation.ReservationState
	ExpiresAt                      *time.Time
	InHandover                     bool // a prepared handover holds it
}

// lockReservation reads the reservation the condition (with its lock
// clause: FOR UPDATE OF r, and SKIP LOCKED for the expiry job's claims)
// selects.
func lockReservation(tx *gorm.DB, where string, args ...any) (lockedReservation, error) {
	var r lockedReservation
	var state string
	err := tx.Raw(`SELECT r.id, r.device_id, l.request_id, q.beneficiary_org_id, r.state, r.expires_at,
			EXISTS (SELECT 1 FROM handovers h WHERE h.id = r.handover_id AND h.state = 'prepared')
		FROM reservations r JOIN request_lines l ON l.id = r.request_line_id JOIN requests q ON q.id = l.request_id
		WHERE `+where, args...).Row().Scan(&r.ID, &r.DeviceID, &r.RequestID, &r.OrgID, &state, &r.ExpiresAt, &r.InHandover)
	r.State = allocation.ReservationState(state)
	return r, err
}

// notReserved is the conflict of an answer to a reservation in another
// state.
func notReserved(state allocation.ReservationState) error {
	return berriz.E(berriz.Conflict, "matching.error.not_reserved").WithKeyArg("state", ReservationStateKey(state)).
		WithDetail("state", string(state))
}

// reservationStateKeys name the reservation states.
var reservationStateKeys = map[allocation.ReservationState]string{
	allocation.ReservationProposed: "matching.reservation.proposed", allocation.ReservationReserved: "matching.reservation.reserved",
	allocation.ReservationAccepted: "matching.reservation.accepted", allocation.ReservationDeclined: "matching.reservation.declined",
	allocation.ReservationExpired: "matching.reservation.expired", allocation.ReservationReleased: "matching.reservation.released",
	allocation.ReservationDelivered: "matching.reservation.delivered",
}

// ReservationStateKey is the translation key of a reservation state's
// name, for messages and screens.
func ReservationStateKey(s allocation.ReservationState) string { return reservationStateKeys[s] }

// endReservation moves a live reservation's device back to available and
// records why (declined, expired, released), in the caller's transaction,
// the reservation already locked.
func endReservation(tx *gorm.DB, r lockedReservation, to allocation.ReservationState, actor *account.Principal) error {
	d, err := lockDeviceFacts(tx, r.DeviceID, DonationScope{})
	if err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]any{"reservation": r.ID, "request": r.RequestID, "answer": string(to)})
	if _, err := moveDevice(tx, d, lifecycle.Available, lifecycle.Allocation, actor, "", string(detail)); err != nil {
		return err
	}
	q := `UPDATE reservations SET state = ?, expires_at = NULL WHERE id = ?`
	if to == allocation.ReservationDeclined {
		q = `UPDATE reservations SET state = ?, answered_by = ?, answered_at = now() WHERE id = ?`
		return tx.Exec(q, string(to), allocUser(actor), r.ID).Error
	}
	return tx.Exec(q, string(to), r.ID).Error
}

// AnswerReservation records the beneficiary's answer to a reserved device
// of the organisation's requests (0: any, for an operator answering for
// it): accepted, the device stays reserved until its handover; declined,
// it is available again. Only a reservation still waiting for an answer,
// and not past its expiry, may be answered.
func (db *DB) AnswerReservation(ctx context.Context, id, org int64, accept bool, now time.Time,
	actor *account.Principal) (Reservation, error) {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := lockReservation(tx, `r.id = ? AND (? = 0 OR q.beneficiary_org_id = ?) FOR UPDATE OF r`, id, org, org)
		if err != nil {
			return notFound(err, "matching.error.reservation_not_found")
		}
		switch {
		case r.State != allocation.ReservationReserved:
			return notReserved(r.State)
		case r.ExpiresAt != nil && !now.Before(*r.ExpiresAt):
			return berriz.E(berriz.Conflict, "matching.error.expired").WithDetail("state", string(allocation.ReservationExpired))
		case !accept:
			return endReservation(tx, r, allocation.ReservationDeclined, actor)
		}
		if err := tx.Exec(`UPDATE reservations SET state = 'accepted', expires_at = NULL, answered_by = ?, answered_at = now()
			WHERE id = ?`, allocUser(actor), r.ID).Error; err != nil {
			return err
		}
		d, err := lockDeviceFacts(tx, r.DeviceID, DonationScope{})
		if err != nil {
			return err
		}
		place, err := devicePlace(tx, d.WorkshopOrgID, d.Location)
		if err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"reservation": r.ID, "request": r.RequestID, "answer": "accepted"})
		return appendDeviceEvent(tx, d.ID, actor, DeviceEvent{Kind: EventReservation, From: string(d.State), To: string(d.State),
			Place: place, Detail: string(detail)})
	})
	if err != nil {
		return Reservation{}, fmt.Errorf("answer reservation %d: %w", id, err)
	}
	return db.Reservation(ctx, id, 0)
}

// ReleaseReservation takes a live reservation back (an operator's call):
// the device is available again and the beneficiary is told. A
// reservation a prepared handover holds is refused: cancel the handover
// first.
func (db *DB) ReleaseReservation(ctx context.Context, id int64, actor *account.Principal) (Reservation, error) {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		r, err := lockReservation(tx, `r.id = ? FOR UPDATE OF r`, id)
		if err != nil {
			return notFound(err, "matching.error.reservation_not_found")
		}
		switch {
		case !r.State.Live():
			return berriz.E(berriz.Conflict, "matching.error.not_live").WithKeyArg("state", ReservationStateKey(r.State)).
				WithDetail("state", string(r.State))
		case r.InHandover:
			return berriz.E(berriz.Conflict, "matching.error.in_handover")
		}
		if err := endReservation(tx, r, allocation.ReservationReleased, actor); err != nil {
			return err
		}
		name, err := deviceLabel(tx, r.DeviceID)
		if err != nil {
			return err
		}
		return notifyOrg(tx, r.OrgID, Notice{Kind: "notify.reservation_released", Link: "/reservations",
			Args: map[string]string{"device": name, "request": strconv.FormatInt(r.RequestID, 10)}})
	})
	if err != nil {
		return Reservation{}, fmt.Errorf("release reservation %d: %w", id, err)
	}
	return db.Reservation(ctx, id, 0)
}
