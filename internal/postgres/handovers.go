package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/lifecycle"
)

// Handovers (docs/handover.md): the workshop holding the devices of a
// request's accepted reservations hands them over with a receipt
// (handovers_prepare.go), the beneficiary confirms receipt, which delivers
// them (handovers_confirm.go), and a delivered device may come back
// (returns.go). This file reads them, as each party may see them: the
// workshop its handovers, the beneficiary those of its requests,
// operators all.
//
// Locks are taken in one order by every path: the handover, the request,
// the reservations by id, then the devices by id (the same order as the
// reservations' own paths: a reservation before its device).

// HandoverPageSize is the rows of a page of handovers, of a handover's
// devices and of the devices ready to hand over: each row is a
// checkbox, links and a certificate, and pages stay within the DOM
// budget (ECODESIGN.md: 20 to 25 rows).
const HandoverPageSize = 20

// HandoverPages returns how many pages of HandoverPageSize rows total
// rows fill.
func HandoverPages(total int) int { return Page{Total: total}.PagesOf(HandoverPageSize) }

func handoverOffset(page int) int { return offsetOf(page, HandoverPageSize) }

// HandoverScope confines handover queries: to a workshop's, to a
// beneficiary's requests, or (zero) to nothing, for operators.
type HandoverScope struct {
	WorkshopOrgID    int64
	BeneficiaryOrgID int64
}

const handoverScopeCond = `(? = 0 OR h.workshop_org_id = ?) AND (? = 0 OR r.beneficiary_org_id = ?)`

func (s HandoverScope) args() []any {
	return []any{s.WorkshopOrgID, s.WorkshopOrgID, s.BeneficiaryOrgID, s.BeneficiaryOrgID}
}

// Handover is a handover with its parties and its devices' count.
type Handover struct {
	ID               int64                    `json:"id"`
	Number           string                   `json:"number"`
	State            allocation.HandoverState `json:"state"`
	RequestID        int64                    `json:"request_id"`
	BeneficiaryOrgID int64                    `json:"beneficiary_organisation_id"`
	BeneficiaryName  string                   `json:"beneficiary_name"`
	WorkshopOrgID    int64                    `json:"workshop_organisation_id"`
	WorkshopName     string                   `json:"workshop_name"`
	// Devices linked to it (none once cancelled: they were freed).
	Devices       int        `json:"devices"`
	ReceiptSize   int64      `json:"receipt_size"`
	ReceiptSHA256 string     `json:"receipt_sha256"`
	ReceiptKey    string     `json:"-"`
	CreatedAt     time.Time  `json:"created_at"`
	CreatedBy     string     `json:"created_by,omitempty"` // the user's name, while the account exists
	ConfirmedAt   *time.Time `json:"confirmed_at,omitempty"`
	ConfirmedBy   string     `json:"confirmed_by,omitempty"`
	CancelledAt   *time.Time `json:"cancelled_at,omitempty"`
	// Answer to "Without this donation, what would you have done?", if
	// the beneficiary gave one.
	Answer allocation.Answer `json:"answer,omitempty"`
}

const handoverColumns = `h.id, h.number, h.state, h.request_id, r.beneficiary_org_id, b.name, h.workshop_org_id, w.name,
	(SELECT count(*) FROM reservations x WHERE x.handover_id = h.id), coalesce(h.receipt_size, 0),
	coalesce(h.receipt_sha256, ''), coalesce(h.receipt_key, ''), h.created_at, coalesce(cu.name, ''), h.confirmed_at,
	coalesce(fu.name, ''), h.cancelled_at, coalesce(h.answer, '')`

const handoverFrom = ` FROM handovers h JOIN requests r ON r.id = h.request_id
	JOIN organisations b ON b.id = r.beneficiary_org_id JOIN organisations w ON w.id = h.workshop_org_id
	LEFT JOIN users cu ON cu.id = h.created_by LEFT JOIN users fu ON fu.id = h.confirmed_by`

func scanHandover(row interface{ Scan(...any) error }) (Handover, error) {
	var h Handover
	err := row.Scan(&h.ID, &h.Number, &h.State, &h.RequestID, &h.BeneficiaryOrgID, &h.BeneficiaryName, &h.WorkshopOrgID,
		&h.WorkshopName, &h.Devices, &h.ReceiptSize, &h.ReceiptSHA256, &h.ReceiptKey, &h.CreatedAt, &h.CreatedBy,
		&h.ConfirmedAt, &h.ConfirmedBy, &h.CancelledAt, &h.Answer)
	return h, err
}

