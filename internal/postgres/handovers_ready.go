package postgres

import (
	"context"
	"fmt"

	"github.com/berriz/berriz/internal/allocation"
)

// What a workshop may hand over: the accepted reservations of a request
// whose devices it holds and that are in no handover yet. A workshop sees
// a request only through its devices: one with no reservation on a device
// of its donations is not found, exactly as a missing one.

// readyCond selects the reservations ready to hand over (x: reservations,
// d: the device's donation).
const readyCond = `x.state = 'accepted' AND x.handover_id IS NULL`

// HandoverRequest is what the preparation of a handover shows of its
// request: the beneficiary organisation, where the devices go and what
// for.
type HandoverRequest struct {
	ID                 int64                   `json:"id"`
	State              allocation.RequestState `json:"state"`
	Purpose            string                  `json:"purpose"`
	DeliveryCommune    string                  `json:"delivery_commune"`
	BeneficiaryOrgID   int64                   `json:"beneficiary_organisation_id"`
	BeneficiaryName    string                  `json:"beneficiary_name"`
	BeneficiaryCommune string                  `json:"beneficiary_commune"`
}

// HandoverRequestOf returns a request as a workshop (0: operators) may see
// it to prepare a handover: the workshop must hold a device reserved or
// delivered for it.
func (db *DB) HandoverRequestOf(ctx context.Context, requestID, workshop int64) (HandoverRequest, error) {
	var r HandoverRequest
	err := db.gorm.WithContext(ctx).Raw(`SELECT r.id, r.state, r.purpose, r.delivery_commune, b.id, b.name, b.commune
		FROM requests r JOIN organisations b ON b.id = r.beneficiary_org_id
		WHERE r.id = ? AND (? = 0 OR EXISTS (SELECT 1 FROM reservations x JOIN request_lines l ON l.id = x.request_line_id
			JOIN devices v ON v.id = x.device_id JOIN donations d ON d.id = v.donation_id
			WHERE l.request_id = r.id AND d.workshop_org_id = ?))`, requestID, workshop, workshop).Row().
		Scan(&r.ID, &r.State, &r.Purpose, &r.DeliveryCommune, &r.BeneficiaryOrgID, &r.BeneficiaryName, &r.BeneficiaryCommune)
	if err != nil {
		return HandoverRequest{}, fmt.Errorf("request %d: %w", requestID, notFound(err, "handover.error.request_not_found"))
	}
	return r, nil
}

// HandoverCandidate is an accepted reservation ready to hand over.
type HandoverCandidate struct {
	ReservationID int64  `json:"reservation_id"`
	DeviceID      int64  `json:"device_id"`
	Line          int    `json:"line"` // the request line it answers
	Tag           string `json:"tag,omitempty"`
	Category      string `json:"category"`
	Brand         string `json:"brand"`
	Model         string `json:"model"`
	Serial        string `json:"serial"`
	Grade         string `json:"grade,omitempty"`
	// WorkshopOrgID holds the device: one handover, one workshop.
	WorkshopOrgID int64 `json:"workshop_organisation_id"`
}

