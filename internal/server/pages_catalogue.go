package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The catalogue (docs/matching.md): the available devices, filtered by
// category and minimum specs, 25 a page, for operators and for the
// beneficiaries that have an open request. A beneficiary reserves a device
// for one of its lines the device meets and that still needs one: a button
// per such line on the device's row. The JSON API (api_matching.go) makes
// the same calls.

// errCatalogueClosed answers a beneficiary without an open request.
var errCatalogueClosed = &berriz.Error{Kind: berriz.Forbidden, Code: "catalogue_closed", Message: "matching.error.catalogue_closed"}

// catalogueAccess says whether the caller may see the catalogue, and the
// organisation whose lines it reserves for (0: an operator, who may
// reserve for any line through the API).
func (s *Server) catalogueAccess(c *echo.Context) (int64, error) {
	p := principalOf(c)
	if p.IsOperator() {
		return 0, nil
	}
	open, err := s.store.HasOpenRequest(c.Request().Context(), p.OrgID)
	if err != nil {
		return 0, err
	}
	if !open {
		return 0, errCatalogueClosed
	}
	return p.OrgID, nil
}

var catalogueLabels = map[string]string{
	allocation.FieldCategory: "matching.filter.category", allocation.FieldMinGrade: "matching.filter.grade",
	allocation.FieldMinRAM: "matching.filter.ram", allocation.FieldMinDisk: "matching.filter.storage",
	allocation.FieldMinScreen: "matching.filter.screen", "for": "matching.filter.for",
}

// gradeOptions are the choices of a minimum grade.
var gradeOptions = []adminOption{{"", "matching.filter.any_grade"}, {"A", "matching.filter.grade_a"},
	{"B", "matching.filter.grade_b"}, {"C", "matching.filter.grade_c"}}

type cataloguePage struct {
	Open       bool // the caller may see the catalogue
	Operator   bool
	Categories []adminOption
	Grades     []adminOption
	For        []lineOption // the caller's lines that still need devices
	Devices    []catalogueRow
	Total      int
	Pager      Pager
}

// lineOption is a line the catalogue may reserve for, written out.
type lineOption struct {
	ID       string
	Label    string
	Selected bool
}

// catalogueRow is a device with the line its button reserves it for: the
// line chosen above the list, or else the most demanding of the caller's
// lines it meets (allocation.CompareDemand); nil when it meets none.
type catalogueRow struct {
	postgres.CatalogueDevice
	Specs string
	Line  *postgres.OpenLine
	// Reserve is where its button posts: with the filters and the page,
	// to come back to them.
	Reserve string
}

// catalogue shows the filters and one page of the available devices.
func (s *Server) catalogue(c *echo.Context) error {
	return s.catalogueRender(c, http.StatusOK, nil)
}

