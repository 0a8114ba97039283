package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/tag"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"gorm.io/gorm"
)

// Intake: a workshop links a blank tag to a declared device (or to a device
// found in the box) and the device is received, in one transaction. Locks
// are always taken in the same order — tag, device, donation — so
// concurrent intakes queue instead of deadlocking, and exactly one of two
// intakes of the same tag or device wins.

// Device states used by intake (the lifecycle of DOMAIN.md).
const (
	DeviceDeclared = "declared"
	DeviceReceived = "received"
)

// IntakeResult is what an intake or a "receive" did.
type IntakeResult struct {
	Code     tag.Code
	Device   Device
	Donation Donation // its state after the intake
}

// TaggedDevice is what a tag code leads to: the tag, its device once
// linked, and the workshop holding that device's donation (0: none).
type TaggedDevice struct {
	Tag           Tag
	Device        *Device
	WorkshopOrgID int64
}

const deviceColumns = `v.id, v.donation_id, v.line, v.category, v.brand, v.model, v.serial, coalesce(v.year, 0),
	v.storage_drives, v.weight_kg::float8, v.notes, v.state, v.created_at`

func scanDevice(s interface{ Scan(...any) error }) (Device, error) {
	var v Device
	err := s.Scan(&v.ID, &v.DonationID, &v.Line, &v.Category, &v.Brand, &v.Model, &v.Serial, &v.Year,
		&v.StorageDrives, &v.WeightKg, &v.Notes, &v.State, &v.CreatedAt)
	return v, err
}

// DeviceByTag returns a tag and, once linked, its device, or NotFound keyed
// error.tag_unknown. Callers decide who may see what. Every scan of a
// staff phone (/t/<code>) runs it, so it is one statement over primary
// keys through pgx directly, neither GORM nor database/sql (devicepage.go
// says why).
func (db *DB) DeviceByTag(ctx context.Context, code tag.Code) (TaggedDevice, error) {
	var r taggedRow
	start := time.Now()
	err := db.pool.QueryRow(ctx, deviceByTagQuery, string(code)).Scan(r.dests()...)
	db.traced(ctx, "device by tag", start, err)
	if err != nil {
		return TaggedDevice{}, fmt.Errorf("tag %s: %w", code, notFound(err, "error.tag_unknown"))
	}
	return r.tagged(), nil
}

// SessionDeviceByTag reads a session cookie and DeviceByTag in one
// statement: a staff phone's scan (/t/<code>) is one round trip instead of
// two (docs/benchmarks.md). It returns the session's principal (as
// SessionPrincipal) and what DeviceByTag returns, which leaves to the
// caller who may see what. When the statement finds no row, the session
// alone is read again to tell a session gone (Unauthorized, no principal)
// from an unknown code (the principal and NotFound).
func (db *DB) SessionDeviceByTag(ctx context.Context, hash []byte, now time.Time, idle time.Duration, code tag.Code) (
	*account.Principal, TaggedDevice, error) {
	var r taggedRow
	p, err := db.sessionJoined(ctx, "session and device by tag", hash, now, idle, sessionDeviceByTagQuery, []any{string(code)},
		func(row pgx.Row, session []any) error { return row.Scan(append(r.dests(), session...)...) },
		func() error { return fmt.Errorf("tag %s: %w", code, berriz.E(berriz.NotFound, "error.tag_unknown")) })
	if p == nil || err != nil {
		return p, TaggedDevice{}, err
	}
	return p, r.tagged(), nil
}

// taggedRow holds one row of deviceByTagColumns as scanned (nullable
// columns into pgtype's values: tagViewRow says why).
type taggedRow struct {
	out                TaggedDevice
	raw                string
	linkedID, deviceID pgtype.Int8
	linkedAt           pgtype.Timestamptz
	v                  Device
}

func (r *taggedRow) dests() []any {
	t, v := &r.out.Tag, &r.v
	return []any{&r.raw, &t.BatchID, &t.OrgID, &r.linkedID, &r.linkedAt, &t.CreatedAt, &r.deviceID,
		&v.DonationID, &v.Line, &v.Category, &v.Brand, &v.Model, &v.Serial, &v.Year,
		&v.StorageDrives, &v.WeightKg, &v.Notes, &v.State, &v.CreatedAt, &r.out.WorkshopOrgID}
}

