package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"gorm.io/gorm"
)

// Fitting a part to a device: a new part, or a part taken out of the
// stock of the device's workshop (its row locked, so that two technicians
// reaching for the same part cannot both have it). A storage part becomes
// one more drive of the device and comes with an erasure record, so that
// an erased device stays erased: a second-hand drive carries the verified
// erasure it went through on its first device, a new drive is blank. A
// second-hand drive without a verified erasure never enters a device.

// Erasure record of a new drive: nothing was ever written on it.
const (
	newBlankTool = "new_blank"
	newBlankNote = "new drive"
)

// stockRow is a stock part read under its row lock for fitting.
type stockRow struct {
	Kind, Description, Condition, State string
	DriveType                           *string
	CapacityGB                          *int
	Serial                              string
	ErasureID                           *int64
}

// FitPart fits a part to a device the scope may see; one transaction,
// under the device's row lock.
func (db *DB) FitPart(ctx context.Context, id int64, scope DonationScope, ft parts.Fit, actor *account.Principal) (Repair, error) {
	ft, fe := ft.Check()
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
		p := FittedPart{Kind: ft.Kind, Condition: parts.New, Description: ft.Description, StockPartID: ft.StockPartID}
		var drive *device.Drive
		var erasureFrom *stockRow
		if ft.StockPartID != 0 {
			sp, err := takeStockPart(tx, ft.StockPartID, d)
			if err != nil {
				return err
			}
			p.Kind, p.Condition, p.Description = sp.Kind, parts.Condition(sp.Condition), sp.Description
			if sp.DriveType != nil {
				drive = &device.Drive{Type: device.DriveType(*sp.DriveType), CapacityGB: *sp.CapacityGB, Serial: sp.Serial}
				if p.Condition == parts.SecondHand {
					erasureFrom = &sp
				}
			}
		} else if ft.Storage() {
			drive = &device.Drive{Type: ft.DriveType, CapacityGB: ft.CapacityGB, Serial: ft.Serial}
		}
		var erasureID int64
		if drive != nil {
			if erasureID, err = addFittedDrive(tx, d, drive, erasureFrom, actor); err != nil {
				return err
			}
			p.Drive = drive.Position
		}
		description := p.Kind
		if p.Description != "" {
			description += ": " + p.Description
		}
		if out, err = insertRepair(tx, d, parts.WorkPart, description, ft.Minutes, actor); err != nil {
			return err
		}
		if err := tx.Raw(`INSERT INTO device_parts (device_id, cycle, kind, condition, description, stock_part_id, repair_id,
				drive_position, created_by) VALUES (?, ?, ?, ?, ?, nullif(?, 0), ?, nullif(?, 0), nullif(?, 0)) RETURNING id`,
			d.ID, d.Cycle, p.Kind, string(p.Condition), p.Description, p.StockPartID, out.ID, p.Drive, actorID(actor)).
			Row().Scan(&p.ID); err != nil {
			return fmt.Errorf("insert device part: %w", err)
		}
		out.Part = &p
		detail, _ := json.Marshal(struct {
			Kind        string          `json:"kind"`
			Condition   parts.Condition `json:"condition"`
			StockPartID int64           `json:"stock_part_id,omitempty"`
			RepairID    int64           `json:"repair_id"`
			Minutes     int             `json:"minutes"`
			Drive       *device.Drive   `json:"drive,omitempty"`
			ErasureID   int64           `json:"erasure_id,omitempty"`
		}{p.Kind, p.Condition, p.StockPartID, out.ID, ft.Minutes, drive, erasureID})
		return appendWorkEvent(tx, d, actor, EventPart, p.Description, string(detail))
	})
	if err != nil {
		return Repair{}, fmt.Errorf("fit a part to device %d: %w", id, err)
	}
	return out, nil
}

// takeStockPart locks a part of the stock of the locked device's workshop
// and marks it fitted to the device; a part of another workshop's stock is
// not found, as one that does not exist. It must still be in stock; a
// second-hand drive must carry a verified erasure (not a destruction) of
// that very drive.
func takeStockPart(tx *gorm.DB, stockID int64, d lockedDevice) (stockRow, error) {
	var sp stockRow
	err := tx.Raw(`SELECT kind, description, condition, state, drive_type, capacity_gb, serial, erasure_id FROM stock_parts
		WHERE id = ? AND workshop_org_id = ? FOR UPDATE`, stockID, d.WorkshopOrgID).Row().
		Scan(&sp.Kind, &sp.Description, &sp.Condition, &sp.State, &sp.DriveType, &sp.CapacityGB, &sp.Serial, &sp.ErasureID)
	if err != nil {
		return sp, notFound(err, "parts.error.stock_not_found")
	}
	if sp.State != string(parts.InStock) {
		return sp, berriz.E(berriz.Conflict, "parts.error.stock_gone").WithKeyArg("state", parts.StockState(sp.State).Key()).
			WithDetail("stock_state", sp.State)
	}
	if sp.DriveType != nil && sp.Condition == string(parts.SecondHand) {
		verified := false
		if sp.ErasureID != nil {
			if err := tx.Raw(`SELECT verification = 'passed' AND method <> 'destroy' AND drive_serial = ? FROM erasures WHERE id = ?`,
				sp.Serial, *sp.ErasureID).Row().Scan(&verified); err != nil {
				return sp, fmt.Errorf("erasure of stock part %d: %w", stockID, err)
			}
		}
		if !verified {
			return sp, berriz.E(berriz.Conflict, "parts.error.stock_unerased")
		}
	}
	if err := tx.Exec(`UPDATE stock_parts SET state = 'fitted', fitted_device_id = ?, fitted_at = now() WHERE id = ?`,
		d.ID, stockID).Error; err != nil {
		return sp, fmt.Errorf("take stock part %d: %w", stockID, err)
	}
	return sp, nil
}

