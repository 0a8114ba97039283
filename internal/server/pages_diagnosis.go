package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// A device's diagnosis and grade: the checklist of its category's family
// (internal/diagnosis), filled in by its workshop and kept append-only,
// with the grade the rules suggest; then the grade itself, given after
// erasure, with a reason when it differs from the suggestion
// (docs/grading.md). Reading follows the inventory's scope (a donor sees
// its devices' diagnoses, read-only); writing is the holding workshop's or
// an operator's. The JSON face is api_diagnosis.go, with the same calls.

// diagnosisRoutes lists the routes of this area; routes() appends them to
// the table.
func (s *Server) diagnosisRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodGet, "/devices/:id/diagnosis", "device_diagnosis", Inventory, s.deviceDiagnosis},
		{http.MethodPost, "/devices/:id/diagnosis", "device_diagnosis_record", Workshop, s.deviceDiagnosisRecord},
		{http.MethodGet, "/devices/:id/grade", "device_grade", Inventory, s.deviceGrade},
		{http.MethodPost, "/devices/:id/grade", "device_grade_set", Workshop, s.deviceGradeSet},
		{http.MethodGet, v1 + "/checklists/:category", "api_checklist", SignedIn, s.apiChecklist},
		{http.MethodGet, v1 + "/devices/:id/diagnoses", "api_device_diagnoses", Inventory, s.apiDeviceDiagnoses},
		{http.MethodPost, v1 + "/devices/:id/diagnoses", "api_device_diagnosis_record", Workshop, s.apiRecordDiagnosis},
		{http.MethodPut, v1 + "/devices/:id/grade", "api_device_grade", Workshop, s.apiSetGrade},
	}
}

// checklistOf is the checklist of a device's category.
func checklistOf(d postgres.DeviceDetail) (diagnosis.Checklist, error) {
	c, ok := diagnosis.ForCategory(d.Category)
	if !ok {
		return diagnosis.Checklist{}, errors.New("no checklist for category " + d.Category)
	}
	return c, nil
}

// recordDiagnosis is both faces' way to record a diagnosis: the form's
// values parsed against the device's checklist, then the store.
func (s *Server) recordDiagnosis(c *echo.Context, d postgres.DeviceDetail, scope postgres.DonationScope,
	in diagnosis.Input) (postgres.DiagnosisRecord, error) {
	list, err := checklistOf(d)
	if err != nil {
		return postgres.DiagnosisRecord{}, err
	}
	parsed, fe := list.Parse(in)
	if fe != nil {
		return postgres.DiagnosisRecord{}, fe.Err()
	}
	return s.store.RecordDiagnosis(c.Request().Context(), d.ID, scope, parsed, principalOf(c))
}

