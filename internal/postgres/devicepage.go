package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The device's reads on the hot path: the device page (what a technician's
// phone shows after each scan) and every handler that loads a device. They
// go through pgx directly (db.pool), as TagView, DeviceByTag and the
// session and token lookups do, neither through GORM's Raw — GORM rebuilds
// the statement's text and runs its callbacks on every call, which cost as
// much client CPU as the rest of the query — nor through database/sql,
// which converts every column to a driver.Value and then, by reflection,
// to its destination (docs/benchmarks.md). Each read is one statement, so
// one round trip: drives and files come aggregated as JSON, the
// lifecycle's facts as subqueries.

// dollars rewrites GORM's ? placeholders as PostgreSQL's $1, $2...: the
// statements below share their fragments (donationScopeCond...) with
// the GORM queries of the stores. None of them holds a ? of its own (no
// jsonb ? operator, no literal question mark).
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// drivesJSONColumn is a device's drives as a JSON array with device.Drive's
// keys, NULL without drives.
const drivesJSONColumn = `(SELECT json_agg(json_build_object('position', r.position, 'type', r.type,
	'capacity_gb', r.capacity_gb, 'serial', r.serial) ORDER BY r.position) FROM device_drives r WHERE r.device_id = v.id)`

// deviceDetailColumns are DeviceDetail's columns, in scanDeviceDetail's
// order, over deviceRowFrom.
const deviceDetailColumns = deviceRowColumns + `, d.donor_org_id, v.cpu, v.ram_gb, v.screen_inches::float8,
	v.battery_health_pct, v.os, v.condition_notes, v.updated_at, v.version, v.cycle, coalesce(v.grade, ''),
	coalesce(v.grade_suggested, ''), v.grade_reason, v.location, v.state_since, coalesce(v.recycling_batch_id, 0), ` +
	drivesJSONColumn

// driveFactsJoin counts, for the device v in its current cycle, its
// recorded drives, those whose latest erasure passed verification and
// those whose latest erasure failed it (columns f.drives, f.erased,
// f.failed): the lifecycle's facts about erasure.
const driveFactsJoin = ` CROSS JOIN LATERAL (SELECT count(*) AS drives,
		count(*) FILTER (WHERE e.verification = 'passed') AS erased,
		count(*) FILTER (WHERE e.verification = 'failed') AS failed
	FROM device_drives dd LEFT JOIN LATERAL (
		SELECT verification FROM erasures e WHERE e.device_id = dd.device_id AND e.cycle = v.cycle
			AND e.drive_position = dd.position AND e.drive_serial = dd.serial ORDER BY e.id DESC LIMIT 1) e ON true
	WHERE dd.device_id = v.id) f`

// diagnosedColumn tells whether the latest diagnosis of the device v's
// current cycle is complete.
const diagnosedColumn = `coalesce((SELECT g.complete FROM diagnoses g WHERE g.device_id = v.id AND g.cycle = v.cycle
	ORDER BY g.id DESC LIMIT 1), false)`

// deviceFilesJSONColumn is a device's files as a JSON array (deviceFileJSON's
// keys), photos then documents, oldest first, as DeviceFiles lists them;
// NULL without files.
const deviceFilesJSONColumn = `(SELECT json_agg(json_build_object('id', f.id, 'kind', f.kind, 'key', f.storage_key,
	'thumb', coalesce(f.thumb_key, ''), 'type', f.content_type, 'size', f.size, 'sha256', f.sha256,
	'name', f.original_name, 'at', f.created_at) ORDER BY f.kind DESC, f.id) FROM device_files f WHERE f.device_id = v.id)`

// devicePageColumns are a device page's columns, in pageRow's order.
const devicePageColumns = deviceDetailColumns + `, ` + deviceFilesJSONColumn + `,
	f.drives, f.erased, f.failed, ` + diagnosedColumn

var (
	deviceDetailQuery = dollars(`SELECT ` + deviceDetailColumns + deviceRowFrom + ` WHERE v.id = ? AND ` + donationScopeCond)
	devicePageQuery   = dollars(`SELECT ` + devicePageColumns + deviceRowFrom + driveFactsJoin + ` WHERE v.id = ? AND ` + donationScopeCond)
	// sessionDevicePageQuery is devicePageQuery and the session's read
	// in one statement, without scope (SessionDevicePage).
	sessionDevicePageQuery = dollars(`SELECT ` + devicePageColumns + `, ` + sessionColumnsS + deviceRowFrom + driveFactsJoin +
		`,` + sessionFromS + ` WHERE v.id = ? AND ` + sessionLiveS)
	deviceFactsQuery = dollars(`SELECT v.id, v.state, v.version, v.cycle, v.category, coalesce(d.workshop_org_id, 0), v.location,
			v.storage_drives, v.os, coalesce(v.grade, ''), v.recycling_batch_id IS NOT NULL, f.drives, f.erased, f.failed, ` +
		diagnosedColumn + ` FROM devices v JOIN donations d ON d.id = v.donation_id` + driveFactsJoin +
		` WHERE v.id = ? AND ` + donationScopeCond)
)

