package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/tag"
	"gorm.io/gorm"
)

// Erasure certificates: one per device and workshop cycle, issued once
// every recorded drive of the cycle is verified erased (or destroyed, or
// the device has none) and the device has left the erasure step — when it
// enters wiped, or on the first download if issuing failed then. The
// device's row lock and the unique (device_id, cycle) make a second
// certificate of the same cycle impossible, whatever two requests do at
// once. The certificate's facts are kept as issued (content) with the
// checksum of its PDF, for the public check page.

// ErasureCertificate is an issued certificate; its PDF is in storage under
// Key.
type ErasureCertificate struct {
	ID        int64               `json:"id"`
	DeviceID  int64               `json:"device_id"`
	Cycle     int                 `json:"cycle"`
	Number    string              `json:"number"`
	Token     string              `json:"-"`
	Key       string              `json:"-"`
	Size      int64               `json:"size"`
	SHA256    string              `json:"sha256"`
	IssuedAt  time.Time           `json:"issued_at"`
	Content   erasure.Certificate `json:"-"`
	CreatedBy int64               `json:"-"`
}

// CertificateBlob is where a rendered certificate was stored.
type CertificateBlob struct {
	Key    string
	Size   int64
	SHA256 string
}

// certificateStates are the states past the erasure step: a device in
// one of them has (or gets) the certificate of its cycle.
var certificateStates = []lifecycle.State{lifecycle.Wiped, lifecycle.Refurbished, lifecycle.Available, lifecycle.Reserved,
	lifecycle.Delivered, lifecycle.Recycled, lifecycle.Dismantled}

// CertificateDue reports whether a device in state st with facts f is due
// its cycle's certificate: past the erasure step, with every recorded
// drive verified erased.
func CertificateDue(st lifecycle.State, f lifecycle.Facts) bool {
	return slices.Contains(certificateStates, st) && f.Drives >= f.StorageDrives && f.DrivesErased >= f.Drives
}

const certificateColumns = `c.id, c.device_id, c.cycle, c.number, c.verify_token, c.storage_key, c.size, c.sha256,
	c.created_at, c.content, coalesce(c.created_by, 0)`

func scanCertificate(row interface{ Scan(...any) error }) (ErasureCertificate, error) {
	var c ErasureCertificate
	var content []byte
	if err := row.Scan(&c.ID, &c.DeviceID, &c.Cycle, &c.Number, &c.Token, &c.Key, &c.Size, &c.SHA256, &c.IssuedAt, &content,
		&c.CreatedBy); err != nil {
		return ErasureCertificate{}, err
	}
	if err := json.Unmarshal(content, &c.Content); err != nil {
		return ErasureCertificate{}, fmt.Errorf("content of certificate %d: %w", c.ID, err)
	}
	return c, nil
}

// IssueErasureCertificate returns the certificate of a device's current
// cycle, issuing it first when there is none yet: under the device's row
// lock it gathers the certificate's facts, numbers it, and calls render,
// which writes and stores the PDF (a concurrent request waits on the lock
// and finds the certificate issued). issued reports whether this call
// issued it. A device not due its certificate is a conflict. When the
// transaction fails after render stored a blob, the caller deletes it.
func (db *DB) IssueErasureCertificate(ctx context.Context, deviceID int64, scope DonationScope, lang string,
	actor *account.Principal, render func(c erasure.Certificate, token string) (CertificateBlob, error)) (ErasureCertificate, bool, error) {
	var (
		out    ErasureCertificate
		issued bool
	)
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		d, err := lockDeviceFacts(tx, deviceID, scope)
		if err != nil {
			return err
		}
		out, err = scanCertificate(tx.Raw(`SELECT `+certificateColumns+` FROM erasure_certificates c
			WHERE c.device_id = ? AND c.cycle = ?`, d.ID, d.Cycle).Row())
		if err == nil || !isNoRows(err) {
			return err
		}
		if !CertificateDue(d.State, d.Facts) {
			return berriz.E(berriz.Conflict, "erasure.error.certificate_not_due").WithKeyArg("state", d.State.Key())
		}
		content, err := certificateContent(tx, d, lang)
		if err != nil {
			return err
		}
		token, err := newVerifyToken()
		if err != nil {
			return err
		}
		blob, err := render(content, token)
		if err != nil {
			return fmt.Errorf("render certificate %s: %w", content.Number, err)
		}
		raw, err := json.Marshal(content)
		if err != nil {
			return err
		}
		var createdBy int64
		if actor != nil {
			createdBy = actor.UserID
		}
		out, err = scanCertificate(tx.Raw(`INSERT INTO erasure_certificates AS c (device_id, cycle, number, verify_token,
				storage_key, size, sha256, content, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?::jsonb, nullif(?, 0), ?) RETURNING `+certificateColumns,
			d.ID, d.Cycle, content.Number, token, blob.Key, blob.Size, blob.SHA256, string(raw), createdBy, content.IssuedAt).Row())
		if err != nil {
			return err
		}
		detail, err := json.Marshal(map[string]string{"number": out.Number, "sha256": out.SHA256})
		if err != nil {
			return err
		}
		place, err := devicePlace(tx, d.WorkshopOrgID, d.Location)
		if err != nil {
			return err
		}
		issued = true
		return appendDeviceEvent(tx, d.ID, actor, DeviceEvent{Kind: EventCertified, From: string(d.State), To: string(d.State),
			Place: place, Note: out.Number, Detail: string(detail)})
	})
	if err != nil {
		return ErasureCertificate{}, false, fmt.Errorf("erasure certificate of device %d: %w", deviceID, err)
	}
	return out, issued, nil
}

