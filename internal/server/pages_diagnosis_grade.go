package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The grade page: the suggestion of the latest diagnosis and its reasons
// in words, and for the workshop the grade choice, with the reason the
// rules require when it differs from the suggestion. The form carries the
// device's version: a tab left open while someone else changed the device
// shows the page again, fresh, instead of overwriting their change.

type gradePage struct {
	Device     postgres.DeviceDetail
	Latest     *postgres.DiagnosisRecord
	Suggestion suggestionView
	Grades     []diagnosis.Grade
	// CanEdit: the form is shown; Blocked says why staff get no form.
	CanEdit bool
	Blocked string
	Grade   string // the choice shown: as typed, the grade, or the suggestion
	Reason  string
}

// gradeLabels names the form's fields for the error summary.
var gradeLabels = map[string]string{"grade": "diagnosis.grade.field", "reason": "diagnosis.grade.reason"}

func (s *Server) deviceGrade(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	return s.gradeRender(c, http.StatusOK, d, nil)
}

// gradeRender shows the grade page; f is a failed form, shown with its
// errors and values.
func (s *Server) gradeRender(c *echo.Context, status int, d postgres.DeviceDetail, f *Form) error {
	list, err := checklistOf(d)
	if err != nil {
		return err
	}
	latest, err := s.latestDiagnosis(c, d)
	if err != nil {
		return err
	}
	lang := langOf(c)
	data := gradePage{Device: d, Latest: latest, Grades: diagnosis.Grades, Grade: d.Grade, Reason: d.GradeReason}
	if latest != nil {
		data.Suggestion = s.suggestionOf(lang, list, latest.Suggestion())
		if data.Grade == "" {
			data.Grade = string(latest.SuggestedGrade)
		}
	}
	if account.Authorize(Workshop, principalOf(c), true) == nil {
		switch {
		case !postgres.GradeOpen(lifecycle.State(d.State)):
			data.Blocked = s.errorText(lang, berriz.E(berriz.Conflict, "diagnosis.error.grade_state").
				WithKeyArg("state", lifecycle.State(d.State).Key()))
		case latest == nil || !latest.Complete:
			data.Blocked = s.cat.T(lang, "diagnosis.error.grade_needs_diagnosis", nil)
		default:
			data.CanEdit = true
		}
	}
	if f != nil {
		data.Grade, data.Reason = f.Values.Get("grade"), f.Values.Get("reason")
	}
	pg := s.newPage(c, "diagnosis.grade.title", data)
	pg.Title = s.cat.T(lang, "category."+d.Category, nil) + " " + d.Brand + " " + d.Model + " · " + pg.Title
	pg.Form = f
	return s.renderPage(c, status, "device_grade", pg)
}

// deviceGradeSet gives the grade, then leads back to the device page where
// the next steps (refurbished, publish) appear.
func (s *Server) deviceGradeSet(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, gradeLabels)
	version, _ := strconv.Atoi(f.Values.Get("version"))
	if version <= 0 {
		version = -1 // a form always carries the version it showed
	}
	in := postgres.GradeInput{Grade: diagnosis.Grade(f.Values.Get("grade")), Reason: f.Values.Get("reason"), Version: version}
	if _, err := s.store.SetGrade(c.Request().Context(), d.ID, scope, in, principalOf(c)); err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		if fresh, lerr := s.store.Device(c.Request().Context(), d.ID, scope); lerr == nil {
			d = fresh
		}
		return s.gradeRender(c, status, d, f)
	}
	s.SetFlash(c, "success", "diagnosis.flash.graded")
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID))
}