// DevicePageQuery is the statement DevicePage runs ($1: the device's id;
// $2, $3 the scope's donor, $4, $5 its workshop, 0 for any), for the
// lookup benchmark's floor, which runs the same SELECT in a bare handler
// (docs/benchmarks.md).
func DevicePageQuery() string { return devicePageQuery }

// scanDeviceDetail scans deviceDetailColumns, then extra.
func scanDeviceDetail(row interface{ Scan(...any) error }, extra ...any) (DeviceDetail, error) {
	var (
		dd           DeviceDetail
		drives       []byte
		ram, battery pgtype.Int4 // not pointers: tagViewRow says why
		screen       pgtype.Float8
	)
	r, err := scanDeviceRow(row, append([]any{&dd.DonorOrgID, &dd.Specs.CPU, &ram, &screen,
		&battery, &dd.Specs.OS, &dd.Specs.ConditionNotes, &dd.UpdatedAt, &dd.Version, &dd.Cycle, &dd.Grade,
		&dd.GradeSuggested, &dd.GradeReason, &dd.Location, &dd.StateSince, &dd.RecyclingBatchID, &drives}, extra...)...)
	if err != nil {
		return DeviceDetail{}, err
	}
	dd.DeviceRow = r
	dd.Specs.RAMGB, dd.Specs.BatteryHealthPct = nullable(int(ram.Int32), ram.Valid), nullable(int(battery.Int32), battery.Valid)
	dd.Specs.ScreenInches = nullable(screen.Float64, screen.Valid)
	if drives != nil {
		if err := json.Unmarshal(drives, &dd.Specs.Drives); err != nil {
			return DeviceDetail{}, fmt.Errorf("drives: %w", err)
		}
	}
	return dd, nil
}

// deviceDetail is Device: one statement over primary keys and indexes.
func (db *DB) deviceDetail(ctx context.Context, id int64, scope DonationScope) (DeviceDetail, error) {
	start := time.Now()
	dd, err := scanDeviceDetail(db.pool.QueryRow(ctx, deviceDetailQuery,
		id, scope.DonorOrgID, scope.DonorOrgID, scope.WorkshopOrgID, scope.WorkshopOrgID))
	db.traced(ctx, "device", start, err)
	if err != nil {
		return DeviceDetail{}, fmt.Errorf("device %d: %w", id, notFound(err, "device.error.not_found"))
	}
	return dd, nil
}

// DevicePage is everything the device page shows: the device as Device
// returns it, its files as DeviceFiles lists them, and its state and facts
// as DeviceFacts returns them.
type DevicePage struct {
	Device DeviceDetail
	Files  []DeviceFile
	State  DeviceState
	Facts  lifecycle.Facts
}

// deviceFileJSON is a DeviceFile as deviceFilesJSONColumn spells it.
type deviceFileJSON struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Key       string    `json:"key"`
	Thumb     string    `json:"thumb"`
	Type      string    `json:"type"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"at"`
}

// DevicePage returns one device the scope may see with its files and
// lifecycle facts, in one statement; any other device is not found. The
// facts are read without a lock: for showing the next steps, not for
// taking one (TransitionDevice reads them again under the row lock).
func (db *DB) DevicePage(ctx context.Context, id int64, scope DonationScope) (DevicePage, error) {
	var r pageRow
	start := time.Now()
	dd, err := scanDeviceDetail(db.pool.QueryRow(ctx, devicePageQuery,
		id, scope.DonorOrgID, scope.DonorOrgID, scope.WorkshopOrgID, scope.WorkshopOrgID), r.dests()...)
	db.traced(ctx, "device page", start, err)
	if err != nil {
		return DevicePage{}, fmt.Errorf("device %d: %w", id, notFound(err, "device.error.not_found"))
	}
	return r.page(dd)
}

// SessionDevicePage reads a session cookie and a device page in one
// statement — what a technician's phone asks after every scan; one round
// trip instead of two (docs/benchmarks.md). It returns the session's
// principal (as SessionPrincipal) and the whole page, for the caller to
// take Within the principal's scope: nothing of it is shown before. When
// the statement finds no row, the session alone is read again to tell a
// session gone (Unauthorized, no principal) from an unknown device (the
// principal and NotFound).
func (db *DB) SessionDevicePage(ctx context.Context, hash []byte, now time.Time, idle time.Duration, id int64) (*account.Principal,
	DevicePage, error) {
	var (
		r  pageRow
		dd DeviceDetail
	)
	p, err := db.sessionJoined(ctx, "session and device page", hash, now, idle, sessionDevicePageQuery, []any{id},
		func(row pgx.Row, session []any) (err error) {
			dd, err = scanDeviceDetail(row, append(r.dests(), session...)...)
			return err
		}, func() error {
			return fmt.Errorf("device %d: %w", id, berriz.E(berriz.NotFound, "device.error.not_found"))
		})
	if p == nil || err != nil {
		return p, DevicePage{}, err
	}
	dp, err := r.page(dd)
	return p, dp, err
}

