package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/parts"
	"gorm.io/gorm"
)

// Repairs: the operations recorded on a device during a workshop cycle
// (a repair, a cleaning, an operating system installed, a part fitted),
// each with the minutes it took, append-only, under the device's row lock
// and with an event in the device's chain. Fitting a part is in parts.go.

// Repair is one operation recorded on a device, with the part it fitted
// when it was one.
type Repair struct {
	ID          int64          `json:"id"`
	Cycle       int            `json:"cycle"`
	Kind        parts.WorkKind `json:"kind"`
	Description string         `json:"description"`
	Minutes     int            `json:"minutes"`
	CreatedBy   string         `json:"created_by,omitempty"` // the user's name, while the account exists
	CreatedAt   time.Time      `json:"created_at"`
	Part        *FittedPart    `json:"part,omitempty"`
}

// FittedPart is a part fitted to a device: what the emissions burden
// counts (new parts of the factor set's kinds).
type FittedPart struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Condition   parts.Condition `json:"condition"`
	Description string          `json:"description,omitempty"`
	StockPartID int64           `json:"stock_part_id,omitempty"`
	// Drive is the drive the part became on the device (its position),
	// for a storage part.
	Drive int `json:"drive,omitempty"`
}

// workAllowedHere refuses work on a locked device outside the states
// where it is done.
func workAllowedHere(d lockedDevice) error {
	if !parts.WorkAllowed(d.State) {
		return parts.ErrWorkState(d.State)
	}
	return nil
}

// AddRepair records an operation on a device the scope may see (one
// transaction, under the device's row lock). An os_install also becomes
// the device's operating system.
func (db *DB) AddRepair(ctx context.Context, id int64, scope DonationScope, w parts.Work, actor *account.Principal) (Repair, error) {
	w, fe := w.Check()
	if fe != nil {
		return Repair{}, fe.Err()
	}
	var out Repair
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		d, err := lockDeviceFacts(tx, id, scope)
		if err != nil {
			return err
		}
		if err := workAllowedHere(d); err != nil {
			return err
		}
		out, err = insertRepair(tx, d, w.Kind, w.Description, w.Minutes, actor)
		if err != nil {
			return err
		}
		if w.Kind == parts.WorkOSInstall {
			if err := tx.Exec(`UPDATE devices SET os = ? WHERE id = ?`, w.OS, id).Error; err != nil {
				return err
			}
		}
		detail, _ := json.Marshal(struct {
			RepairID int64          `json:"repair_id"`
			Kind     parts.WorkKind `json:"kind"`
			Minutes  int            `json:"minutes"`
			OS       string         `json:"os,omitempty"`
		}{out.ID, w.Kind, w.Minutes, w.OS})
		return appendWorkEvent(tx, d, actor, EventRepair, w.Description, string(detail))
	})
	if err != nil {
		return Repair{}, fmt.Errorf("record work on device %d: %w", id, err)
	}
	return out, nil
}

// insertRepair writes a repairs row of the device's current cycle.
func insertRepair(tx *gorm.DB, d lockedDevice, kind parts.WorkKind, description string, minutes int,
	actor *account.Principal) (Repair, error) {
	out := Repair{Cycle: d.Cycle, Kind: kind, Description: description, Minutes: minutes}
	if actor != nil {
		out.CreatedBy = actor.Name
	}
	err := tx.Raw(`INSERT INTO repairs (device_id, cycle, kind, description, minutes, created_by)
		VALUES (?, ?, ?, ?, ?, nullif(?, 0)) RETURNING id, created_at`, d.ID, d.Cycle, string(kind), description, minutes,
		actorID(actor)).Row().Scan(&out.ID, &out.CreatedAt)
	if err != nil {
		return Repair{}, fmt.Errorf("insert repair: %w", err)
	}
	return out, nil
}

func actorID(actor *account.Principal) int64 {
	if actor == nil {
		return 0
	}
	return actor.UserID
}

// appendWorkEvent appends a record that does not change the device's
// state (from = to = its state) to its chain, with where it happened.
func appendWorkEvent(tx *gorm.DB, d lockedDevice, actor *account.Principal, kind, note, detail string) error {
	place, err := devicePlace(tx, d.WorkshopOrgID, d.Location)
	if err != nil {
		return err
	}
	return appendDeviceEvent(tx, d.ID, actor, DeviceEvent{Kind: kind, From: string(d.State), To: string(d.State),
		Place: place, Note: note, Detail: detail})
}

// RepairList is one page of a device's records of one cycle, with the
// minutes of the whole cycle.
type RepairList struct {
	Items        []Repair
	Page         Page
	TotalMinutes int
}

// DeviceRepairs returns one page of perPage operations of a device
// (already checked to be in scope) in one cycle, newest first, each with
// the part it fitted. A screen shows fewer than PageSize to keep within
// its budget; Page.Total lets it count its pages.
func (db *DB) DeviceRepairs(ctx context.Context, deviceID int64, cycle, page, perPage int) (RepairList, error) {
	out := RepairList{Page: Page{Number: max(page, 1)}}
	perPage = max(perPage, 1)
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*), coalesce(sum(minutes), 0) FROM repairs WHERE device_id = ? AND cycle = ?`,
		deviceID, cycle).Row().Scan(&out.Page.Total, &out.TotalMinutes); err != nil {
		return out, fmt.Errorf("repairs of device %d: %w", deviceID, err)
	}
	rows, err := g.Raw(`SELECT r.id, r.cycle, r.kind, r.description, r.minutes, coalesce(u.name, ''), r.created_at,
			coalesce(p.id, 0), coalesce(p.kind, ''), coalesce(p.condition, ''), coalesce(p.description, ''),
			coalesce(p.stock_part_id, 0), coalesce(p.drive_position, 0)
		FROM repairs r LEFT JOIN users u ON u.id = r.created_by LEFT JOIN device_parts p ON p.repair_id = r.id
		WHERE r.device_id = ? AND r.cycle = ? ORDER BY r.id DESC LIMIT ? OFFSET ?`,
		deviceID, cycle, perPage, offsetOf(out.Page.Number, perPage)).Rows()
	if err != nil {
		return out, fmt.Errorf("repairs of device %d: %w", deviceID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Repair
		var p FittedPart
		if err := rows.Scan(&r.ID, &r.Cycle, &r.Kind, &r.Description, &r.Minutes, &r.CreatedBy, &r.CreatedAt,
			&p.ID, &p.Kind, &p.Condition, &p.Description, &p.StockPartID, &p.Drive); err != nil {
			return out, fmt.Errorf("repairs of device %d: %w", deviceID, err)
		}
		if p.ID != 0 {
			r.Part = &p
		}
		out.Items = append(out.Items, r)
	}
	return out, rows.Err()
}
