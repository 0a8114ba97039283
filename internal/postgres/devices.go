package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"gorm.io/gorm"
)

// DeviceRow is a device as inventory lists show it: where it is (state and
// workshop), which donation it came with and its tag once linked.
type DeviceRow struct {
	Device
	DonationTitle string `json:"donation_title"`
	WorkshopOrgID int64  `json:"workshop_organisation_id,omitempty"`
	WorkshopName  string `json:"workshop_name,omitempty"`
	Tag           string `json:"tag,omitempty"` // canonical code, "" before intake
	// ErasureFailed flags a device held back because the latest erasure
	// of one of its drives failed verification (erasure.go).
	ErasureFailed bool `json:"erasure_failed"`
}

// DeviceDetail is one device with its specs and drives.
type DeviceDetail struct {
	DeviceRow
	DonorOrgID int64        `json:"donor_organisation_id"`
	Specs      device.Specs `json:"specs"`
	UpdatedAt  time.Time    `json:"updated_at"`
	// The lifecycle's bookkeeping: the version clients send back with a
	// change, the workshop cycle, the grade, the shelf and since when the
	// device is in its state.
	Version          int       `json:"version"`
	Cycle            int       `json:"cycle"`
	Grade            string    `json:"grade,omitempty"`
	GradeSuggested   string    `json:"grade_suggested,omitempty"`
	GradeReason      string    `json:"grade_reason,omitempty"`
	Location         string    `json:"location,omitempty"`
	StateSince       time.Time `json:"state_since"`
	RecyclingBatchID int64     `json:"recycling_batch_id,omitempty"`
}

// DeviceFilter narrows Devices and EachDevice; zero values match all.
type DeviceFilter struct {
	Scope      DonationScope
	State      string
	Category   string
	DonationID int64
	WorkshopID int64
	Page       int
}

const deviceRowColumns = `v.id, v.donation_id, v.line, v.category, v.brand, v.model, v.serial, coalesce(v.year, 0),
	v.storage_drives, v.weight_kg::float8, v.notes, v.state, v.created_at,
	d.title, coalesce(d.workshop_org_id, 0), coalesce(w.name, ''), coalesce(t.code, ''), ` + erasureFailedColumn

const deviceRowFrom = ` FROM devices v JOIN donations d ON d.id = v.donation_id
	LEFT JOIN organisations w ON w.id = d.workshop_org_id LEFT JOIN tags t ON t.device_id = v.id`

func (f DeviceFilter) where() (string, []any) {
	cond := donationScopeCond + ` AND (? = '' OR v.state = ?) AND (? = '' OR v.category = ?)
		AND (? = 0 OR v.donation_id = ?) AND (? = 0 OR d.workshop_org_id = ?)`
	return cond, append(f.Scope.args(), f.State, f.State, f.Category, f.Category, f.DonationID, f.DonationID,
		f.WorkshopID, f.WorkshopID)
}

func scanDeviceRow(row interface{ Scan(...any) error }, extra ...any) (DeviceRow, error) {
	var v DeviceRow
	err := row.Scan(append([]any{&v.ID, &v.DonationID, &v.Line, &v.Category, &v.Brand, &v.Model, &v.Serial, &v.Year,
		&v.StorageDrives, &v.WeightKg, &v.Notes, &v.State, &v.CreatedAt,
		&v.DonationTitle, &v.WorkshopOrgID, &v.WorkshopName, &v.Tag, &v.ErasureFailed}, extra...)...)
	return v, err
}

