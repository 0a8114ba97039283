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
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/tag"
	"gorm.io/gorm"
)

// The catalogue: the devices available now (state available, not waiting
// in a recycling batch, held by no live reservation), which beneficiaries
// with an open request browse and reserve for one of their lines, within
// what the line still needs. A reservation from the catalogue is accepted
// at once (the beneficiary chose the device) and moves the device to
// reserved through the lifecycle's Allocation path.
//
// Lock order, shared by every allocation write (catalogue, proposals,
// reservations, expiry): a proposal, then requests by id, then
// reservations, then devices by id. Requests are locked so that two
// reservations for one line cannot both take its last place, and a
// request cancelled meanwhile takes none.

// CatalogueDevice is an available (or reserved) device as allocation
// screens show it, with the specs matching compares.
type CatalogueDevice struct {
	ID           int64           `json:"id"`
	Tag          string          `json:"tag,omitempty"` // canonical code
	Category     string          `json:"category"`
	Brand        string          `json:"brand"`
	Model        string          `json:"model"`
	Year         int             `json:"year,omitempty"`
	RAMGB        int             `json:"ram_gb,omitempty"`
	StorageGB    int             `json:"storage_gb,omitempty"` // the total of its drives
	ScreenInches float64         `json:"screen_inches,omitempty"`
	Grade        diagnosis.Grade `json:"grade,omitempty"`
	OS           string          `json:"os,omitempty"`
	WorkshopName string          `json:"workshop_name,omitempty"`
}

// PrintedTag is the device's tag as printed on its label (7KQ2-M9XD), ""
// before intake.
func (d CatalogueDevice) PrintedTag() string {
	if d.Tag == "" {
		return ""
	}
	return tag.Code(d.Tag).String()
}

// Specs returns what matching knows of the device.
func (d CatalogueDevice) Specs() allocation.DeviceSpecs {
	return allocation.DeviceSpecs{Category: d.Category, RAMGB: d.RAMGB, StorageGB: d.StorageGB, ScreenInches: d.ScreenInches,
		Grade: d.Grade}
}

// allocStorageColumn is the total capacity of a device's drives.
const allocStorageColumn = `(SELECT coalesce(sum(sd.capacity_gb), 0) FROM device_drives sd WHERE sd.device_id = v.id)::int`

const catalogueColumns = `v.id, coalesce(t.code, ''), v.category, v.brand, v.model, coalesce(v.year, 0), coalesce(v.ram_gb, 0),
	` + allocStorageColumn + `, coalesce(v.screen_inches, 0)::float8, coalesce(v.grade, ''), v.os, coalesce(w.name, '')`

const catalogueFrom = ` FROM devices v JOIN donations d ON d.id = v.donation_id
	LEFT JOIN organisations w ON w.id = d.workshop_org_id LEFT JOIN tags t ON t.device_id = v.id`

// freeDeviceCond holds for the devices that may be proposed or reserved.
// The live reservations are read once (a hashed subplan), not probed for
// each device: a probe the planner would make by scanning a table it
// thinks empty (fresh statistics, many rows deleted since) costs seconds
// over 10,000 devices.
const freeDeviceCond = `v.state = 'available' AND v.recycling_batch_id IS NULL
	AND v.id NOT IN (SELECT lr.device_id FROM reservations lr WHERE lr.state IN ('reserved', 'accepted'))`

func scanCatalogueDevice(row interface{ Scan(...any) error }, extra ...any) (CatalogueDevice, error) {
	var d CatalogueDevice
	var grade string
	err := row.Scan(append([]any{&d.ID, &d.Tag, &d.Category, &d.Brand, &d.Model, &d.Year, &d.RAMGB, &d.StorageGB,
		&d.ScreenInches, &grade, &d.OS, &d.WorkshopName}, extra...)...)
	d.Grade = diagnosis.Grade(grade)
	return d, err
}

