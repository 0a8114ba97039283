package server

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The spare-parts stock of a workshop: the list by state and kind (25 a
// page), a part bought new added to it, a part discarded with the reason.
// One page, three views: the list, ?add=1 (the form of a bought part) and
// ?discard=<id> (the confirmation with the reason), so that the list
// carries one link per part rather than a form. A workshop sees its own
// stock; operators see every workshop's, with a filter.

// stockView is one view of the stock page.
type stockView string

const (
	stockViewList    stockView = "list"
	stockViewAdd     stockView = "add"
	stockViewDiscard stockView = "discard"
)

// stockRow is a part of the list with the texts of its cells.
type stockRow struct {
	postgres.StockPart
	KindKey, StateKey, Summary, Origin string
	DiscardURL                         string
}

// stockFilterValues is the filter as typed, to show it again.
type stockFilterValues struct{ State, Kind, Workshop string }

type stockPage struct {
	View       stockView
	Rows       []stockRow
	Total      int
	Pager      Pager
	States     []keyOption
	Kinds      []keyOption
	Workshops  []workshopOption // operators only
	Filter     stockFilterValues
	ListURL    string
	AddURL     string
	PartKinds  []keyOption
	DriveTypes []keyOption
	Discard    *stockRow
}

var stockLabels = map[string]string{
	"workshop": "parts.field.workshop", "part_kind": "parts.field.part_kind", "part_description": "parts.field.part_description",
	"drive_type": "parts.field.drive_type", "capacity_gb": "parts.field.capacity", "serial": "parts.field.serial",
	"reason": "parts.field.reason",
}

// stockFilter reads the list's filter from the query; values that are not
// valid are ignored. Without a state in the query, the list shows the
// parts in stock.
func stockFilter(c *echo.Context) (postgres.StockFilter, stockFilterValues) {
	p := principalOf(c)
	f := postgres.StockFilter{WorkshopOrgID: scope(p), Page: pageParam(c), State: parts.InStock}
	v := stockFilterValues{State: string(parts.InStock)}
	if q := c.QueryParams(); q.Has("state") {
		f.State, v.State = "", ""
		if st := parts.StockState(q.Get("state")); st.Valid() {
			f.State, v.State = st, string(st)
		}
	}
	if k := c.QueryParam("kind"); parts.ValidKind(k) {
		f.Kind, v.Kind = k, k
	}
	if n, err := strconv.ParseInt(c.QueryParam("workshop"), 10, 64); err == nil && n > 0 && p.IsOperator() {
		f.WorkshopOrgID, v.Workshop = n, strconv.FormatInt(n, 10)
	}
	return f, v
}

// stockRowOf says what a part is, where it comes from and where it went.
func (s *Server) stockRowOf(c *echo.Context, sp postgres.StockPart, allWorkshops bool) stockRow {
	lang := langOf(c)
	r := stockRow{StockPart: sp, KindKey: parts.KindKey(sp.Kind), StateKey: sp.State.Key(),
		Summary: s.partSummary(lang, sp.Description, sp.DriveType, sp.CapacityGB, sp.Serial)}
	r.Origin = s.cat.T(lang, sp.Condition.Key(), nil)
	if sp.SourceDeviceID != 0 {
		r.Origin = s.cat.T(lang, "parts.stock.from_device", map[string]string{"id": strconv.FormatInt(sp.SourceDeviceID, 10)})
	}
	if allWorkshops {
		r.Origin = sp.WorkshopName + " · " + r.Origin
	}
	switch sp.State {
	case parts.Fitted:
		r.Origin += " · " + s.cat.T(lang, "parts.stock.fitted_to", map[string]string{"id": strconv.FormatInt(sp.FittedDeviceID, 10)})
	case parts.Discarded:
		r.Origin += " · " + s.cat.T(lang, "parts.stock.discarded_for", map[string]string{"reason": sp.DiscardReason})
	case parts.InStock:
		q := c.QueryParams()
		q.Del("add")
		q.Set("discard", strconv.FormatInt(sp.ID, 10))
		r.DiscardURL = localURL(lang, "/stock") + "?" + q.Encode()
	}
	return r
}

func (s *Server) stockPage(c *echo.Context) error {
	return s.stockRender(c, http.StatusOK, nil)
}

// stockRender shows the view the query asks for; f is a failed form.
func (s *Server) stockRender(c *echo.Context, status int, f *Form) error {
	ctx := c.Request().Context()
	lang := langOf(c)
	p := principalOf(c)
	data := stockPage{View: stockViewList, ListURL: localURL(lang, "/stock"), AddURL: localURL(lang, "/stock") + "?add=1"}
	switch {
	case c.QueryParam("discard") != "":
		id, err := strconv.ParseInt(c.QueryParam("discard"), 10, 64)
		if err != nil || id <= 0 {
			return berriz.E(berriz.NotFound, "parts.error.stock_not_found")
		}
		sp, err := s.store.StockPart(ctx, id, scope(p))
		if err != nil {
			return err
		}
		r := s.stockRowOf(c, sp, p.IsOperator())
		data.View, data.Discard = stockViewDiscard, &r
	case c.QueryParam("add") != "":
		data.View, data.PartKinds, data.DriveTypes = stockViewAdd, partKindOptions(nil), driveTypeOptions()
		if p.IsOperator() {
			if err := s.workshopChoices(c, &data, false); err != nil {
				return err
			}
		}
	default:
		filter, v := stockFilter(c)
		list, page, err := s.store.StockParts(ctx, filter)
		if err != nil {
			return err
		}
		data.Filter, data.Total, data.Pager = v, page.Total, s.pager(c, page)
		for _, sp := range list {
			data.Rows = append(data.Rows, s.stockRowOf(c, sp, p.IsOperator() && filter.WorkshopOrgID == 0))
		}
		data.States = []keyOption{{"", "parts.stock.all_states"}}
		for _, st := range parts.StockStates {
			data.States = append(data.States, keyOption{string(st), st.Key()})
		}
		data.Kinds = append([]keyOption{{"", "parts.stock.all_kinds"}}, partKindOptions(nil)...)
		if p.IsOperator() {
			if err := s.workshopChoices(c, &data, true); err != nil {
				return err
			}
		}
	}
	pg := s.newPage(c, "parts.stock.title", data)
	pg.Form = f
	return s.renderPage(c, status, "stock", pg)
}

// workshopChoices lists the workshops an operator chooses from: those with
// a stock for the filter, every active workshop for a part bought.
func (s *Server) workshopChoices(c *echo.Context, data *stockPage, withStock bool) error {
	ctx := c.Request().Context()
	var (
		shops []account.Organisation
		err   error
	)
	if withStock {
		shops, err = s.store.StockWorkshops(ctx, maxWorkshopChoices)
	} else {
		shops, err = s.store.ActiveOrganisations(ctx, account.RoleTechnician, maxWorkshopChoices)
	}
	if err != nil {
		return err
	}
	for _, w := range shops {
		data.Workshops = append(data.Workshops, workshopOption{strconv.FormatInt(w.ID, 10), w.Name})
	}
	return nil
}

// stockFail shows the view of the refused form again, or returns err
// when it is not the user's doing.
func (s *Server) stockFail(c *echo.Context, f *Form, view url.Values, err error) error {
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	c.Request().URL.RawQuery = view.Encode()
	return s.stockRender(c, status, f)
}

// stockAdd puts a part bought new into the stock: the technician's
// workshop's, or the one an operator chooses.
func (s *Server) stockAdd(c *echo.Context) error {
	f := s.newForm(c, stockLabels)
	p := principalOf(c)
	fe := berriz.FieldErrors{}
	workshop := scope(p)
	if workshop == 0 {
		n, err := strconv.ParseInt(f.Values.Get("workshop"), 10, 64)
		if err != nil || n <= 0 {
			fe.Add("workshop", "parts.error.workshop")
		}
		workshop = n
	}
	np := stockNewPart(f, fe)
	names := map[string]string{"kind": "part_kind", "description": "part_description", "workshop_organisation_id": "workshop"}
	if _, ce := np.Check(); ce != nil {
		for k, v := range berriz.As(renamed(ce.Err(), names)).Fields {
			fe.Add(k, v)
		}
	}
	view := url.Values{"add": {"1"}}
	if len(fe) > 0 {
		return s.stockFail(c, f, view, fe.Err())
	}
	sp, err := s.store.AddStockPart(c.Request().Context(), workshop, np, p)
	if err != nil {
		return s.stockFail(c, f, view, renamed(err, names))
	}
	s.SetFlash(c, "success", "parts.flash.stock_added")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/stock")+"?kind="+url.QueryEscape(sp.Kind))
}

// stockNewPart reads the part of a form (part_kind, part_description,
// drive_type, capacity_gb, serial).
func stockNewPart(f *Form, fe berriz.FieldErrors) parts.NewPart {
	capacity := parts.ParseWhole(fe, "capacity_gb", f.Values.Get("capacity_gb"), 0, 1, device.MaxCapacityGB, "parts.error.capacity")
	return parts.NewPart{Kind: f.Values.Get("part_kind"), Description: f.Values.Get("part_description"),
		DriveType: device.DriveType(f.Values.Get("drive_type")), CapacityGB: capacity, Serial: f.Values.Get("serial")}
}

// stockDiscard takes a part out of the stock for good, with the reason.
func (s *Server) stockDiscard(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	p := principalOf(c)
	ctx := c.Request().Context()
	if _, err := s.store.StockPart(ctx, id, scope(p)); err != nil {
		return err // another workshop's part: not found, as one that does not exist
	}
	f := s.newForm(c, stockLabels)
	if _, err := s.store.DiscardStockPart(ctx, id, scope(p), f.Values.Get("reason"), p); err != nil {
		return s.stockFail(c, f, url.Values{"discard": {strconv.FormatInt(id, 10)}}, err)
	}
	s.SetFlash(c, "success", "parts.flash.stock_discarded")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/stock"))
}