func (r *taggedRow) tagged() TaggedDevice {
	out := r.out
	out.Tag.Code = tag.Code(r.raw)
	out.Tag.DeviceID, out.Tag.LinkedAt = nullable(r.linkedID.Int64, r.linkedID.Valid), nullable(r.linkedAt.Time, r.linkedAt.Valid)
	if !r.deviceID.Valid {
		return out
	}
	v := r.v
	v.ID = r.deviceID.Int64
	out.Device = &v
	return out
}

// deviceByTagColumns and deviceByTagFrom read the tag (tagColumns) and,
// once linked, its device (deviceColumns, NULL-safe: a blank tag joins no
// device) and the workshop holding the device's donation, in taggedRow's
// order.
const (
	deviceByTagColumns = `t.code, t.batch_id, b.organisation_id, t.device_id, t.linked_at, t.created_at,
	v.id, coalesce(v.donation_id, 0), coalesce(v.line, 0), coalesce(v.category, ''), coalesce(v.brand, ''),
	coalesce(v.model, ''), coalesce(v.serial, ''), coalesce(v.year, 0), coalesce(v.storage_drives, 0),
	coalesce(v.weight_kg, 0)::float8, coalesce(v.notes, ''), coalesce(v.state, ''), coalesce(v.created_at, t.created_at),
	coalesce(d.workshop_org_id, 0)`
	deviceByTagFrom = ` tags t JOIN tag_batches b ON b.id = t.batch_id LEFT JOIN devices v ON v.id = t.device_id
	LEFT JOIN donations d ON d.id = v.donation_id`
	deviceByTagQuery = `SELECT ` + deviceByTagColumns + ` FROM` + deviceByTagFrom + ` WHERE t.code = $1`
)

var sessionDeviceByTagQuery = dollars(`SELECT ` + deviceByTagColumns + `, ` + sessionColumnsS + ` FROM` + deviceByTagFrom + `,` +
	sessionFromS + ` WHERE t.code = ? AND ` + sessionLiveS)

// lockBlankTag locks a tag the workshop may use (its own, or one the
// operator generated; workshop 0: any) and checks it is blank.
func lockBlankTag(tx *gorm.DB, code tag.Code, workshop int64) error {
	var owner int64
	var kind account.OrgKind
	var device *int64
	err := tx.Raw(`SELECT b.organisation_id, o.kind, t.device_id FROM tags t JOIN tag_batches b ON b.id = t.batch_id
		JOIN organisations o ON o.id = b.organisation_id WHERE t.code = ? FOR UPDATE OF t`, string(code)).Row().Scan(&owner, &kind, &device)
	if err != nil {
		return notFound(err, "error.tag_unknown")
	}
	if workshop != 0 && owner != workshop && kind != account.KindOperator {
		return berriz.E(berriz.NotFound, "error.tag_unknown")
	}
	if device != nil {
		return berriz.E(berriz.Conflict, "error.tag_already_linked")
	}
	return nil
}

// lockDevice locks a device of a donation assigned to the workshop (0: any
// assigned donation) and returns it.
func lockDevice(tx *gorm.DB, id, workshop int64) (Device, error) {
	v, err := scanDevice(tx.Raw(`SELECT `+deviceColumns+` FROM devices v JOIN donations d ON d.id = v.donation_id
		WHERE v.id = ? AND d.workshop_org_id IS NOT NULL AND (? = 0 OR d.workshop_org_id = ?) FOR UPDATE OF v`,
		id, workshop, workshop).Row())
	return v, notFound(err, "scan.error.device_not_found")
}

// linkTag links a locked blank tag to a device that has none.
func linkTag(tx *gorm.DB, code tag.Code, deviceID int64, now time.Time) error {
	var n int64
	if err := tx.Raw(`SELECT count(*) FROM tags WHERE device_id = ?`, deviceID).Row().Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return berriz.E(berriz.Conflict, "scan.error.device_already_tagged")
	}
	return tx.Exec(`UPDATE tags SET device_id = ?, linked_at = ? WHERE code = ?`, deviceID, now, string(code)).Error
}