// Devices returns one page of the devices the filter matches, newest first.
func (db *DB) Devices(ctx context.Context, f DeviceFilter) ([]DeviceRow, Page, error) {
	cond, args := f.where()
	page := Page{Number: max(f.Page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM devices v JOIN donations d ON d.id = v.donation_id WHERE `+cond,
		args...).Row().Scan(&page.Total); err != nil {
		return nil, page, fmt.Errorf("count devices: %w", err)
	}
	var out []DeviceRow
	err := db.eachDevice(ctx, cond+` ORDER BY v.id DESC LIMIT ? OFFSET ?`, append(args, PageSize, offset(f.Page)),
		func(v DeviceRow) error { out = append(out, v); return nil })
	return out, page, err
}

// EachDevice calls fn with every device the filter matches (its page is
// ignored), oldest first, reading rows as they come: an export of the
// whole inventory never sits in memory.
func (db *DB) EachDevice(ctx context.Context, f DeviceFilter, fn func(DeviceRow) error) error {
	cond, args := f.where()
	return db.eachDevice(ctx, cond+` ORDER BY v.id`, args, fn)
}

func (db *DB) eachDevice(ctx context.Context, where string, args []any, fn func(DeviceRow) error) error {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT `+deviceRowColumns+deviceRowFrom+` WHERE `+where, args...).Rows()
	if err != nil {
		return fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanDeviceRow(rows)
		if err != nil {
			return fmt.Errorf("list devices: %w", err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// DeviceCategories returns the categories of the devices the scope sees,
// for the inventory filter.
func (db *DB) DeviceCategories(ctx context.Context, scope DonationScope) ([]string, error) {
	var out []string
	err := db.gorm.WithContext(ctx).Raw(`SELECT DISTINCT v.category FROM devices v JOIN donations d ON d.id = v.donation_id
		WHERE `+donationScopeCond+` ORDER BY 1`, scope.args()...).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("device categories: %w", err)
	}
	return out, nil
}

// Device returns one device the scope may see, with its specs and drives;
// any other is not found.
func (db *DB) Device(ctx context.Context, id int64, scope DonationScope) (DeviceDetail, error) {
	return db.deviceDetail(ctx, id, scope) // one statement, drives included: devicepage.go
}

// lockScopedDevice takes a row lock on a device the scope may see, so that
// concurrent changes to it apply one after the other.
func lockScopedDevice(tx *gorm.DB, id int64, scope DonationScope) error {
	var got int64
	err := tx.Raw(`SELECT v.id FROM devices v JOIN donations d ON d.id = v.donation_id WHERE v.id = ? AND `+
		donationScopeCond+` FOR UPDATE OF v`, append([]any{id}, scope.args()...)...).Row().Scan(&got)
	return notFound(err, "device.error.not_found")
}

// SetDeviceSpecs replaces a device's specs and drives, in one transaction.
// The recorded drives also become its number of storage drives. From wiped
// on, the drives must stay as they are (a conflict otherwise): the rest of
// the specs still changes.
func (db *DB) SetDeviceSpecs(ctx context.Context, id int64, scope DonationScope, s device.Specs) error {
	if err := s.Validate(); err != nil {
		return err
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockScopedDevice(tx, id, scope); err != nil {
			return err
		}
		// Once erased, the drives change only by fitting parts (parts.go).
		frozen, err := drivesFrozen(tx, id, s.Drives)
		if err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE devices SET cpu = ?, ram_gb = ?, screen_inches = ?, battery_health_pct = ?, os = ?,
			condition_notes = ?, storage_drives = CASE WHEN ? THEN storage_drives ELSE ? END WHERE id = ?`, s.CPU, s.RAMGB,
			s.ScreenInches, s.BatteryHealthPct, s.OS, s.ConditionNotes, frozen, len(s.Drives), id).Error; err != nil {
			return err
		}
		if frozen {
			return nil
		}
		if err := tx.Exec(`DELETE FROM device_drives WHERE device_id = ?`, id).Error; err != nil {
			return err
		}
		for _, d := range s.Drives {
			if err := tx.Exec(`INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES (?, ?, ?, ?, ?)`,
				id, d.Position, string(d.Type), d.CapacityGB, d.Serial).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set specs of device %d: %w", id, err)
	}
	return nil
}

// File kinds of a device.
const (
	FilePhoto    = "photo"
	FileDocument = "document"
)

// DeviceFile is a photo or document of a device; its bytes are in storage
// under Key (and the photo's thumbnail under ThumbKey).
type DeviceFile struct {
	ID           int64     `json:"id"`
	DeviceID     int64     `json:"device_id"`
	Kind         string    `json:"kind"`
	Key          string    `json:"-"`
	ThumbKey     string    `json:"-"`
	ContentType  string    `json:"content_type"`
	Size         int64     `json:"size"`
	SHA256       string    `json:"sha256"`
	OriginalName string    `json:"original_name"`
	CreatedAt    time.Time `json:"created_at"`
}

// KB is the file's size in kilobytes, rounded up, for display.
func (f DeviceFile) KB() int64 { return (f.Size + 999) / 1000 }

const deviceFileColumns = `f.id, f.device_id, f.kind, f.storage_key, coalesce(f.thumb_key, ''), f.content_type, f.size,
	f.sha256, f.original_name, f.created_at`

func scanDeviceFile(row interface{ Scan(...any) error }) (DeviceFile, error) {
	var f DeviceFile
	err := row.Scan(&f.ID, &f.DeviceID, &f.Kind, &f.Key, &f.ThumbKey, &f.ContentType, &f.Size, &f.SHA256, &f.OriginalName, &f.CreatedAt)
	return f, err
}

// AddDeviceFile records a file already stored, refusing a photo beyond
// device.MaxPhotos (counted under the device's row lock, so two uploads at
// once cannot both be the fifth).
func (db *DB) AddDeviceFile(ctx context.Context, scope DonationScope, f DeviceFile, actor *account.Principal) (DeviceFile, error) {
	var userID int64
	if actor != nil {
		userID = actor.UserID
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockScopedDevice(tx, f.DeviceID, scope); err != nil {
			return err
		}
		if f.Kind == FilePhoto {
			var n int
			if err := tx.Raw(`SELECT count(*) FROM device_files WHERE device_id = ? AND kind = 'photo'`, f.DeviceID).
				Row().Scan(&n); err != nil {
				return err
			}
			if n >= device.MaxPhotos {
				return berriz.FieldErrors{"photo": "device.error.photo_count"}.Err()
			}
		}
		var thumb any
		if f.ThumbKey != "" {
			thumb = f.ThumbKey
		}
		return tx.Raw(`INSERT INTO device_files (device_id, kind, storage_key, thumb_key, content_type, size, sha256,
			original_name, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0)) RETURNING id, created_at`,
			f.DeviceID, f.Kind, f.Key, thumb, f.ContentType, f.Size, f.SHA256, f.OriginalName, userID).Row().Scan(&f.ID, &f.CreatedAt)
	})
	if err != nil {
		return DeviceFile{}, fmt.Errorf("add file to device %d: %w", f.DeviceID, err)
	}
	return f, nil
}

// DeviceFiles returns the files of a device (already checked to be in
// scope), photos then documents, oldest first.
func (db *DB) DeviceFiles(ctx context.Context, deviceID int64) ([]DeviceFile, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+deviceFileColumns+` FROM device_files f WHERE f.device_id = $1
		ORDER BY f.kind DESC, f.id`, deviceID)
	if err != nil {
		return nil, fmt.Errorf("files of device %d: %w", deviceID, err)
	}
	defer rows.Close()
	var out []DeviceFile
	for rows.Next() {
		f, err := scanDeviceFile(rows)
		if err != nil {
			return nil, fmt.Errorf("files of device %d: %w", deviceID, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeviceFile returns one file of a device the scope may see; any other is
// not found.
func (db *DB) DeviceFile(ctx context.Context, deviceID, fileID int64, scope DonationScope) (DeviceFile, error) {
	f, err := scanDeviceFile(db.gorm.WithContext(ctx).Raw(`SELECT `+deviceFileColumns+` FROM device_files f
		JOIN devices v ON v.id = f.device_id JOIN donations d ON d.id = v.donation_id
		WHERE f.id = ? AND f.device_id = ? AND `+donationScopeCond, append([]any{fileID, deviceID}, scope.args()...)...).Row())
	if err != nil {
		return DeviceFile{}, fmt.Errorf("file %d of device %d: %w", fileID, deviceID, notFound(err, "device.error.file_not_found"))
	}
	return f, nil
}

// DeleteDeviceFile removes a file's record and returns it, so the caller
// deletes its blobs once the removal is committed.
func (db *DB) DeleteDeviceFile(ctx context.Context, deviceID, fileID int64, scope DonationScope) (DeviceFile, error) {
	var f DeviceFile
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockScopedDevice(tx, deviceID, scope); err != nil {
			return err
		}
		var err error
		f, err = scanDeviceFile(tx.Raw(`DELETE FROM device_files f WHERE f.id = ? AND f.device_id = ? RETURNING `+
			deviceFileColumns, fileID, deviceID).Row())
		return notFound(err, "device.error.file_not_found")
	})
	if err != nil {
		return DeviceFile{}, fmt.Errorf("delete file %d of device %d: %w", fileID, deviceID, err)
	}
	return f, nil
}