// catalogueFilterCond narrows available devices to those a line with the filter's
// minimums would accept (allocation.Line.Meets; grades compare as text:
// "A" < "B" < "C", and at least B is A or B).
func catalogueFilterCond(f allocation.Line) (string, []any) {
	return ` AND (? = '' OR v.category = ?) AND (? = 0 OR coalesce(v.ram_gb, 0) >= ?)
		AND (? = 0 OR ` + allocStorageColumn + ` >= ?) AND (? = 0 OR coalesce(v.screen_inches, 0) >= ?)
		AND (? = '' OR v.grade <= ?)`,
		[]any{f.Category, f.Category, f.MinRAMGB, f.MinRAMGB, f.MinStorageGB, f.MinStorageGB, f.MinScreenInches,
			f.MinScreenInches, string(f.MinGrade), string(f.MinGrade)}
}

// Catalogue returns one page of the available devices the filter's
// minimums accept, the longest available first.
func (db *DB) Catalogue(ctx context.Context, f allocation.Line, page int) ([]CatalogueDevice, Page, error) {
	p := Page{Number: max(page, 1)}
	cond, args := catalogueFilterCond(f)
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM devices v WHERE `+freeDeviceCond+cond, args...).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count catalogue: %w", err)
	}
	rows, err := g.Raw(`SELECT `+catalogueColumns+catalogueFrom+` WHERE `+freeDeviceCond+cond+
		` ORDER BY v.state_since, v.id LIMIT ? OFFSET ?`, append(args, PageSize, offset(p.Number))...).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("catalogue: %w", err)
	}
	defer rows.Close()
	var out []CatalogueDevice
	for rows.Next() {
		d, err := scanCatalogueDevice(rows)
		if err != nil {
			return nil, p, fmt.Errorf("catalogue: %w", err)
		}
		out = append(out, d)
	}
	return out, p, rows.Err()
}

// CatalogueCategories lists the categories of the available devices, for
// the catalogue's filter.
func (db *DB) CatalogueCategories(ctx context.Context) ([]string, error) {
	var out []string
	if err := db.gorm.WithContext(ctx).Raw(`SELECT DISTINCT v.category FROM devices v WHERE ` + freeDeviceCond +
		` ORDER BY 1`).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("catalogue categories: %w", err)
	}
	return out, nil
}

// HasOpenRequest reports whether an organisation has a request devices may
// still go to (approved or partially fulfilled): only then does it see the
// catalogue.
func (db *DB) HasOpenRequest(ctx context.Context, org int64) (bool, error) {
	var open bool
	err := db.gorm.WithContext(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM requests WHERE beneficiary_org_id = ?
		AND state IN ('approved', 'partially_fulfilled'))`, org).Row().Scan(&open)
	if err != nil {
		return false, fmt.Errorf("open requests of organisation %d: %w", org, err)
	}
	return open, nil
}

// OpenLine is a line of an open request with what it still needs.
type OpenLine struct {
	ID          int64     `json:"id"`
	RequestID   int64     `json:"request_id"`
	Line        int       `json:"line"`
	OrgID       int64     `json:"organisation_id"`
	OrgName     string    `json:"organisation_name"`
	Priority    int       `json:"priority"`
	SubmittedAt time.Time `json:"submitted_at"`
	// Need is the quantity less the live and delivered reservations.
	Need int             `json:"need"`
	Spec allocation.Line `json:"spec"`
}

// openLineColumns are OpenLine's columns over openLineFrom, need last;
// the need counts the line's live and delivered reservations with a probe
// of reservations_line, for the reads of one line.
const openLineColumns = openLineHead + `, l.quantity - (SELECT count(*) FROM reservations nr WHERE nr.request_line_id = l.id
		AND nr.state IN ('reserved', 'accepted', 'delivered'))::int AS need`

const openLineHead = `l.id, l.request_id, l.line, q.beneficiary_org_id, o.name, q.priority, q.submitted_at, l.category,
	l.quantity, coalesce(l.min_ram_gb, 0), coalesce(l.min_storage_gb, 0), coalesce(l.min_screen_inches, 0)::float8,
	coalesce(l.min_grade, ''), l.notes`

const openLineFrom = ` FROM request_lines l JOIN requests q ON q.id = l.request_id
	JOIN organisations o ON o.id = q.beneficiary_org_id`