// certificateContent gathers what a certificate says about a locked
// device: the device, its donation and workshop, and each recorded drive
// with the latest erasure of the cycle for it, which passed verification
// (CertificateDue was checked). It takes the next number.
func certificateContent(tx *gorm.DB, d lockedDevice, lang string) (erasure.Certificate, error) {
	c := erasure.Certificate{Lang: lang, Cycle: d.Cycle}
	var (
		code string
		year int
		seq  int64
	)
	err := tx.Raw(`SELECT v.id, v.category, v.brand, v.model, v.serial, coalesce(t.code, ''), o.name, d.id, d.title,
			coalesce(w.name, ''), date_trunc('second', now()), extract(year FROM now() AT TIME ZONE 'Europe/Paris')::int,
			nextval('erasure_certificate_numbers')
		FROM devices v JOIN donations d ON d.id = v.donation_id JOIN organisations o ON o.id = d.donor_org_id
		LEFT JOIN organisations w ON w.id = d.workshop_org_id LEFT JOIN tags t ON t.device_id = v.id
		WHERE v.id = ?`, d.ID).Row().Scan(&c.Device.ID, &c.Device.Category, &c.Device.Brand, &c.Device.Model, &c.Device.Serial,
		&code, &c.Donor, &c.Donation.ID, &c.Donation.Title, &c.Workshop, &c.IssuedAt, &year, &seq)
	if err != nil {
		return erasure.Certificate{}, fmt.Errorf("certificate of device %d: %w", d.ID, err)
	}
	if code != "" {
		c.Tag = tag.Code(code).String()
	}
	c.Number = erasure.Number(year, seq)
	rows, err := tx.Raw(`SELECT `+erasureColumns+` FROM device_drives dd CROSS JOIN LATERAL (
			SELECT * FROM erasures x WHERE x.device_id = dd.device_id AND x.cycle = ? AND x.drive_position = dd.position
				AND x.drive_serial = dd.serial ORDER BY x.id DESC LIMIT 1) e
		WHERE dd.device_id = ? ORDER BY dd.position`, d.Cycle, d.ID).Rows()
	if err != nil {
		return erasure.Certificate{}, fmt.Errorf("erasures of device %d: %w", d.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanErasure(rows)
		if err != nil {
			return erasure.Certificate{}, fmt.Errorf("erasures of device %d: %w", d.ID, err)
		}
		if e.Verification != erasure.Passed {
			return erasure.Certificate{}, berriz.E(berriz.Conflict, "erasure.error.certificate_not_due").
				WithKeyArg("state", d.State.Key())
		}
		cd := erasure.CertifiedDrive{Drive: e.Drive, ErasureID: e.ID, Method: e.Method, Tool: e.Tool, ToolVersion: e.ToolVersion,
			Passes: e.Passes, Verification: e.Verification, StartedAt: e.StartedAt, EndedAt: e.EndedAt, Technician: e.TechnicianName}
		if e.Log != nil {
			cd.LogSHA256 = e.Log.SHA256
		}
		c.Drives = append(c.Drives, cd)
	}
	return c, rows.Err()
}

// newVerifyToken returns the random token of a certificate's check URL:
// 24 bytes, unguessable, URL-safe.
func newVerifyToken() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("certificate token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// DeviceCertificates returns a device's certificates (the device already
// checked to be in scope), newest cycle first.
func (db *DB) DeviceCertificates(ctx context.Context, deviceID int64) ([]ErasureCertificate, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT `+certificateColumns+` FROM erasure_certificates c
		WHERE c.device_id = ? ORDER BY c.cycle DESC`, deviceID).Rows()
	if err != nil {
		return nil, fmt.Errorf("certificates of device %d: %w", deviceID, err)
	}
	defer rows.Close()
	var out []ErasureCertificate
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, fmt.Errorf("certificates of device %d: %w", deviceID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// tokenRE is the shape of a check URL's token; anything else is not
// looked up.
var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// CertificateByToken returns the certificate a check URL names, for
// anyone holding it; an unknown or malformed token is not found.
func (db *DB) CertificateByToken(ctx context.Context, token string) (ErasureCertificate, error) {
	if !tokenRE.MatchString(token) {
		return ErasureCertificate{}, berriz.E(berriz.NotFound, "erasure.error.certificate_unknown")
	}
	c, err := scanCertificate(db.gorm.WithContext(ctx).Raw(`SELECT `+certificateColumns+` FROM erasure_certificates c
		WHERE c.verify_token = ?`, token).Row())
	if err != nil {
		return ErasureCertificate{}, fmt.Errorf("certificate: %w", notFound(err, "erasure.error.certificate_unknown"))
	}
	return c, nil
}
