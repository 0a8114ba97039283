package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"gorm.io/gorm"
)

// Dismantling a device: in one transaction, the device becomes dismantled
// (the lifecycle refuses unless every drive is erased or destroyed) and
// the parts kept go into the stock of its workshop, second-hand. A drive
// kept takes with it the verified erasure it went through, which is what
// lets it be fitted to another device later; a destroyed drive is not a
// part any more and cannot be kept.

// DismantleDevice dismantles a device the scope may see and puts the parts
// kept into its workshop's stock.
func (db *DB) DismantleDevice(ctx context.Context, id int64, scope DonationScope, in parts.Dismantle,
	actor *account.Principal) (DeviceState, []StockPart, error) {
	in, fe := in.Check()
	if fe != nil {
		return DeviceState{}, nil, fe.Err()
	}
	var (
		st  DeviceState
		ids []int64
	)
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		d, err := lockDeviceFacts(tx, id, scope)
		if err != nil {
			return err
		}
		// The rules first: nothing goes into the stock of a device that
		// cannot be dismantled.
		if err := lifecycle.Check(d.State, lifecycle.Dismantled, lifecycle.Dismantle, d.Facts); err != nil {
			return err
		}
		type keptDetail struct {
			StockPartID int64  `json:"stock_part_id"`
			Kind        string `json:"kind"`
			Drive       int    `json:"drive,omitempty"`
			ErasureID   int64  `json:"erasure_id,omitempty"`
		}
		var detail struct {
			Parts []keptDetail `json:"parts"`
		}
		detail.Parts = []keptDetail{}
		for i, k := range in.Parts {
			kd := keptDetail{Kind: k.Kind, Drive: k.Drive}
			var dt, capa any
			serial := ""
			if k.Storage() {
				var drive keptDrive
				if drive, err = keptDriveOf(tx, d, i, k.Drive); err != nil {
					return err
				}
				dt, capa, serial, kd.ErasureID = drive.Type, drive.CapacityGB, drive.Serial, drive.ErasureID
			}
			var erasure any
			if kd.ErasureID != 0 {
				erasure = kd.ErasureID
			}
			if err := tx.Raw(`INSERT INTO stock_parts (workshop_org_id, kind, description, condition, source_device_id, drive_type,
					capacity_gb, serial, erasure_id, created_by) VALUES (?, ?, ?, 'second_hand', ?, ?, ?, ?, ?, nullif(?, 0)) RETURNING id`,
				d.WorkshopOrgID, k.Kind, k.Description, d.ID, dt, capa, serial, erasure, actorID(actor)).Row().Scan(&kd.StockPartID); err != nil {
				return fmt.Errorf("put a kept part into the stock: %w", err)
			}
			ids = append(ids, kd.StockPartID)
			detail.Parts = append(detail.Parts, kd)
		}
		b, _ := json.Marshal(detail)
		st, err = moveDevice(tx, d, lifecycle.Dismantled, lifecycle.Dismantle, actor, in.Note, string(b))
		return err
	})
	if err != nil {
		return DeviceState{}, nil, fmt.Errorf("dismantle device %d: %w", id, err)
	}
	kept := []StockPart{}
	if len(ids) > 0 {
		if kept, err = db.stockList(ctx, `s.id IN ? ORDER BY s.id`, ids); err != nil {
			return st, nil, err
		}
	}
	return st, kept, nil
}

// keptDrive is a drive of a dismantled device with the erasure it keeps.
type keptDrive struct {
	Type       string
	CapacityGB int
	Serial     string
	ErasureID  int64
}

// keptDriveOf reads the drive at position of a locked device with the
// latest erasure of its position and serial in the current cycle, which
// must be verified and not a destruction. Refusals name the i-th kept
// part's drive field.
func keptDriveOf(tx *gorm.DB, d lockedDevice, i, position int) (keptDrive, error) {
	var (
		k            keptDrive
		method, veri string
	)
	err := tx.Raw(`SELECT dd.type, dd.capacity_gb, dd.serial, coalesce(e.id, 0), coalesce(e.method, ''), coalesce(e.verification, '')
		FROM device_drives dd LEFT JOIN LATERAL (
			SELECT id, method, verification FROM erasures e WHERE e.device_id = dd.device_id AND e.cycle = ?
				AND e.drive_position = dd.position AND e.drive_serial = dd.serial ORDER BY e.id DESC LIMIT 1) e ON true
		WHERE dd.device_id = ? AND dd.position = ?`, d.Cycle, d.ID, position).Row().
		Scan(&k.Type, &k.CapacityGB, &k.Serial, &k.ErasureID, &method, &veri)
	field := parts.KeptField(i, "drive")
	switch {
	case isNoRows(err):
		return k, berriz.FieldErrors{field: "parts.error.drive_unknown"}.Err()
	case err != nil:
		return k, fmt.Errorf("drive %d of device %d: %w", position, d.ID, err)
	case method == "destroy":
		return k, berriz.FieldErrors{field: "parts.error.drive_destroyed"}.Err()
	case veri != "passed":
		return k, berriz.FieldErrors{field: "parts.error.drive_unerased"}.Err()
	}
	return k, nil
}

// Where a drive's erasure stands, for the dismantling form.
const (
	DriveErased    = "erased"    // verified: it may be kept
	DriveDestroyed = "destroyed" // physically destroyed: nothing to keep
	DriveFailed    = "failed"    // verification failed: erase again first
	DriveUnerased  = "none"      // no erasure record yet
)

// DismantleDrive is a drive of a device with where its erasure stands in
// the current cycle (the latest record of its position and serial).
type DismantleDrive struct {
	device.Drive
	Erasure string `json:"erasure"`
}

// Keepable reports whether the drive may go into the stock.
func (d DismantleDrive) Keepable() bool { return d.Erasure == DriveErased }

// DismantleDrives returns the drives of a device (already checked to be
// in scope), each with where its erasure stands.
func (db *DB) DismantleDrives(ctx context.Context, deviceID int64) ([]DismantleDrive, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT dd.position, dd.type, dd.capacity_gb, dd.serial,
			coalesce(e.method, ''), coalesce(e.verification, '')
		FROM devices v JOIN device_drives dd ON dd.device_id = v.id LEFT JOIN LATERAL (
			SELECT method, verification FROM erasures e WHERE e.device_id = v.id AND e.cycle = v.cycle
				AND e.drive_position = dd.position AND e.drive_serial = dd.serial ORDER BY e.id DESC LIMIT 1) e ON true
		WHERE v.id = ? ORDER BY dd.position`, deviceID).Rows()
	if err != nil {
		return nil, fmt.Errorf("drives of device %d: %w", deviceID, err)
	}
	defer rows.Close()
	var out []DismantleDrive
	for rows.Next() {
		var d DismantleDrive
		var method, veri string
		if err := rows.Scan(&d.Position, &d.Type, &d.CapacityGB, &d.Serial, &method, &veri); err != nil {
			return nil, fmt.Errorf("drives of device %d: %w", deviceID, err)
		}
		switch {
		case veri == "failed":
			d.Erasure = DriveFailed
		case veri == "":
			d.Erasure = DriveUnerased
		case method == "destroy":
			d.Erasure = DriveDestroyed
		default:
			d.Erasure = DriveErased
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
