package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/lifecycle"
	"gorm.io/gorm"
)

// Erasure records: one row per drive and attempt, appended under the
// device's row lock, each with an event in the device's hash chain. The
// drive is copied as it is recorded on the device (a snapshot); a drive
// counts as erased while a drive with the same position and serial is on
// the device and the latest record of the cycle for it passed verification
// (the same rule as the lifecycle's facts, deviceFacts).

// ErasureLog is the tool's log or report kept with a record; its bytes
// are in storage under Key.
type ErasureLog struct {
	Key         string `json:"-"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// Erasure is one recorded erasure.
type Erasure struct {
	ID       int64 `json:"id"`
	DeviceID int64 `json:"device_id"`
	Cycle    int   `json:"cycle"`
	erasure.Record
	TechnicianID   int64       `json:"technician_id,omitempty"`
	TechnicianName string      `json:"technician_name"`
	Log            *ErasureLog `json:"log"`
	CreatedAt      time.Time   `json:"created_at"`
}

// NewErasure is an erasure to record: the drive as the form named it, the
// record (its drive snapshot is filled here), the log already stored (nil
// without one), and the time the record's dates are checked against.
type NewErasure struct {
	Drive  erasure.DriveRef
	Record erasure.Record
	Log    *ErasureLog
	Now    time.Time
}

// erasureStates are the states in which a drive's erasure is recorded:
// from reception, through the workshop's steps, and in the later ones
// where a drive is still fitted (a new or second-hand drive, recorded by
// the parts engineer) or found to need erasing again (a failed
// re-verification flags the device there too). Not once the device is
// reserved or gone: it is no longer the workshop's to change.
var erasureStates = []lifecycle.State{lifecycle.Received, lifecycle.Diagnosed, lifecycle.Wiped, lifecycle.Refurbished,
	lifecycle.Available, lifecycle.Returned}

// RecordErasure appends an erasure record for one of a device's recorded
// drives, with its event; one transaction. It is refused (Conflict) in a
// state where erasures are not recorded, or when the drive named is not
// (or no longer) the device's.
func (db *DB) RecordErasure(ctx context.Context, deviceID int64, scope DonationScope, in NewErasure,
	actor *account.Principal) (Erasure, error) {
	var out Erasure
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		d, err := lockDeviceFacts(tx, deviceID, scope)
		if err != nil {
			return err
		}
		out, err = recordErasure(tx, d, in, actor)
		return err
	})
	if err != nil {
		return Erasure{}, fmt.Errorf("record erasure of device %d: %w", deviceID, err)
	}
	return out, nil
}

// recordErasure records an erasure on a device locked by the caller's
// transaction: the parts engineer's fitting of a drive records the new
// drive's erasure (a new one from its box, or the one a second-hand drive
// went through) in the same transaction as the part.
func recordErasure(tx *gorm.DB, d lockedDevice, in NewErasure, actor *account.Principal) (Erasure, error) {
	if !slices.Contains(erasureStates, d.State) {
		return Erasure{}, berriz.E(berriz.Conflict, "erasure.error.state").WithKeyArg("state", d.State.Key()).
			WithDetail("state", string(d.State))
	}
	if actor == nil || actor.UserID == 0 {
		return Erasure{}, berriz.E(berriz.Forbidden, "erasure.error.technician")
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	rec := in.Record
	err := tx.Raw(`SELECT position, type, capacity_gb, serial FROM device_drives WHERE device_id = ? AND position = ?`,
		d.ID, in.Drive.Position).Row().Scan(&rec.Drive.Position, &rec.Drive.Type, &rec.Drive.CapacityGB, &rec.Drive.Serial)
	if err != nil {
		if isNoRows(err) {
			return Erasure{}, berriz.FieldErrors{erasure.FieldDrive: "erasure.error.drive_unknown"}.Err()
		}
		return Erasure{}, err
	}
	if in.Drive.HasSerial && in.Drive.Serial != rec.Drive.Serial {
		return Erasure{}, berriz.E(berriz.Conflict, "erasure.error.drive_changed").WithArg("serial", rec.Drive.Serial)
	}
	if fe := rec.Validate(in.Now); fe != nil {
		return Erasure{}, fe.Err()
	}
	if fe := rec.CheckDrive(); fe != nil {
		return Erasure{}, fe.Err()
	}
	out := Erasure{DeviceID: d.ID, Cycle: d.Cycle, Record: rec, TechnicianID: actor.UserID, Log: in.Log}
	if err := tx.Raw(`SELECT name FROM users WHERE id = ?`, actor.UserID).Row().Scan(&out.TechnicianName); err != nil {
		return Erasure{}, fmt.Errorf("technician %d: %w", actor.UserID, err)
	}
	var logKey, logType, logSize, logSHA any // NULL without a log
	logName := ""
	if l := in.Log; l != nil {
		logKey, logName, logType, logSize, logSHA = l.Key, l.Name, l.ContentType, l.Size, l.SHA256
	}
	err = tx.Raw(`INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb, drive_serial, method,
			tool, tool_version, passes, verification, started_at, ended_at, technician_id, technician_name, notes,
			log_key, log_name, log_content_type, log_size, log_sha256)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id, created_at`,
		d.ID, d.Cycle, rec.Drive.Position, rec.Drive.Type, rec.Drive.CapacityGB, rec.Drive.Serial, string(rec.Method),
		string(rec.Tool), rec.ToolVersion, rec.Passes, string(rec.Verification), rec.StartedAt, rec.EndedAt, actor.UserID,
		out.TechnicianName, rec.Notes, logKey, logName, logType, logSize, logSHA).Row().Scan(&out.ID, &out.CreatedAt)
	if err != nil {
		return Erasure{}, err
	}
	detail := erasureDetail{ID: out.ID, Drive: rec.Drive.Position, Serial: rec.Drive.Serial, Method: rec.Method, Tool: rec.Tool,
		Passes: rec.Passes, Verification: rec.Verification}
	if in.Log != nil {
		detail.LogSHA256 = in.Log.SHA256
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return Erasure{}, err
	}
	place, err := devicePlace(tx, d.WorkshopOrgID, d.Location)
	if err != nil {
		return Erasure{}, err
	}
	ev := DeviceEvent{Kind: EventErasure, From: string(d.State), To: string(d.State), Place: place, Detail: string(raw)}
	if err := appendDeviceEvent(tx, d.ID, actor, ev); err != nil {
		return Erasure{}, err
	}
	return out, nil
}

// erasureDetail is what an erasure's event says, for the audit.
type erasureDetail struct {
	ID           int64                `json:"erasure_id"`
	Drive        int                  `json:"drive"`
	Serial       string               `json:"serial"`
	Method       erasure.Method       `json:"method"`
	Tool         erasure.Tool         `json:"tool"`
	Passes       int                  `json:"passes"`
	Verification erasure.Verification `json:"verification"`
	LogSHA256    string               `json:"log_sha256,omitempty"`
}

const erasureColumns = `e.id, e.device_id, e.cycle, e.drive_position, e.drive_type, e.drive_capacity_gb, e.drive_serial,
	e.method, e.tool, e.tool_version, e.passes, e.verification, e.started_at, e.ended_at, coalesce(e.technician_id, 0),
	e.technician_name, e.notes, coalesce(e.log_key, ''), e.log_name, coalesce(e.log_content_type, ''),
	coalesce(e.log_size, 0), coalesce(e.log_sha256, ''), e.created_at`

func scanErasure(row interface{ Scan(...any) error }) (Erasure, error) {
	var e Erasure
	var l ErasureLog
	err := row.Scan(&e.ID, &e.DeviceID, &e.Cycle, &e.Drive.Position, &e.Drive.Type, &e.Drive.CapacityGB, &e.Drive.Serial,
		&e.Method, &e.Tool, &e.ToolVersion, &e.Passes, &e.Verification, &e.StartedAt, &e.EndedAt, &e.TechnicianID,
		&e.TechnicianName, &e.Notes, &l.Key, &l.Name, &l.ContentType, &l.Size, &l.SHA256, &e.CreatedAt)
	if l.Key != "" {
		e.Log = &l
	}
	return e, err
}

// DeviceErasures returns one page of the erasure records of a device's
// current cycle (the device already checked to be in scope), newest
// first, perPage a page, and how many there are.
func (db *DB) DeviceErasures(ctx context.Context, deviceID int64, page, perPage int) ([]Erasure, Page, error) {
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM erasures e JOIN devices v ON v.id = e.device_id AND v.cycle = e.cycle
		WHERE e.device_id = ?`, deviceID).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("erasures of device %d: %w", deviceID, err)
	}
	rows, err := g.Raw(`SELECT `+erasureColumns+` FROM erasures e JOIN devices v ON v.id = e.device_id AND v.cycle = e.cycle
		WHERE e.device_id = ? ORDER BY e.id DESC LIMIT ? OFFSET ?`, deviceID, perPage, offsetOf(p.Number, perPage)).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("erasures of device %d: %w", deviceID, err)
	}
	defer rows.Close()
	var out []Erasure
	for rows.Next() {
		e, err := scanErasure(rows)
		if err != nil {
			return nil, p, fmt.Errorf("erasures of device %d: %w", deviceID, err)
		}
		out = append(out, e)
	}
	return out, p, rows.Err()
}