// receive moves a locked declared device to received, records the event
// and steps its donation forward: a device in the workshop's hands means
// the lot was collected, and the last declared device in means the lot is
// received. A closed donation takes no intake.
func receive(tx *gorm.DB, v *Device, actor *account.Principal, note string) error {
	state, workshop, err := lockDonation(tx, v.DonationID, DonationScope{})
	if err != nil {
		return err
	}
	if state == donation.Closed {
		return berriz.E(berriz.Conflict, "scan.error.donation_closed")
	}
	from := v.State
	if from != "" {
		if err := lifecycle.Check(lifecycle.State(from), lifecycle.Received, lifecycle.Intake, lifecycle.Facts{}); err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE devices SET state = ?, version = version + 1, state_since = now() WHERE id = ?`,
			DeviceReceived, v.ID).Error; err != nil {
			return err
		}
	}
	place, err := devicePlace(tx, workshop, "")
	if err != nil {
		return err
	}
	ev := DeviceEvent{Kind: EventState, From: from, To: DeviceReceived, Place: place, Note: note}
	if err := appendDeviceEvent(tx, v.ID, actor, ev); err != nil {
		return err
	}
	v.State = DeviceReceived
	if state == donation.Declared {
		if err := stepDonation(tx, v.DonationID, actor, state, donation.Collected); err != nil {
			return err
		}
		state = donation.Collected
	}
	if state != donation.Collected {
		return nil
	}
	var left int64
	if err := tx.Raw(`SELECT count(*) FROM devices WHERE donation_id = ? AND state = ?`, v.DonationID, DeviceDeclared).Row().Scan(&left); err != nil {
		return err
	}
	if left > 0 {
		return nil
	}
	return stepDonation(tx, v.DonationID, actor, state, donation.Received)
}

func stepDonation(tx *gorm.DB, id int64, actor *account.Principal, from, to donation.State) error {
	if err := from.CheckTransition(to); err != nil {
		return err
	}
	if err := tx.Exec(`UPDATE donations SET state = ?, version = version + 1 WHERE id = ?`, string(to), id).Error; err != nil {
		return err
	}
	return recordDonationEvent(tx, id, actor, "state_changed", from, to, "intake")
}

// IntakeDevice links a blank tag to a declared device of a donation
// assigned to the workshop (0 for operators: any assigned donation) and
// marks the device received. One tag, one device, for life: a linked tag or
// a device that already has one is refused as a conflict.
func (db *DB) IntakeDevice(ctx context.Context, code tag.Code, deviceID, workshop int64, actor *account.Principal,
	now time.Time) (IntakeResult, error) {
	var v Device
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockBlankTag(tx, code, workshop); err != nil {
			return err
		}
		var err error
		if v, err = lockDevice(tx, deviceID, workshop); err != nil {
			return err
		}
		if err := linkTag(tx, code, v.ID, now); err != nil {
			return err
		}
		if v.State != DeviceDeclared {
			return berriz.E(berriz.Conflict, "scan.error.device_not_declared")
		}
		return receive(tx, &v, actor, "")
	})
	if err != nil {
		return IntakeResult{}, fmt.Errorf("intake of device %d with tag %s: %w", deviceID, code, err)
	}
	return db.intakeResult(ctx, code, v)
}

func (db *DB) intakeResult(ctx context.Context, code tag.Code, v Device) (IntakeResult, error) {
	d, err := db.Donation(ctx, v.DonationID, DonationScope{})
	if err != nil {
		return IntakeResult{}, err
	}
	return IntakeResult{Code: code, Device: v, Donation: d}, nil
}

// CreateDeviceAtIntake adds a device nobody declared (found in the box) to
// a donation assigned to the workshop, links the blank tag to it and
// records it received, in one transaction. The line is validated by the
// caller (donation.Line rules); its quantity is ignored: one tag, one device.
func (db *DB) CreateDeviceAtIntake(ctx context.Context, code tag.Code, donationID, workshop int64, l donation.Line,
	actor *account.Principal, now time.Time) (IntakeResult, error) {
	var v Device
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockBlankTag(tx, code, workshop); err != nil {
			return err
		}
		var ok bool
		if err := tx.Raw(`SELECT true FROM donations d WHERE d.id = ? AND d.workshop_org_id IS NOT NULL AND (? = 0 OR d.workshop_org_id = ?)`,
			donationID, workshop, workshop).Row().Scan(&ok); err != nil {
			return notFound(err, "donation.error.not_found")
		}
		var year any
		if l.Year != 0 {
			year = l.Year
		}
		row := tx.Raw(`INSERT INTO devices (donation_id, line, category, brand, model, serial, year, storage_drives, weight_kg, notes, state)
			VALUES (?, (SELECT coalesce(max(line), 0) + 1 FROM devices WHERE donation_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id, donation_id, line, category, brand, model, serial, coalesce(year, 0), storage_drives,
				weight_kg::float8, notes, state, created_at`, donationID, donationID, l.Category, l.Brand, l.Model, l.Serial, year,
			l.StorageDrives, l.WeightKg, l.Notes, DeviceReceived).Row()
		var err error
		if v, err = scanDevice(row); err != nil {
			return err
		}
		if err := linkTag(tx, code, v.ID, now); err != nil {
			return err
		}
		v.State = "" // new: the event goes from nothing to received
		return receive(tx, &v, actor, "found at intake")
	})
	if err != nil {
		return IntakeResult{}, fmt.Errorf("new device at intake in donation %d with tag %s: %w", donationID, code, err)
	}
	return db.intakeResult(ctx, code, v)
}

// ReceiveTagged marks received the declared device a tag is already linked
// to (tags printed for chosen devices), for the "receive" action card.
func (db *DB) ReceiveTagged(ctx context.Context, code tag.Code, workshop int64, actor *account.Principal) (IntakeResult, error) {
	var v Device
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var device *int64
		if err := tx.Raw(`SELECT device_id FROM tags WHERE code = ? FOR UPDATE`, string(code)).Row().Scan(&device); err != nil {
			return notFound(err, "error.tag_unknown")
		}
		if device == nil {
			return berriz.E(berriz.Conflict, "scan.error.receive_blank")
		}
		var err error
		if v, err = lockDevice(tx, *device, workshop); err != nil {
			return err
		}
		if v.State != DeviceDeclared {
			return berriz.E(berriz.Conflict, "scan.error.already_received")
		}
		return receive(tx, &v, actor, "")
	})
	if err != nil {
		return IntakeResult{}, fmt.Errorf("receive device of tag %s: %w", code, err)
	}
	return db.intakeResult(ctx, code, v)
}

// IntakeCandidate is a declared device waiting for its tag.
type IntakeCandidate struct {
	Device
	DonationTitle string
	DonorName     string
}

// DeclaredDevices returns one page of the declared devices of the
// donations assigned to the workshop (0: every assigned donation), oldest
// donation first.
func (db *DB) DeclaredDevices(ctx context.Context, workshop int64, page int) ([]IntakeCandidate, Page, error) {
	cond := ` FROM devices v JOIN donations d ON d.id = v.donation_id JOIN organisations o ON o.id = d.donor_org_id
		WHERE v.state = 'declared' AND d.state <> 'closed' AND d.workshop_org_id IS NOT NULL AND (? = 0 OR d.workshop_org_id = ?)`
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*)`+cond, workshop, workshop).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count declared devices: %w", err)
	}
	rows, err := g.Raw(`SELECT `+deviceColumns+`, d.title, o.name`+cond+` ORDER BY d.id, v.id LIMIT ? OFFSET ?`,
		workshop, workshop, PageSize, offset(p.Number)).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("declared devices: %w", err)
	}
	defer rows.Close()
	var out []IntakeCandidate
	for rows.Next() {
		var c IntakeCandidate
		v := &c.Device
		if err := rows.Scan(&v.ID, &v.DonationID, &v.Line, &v.Category, &v.Brand, &v.Model, &v.Serial, &v.Year,
			&v.StorageDrives, &v.WeightKg, &v.Notes, &v.State, &v.CreatedAt, &c.DonationTitle, &c.DonorName); err != nil {
			return nil, p, fmt.Errorf("declared devices: %w", err)
		}
		out = append(out, c)
	}
	return out, p, rows.Err()
}

// IntakeDonations lists the open donations assigned to the workshop (0:
// any), newest first, for the "found in the box" form.
func (db *DB) IntakeDonations(ctx context.Context, workshop int64, limit int) ([]Donation, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT `+donationColumns+donationFrom+` WHERE d.state <> 'closed'
		AND d.workshop_org_id IS NOT NULL AND (? = 0 OR d.workshop_org_id = ?) ORDER BY d.id DESC LIMIT ?`,
		workshop, workshop, limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("intake donations: %w", err)
	}
	defer rows.Close()
	var out []Donation
	for rows.Next() {
		d, err := scanDonation(rows)
		if err != nil {
			return nil, fmt.Errorf("intake donations: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