// openLinesColumns and openLinesFrom read many lines: the reservations
// are counted once, grouped by line, rather than probed line by line (a
// probe the planner may make with a scan of the whole table when its
// statistics are stale costs seconds over 1,000 lines).
const openLinesColumns = openLineHead + `, l.quantity - coalesce(lc.n, 0)::int AS need`

const openLinesFrom = openLineFrom + ` LEFT JOIN (SELECT request_line_id, count(*) AS n FROM reservations
		WHERE state IN ('reserved', 'accepted', 'delivered') GROUP BY request_line_id) lc ON lc.request_line_id = l.id`

// openLineCond holds for the lines of requests devices may still go to.
const openLineCond = `q.state IN ('approved', 'partially_fulfilled')`

func scanOpenLine(row interface{ Scan(...any) error }, extra ...any) (OpenLine, error) {
	var l OpenLine
	var grade string
	err := row.Scan(append([]any{&l.ID, &l.RequestID, &l.Line, &l.OrgID, &l.OrgName, &l.Priority, &l.SubmittedAt,
		&l.Spec.Category, &l.Spec.Quantity, &l.Spec.MinRAMGB, &l.Spec.MinStorageGB, &l.Spec.MinScreenInches, &grade,
		&l.Spec.Notes, &l.Need}, extra...)...)
	l.Spec.MinGrade = diagnosis.Grade(grade)
	return l, err
}

