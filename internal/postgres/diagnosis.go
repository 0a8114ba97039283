package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/lifecycle"
	"gorm.io/gorm"
)

// Diagnoses and grades in the database. A diagnosis is append-only: each
// recording adds a row (and its results) under the device's row lock, the
// latest of the current cycle being the one that counts; the suggested
// grade is computed in the same transaction from the battery health the
// specs hold at that moment, which the row keeps. A grade overwrites the
// device's grade, so it takes the client's version and refuses a stale one.

// DiagnosisOpen reports whether a device in state st may be diagnosed: in
// the workshop, before publication.
func DiagnosisOpen(st lifecycle.State) bool {
	switch st {
	case lifecycle.Received, lifecycle.Diagnosed, lifecycle.Wiped, lifecycle.Refurbished, lifecycle.Returned:
		return true
	}
	return false
}

// GradeOpen reports whether a device in state st may be graded: after
// erasure, before publication.
func GradeOpen(st lifecycle.State) bool { return st == lifecycle.Wiped || st == lifecycle.Refurbished }

// DiagnosisRecord is a recorded diagnosis with its suggested grade and who
// recorded it.
type DiagnosisRecord struct {
	ID       int64 `json:"id"`
	DeviceID int64 `json:"device_id"`
	Cycle    int   `json:"cycle"`
	diagnosis.Diagnosis
	Complete bool `json:"complete"`
	// SuggestedGrade is A, B or C; "" when the diagnosis is incomplete or a
	// critical test failed (not reusable as it is).
	SuggestedGrade diagnosis.Grade `json:"suggested_grade"`
	// BatteryHealthPct is the battery health the suggestion read from the
	// specs (nil: not recorded).
	BatteryHealthPct *int      `json:"battery_health_pct"`
	CreatedBy        int64     `json:"created_by,omitempty"`
	CreatedByName    string    `json:"created_by_name,omitempty"` // while the account exists
	CreatedAt        time.Time `json:"created_at"`
}

// Suggestion recomputes the suggestion and its reasons from the record, as
// it was computed when recorded.
func (r DiagnosisRecord) Suggestion() diagnosis.Suggestion {
	c, _ := diagnosis.ByID(r.Checklist)
	return diagnosis.Suggest(c, r.Diagnosis, r.BatteryHealthPct)
}