// addFittedDrive adds a drive to a locked device at the next free position
// and records its erasure: a copy of the verified erasure the stock part
// went through (src), or a blank new drive's. It returns the erasure's id.
func addFittedDrive(tx *gorm.DB, d lockedDevice, drive *device.Drive, src *stockRow, actor *account.Principal) (int64, error) {
	n, last, err := deviceDriveCount(tx, d.ID)
	if err != nil {
		return 0, fmt.Errorf("drives of device %d: %w", d.ID, err)
	}
	if n >= device.MaxDrives || last >= 16 {
		return 0, berriz.E(berriz.Conflict, "parts.error.drives_full").WithArg("max", strconv.Itoa(device.MaxDrives))
	}
	drive.Position = last + 1
	if err := tx.Exec(`INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES (?, ?, ?, ?, ?)`,
		d.ID, drive.Position, string(drive.Type), drive.CapacityGB, drive.Serial).Error; err != nil {
		return 0, fmt.Errorf("add drive: %w", err)
	}
	if err := tx.Exec(`UPDATE devices SET storage_drives = storage_drives + 1 WHERE id = ?`, d.ID).Error; err != nil {
		return 0, fmt.Errorf("count drives: %w", err)
	}
	var id int64
	if src != nil {
		var from int64
		if err := tx.Raw(`SELECT device_id FROM erasures WHERE id = ?`, *src.ErasureID).Row().Scan(&from); err != nil {
			return 0, fmt.Errorf("source erasure: %w", err)
		}
		note := "from device " + strconv.FormatInt(from, 10) + ", erasure " + strconv.FormatInt(*src.ErasureID, 10)
		err = tx.Raw(`INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb, drive_serial, method,
				tool, tool_version, passes, verification, started_at, ended_at, technician_id, technician_name, notes)
			SELECT ?, ?, ?, ?, ?, ?, e.method, e.tool, e.tool_version, e.passes, e.verification, e.started_at, e.ended_at,
				e.technician_id, e.technician_name, ? FROM erasures e WHERE e.id = ? RETURNING id`,
			d.ID, d.Cycle, drive.Position, string(drive.Type), drive.CapacityGB, drive.Serial, note, *src.ErasureID).Row().Scan(&id)
	} else {
		err = tx.Raw(`INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb, drive_serial, method,
				tool, passes, verification, started_at, ended_at, technician_id, technician_name, notes)
			VALUES (?, ?, ?, ?, ?, ?, 'clear', ?, 0, 'passed', now(), now(), nullif(?, 0),
				coalesce((SELECT nullif(name, '') FROM users WHERE id = ?), 'berriz'), ?) RETURNING id`,
			d.ID, d.Cycle, drive.Position, string(drive.Type), drive.CapacityGB, drive.Serial, newBlankTool, actorID(actor),
			actorID(actor), newBlankNote).Row().Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("erasure of the fitted drive: %w", err)
	}
	return id, nil
}

// drivesFrozen reports whether the drives of a locked device are frozen
// (parts.DrivesFrozen: from wiped on), and refuses with a conflict specs
// whose drives differ from the recorded ones then: an erased device takes
// a drive only as a fitted part, with its erasure record.
func drivesFrozen(tx *gorm.DB, id int64, drives []device.Drive) (bool, error) {
	var state string
	if err := tx.Raw(`SELECT state FROM devices WHERE id = ?`, id).Row().Scan(&state); err != nil {
		return false, fmt.Errorf("state of device %d: %w", id, err)
	}
	if !parts.DrivesFrozen(lifecycle.State(state)) {
		return false, nil
	}
	rows, err := tx.Raw(`SELECT position, type, capacity_gb, serial FROM device_drives WHERE device_id = ? ORDER BY position`, id).Rows()
	if err != nil {
		return false, fmt.Errorf("drives of device %d: %w", id, err)
	}
	defer rows.Close()
	var have []device.Drive
	for rows.Next() {
		var d device.Drive
		if err := rows.Scan(&d.Position, &d.Type, &d.CapacityGB, &d.Serial); err != nil {
			return false, fmt.Errorf("drives of device %d: %w", id, err)
		}
		have = append(have, d)
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	if !sameDrives(have, drives) {
		return true, berriz.E(berriz.Conflict, "parts.error.drives_frozen").WithKeyArg("state", lifecycle.State(state).Key()).
			WithDetail("state", state)
	}
	return true, nil
}

// deviceDriveCount returns how many drives a device has recorded and the
// highest position taken.
func deviceDriveCount(tx *gorm.DB, id int64) (n, last int, err error) {
	err = tx.Raw(`SELECT count(*), coalesce(max(position), 0) FROM device_drives WHERE device_id = ?`, id).Row().Scan(&n, &last)
	return n, last, err
}

// sameDrives reports whether two lists of drives are the same, position
// by position.
func sameDrives(a, b []device.Drive) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
