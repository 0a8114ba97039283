package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// Avoided emissions (docs/emissions.md): the operator's factor sets —
// list, rows, import from the two CSV files, choice of the active one —
// and a device's results on its page and passport. The JSON face is
// api_emissions.go, documented in openapi/emissions.json.

// emissionRoutes lists the routes of this area; routes() appends them to
// the table.
func (s *Server) emissionRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodGet, "/admin/factor-sets", "factor_sets", Operator, s.factorSets},
		{http.MethodGet, "/admin/factor-sets/new", "factor_set_new", Operator, s.factorSetNew},
		{http.MethodPost, "/admin/factor-sets", "factor_set_import", Operator, s.factorSetImport},
		{http.MethodGet, "/admin/factor-sets/:id", "factor_set", Operator, s.factorSetShow},
		{http.MethodPost, "/admin/factor-sets/:id/activate", "factor_set_activate", Operator, s.factorSetActivate},

		{http.MethodGet, v1 + "/factor-sets", "api_factor_sets", Operator, s.apiFactorSets},
		{http.MethodPost, v1 + "/factor-sets", "api_factor_set_import", Operator, s.apiFactorSetImport},
		{http.MethodGet, v1 + "/factor-sets/:id", "api_factor_set", Operator, s.apiFactorSet},
		{http.MethodPost, v1 + "/factor-sets/:id/activate", "api_factor_set_activate", Operator, s.apiFactorSetActivate},
		{http.MethodGet, v1 + "/devices/:id/emissions", "api_device_emissions", Inventory, s.apiDeviceEmissions},
	}
}

// maxFactorFile bounds each uploaded CSV file: the embedded ones are a few
// kilobytes.
const maxFactorFile = 256 << 10

// fillBatch and fillBatches are the background job's batch size and its
// share of one tick: at most 20,000 results per tick, so that the jobs
// after it run on time.
const (
	fillBatch   = 1000
	fillBatches = 20
)

// fillEmissions is the background job that computes the results the
// active factor set still lacks (postgres.FillEmissions).
func (s *Server) fillEmissions(ctx context.Context, _ time.Time) error {
	n, err := s.store.FillAllEmissions(ctx, fillBatch, fillBatches)
	if n > 0 {
		s.log.Info("emission results computed", "results", n)
	}
	return err
}

type factorSetsPage struct {
	Sets []postgres.FactorSetInfo
}

// factorSets lists the factor sets.
func (s *Server) factorSets(c *echo.Context) error {
	sets, err := s.store.FactorSets(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "factor_sets", "emissions.sets.title", factorSetsPage{Sets: sets})
}

type factorSetPage struct {
	Set   postgres.FactorSetDetail
	Parts bool // the parts rows are shown, not the categories
	Rows  []categoryRow
}

// categoryRow is one category of a set, with its translated name's key.
type categoryRow struct {
	postgres.CategoryRow
	Key string
}

// factorSetShow shows one set: its categories, or its parts (?rows=parts),
// one table at a time so that the page stays light.
func (s *Server) factorSetShow(c *echo.Context) error {
	return s.factorSetRender(c, http.StatusOK, nil)
}

func (s *Server) factorSetRender(c *echo.Context, status int, f *Form) error {
	set, err := s.store.FactorSet(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	data := factorSetPage{Set: set, Parts: c.QueryParam("rows") == "parts"}
	for _, cat := range set.CategoryRows {
		data.Rows = append(data.Rows, categoryRow{CategoryRow: cat, Key: categoryKey(cat.Category)})
	}
	pg := s.newPage(c, "emissions.set.title", data)
	pg.Title, pg.Form = set.ID+" · "+pg.Title, f
	return s.renderPage(c, status, "factor_set", pg)
}

// factorSetActivate makes the set the active one, once the operator ticked
// the confirmation; the background job then computes the results it lacks.
func (s *Server) factorSetActivate(c *echo.Context) error {
	id := c.Param("id")
	f := s.newForm(c, map[string]string{"confirm": "emissions.activate.confirm"})
	if !f.Checked("confirm") {
		f.Errors["confirm"] = s.cat.T(langOf(c), "emissions.error.confirm", nil)
		return s.factorSetRender(c, http.StatusBadRequest, f)
	}
	if _, err := s.store.ActivateFactorSet(c.Request().Context(), id, principalOf(c)); err != nil {
		return err
	}
	s.SetFlash(c, "success", "emissions.flash.activated")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/admin/factor-sets/"+url.PathEscape(id)))
}

var factorSetLabels = map[string]string{
	postgres.FieldSetID: "emissions.field.id", postgres.FieldSetVersion: "emissions.field.version",
	postgres.FieldSetReleasedOn: "emissions.field.released_on", postgres.FieldSetDescription: "emissions.field.description",
	postgres.FieldSetCategories: "emissions.field.categories", postgres.FieldSetParts: "emissions.field.parts",
}

type factorSetNewPage struct {
	MaxKiB   int
	Problems []importProblem // the first shownProblems
	More     int             // how many more were found
}

// shownProblems bounds the problems a page lists (its DOM budget); the
// API gives them all.
const shownProblems = 20

// factorSetNew shows the import form.
func (s *Server) factorSetNew(c *echo.Context) error {
	return s.renderForm(c, http.StatusOK, "factor_set_new", "emissions.import.title", nil, factorSetNewPage{MaxKiB: maxFactorFile >> 10})
}

// importProblem is a line error of an import, translated.
type importProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message"` // what is wrong and how to fix it
}