// HandoverCandidates returns one page (page 0: all of them, at most
// allocation.MaxHandoverDevices) of the reservations of a request that
// the workshop (0: any, for operators) may hand over, by request line
// then device, with their total.
func (db *DB) HandoverCandidates(ctx context.Context, requestID, workshop int64, page int) ([]HandoverCandidate, Page, error) {
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	from := ` FROM reservations x JOIN request_lines l ON l.id = x.request_line_id JOIN devices v ON v.id = x.device_id
		JOIN donations d ON d.id = v.donation_id WHERE l.request_id = ? AND (? = 0 OR d.workshop_org_id = ?) AND ` + readyCond
	if err := g.Raw(`SELECT count(*)`+from, requestID, workshop, workshop).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count devices ready for request %d: %w", requestID, err)
	}
	limit, off := HandoverPageSize, handoverOffset(page)
	if page == 0 {
		limit, off = allocation.MaxHandoverDevices, 0
	}
	rows, err := g.Raw(`SELECT x.id, v.id, l.line, coalesce((SELECT t.code FROM tags t WHERE t.device_id = v.id), ''), v.category,
			v.brand, v.model, v.serial, coalesce(v.grade, ''), coalesce(d.workshop_org_id, 0)`+from+`
		ORDER BY l.line, v.id LIMIT ? OFFSET ?`, requestID, workshop, workshop, limit, off).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("devices ready for request %d: %w", requestID, err)
	}
	defer rows.Close()
	var out []HandoverCandidate
	for rows.Next() {
		var c HandoverCandidate
		var code string
		if err := rows.Scan(&c.ReservationID, &c.DeviceID, &c.Line, &code, &c.Category, &c.Brand, &c.Model, &c.Serial,
			&c.Grade, &c.WorkshopOrgID); err != nil {
			return nil, p, fmt.Errorf("devices ready for request %d: %w", requestID, err)
		}
		c.Tag = printedTag(code)
		out = append(out, c)
	}
	return out, p, rows.Err()
}

// ReadyGroup is what one workshop may hand over for one request.
type ReadyGroup struct {
	RequestID       int64  `json:"request_id"`
	BeneficiaryName string `json:"beneficiary_name"`
	WorkshopOrgID   int64  `json:"workshop_organisation_id"`
	WorkshopName    string `json:"workshop_name"`
	Devices         int    `json:"devices"`
}

// HandoversReady returns what a workshop (0: every workshop, for
// operators) may hand over, request by request, for the request given (0:
// every request), oldest request first: at most limit groups, and how
// many there are.
func (db *DB) HandoversReady(ctx context.Context, workshop, requestID int64, limit int) ([]ReadyGroup, int, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT l.request_id, b.name, d.workshop_org_id, w.name, count(*),
			count(*) OVER ()
		FROM reservations x JOIN request_lines l ON l.id = x.request_line_id JOIN requests r ON r.id = l.request_id
		JOIN organisations b ON b.id = r.beneficiary_org_id JOIN devices v ON v.id = x.device_id
		JOIN donations d ON d.id = v.donation_id JOIN organisations w ON w.id = d.workshop_org_id
		WHERE `+readyCond+` AND (? = 0 OR d.workshop_org_id = ?) AND (? = 0 OR l.request_id = ?)
		GROUP BY l.request_id, b.name, d.workshop_org_id, w.name ORDER BY l.request_id, w.name LIMIT ?`,
		workshop, workshop, requestID, requestID, limit).Rows()
	if err != nil {
		return nil, 0, fmt.Errorf("handovers ready: %w", err)
	}
	defer rows.Close()
	var (
		out   []ReadyGroup
		total int
	)
	for rows.Next() {
		var g ReadyGroup
		if err := rows.Scan(&g.RequestID, &g.BeneficiaryName, &g.WorkshopOrgID, &g.WorkshopName, &g.Devices, &total); err != nil {
			return nil, 0, fmt.Errorf("handovers ready: %w", err)
		}
		out = append(out, g)
	}
	return out, total, rows.Err()
}

// UncertifiedDevices returns the devices of the reservations given whose
// current cycle has no erasure certificate yet (issuing it failed when
// they were wiped): what to issue before preparing their handover.
func (db *DB) UncertifiedDevices(ctx context.Context, reservationIDs []int64) ([]int64, error) {
	var out []int64
	if len(reservationIDs) == 0 {
		return nil, nil
	}
	if err := db.gorm.WithContext(ctx).Raw(`SELECT v.id FROM reservations x JOIN devices v ON v.id = x.device_id
		WHERE x.id IN ? AND NOT EXISTS (SELECT 1 FROM erasure_certificates c WHERE c.device_id = v.id AND c.cycle = v.cycle)
		ORDER BY v.id`, reservationIDs).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("uncertified devices: %w", err)
	}
	return out, nil
}