// DeviceErasure returns one erasure record of a device the scope may see,
// whatever its cycle; any other is not found.
func (db *DB) DeviceErasure(ctx context.Context, deviceID, erasureID int64, scope DonationScope) (Erasure, error) {
	e, err := scanErasure(db.gorm.WithContext(ctx).Raw(`SELECT `+erasureColumns+` FROM erasures e
		JOIN devices v ON v.id = e.device_id JOIN donations d ON d.id = v.donation_id
		WHERE e.id = ? AND e.device_id = ? AND `+donationScopeCond, append([]any{erasureID, deviceID}, scope.args()...)...).Row())
	if err != nil {
		return Erasure{}, fmt.Errorf("erasure %d of device %d: %w", erasureID, deviceID, notFound(err, "erasure.error.not_found"))
	}
	return e, nil
}

// DriveErasure is a drive recorded on a device with where its erasure
// stands in the current cycle.
type DriveErasure struct {
	device.Drive
	Status erasure.Status `json:"status"`
	// Latest is the latest erasure record of the drive in the cycle, 0
	// for none.
	Latest int64 `json:"latest_erasure_id,omitempty"`
}

// DriveErasures returns a device's recorded drives (already checked to be
// in scope), each with its erasure status in the current cycle.
func (db *DB) DriveErasures(ctx context.Context, deviceID int64) ([]DriveErasure, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT dd.position, dd.type, dd.capacity_gb, dd.serial,
			coalesce(le.id, 0), coalesce(le.verification, '')
		FROM devices v JOIN device_drives dd ON dd.device_id = v.id LEFT JOIN LATERAL (
			SELECT e.id, e.verification FROM erasures e WHERE e.device_id = v.id AND e.cycle = v.cycle
				AND e.drive_position = dd.position AND e.drive_serial = dd.serial ORDER BY e.id DESC LIMIT 1) le ON true
		WHERE v.id = ? ORDER BY dd.position`, deviceID).Rows()
	if err != nil {
		return nil, fmt.Errorf("drive erasures of device %d: %w", deviceID, err)
	}
	defer rows.Close()
	var out []DriveErasure
	for rows.Next() {
		var d DriveErasure
		var v string
		if err := rows.Scan(&d.Position, &d.Type, &d.CapacityGB, &d.Serial, &d.Latest, &v); err != nil {
			return nil, fmt.Errorf("drive erasures of device %d: %w", deviceID, err)
		}
		d.Status = erasure.StatusOf(erasure.Verification(v))
		out = append(out, d)
	}
	return out, rows.Err()
}

// erasureFailedColumn says, in a device listing (devices v), whether the
// latest erasure of one of the device's drives in its current cycle failed
// verification: the flag that holds a device back, shown in the inventory.
const erasureFailedColumn = `EXISTS (SELECT 1 FROM device_drives fdd CROSS JOIN LATERAL (
		SELECT fe.verification FROM erasures fe WHERE fe.device_id = v.id AND fe.cycle = v.cycle
			AND fe.drive_position = fdd.position AND fe.drive_serial = fdd.serial ORDER BY fe.id DESC LIMIT 1) fl
	WHERE fdd.device_id = v.id AND fl.verification = 'failed')`

// ErasureAllowed reports whether erasures are recorded on a device in
// state st, for screens that show the form only where it can succeed.
func ErasureAllowed(st lifecycle.State) bool { return slices.Contains(erasureStates, st) }