// OpenLines returns the lines of an organisation's open requests (0: every
// organisation's) that still need devices, in matching's service order.
func (db *DB) OpenLines(ctx context.Context, org int64) ([]OpenLine, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT * FROM (SELECT `+openLinesColumns+openLinesFrom+` WHERE `+openLineCond+
		` AND (? = 0 OR q.beneficiary_org_id = ?)) x WHERE x.need > 0`, org, org).Rows()
	if err != nil {
		return nil, fmt.Errorf("open lines: %w", err)
	}
	defer rows.Close()
	var out []OpenLine
	for rows.Next() {
		l, err := scanOpenLine(rows)
		if err != nil {
			return nil, fmt.Errorf("open lines: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("open lines: %w", err)
	}
	slices.SortFunc(out, func(a, b OpenLine) int { return allocation.CompareServiceOrder(a.matchLine(), b.matchLine()) })
	return out, nil
}

func (l OpenLine) matchLine() allocation.MatchLine {
	return allocation.MatchLine{ID: l.ID, RequestID: l.RequestID, Line: l.Line, Priority: l.Priority,
		SubmittedAt: l.SubmittedAt, Need: l.Need, Spec: l.Spec}
}

// lockOpenLine locks the request of a line the organisation may use (0: any)
// and reads the line with its need, after the lock: another reservation
// for the same request waits here, then counts what the first took.
func lockOpenLine(tx *gorm.DB, lineID, org int64) (OpenLine, allocation.RequestState, error) {
	var request int64
	if err := tx.Raw(`SELECT l.request_id FROM request_lines l JOIN requests q ON q.id = l.request_id
		WHERE l.id = ? AND (? = 0 OR q.beneficiary_org_id = ?)`, lineID, org, org).Row().Scan(&request); err != nil {
		return OpenLine{}, "", notFound(err, "matching.error.line_not_found")
	}
	var state string
	if err := tx.Raw(`SELECT state FROM requests WHERE id = ? FOR UPDATE`, request).Row().Scan(&state); err != nil {
		return OpenLine{}, "", fmt.Errorf("lock request %d: %w", request, err)
	}
	l, err := scanOpenLine(tx.Raw(`SELECT `+openLineColumns+openLineFrom+` WHERE l.id = ?`, lineID).Row())
	if err != nil {
		return OpenLine{}, "", fmt.Errorf("line %d: %w", lineID, err)
	}
	return l, allocation.RequestState(state), nil
}

// catalogueDeviceTx reads a device with its specs (under the caller's lock).
func catalogueDeviceTx(tx *gorm.DB, id int64) (CatalogueDevice, error) {
	d, err := scanCatalogueDevice(tx.Raw(`SELECT `+catalogueColumns+catalogueFrom+` WHERE v.id = ?`, id).Row())
	return d, notFound(err, "matching.error.device_not_found")
}

// checkLineTakes says why a device may not go to a line: the request
// closed, a device that does not meet it, or the line full (planned: the
// devices a draft already gives it).
func checkLineTakes(l OpenLine, state allocation.RequestState, d CatalogueDevice, planned int) error {
	switch {
	case !state.Open():
		return berriz.E(berriz.Conflict, "matching.error.request_closed").WithArg("request", strconv.FormatInt(l.RequestID, 10))
	case !l.Spec.Meets(d.Specs()):
		return berriz.E(berriz.Conflict, "matching.error.device_unfit").WithArg("line", strconv.Itoa(l.Line)).
			WithArg("request", strconv.FormatInt(l.RequestID, 10))
	case l.Need-planned <= 0:
		return berriz.E(berriz.Conflict, "matching.error.line_full").WithArg("line", strconv.Itoa(l.Line)).
			WithArg("request", strconv.FormatInt(l.RequestID, 10))
	}
	return nil
}

// errDeviceTaken is the conflict of a device that is no longer available.
func errDeviceTaken(d CatalogueDevice) error {
	return berriz.E(berriz.Conflict, "matching.error.device_taken").WithArg("device", allocDeviceName(d)).
		WithDetail("device_id", d.ID)
}

// allocDeviceName names a device in messages: brand and model, tag or number.
func allocDeviceName(d CatalogueDevice) string { return labelOf(d.ID, d.Brand, d.Model, d.Tag) }

// ReserveFromCatalogue reserves an available device for a line of one of
// the organisation's open requests (org 0: any request, for operators):
// the line must still need a device and the device meet it. The
// reservation is accepted at once and the device becomes reserved; the
// operators are told. One transaction: the request, then the device are
// locked, so of concurrent attempts on one device exactly one wins and the
// others get a conflict naming it; the partial unique index
// reservations_one_live refuses a second live reservation whatever the
// code does.
func (db *DB) ReserveFromCatalogue(ctx context.Context, deviceID, lineID, org int64, actor *account.Principal) (Reservation, error) {
	var id int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		l, state, err := lockOpenLine(tx, lineID, org)
		if err != nil {
			return err
		}
		locked, err := lockDeviceFacts(tx, deviceID, DonationScope{})
		if err != nil {
			return berriz.E(berriz.NotFound, "matching.error.device_not_found").WithCause(err)
		}
		d, err := catalogueDeviceTx(tx, deviceID)
		if err != nil {
			return err
		}
		if locked.State != lifecycle.Available || locked.Facts.InRecyclingBatch {
			return errDeviceTaken(d)
		}
		if err := checkLineTakes(l, state, d, 0); err != nil {
			return err
		}
		if err := tx.Raw(`INSERT INTO reservations (device_id, request_line_id, state, created_by, answered_by, answered_at)
			VALUES (?, ?, 'accepted', ?, ?, now()) RETURNING id`, deviceID, lineID, allocUser(actor), allocUser(actor)).
			Row().Scan(&id); err != nil {
			return fmt.Errorf("reserve device %d: %w", deviceID, err)
		}
		detail, _ := json.Marshal(map[string]any{"reservation": id, "request": l.RequestID, "line": l.Line, "from": "catalogue"})
		if _, err := moveDevice(tx, locked, lifecycle.Reserved, lifecycle.Allocation, actor, "", string(detail)); err != nil {
			return err
		}
		return notifyOperators(tx, Notice{Kind: "notify.catalogue_reserved", Link: "/reservations",
			Args: map[string]string{"organisation": l.OrgName, "device": allocDeviceName(d), "request": strconv.FormatInt(l.RequestID, 10)}})
	})
	if err != nil {
		return Reservation{}, fmt.Errorf("reserve device %d for line %d: %w", deviceID, lineID, err)
	}
	return db.Reservation(ctx, id, 0)
}

// allocUser is the user behind an action, or nil (NULL) for none.
func allocUser(actor *account.Principal) any {
	if actor == nil || actor.UserID == 0 {
		return nil
	}
	return actor.UserID
}