// Handovers returns one page of the handovers the scope sees: the
// prepared ones first (they wait for someone), then newest first.
func (db *DB) Handovers(ctx context.Context, scope HandoverScope, page int) ([]Handover, Page, error) {
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM handovers h JOIN requests r ON r.id = h.request_id WHERE `+handoverScopeCond,
		scope.args()...).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count handovers: %w", err)
	}
	rows, err := g.Raw(`SELECT `+handoverColumns+handoverFrom+` WHERE `+handoverScopeCond+`
		ORDER BY h.state = 'prepared' DESC, h.id DESC LIMIT ? OFFSET ?`,
		append(scope.args(), HandoverPageSize, handoverOffset(p.Number))...).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("handovers: %w", err)
	}
	defer rows.Close()
	var out []Handover
	for rows.Next() {
		h, err := scanHandover(rows)
		if err != nil {
			return nil, p, fmt.Errorf("handovers: %w", err)
		}
		out = append(out, h)
	}
	return out, p, rows.Err()
}

// Handover returns a handover the scope sees; any other is not found,
// exactly as a missing one.
func (db *DB) Handover(ctx context.Context, id int64, scope HandoverScope) (Handover, error) {
	h, err := scanHandover(db.gorm.WithContext(ctx).Raw(`SELECT `+handoverColumns+handoverFrom+` WHERE h.id = ? AND `+
		handoverScopeCond, append([]any{id}, scope.args()...)...).Row())
	if err != nil {
		return Handover{}, fmt.Errorf("handover %d: %w", id, notFound(err, "handover.error.not_found"))
	}
	return h, nil
}

// HandoverDevice is a device of a handover as its pages list it.
type HandoverDevice struct {
	ReservationID int64           `json:"reservation_id"`
	DeviceID      int64           `json:"device_id"`
	Tag           string          `json:"tag,omitempty"` // printed form
	Category      string          `json:"category"`
	Brand         string          `json:"brand"`
	Model         string          `json:"model"`
	Serial        string          `json:"serial"`
	Grade         string          `json:"grade,omitempty"`
	State         lifecycle.State `json:"state"`
	// Certificate is the number of the erasure certificate the receipt
	// names; CheckPath the public page that checks it.
	Certificate string `json:"certificate,omitempty"`
	CheckPath   string `json:"certificate_check_path,omitempty"`
	// ReturnRequested: the beneficiary asked for this delivered device to
	// be taken back, and it is not back yet.
	ReturnRequested bool `json:"return_requested"`
}

// HandoverDevices returns one page of the devices of a handover (already
// checked to be in scope), by id. Each comes with the erasure certificate
// its receipt names: the latest issued before the handover was prepared.
func (db *DB) HandoverDevices(ctx context.Context, handoverID int64, page int) ([]HandoverDevice, Page, error) {
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM reservations WHERE handover_id = ?`, handoverID).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count devices of handover %d: %w", handoverID, err)
	}
	rows, err := g.Raw(`SELECT x.id, v.id, coalesce(t.code, ''), v.category, v.brand, v.model, v.serial, coalesce(v.grade, ''),
			v.state, coalesce(c.number, ''), coalesce(c.verify_token, ''),
			v.state = 'delivered' AND EXISTS (SELECT 1 FROM return_requests q WHERE q.device_id = v.id AND q.cycle = v.cycle)
		FROM reservations x JOIN handovers h ON h.id = x.handover_id JOIN devices v ON v.id = x.device_id
		LEFT JOIN tags t ON t.device_id = v.id
		LEFT JOIN LATERAL (SELECT c.number, c.verify_token FROM erasure_certificates c
			WHERE c.device_id = v.id AND c.created_at <= h.created_at ORDER BY c.cycle DESC LIMIT 1) c ON true
		WHERE x.handover_id = ? ORDER BY v.id LIMIT ? OFFSET ?`, handoverID, HandoverPageSize, handoverOffset(p.Number)).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("devices of handover %d: %w", handoverID, err)
	}
	defer rows.Close()
	var out []HandoverDevice
	for rows.Next() {
		var d HandoverDevice
		var code, token string
		if err := rows.Scan(&d.ReservationID, &d.DeviceID, &code, &d.Category, &d.Brand, &d.Model, &d.Serial, &d.Grade, &d.State,
			&d.Certificate, &token, &d.ReturnRequested); err != nil {
			return nil, p, fmt.Errorf("devices of handover %d: %w", handoverID, err)
		}
		d.Tag = printedTag(code)
		if token != "" {
			d.CheckPath = "/c/" + token
		}
		out = append(out, d)
	}
	return out, p, rows.Err()
}