// importProblems translates the line errors an import error carries.
func (s *Server) importProblems(c *echo.Context, err error) []importProblem {
	be := berriz.As(err)
	ps, _ := be.Details["problems"].([]postgres.ImportProblem)
	out := make([]importProblem, 0, len(ps))
	for _, p := range ps {
		out = append(out, importProblem{File: p.File, Line: p.Line, Column: p.Column, Value: p.Value,
			Message: s.cat.T(langOf(c), p.Key, map[string]string{"line": strconv.Itoa(p.Line), "column": p.Column,
				"value": p.Value, "want": p.Want, "max": strconv.Itoa(co2.MaxLineErrors)})})
	}
	return out
}

// readFactorImport reads the import's fields and files, from the form or
// the API's multipart body; a missing file is a field error.
func (s *Server) readFactorImport(c *echo.Context) (postgres.NewFactorSetImport, berriz.FieldErrors, error) {
	in := postgres.NewFactorSetImport{ID: c.FormValue(postgres.FieldSetID), Version: c.FormValue(postgres.FieldSetVersion),
		ReleasedOn: c.FormValue(postgres.FieldSetReleasedOn), Description: c.FormValue(postgres.FieldSetDescription)}
	fe := berriz.FieldErrors{}
	for _, file := range []struct {
		name string
		dst  *[]byte
	}{{postgres.FieldSetCategories, &in.Categories}, {postgres.FieldSetParts, &in.Parts}} {
		fh, err := c.FormFile(file.name)
		if err != nil {
			fe.Add(file.name, "emissions.error.file_required")
			continue
		}
		r, err := fh.Open()
		if err != nil {
			return in, nil, fmt.Errorf("open %s: %w", file.name, err)
		}
		b, err := io.ReadAll(io.LimitReader(r, maxFactorFile+1))
		_ = r.Close()
		if err != nil {
			return in, nil, fmt.Errorf("read %s: %w", file.name, err)
		}
		if len(b) > maxFactorFile {
			fe.Add(file.name, "emissions.error.file_large")
			continue
		}
		*file.dst = b
	}
	return in, fe, nil
}

// importFactorSet reads and imports a set (pages and API). A missing file
// is reported as such, with every problem of the rest: the store checks
// everything, and the missing file's "empty" line error gives way to the
// field's.
func (s *Server) importFactorSet(c *echo.Context) (postgres.FactorSetInfo, error) {
	in, missing, err := s.readFactorImport(c)
	if err != nil {
		return postgres.FactorSetInfo{}, err
	}
	set, err := s.store.ImportFactorSet(c.Request().Context(), in, principalOf(c))
	if err == nil || len(missing) == 0 {
		return set, err
	}
	be := berriz.As(err)
	if be.Kind != berriz.Invalid {
		return set, err
	}
	fields := berriz.FieldErrors{}
	for k, v := range be.Fields {
		fields[k] = v
	}
	for k, v := range missing {
		fields[k] = v
	}
	out := berriz.As(fields.Err())
	if ps, ok := be.Details["problems"].([]postgres.ImportProblem); ok {
		var kept []postgres.ImportProblem
		for _, p := range ps {
			if _, gone := missing[p.File]; !gone {
				kept = append(kept, p)
			}
		}
		if len(kept) > 0 {
			out = out.WithDetail("problems", kept)
		}
	}
	return set, out
}

// factorSetImport imports a set from the form: the form again with every
// problem (fields and lines), nothing saved; the new set's page otherwise.
func (s *Server) factorSetImport(c *echo.Context) error {
	f := s.newForm(c, factorSetLabels)
	set, err := s.importFactorSet(c)
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		ps := s.importProblems(c, err)
		data := factorSetNewPage{MaxKiB: maxFactorFile >> 10, Problems: ps[:min(len(ps), shownProblems)],
			More: max(0, len(ps)-shownProblems)}
		return s.renderForm(c, status, "factor_set_new", "emissions.import.title", f, data)
	}
	s.SetFlash(c, "success", "emissions.flash.imported")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/admin/factor-sets/"+url.PathEscape(set.ID)))
}

// emissionView is a device's current result as pages show it.
type emissionView struct {
	Net, Low, High string // kg CO2e, formatted
	Status         string // translation key
	Set, Version   string
	Method         string
}

var emissionStatusKeys = map[string]string{
	postgres.EmissionEstimated:    "emissions.status.estimated",
	postgres.EmissionConsolidated: "emissions.status.consolidated",
}

// emissionViewOf formats a result: to 0.1 kg for staff, to the kilogram
// for the public passport (precision the method does not have is not
// shown to the public).
func emissionViewOf(r postgres.EmissionResult, public bool) *emissionView {
	format := func(kg float64) string { return strconv.FormatFloat(co2.Round1(kg), 'f', 1, 64) }
	if public {
		format = func(kg float64) string { return strconv.FormatFloat(kg, 'f', 0, 64) }
	}
	return &emissionView{Net: format(r.NetKg), Low: format(r.LowKg), High: format(r.HighKg), Status: emissionStatusKeys[r.Status],
		Set: r.SetID, Version: r.SetVersion, Method: r.Method}
}

// deviceEmission reads a device's current result when it may have one (a
// device never delivered has none: the device page, which every scan
// opens, skips the read).
func (s *Server) deviceEmission(c *echo.Context, id int64, maybe, public bool) (*emissionView, error) {
	if !maybe {
		return nil, nil
	}
	r, ok, err := s.store.CurrentEmission(c.Request().Context(), id)
	if err != nil || !ok {
		return nil, err
	}
	return emissionViewOf(r, public), nil
}