// RecordDiagnosis adds a diagnosis of a device the scope may see, answered
// with the checklist of its category, and sets the device's suggested
// grade; one transaction. A grade already given is withdrawn (the grade
// rests on the latest diagnosis). The device must be in the workshop
// before publication.
func (db *DB) RecordDiagnosis(ctx context.Context, id int64, scope DonationScope, d diagnosis.Diagnosis,
	actor *account.Principal) (DiagnosisRecord, error) {
	var rec DiagnosisRecord
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		dev, err := lockDeviceFacts(tx, id, scope)
		if err != nil {
			return err
		}
		if !DiagnosisOpen(dev.State) {
			return berriz.E(berriz.Conflict, "diagnosis.error.state").WithKeyArg("state", dev.State.Key()).
				WithDetail("state", string(dev.State)).WithDetail("version", dev.Version)
		}
		c, ok := diagnosis.ForCategory(dev.Category)
		if !ok {
			return fmt.Errorf("no checklist for category %q", dev.Category)
		}
		if err := c.Validate(d); err != nil {
			return err
		}
		var battery sql.NullInt64
		if err := tx.Raw(`SELECT battery_health_pct FROM devices WHERE id = ?`, id).Row().Scan(&battery); err != nil {
			return err
		}
		rec = DiagnosisRecord{DeviceID: id, Cycle: dev.Cycle, Diagnosis: d}
		if battery.Valid {
			n := int(battery.Int64)
			rec.BatteryHealthPct = &n
		}
		s := diagnosis.Suggest(c, d, rec.BatteryHealthPct)
		rec.Complete, rec.SuggestedGrade = s.Complete, s.Grade
		if actor != nil {
			rec.CreatedBy, rec.CreatedByName = actor.UserID, actor.Name
		}
		if err := tx.Raw(`INSERT INTO diagnoses (device_id, cycle, checklist, complete, cosmetic, suggested_grade, notes,
				battery_health_pct, created_by)
			VALUES (?, ?, ?, ?, nullif(?, ''), nullif(?, ''), ?, ?, nullif(?, 0)) RETURNING id, created_at`,
			id, dev.Cycle, c.ID, rec.Complete, string(d.Cosmetic), string(s.Grade), d.Notes, rec.BatteryHealthPct,
			rec.CreatedBy).Row().Scan(&rec.ID, &rec.CreatedAt); err != nil {
			return err
		}
		if len(d.Answers) > 0 {
			q := `INSERT INTO diagnosis_results (diagnosis_id, item, result, note) VALUES ` +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", len(d.Answers)), ", ")
			args := make([]any, 0, 4*len(d.Answers))
			for _, a := range d.Answers {
				args = append(args, rec.ID, a.Item, string(a.Result), a.Note)
			}
			if err := tx.Exec(q, args...).Error; err != nil {
				return err
			}
		}
		withdrawn := dev.Facts.Grade
		q := `UPDATE devices SET grade_suggested = nullif(?, '')`
		if withdrawn != "" {
			q += `, grade = NULL, grade_reason = '', graded_by = NULL, graded_at = NULL, version = version + 1`
		}
		if err := tx.Exec(q+` WHERE id = ?`, string(s.Grade), id).Error; err != nil {
			return err
		}
		return appendDiagnosisEvent(tx, dev, actor, rec, withdrawn)
	})
	if err != nil {
		return DiagnosisRecord{}, fmt.Errorf("record diagnosis of device %d: %w", id, err)
	}
	return rec, nil
}

// appendDiagnosisEvent puts a diagnosis in the device's chained history:
// its id, list, results (without the notes) and outcome, so an audit sees
// a later change of the rows.
func appendDiagnosisEvent(tx *gorm.DB, dev lockedDevice, actor *account.Principal, rec DiagnosisRecord, withdrawn string) error {
	results := make([]string, len(rec.Answers))
	for i, a := range rec.Answers {
		results[i] = a.Item + ":" + string(a.Result)
	}
	detail, err := json.Marshal(struct {
		ID        int64    `json:"diagnosis"`
		Checklist string   `json:"checklist"`
		Results   []string `json:"results"`
		Cosmetic  string   `json:"cosmetic,omitempty"`
		Complete  bool     `json:"complete"`
		Suggested string   `json:"suggested,omitempty"`
		Battery   *int     `json:"battery,omitempty"`
		Withdrawn string   `json:"grade_withdrawn,omitempty"`
	}{rec.ID, rec.Checklist, results, string(rec.Cosmetic), rec.Complete, string(rec.SuggestedGrade), rec.BatteryHealthPct, withdrawn})
	if err != nil {
		return err
	}
	place, err := devicePlace(tx, dev.WorkshopOrgID, dev.Location)
	if err != nil {
		return err
	}
	return appendDeviceEvent(tx, dev.ID, actor, DeviceEvent{Kind: EventDiagnosis, From: string(dev.State),
		To: string(dev.State), Place: place, Detail: string(detail)})
}

const diagnosisColumns = `g.id, g.device_id, g.cycle, g.checklist, g.complete, coalesce(g.cosmetic, ''),
	coalesce(g.suggested_grade, ''), g.notes, g.battery_health_pct, coalesce(g.created_by, 0), coalesce(u.name, ''), g.created_at`