// Within is the page if the scope may see its device, else not found,
// exactly as DevicePage answers a device outside its scope.
func (p DevicePage) Within(sc DonationScope) (DevicePage, error) {
	if !sc.holds(p.Device.DonorOrgID, p.Device.WorkshopOrgID) {
		return DevicePage{}, fmt.Errorf("device %d: %w", p.Device.ID, berriz.E(berriz.NotFound, "device.error.not_found"))
	}
	return p, nil
}

// pageRow holds what a device page reads beyond deviceDetailColumns.
type pageRow struct {
	files []byte
	facts lifecycle.Facts
}

func (r *pageRow) dests() []any {
	return []any{&r.files, &r.facts.Drives, &r.facts.DrivesErased, &r.facts.DrivesFailed, &r.facts.Diagnosed}
}

// page finishes a device page from its scanned row.
func (r *pageRow) page(dd DeviceDetail) (DevicePage, error) {
	p := DevicePage{Device: dd, Facts: r.facts}
	p.State = DeviceState{ID: dd.ID, State: lifecycle.State(dd.State), Version: dd.Version, Cycle: dd.Cycle}
	p.Facts.StorageDrives, p.Facts.OS, p.Facts.Grade = dd.StorageDrives, dd.Specs.OS, dd.Grade
	p.Facts.InRecyclingBatch, p.Facts.NeedsOS = dd.RecyclingBatchID != 0, device.NeedsOS(dd.Category)
	if r.files != nil {
		var fs []deviceFileJSON
		if err := json.Unmarshal(r.files, &fs); err != nil {
			return DevicePage{}, fmt.Errorf("files of device %d: %w", dd.ID, err)
		}
		p.Files = make([]DeviceFile, len(fs))
		for i, f := range fs {
			// Local, as the driver answers times: the same value as
			// DeviceFiles', zone included.
			p.Files[i] = DeviceFile{ID: f.ID, DeviceID: dd.ID, Kind: f.Kind, Key: f.Key, ThumbKey: f.Thumb, ContentType: f.Type,
				Size: f.Size, SHA256: f.SHA256, OriginalName: f.Name, CreatedAt: f.CreatedAt.Local()}
		}
	}
	return p, nil
}

// deviceFactsOf is DeviceFacts: the device's state and facts in one
// statement, without a lock.
func (db *DB) deviceFactsOf(ctx context.Context, id int64, scope DonationScope) (lockedDevice, error) {
	var (
		d     lockedDevice
		grade string
	)
	start := time.Now()
	err := db.pool.QueryRow(ctx, deviceFactsQuery,
		id, scope.DonorOrgID, scope.DonorOrgID, scope.WorkshopOrgID, scope.WorkshopOrgID).Scan(
		&d.ID, &d.State, &d.Version, &d.Cycle, &d.Category, &d.WorkshopOrgID, &d.Location,
		&d.Facts.StorageDrives, &d.Facts.OS, &grade, &d.Facts.InRecyclingBatch,
		&d.Facts.Drives, &d.Facts.DrivesErased, &d.Facts.DrivesFailed, &d.Facts.Diagnosed)
	db.traced(ctx, "device facts", start, err)
	if err != nil {
		return lockedDevice{}, notFound(err, "device.error.not_found")
	}
	d.Facts.Grade, d.Facts.NeedsOS = grade, device.NeedsOS(d.Category)
	return d, nil
}

// traced logs a statement run through database/sql as GORM's logger logs
// its own (db.go, gormlog.go): failures other than "no row", and
// statements slower than slowQuery; at debug level, every other one.
func (db *DB) traced(ctx context.Context, what string, start time.Time, err error) {
	elapsed := time.Since(start)
	switch {
	case err != nil && !isNoRows(err):
		db.log.ErrorContext(ctx, "query failed", "component", "postgres", "query", what, "error", err.Error(),
			"duration", elapsed.String())
	case elapsed > slowQuery:
		db.log.WarnContext(ctx, "slow query", "component", "postgres", "query", what, "duration", elapsed.String())
	case db.log.Enabled(ctx, slog.LevelDebug):
		// Every statement of the hot path at debug level: tests count
		// them (a scan is one statement: auth_joined.go).
		db.log.LogAttrs(ctx, slog.LevelDebug, "statement", slog.String("component", "postgres"), slog.String("query", what),
			slog.Duration("duration", elapsed))
	}
}