// catalogueRender shows the catalogue with the query's filters: the
// category and minimums typed, narrowed by the line chosen in "for" (its
// category and minimums), so that choosing a line lists what it may take.
func (s *Server) catalogueRender(c *echo.Context, status int, fail *Form) error {
	org, err := s.catalogueAccess(c)
	if errors.Is(err, errCatalogueClosed) {
		return s.render(c, http.StatusOK, "catalogue", "matching.catalogue.title", cataloguePage{})
	}
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	lang := langOf(c)
	p := principalOf(c)
	d := cataloguePage{Open: true, Operator: p.IsOperator(), Grades: gradeOptions,
		Categories: []adminOption{{"", "matching.filter.any_category"}}}
	cats, err := s.store.CatalogueCategories(ctx)
	if err != nil {
		return err
	}
	for _, cat := range cats {
		d.Categories = append(d.Categories, adminOption{cat, categoryKey(cat)})
	}
	var lines []postgres.OpenLine
	if !d.Operator {
		if lines, err = s.store.OpenLines(ctx, org); err != nil {
			return err
		}
	}
	f := s.newForm(c, catalogueLabels)
	f.Values = c.QueryParams() // the filters, also when a reservation was refused
	if fail != nil {
		f.Message = fail.Message
	}
	filter, fe := allocation.ParseCatalogueFilter(f.Values.Get)
	var chosen *postgres.OpenLine
	if v := f.Values.Get("for"); v != "" {
		for i := range lines {
			if strconv.FormatInt(lines[i].ID, 10) == v {
				chosen = &lines[i]
			}
		}
		if chosen == nil {
			if fe == nil {
				fe = berriz.FieldErrors{}
			}
			fe.Add("for", "matching.error.line_not_found")
		}
	}
	for _, l := range lines {
		d.For = append(d.For, lineOption{ID: strconv.FormatInt(l.ID, 10), Selected: chosen != nil && chosen.ID == l.ID,
			Label: s.cat.T(lang, "matching.filter.for_line", map[string]string{"request": strconv.FormatInt(l.RequestID, 10),
				"line": strconv.Itoa(l.Line), "spec": s.minimumText(lang, l.Spec), "need": strconv.Itoa(l.Need)})})
	}
	if fe != nil {
		st, _ := s.failForm(c, f, fe.Err())
		return s.renderForm(c, st, "catalogue", "matching.catalogue.title", f, d)
	}
	var devices []postgres.CatalogueDevice
	page, ok := postgres.Page{Number: pageParam(c)}, true
	if chosen != nil {
		filter, ok = allocation.NarrowFilter(filter, chosen.Spec) // not ok: another category than the line's
	}
	if ok {
		if devices, page, err = s.store.Catalogue(ctx, filter, pageParam(c)); err != nil {
			return err
		}
	}
	d.Total, d.Pager = page.Total, pagerOn(c, page, "/catalogue")
	query := c.QueryParams().Encode()
	for _, dev := range devices {
		row := catalogueRow{CatalogueDevice: dev, Specs: s.specsText(lang, dev), Line: chosen,
			Reserve: localURL(lang, "/catalogue/"+strconv.FormatInt(dev.ID, 10)+"/reserve")}
		if query != "" {
			row.Reserve += "?" + query
		}
		for i := range lines {
			if chosen == nil && lines[i].Spec.Meets(dev.Specs()) &&
				(row.Line == nil || allocation.CompareDemand(lines[i].Spec, row.Line.Spec) > 0) {
				row.Line = &lines[i]
			}
		}
		d.Devices = append(d.Devices, row)
	}
	if fail != nil {
		return s.renderForm(c, status, "catalogue", "matching.catalogue.title", f, d)
	}
	return s.render(c, http.StatusOK, "catalogue", "matching.catalogue.title", d)
}

// reserveFromCatalogue is the one reservation path of the page and the
// API: the device of the URL for the line given, within the caller's
// organisation (operators: any).
func (s *Server) reserveFromCatalogue(c *echo.Context, line int64) (postgres.Reservation, error) {
	org, err := s.catalogueAccess(c)
	if err != nil {
		return postgres.Reservation{}, err
	}
	device, err := idParam(c, "device")
	if err != nil {
		return postgres.Reservation{}, err
	}
	return s.store.ReserveFromCatalogue(c.Request().Context(), device, line, org, principalOf(c))
}

// catalogueReserve reserves a device from its row's button, which names
// the line; then back to the same page of the catalogue, or the page again
// with the reason of a refusal.
func (s *Server) catalogueReserve(c *echo.Context) error {
	if _, err := s.catalogueAccess(c); err != nil {
		return err
	}
	f := s.newForm(c, nil)
	line, err := strconv.ParseInt(f.Values.Get("line"), 10, 64)
	if err != nil || line <= 0 {
		err = berriz.E(berriz.Invalid, "matching.error.line_required")
	} else {
		_, err = s.reserveFromCatalogue(c, line)
	}
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		return s.catalogueRender(c, status, f)
	}
	s.SetFlash(c, "success", "matching.flash.reserved")
	back := localURL(langOf(c), "/catalogue")
	if q := c.QueryParams(); len(q) > 0 {
		back += "?" + url.Values(q).Encode()
	}
	return c.Redirect(http.StatusSeeOther, back)
}

// pagerOn links the pages of a listing shown at path (without language),
// whatever URL answered: a refused POST shows the listing again, and its
// pages are the listing's, not the POST's.
func pagerOn(c *echo.Context, page postgres.Page, path string) Pager {
	q := url.Values{}
	for k, v := range c.QueryParams() {
		q[k] = v
	}
	return Pager{Number: page.Number, Pages: page.Pages(), path: localURL(langOf(c), path), query: q}
}
