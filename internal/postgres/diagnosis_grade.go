package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/diagnosis"
	"gorm.io/gorm"
)

// The grade of a device: it overwrites what was there, so it takes the
// client's version under the row lock and refuses a stale one; it rests on
// the latest complete diagnosis of the cycle (docs/grading.md).

// Limits of a grade's reason (docs/grading.md).
const (
	MinGradeReason = 3
	MaxGradeReason = 500
)

// GradeInput gives a device its grade: the grade, the reason (required
// when it differs from the suggestion) and the device's version the client
// saw.
type GradeInput struct {
	Grade   diagnosis.Grade `json:"grade"`
	Reason  string          `json:"reason"`
	Version int             `json:"version"`
}

// GradeResult is the device after a grade.
type GradeResult struct {
	DeviceState
	Grade          diagnosis.Grade `json:"grade"`
	GradeSuggested diagnosis.Grade `json:"grade_suggested"`
	GradeReason    string          `json:"grade_reason"`
}

// Check validates the input's own fields (the grade, the reason's text)
// and returns it with the reason trimmed; the rules that need the device
// are SetGrade's.
func (g GradeInput) Check() (GradeInput, error) {
	f := berriz.FieldErrors{}
	if !g.Grade.Valid() {
		f.Add("grade", "diagnosis.error.grade")
	}
	g.Reason = strings.TrimSpace(strings.ReplaceAll(g.Reason, "\r\n", "\n"))
	switch {
	case !utf8.ValidString(g.Reason) || strings.ContainsFunc(g.Reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }):
		f.Add("reason", "error.invalid_text")
	case utf8.RuneCountInString(g.Reason) > MaxGradeReason:
		f.Add("reason", "diagnosis.error.reason_long")
	}
	return g, f.Err()
}

// SetGrade gives a device the scope may see its grade, if the version is
// the device's, the device is wiped or refurbished and its latest
// diagnosis of the cycle is complete; a grade other than the suggestion
// needs a reason. One transaction; the version grows.
func (db *DB) SetGrade(ctx context.Context, id int64, scope DonationScope, in GradeInput, actor *account.Principal) (GradeResult, error) {
	in, err := in.Check()
	if err != nil {
		return GradeResult{}, err
	}
	var out GradeResult
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		dev, err := lockDeviceFacts(tx, id, scope)
		if err != nil {
			return err
		}
		if in.Version != dev.Version {
			return staleDevice(dev.DeviceState)
		}
		if !GradeOpen(dev.State) {
			return berriz.E(berriz.Conflict, "diagnosis.error.grade_state").WithKeyArg("state", dev.State.Key()).
				WithDetail("state", string(dev.State)).WithDetail("version", dev.Version)
		}
		var (
			diagID    int64
			complete  bool
			suggested string
		)
		err = tx.Raw(`SELECT id, complete, coalesce(suggested_grade, '') FROM diagnoses WHERE device_id = ? AND cycle = ?
			ORDER BY id DESC LIMIT 1`, id, dev.Cycle).Row().Scan(&diagID, &complete, &suggested)
		if err != nil && !isNoRows(err) {
			return err
		}
		if !complete {
			return berriz.E(berriz.Conflict, "diagnosis.error.grade_needs_diagnosis").
				WithDetail("state", string(dev.State)).WithDetail("version", dev.Version)
		}
		if string(in.Grade) != suggested && utf8.RuneCountInString(in.Reason) < MinGradeReason {
			return berriz.FieldErrors{"reason": "diagnosis.error.reason_required"}.Err()
		}
		var userID int64
		if actor != nil {
			userID = actor.UserID
		}
		if err := tx.Raw(`UPDATE devices SET grade = ?, grade_reason = ?, graded_by = nullif(?, 0), graded_at = now(),
				version = version + 1 WHERE id = ? RETURNING id, state, version, cycle, coalesce(grade_suggested, '')`,
			string(in.Grade), in.Reason, userID, id).Row().
			Scan(&out.ID, &out.State, &out.Version, &out.Cycle, &out.GradeSuggested); err != nil {
			return err
		}
		out.Grade, out.GradeReason = in.Grade, in.Reason
		detail, err := json.Marshal(struct {
			Grade     string `json:"grade"`
			Suggested string `json:"suggested,omitempty"`
			Diagnosis int64  `json:"diagnosis"`
			Previous  string `json:"previous,omitempty"`
		}{string(in.Grade), suggested, diagID, dev.Facts.Grade})
		if err != nil {
			return err
		}
		place, err := devicePlace(tx, dev.WorkshopOrgID, dev.Location)
		if err != nil {
			return err
		}
		return appendDeviceEvent(tx, id, actor, DeviceEvent{Kind: EventGrade, From: string(dev.State), To: string(dev.State),
			Place: place, Note: in.Reason, Detail: string(detail)})
	})
	if err != nil {
		return GradeResult{}, fmt.Errorf("grade device %d: %w", id, err)
	}
	return out, nil
}
