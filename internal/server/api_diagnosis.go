package server

import (
	"net/http"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The diagnosis and grade of the JSON API: the checklists, a device's
// diagnoses of its current cycle, recording one and giving the grade, with
// the same parsing (the form's, through diagnosis.Input), the same store
// calls and the same scope as the pages. Field errors name the body's
// fields: results.<test>.result, results.<test>.note, cosmetic, notes.

// apiChecklistItem is one test with its name in the caller's language.
type apiChecklistItem struct {
	diagnosis.Item
	Label string `json:"label"`
}

// apiChecklistBody is a checklist as clients fill it.
type apiChecklistBody struct {
	ID         string             `json:"id"`
	Family     string             `json:"family"`
	Categories []string           `json:"categories"`
	Items      []apiChecklistItem `json:"items"`
	Results    []diagnosis.Result `json:"results"`
	Cosmetic   []diagnosis.Grade  `json:"cosmetic"`
}

// apiChecklist is GET /checklists/{category}: the current checklist of the
// category's family. Any signed-in client may read it: it holds nothing
// about anyone.
func (s *Server) apiChecklist(c *echo.Context) error {
	list, ok := diagnosis.ForCategory(c.Param("category"))
	if !ok {
		return berriz.E(berriz.NotFound, "diagnosis.error.category_unknown")
	}
	lang := langOf(c)
	out := apiChecklistBody{ID: list.ID, Family: list.Family, Categories: list.Categories, Results: diagnosis.Results,
		Cosmetic: diagnosis.Grades}
	for _, it := range list.Items {
		out.Items = append(out.Items, apiChecklistItem{Item: it, Label: s.cat.T(lang, it.Label(), nil)})
	}
	return apiJSON(c, http.StatusOK, out)
}

// apiDiagnosis is a recorded diagnosis with the suggestion's reasons in
// the caller's language.
type apiDiagnosis struct {
	postgres.DiagnosisRecord
	Reasons []string `json:"reasons"`
}

func (s *Server) apiDiagnosisOf(c *echo.Context, r postgres.DiagnosisRecord) apiDiagnosis {
	list, _ := diagnosis.ByID(r.Checklist)
	return apiDiagnosis{DiagnosisRecord: r, Reasons: s.suggestionOf(langOf(c), list, r.Suggestion()).Reasons}
}

// apiDeviceDiagnoses is GET /devices/{id}/diagnoses: the diagnoses of the
// device's current cycle, newest first (the first one counts), with their
// results.
func (s *Server) apiDeviceDiagnoses(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	list, page, err := s.store.Diagnoses(c.Request().Context(), d.ID, d.Cycle, pageParam(c))
	if err != nil {
		return err
	}
	out := make([]apiDiagnosis, len(list))
	for i, r := range list {
		out[i] = s.apiDiagnosisOf(c, r)
	}
	return apiJSON(c, http.StatusOK, pageOf(out, page))
}

// apiAnswerInput is one test's answer in a request body.
type apiAnswerInput struct {
	Result string `json:"result"`
	Note   string `json:"note"`
}

// apiDiagnosisInput is the body of POST /devices/{id}/diagnoses: the
// answers by test id (tests left out are unanswered), the cosmetic
// condition and general notes.
type apiDiagnosisInput struct {
	Results  map[string]apiAnswerInput `json:"results"`
	Cosmetic string                    `json:"cosmetic"`
	Notes    string                    `json:"notes"`
}

// apiDiagnosisFields names the form's fields as the body does.
func apiDiagnosisFields(fe map[string]string) berriz.FieldErrors {
	out := berriz.FieldErrors{}
	for field, key := range fe {
		switch {
		case key == "diagnosis.error.empty":
			field = "results"
		case strings.HasPrefix(field, "result_"):
			field = "results." + strings.TrimPrefix(field, "result_") + ".result"
		case strings.HasPrefix(field, "note_"):
			field = "results." + strings.TrimPrefix(field, "note_") + ".note"
		}
		out.Add(field, key)
	}
	return out
}

// apiRecordDiagnosis is POST /devices/{id}/diagnoses.
func (s *Server) apiRecordDiagnosis(c *echo.Context) error {
	var body apiDiagnosisInput
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	list, err := checklistOf(d)
	if err != nil {
		return err
	}
	fe := berriz.FieldErrors{}
	in := diagnosis.Input{diagnosis.FieldCosmetic: body.Cosmetic, diagnosis.FieldNotes: body.Notes}
	for id, a := range body.Results {
		if _, ok := list.Item(id); !ok {
			fe.Add("results."+id, "diagnosis.error.item_unknown")
			continue
		}
		in[diagnosis.FieldResult(id)], in[diagnosis.FieldNote(id)] = a.Result, a.Note
	}
	if err := fe.Err(); err != nil {
		return err
	}
	rec, err := s.recordDiagnosis(c, d, scope, in)
	if be := berriz.As(err); err != nil && len(be.Fields) > 0 {
		return wrapCause(apiDiagnosisFields(be.Fields).Err(), err)
	}
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, s.apiDiagnosisOf(c, rec))
}

// apiSetGrade is PUT /devices/{id}/grade: {"grade", "reason", "version"}.
// A stale version, or a device that cannot be graded now, is a 409 whose
// details carry the device's fresh state and version.
func (s *Server) apiSetGrade(c *echo.Context) error {
	var in postgres.GradeInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	fe := berriz.FieldErrors{}
	if _, err := in.Check(); err != nil {
		for field, key := range berriz.As(err).Fields {
			fe.Add(field, key)
		}
	}
	if in.Version <= 0 {
		fe.Add("version", "lifecycle.error.version")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	out, err := s.store.SetGrade(c.Request().Context(), d.ID, scope, in, principalOf(c))
	if err != nil {
		return withFreshState(c, s, d.ID, scope, err)
	}
	return apiJSON(c, http.StatusOK, out)
}