// latestDiagnosis returns the diagnosis of the device's current cycle that
// counts, or nil before the first.
func (s *Server) latestDiagnosis(c *echo.Context, d postgres.DeviceDetail) (*postgres.DiagnosisRecord, error) {
	rec, err := s.store.LatestDiagnosis(c.Request().Context(), d.ID, d.Cycle)
	if berriz.KindOf(err) == berriz.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// suggestionView is a suggested grade in words.
type suggestionView struct {
	Grade    string   // A, B, C, or "" (none, or no suggestion yet)
	Headline string   // what the rules say, translated
	Reasons  []string // why, translated
}

func (s *Server) suggestionOf(lang i18n.Lang, list diagnosis.Checklist, sug diagnosis.Suggestion) suggestionView {
	v := suggestionView{Grade: string(sug.Grade)}
	switch {
	case !sug.Complete:
		v.Headline = s.cat.T(lang, "diagnosis.suggested.incomplete", nil)
	case sug.Grade == diagnosis.None:
		v.Headline = s.cat.T(lang, "diagnosis.suggested.none", nil)
	default:
		v.Headline = s.cat.T(lang, "diagnosis.suggested.grade", map[string]string{"grade": string(sug.Grade)})
	}
	for _, r := range sug.Reasons {
		args := map[string]string{}
		for k, val := range r.Args {
			args[k] = val
		}
		var names []string
		for _, id := range r.Items {
			it, _ := list.Item(id)
			names = append(names, s.cat.T(lang, it.Label(), nil))
		}
		args["items"] = strings.Join(names, ", ")
		v.Reasons = append(v.Reasons, s.cat.T(lang, r.Key, args))
	}
	return v
}

// diagnosisItem is one test of the form, with its current answer.
type diagnosisItem struct {
	diagnosis.Item
	ResultField, NoteField string
	Result, Note           string
}

type diagnosisPage struct {
	Device    postgres.DeviceDetail
	Checklist diagnosis.Checklist
	Items     []diagnosisItem
	Cosmetic  string
	Notes     string
	// CanEdit: the viewer may record a diagnosis now; Closed: staff, but
	// the device's state does not allow it (the message says why).
	CanEdit    bool
	Closed     string
	Latest     *postgres.DiagnosisRecord
	Suggestion suggestionView
	Count      int    // diagnoses of the current cycle
	Battery    bool   // the family has a battery: show its health from the specs
	BatteryPct string // that health, "" when not recorded
}

// diagnosisLabels names the form's fields for the error summary.
func diagnosisLabels(list diagnosis.Checklist) map[string]string {
	m := map[string]string{diagnosis.FieldCosmetic: "diagnosis.field.cosmetic", diagnosis.FieldNotes: "diagnosis.field.notes"}
	for _, it := range list.Items {
		m[diagnosis.FieldResult(it.ID)] = it.Label()
		m[diagnosis.FieldNote(it.ID)] = it.Label()
	}
	return m
}

// deviceDiagnosis shows the checklist of the device's family: a form
// pre-filled with the latest diagnosis of the cycle for its workshop, the
// results read-only for anyone else who sees the device.
func (s *Server) deviceDiagnosis(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	return s.diagnosisRender(c, http.StatusOK, d, nil, nil)
}

// diagnosisRender shows the page; f and in are a failed form and its
// values as typed.
func (s *Server) diagnosisRender(c *echo.Context, status int, d postgres.DeviceDetail, f *Form, in diagnosis.Input) error {
	list, err := checklistOf(d)
	if err != nil {
		return err
	}
	latest, err := s.latestDiagnosis(c, d)
	if err != nil {
		return err
	}
	lang := langOf(c)
	data := diagnosisPage{Device: d, Checklist: list, Latest: latest, Battery: list.HasBattery()}
	if b := d.Specs.BatteryHealthPct; b != nil {
		data.BatteryPct = strconv.Itoa(*b)
	}
	if account.Authorize(Workshop, principalOf(c), true) == nil {
		data.CanEdit = postgres.DiagnosisOpen(lifecycle.State(d.State))
		if !data.CanEdit {
			data.Closed = s.errorText(lang, berriz.E(berriz.Conflict, "diagnosis.error.state").
				WithKeyArg("state", lifecycle.State(d.State).Key()))
		}
	}
	if latest != nil {
		data.Suggestion = s.suggestionOf(lang, list, latest.Suggestion())
		if data.Count, err = s.store.DiagnosisCount(c.Request().Context(), d.ID, d.Cycle); err != nil {
			return err
		}
		if in == nil {
			in = diagnosis.InputOf(latest.Diagnosis)
		}
	}
	data.Cosmetic, data.Notes = in[diagnosis.FieldCosmetic], in[diagnosis.FieldNotes]
	for _, it := range list.Items {
		r, n := diagnosis.FieldResult(it.ID), diagnosis.FieldNote(it.ID)
		data.Items = append(data.Items, diagnosisItem{Item: it, ResultField: r, NoteField: n, Result: in[r], Note: in[n]})
	}
	pg := s.newPage(c, "diagnosis.title", data)
	pg.Title = s.cat.T(lang, "category."+d.Category, nil) + " " + d.Brand + " " + d.Model + " · " + pg.Title
	pg.Form = f
	return s.renderPage(c, status, "device_diagnosis", pg)
}

// deviceDiagnosisRecord records the form. A complete diagnosis leads back
// to the device page, where the next step appears; a partial one stays on
// the checklist to be finished.
func (s *Server) deviceDiagnosisRecord(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	list, err := checklistOf(d)
	if err != nil {
		return err
	}
	f := s.newForm(c, diagnosisLabels(list))
	in := diagnosis.Input{}
	for field := range f.Labels {
		in[field] = f.Values.Get(field)
	}
	rec, err := s.recordDiagnosis(c, d, scope, in)
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		if fresh, lerr := s.store.Device(c.Request().Context(), d.ID, scope); lerr == nil {
			d = fresh
		}
		return s.diagnosisRender(c, status, d, f, in)
	}
	if !rec.Complete {
		s.SetFlash(c, "info", "diagnosis.flash.partial")
		return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID)+"/diagnosis")
	}
	s.SetFlash(c, "success", "diagnosis.flash.complete")
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID))
}