// Diagnoses returns one page of the diagnoses of a device (already checked
// to be in scope) in one cycle, newest first, with their results.
func (db *DB) Diagnoses(ctx context.Context, deviceID int64, cycle, page int) ([]DiagnosisRecord, Page, error) {
	p := Page{Number: max(page, 1)}
	var err error
	if p.Total, err = db.DiagnosisCount(ctx, deviceID, cycle); err != nil {
		return nil, p, err
	}
	out, err := db.diagnoses(ctx, `g.device_id = ? AND g.cycle = ? ORDER BY g.id DESC LIMIT ? OFFSET ?`,
		deviceID, cycle, PageSize, offset(p.Number))
	if err != nil {
		return nil, p, fmt.Errorf("diagnoses of device %d: %w", deviceID, err)
	}
	return out, p, nil
}

// DiagnosisCount counts the diagnoses of a device (already checked to be
// in scope) in a cycle.
func (db *DB) DiagnosisCount(ctx context.Context, deviceID int64, cycle int) (int, error) {
	var n int
	if err := db.gorm.WithContext(ctx).Raw(`SELECT count(*) FROM diagnoses WHERE device_id = ? AND cycle = ?`, deviceID, cycle).
		Row().Scan(&n); err != nil {
		return 0, fmt.Errorf("diagnoses of device %d: %w", deviceID, err)
	}
	return n, nil
}

// LatestDiagnosis returns the diagnosis that counts for a device (already
// checked to be in scope) in a cycle: the latest. None is NotFound.
func (db *DB) LatestDiagnosis(ctx context.Context, deviceID int64, cycle int) (DiagnosisRecord, error) {
	out, err := db.diagnoses(ctx, `g.device_id = ? AND g.cycle = ? ORDER BY g.id DESC LIMIT 1`, deviceID, cycle)
	switch {
	case err != nil:
		return DiagnosisRecord{}, fmt.Errorf("latest diagnosis of device %d: %w", deviceID, err)
	case len(out) == 0:
		return DiagnosisRecord{}, berriz.E(berriz.NotFound, "diagnosis.error.none")
	}
	return out[0], nil
}

// diagnoses reads the diagnoses a condition selects, then their results,
// put back in the order of each one's checklist.
func (db *DB) diagnoses(ctx context.Context, where string, args ...any) ([]DiagnosisRecord, error) {
	g := db.gorm.WithContext(ctx)
	rows, err := g.Raw(`SELECT `+diagnosisColumns+` FROM diagnoses g LEFT JOIN users u ON u.id = g.created_by WHERE `+where,
		args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		out   []DiagnosisRecord
		ids   []int64
		index = map[int64]int{}
	)
	for rows.Next() {
		var (
			r       DiagnosisRecord
			battery sql.NullInt64
		)
		if err := rows.Scan(&r.ID, &r.DeviceID, &r.Cycle, &r.Checklist, &r.Complete, &r.Cosmetic, &r.SuggestedGrade,
			&r.Notes, &battery, &r.CreatedBy, &r.CreatedByName, &r.CreatedAt); err != nil {
			return nil, err
		}
		if battery.Valid {
			n := int(battery.Int64)
			r.BatteryHealthPct = &n
		}
		r.Answers = []diagnosis.Answer{}
		index[r.ID] = len(out)
		ids = append(ids, r.ID)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return out, err
	}
	res, err := g.Raw(`SELECT diagnosis_id, item, result, note FROM diagnosis_results WHERE diagnosis_id IN ?`, ids).Rows()
	if err != nil {
		return nil, err
	}
	defer res.Close()
	for res.Next() {
		var (
			id int64
			a  diagnosis.Answer
		)
		if err := res.Scan(&id, &a.Item, &a.Result, &a.Note); err != nil {
			return nil, err
		}
		r := &out[index[id]]
		r.Answers = append(r.Answers, a)
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		c, _ := diagnosis.ByID(out[i].Checklist)
		order := func(item string) int {
			return slices.IndexFunc(c.Items, func(it diagnosis.Item) bool { return it.ID == item })
		}
		slices.SortFunc(out[i].Answers, func(a, b diagnosis.Answer) int { return order(a.Item) - order(b.Item) })
	}
	return out, nil
}
