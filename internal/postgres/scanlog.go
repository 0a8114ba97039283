package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The scan station's log: each user's last scans with what happened to the
// device each one named — done, refused with the lifecycle's reason, not
// found... The reason is a translation key whose placeholders (a state, a
// count) are kept next to it, so the line is shown in whatever language
// the reader uses later.

// Outcomes of a scan, from the station's point of view.
const (
	ScanDone     = "done"      // the action changed the device
	ScanInfo     = "info"      // nothing to change: a lookup, an action card, a device already there
	ScanRefused  = "refused"   // the rules refused it (the message says why)
	ScanNotFound = "not_found" // no such tag or device, as far as the scanner may know
	ScanInvalid  = "invalid"   // not a tag code nor a card
)

// ScanEntry is one scan to record.
type ScanEntry struct {
	Code     string            // the canonical tag code, the card's path, or what was typed (cut)
	Result   string            // translation key of what happened
	Outcome  string            // one of the Scan* outcomes
	Args     map[string]string // placeholder values of Result
	KeyArgs  map[string]string // placeholders filled with the translation of a key
	DeviceID int64
}

// ScanLine is one line of a user's recent scans.
type ScanLine struct {
	ScanEntry
	At     time.Time
	Device string // the device's brand and model (or number) when the scan named one
}

// scanLogLength is how many scans a user's log keeps.
const scanLogLength = 10

type scanArgs struct {
	A map[string]string `json:"a,omitempty"`
	K map[string]string `json:"k,omitempty"`
}

// RecordScan adds a scan to the user's log and forgets the older ones.
func (db *DB) RecordScan(ctx context.Context, userID int64, e ScanEntry) error {
	args, err := json.Marshal(scanArgs{A: e.Args, K: e.KeyArgs})
	if err != nil {
		return fmt.Errorf("log scan: %w", err)
	}
	if len(args) > 2000 {
		args = []byte("{}") // placeholders are short; never fail a scan over its log
	}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO scan_log (user_id, code, result, outcome, args, device_id)
			VALUES (?, ?, ?, ?, ?::jsonb, nullif(?, 0))`, userID, cut(e.Code, 40), e.Result, e.Outcome, string(args),
			e.DeviceID).Error; err != nil {
			return err
		}
		return tx.Exec(`DELETE FROM scan_log WHERE user_id = ? AND id < (SELECT id FROM scan_log WHERE user_id = ?
			ORDER BY id DESC OFFSET ? LIMIT 1)`, userID, userID, scanLogLength-1).Error
	})
	if err != nil {
		return fmt.Errorf("log scan of user %d: %w", userID, err)
	}
	return nil
}

// ScanLog returns the user's last scans, newest first, each with the
// device it named.
func (db *DB) ScanLog(ctx context.Context, userID int64) ([]ScanLine, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT s.at, s.code, s.result, s.outcome, s.args::text,
			coalesce(s.device_id, 0), coalesce(v.brand, ''), coalesce(v.model, ''), coalesce(t.code, '')
		FROM scan_log s LEFT JOIN devices v ON v.id = s.device_id LEFT JOIN tags t ON t.device_id = s.device_id
		WHERE s.user_id = ? ORDER BY s.id DESC LIMIT ?`, userID, scanLogLength).Rows()
	if err != nil {
		return nil, fmt.Errorf("scan log of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []ScanLine
	for rows.Next() {
		var (
			l                   ScanLine
			args                string
			brand, model, tcode string
		)
		if err := rows.Scan(&l.At, &l.Code, &l.Result, &l.Outcome, &args, &l.DeviceID, &brand, &model, &tcode); err != nil {
			return nil, fmt.Errorf("scan log of user %d: %w", userID, err)
		}
		var a scanArgs
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			return nil, fmt.Errorf("scan log of user %d: %w", userID, err)
		}
		l.Args, l.KeyArgs = a.A, a.K
		if l.DeviceID != 0 { // the line shows the tag already
			if l.Device = strings.TrimSpace(brand + " " + model); l.Device == "" {
				l.Device = labelOf(l.DeviceID, "", "", tcode)
			}
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// DeviceLabel names a device for the station's answers: its brand and
// model, and its tag once linked (or its number).
func (db *DB) DeviceLabel(ctx context.Context, id int64) (string, error) {
	return deviceLabel(db.gorm.WithContext(ctx), id)
}
