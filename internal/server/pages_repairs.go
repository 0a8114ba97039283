package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// A device's repairs and parts: what was done to it in the current cycle
// (repairs, cleaning, an operating system installed, parts fitted, with
// the minutes spent), and the forms that record it — the parts coming
// from the workshop's stock (pages_stock.go) or bought new. Reading
// follows the inventory's scope (a donor sees what was done to its
// devices); writing is the holding workshop's or an operator's, in the
// states where work is done (parts.WorkAllowed). Dismantling is
// pages_dismantle.go; the JSON face is api_parts.go, with the same calls.

// partsRoutes lists the routes of this area; routes() appends them to the
// table.
func (s *Server) partsRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodGet, "/devices/:id/repairs", "device_repairs", Inventory, s.deviceRepairs},
		{http.MethodPost, "/devices/:id/repairs", "device_repair_record", Workshop, s.deviceRepairRecord},
		{http.MethodPost, "/devices/:id/parts", "device_part_fit", Workshop, s.devicePartFit},
		{http.MethodGet, "/devices/:id/dismantle", "device_dismantle", Workshop, s.deviceDismantleForm},
		{http.MethodPost, "/devices/:id/dismantle", "device_dismantle_do", Workshop, s.deviceDismantle},
		{http.MethodGet, "/stock", "stock", Workshop, s.stockPage},
		{http.MethodPost, "/stock", "stock_add", Workshop, s.stockAdd},
		{http.MethodPost, "/stock/:id/discard", "stock_discard", Workshop, s.stockDiscard},
		{http.MethodGet, v1 + "/devices/:id/repairs", "api_device_repairs", Inventory, s.apiDeviceRepairs},
		{http.MethodPost, v1 + "/devices/:id/repairs", "api_device_repair_record", Workshop, s.apiRecordRepair},
		{http.MethodPost, v1 + "/devices/:id/parts", "api_device_part_fit", Workshop, s.apiFitPart},
		{http.MethodPost, v1 + "/devices/:id/dismantle", "api_device_dismantle", Workshop, s.apiDismantle},
		{http.MethodGet, v1 + "/stock", "api_stock", Workshop, s.apiStock},
		{http.MethodPost, v1 + "/stock", "api_stock_add", Workshop, s.apiStockAdd},
		{http.MethodPost, v1 + "/stock/:id/discard", "api_stock_discard", Workshop, s.apiStockDiscard},
	}
}

// Page sizes of the repairs screen: the list and the stock select share
// the DOM budget with four forms.
const (
	repairsPerPage = 10
	stockChoices   = 30
)

// keyOption is a choice of a form: its value and the key of its label.
type keyOption struct{ Value, Key string }

// partKindOptions lists every part kind; storage (nil: all) keeps only the
// drive kinds and other (true) or only the others (false).
func partKindOptions(storage *bool) []keyOption {
	var out []keyOption
	for _, k := range parts.Kinds() {
		if storage == nil || parts.DriveKind(k) == *storage || k == "other" {
			out = append(out, keyOption{k, parts.KindKey(k)})
		}
	}
	return out
}

func driveTypeOptions() []keyOption {
	var out []keyOption
	for _, t := range device.DriveTypes {
		out = append(out, keyOption{string(t), "device.drive." + string(t)})
	}
	return out
}

// partSummary says what a part is in one line: its description, and for
// a drive its type, capacity and serial number.
func (s *Server) partSummary(lang i18n.Lang, description string, t device.DriveType, capacity int, serial string) string {
	out := description
	add := func(v string) {
		if out != "" {
			out += " · "
		}
		out += v
	}
	if t != "" {
		add(s.cat.T(lang, "device.drive."+string(t), nil) + " " + s.cat.T(lang, "parts.capacity", map[string]string{"gb": strconv.Itoa(capacity)}))
	}
	if serial != "" {
		add(s.cat.T(lang, "parts.serial_short", map[string]string{"serial": serial}))
	}
	return out
}

// repairRow is a record of the list, with the keys of its names.
type repairRow struct {
	postgres.Repair
	KindKey, PartKey, ConditionKey string
}

// stockGroup is the stock parts of one kind, for the select's optgroup.
type stockGroup struct {
	Label string
	Parts []keyOption // Key holds the option's translated text
}

type repairsPage struct {
	Device       postgres.DeviceDetail
	Rows         []repairRow
	Total        int
	TotalMinutes int
	Pager        Pager
	// CanEdit: the viewer may record work now; Closed: staff, but the
	// device's state does not allow it (the message says why).
	CanEdit    bool
	Closed     string
	WorkKinds  []keyOption
	PartKinds  []keyOption
	DriveTypes []keyOption
	Stock      []stockGroup
	StockMore  int // parts in stock the select does not list
	StockURL   string
}

// repairLabels names the forms' fields for the error summary; each form
// of the page has its own field names, so an error shows on its form.
var repairLabels = map[string]string{
	"kind": "parts.field.work_kind", "description": "parts.field.description", "minutes": "parts.field.minutes",
	"os": "parts.field.os", "os_minutes": "parts.field.minutes",
	"stock_part_id": "parts.field.stock_part", "stock_minutes": "parts.field.minutes",
	"part_kind": "parts.field.part_kind", "part_description": "parts.field.part_description",
	"drive_type": "parts.field.drive_type", "capacity_gb": "parts.field.capacity", "serial": "parts.field.serial",
	"part_minutes": "parts.field.minutes",
}

// deviceRepairs shows the device's records of the current cycle and, to
// its workshop, the forms.
func (s *Server) deviceRepairs(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	return s.repairsRender(c, http.StatusOK, d, nil)
}

func (s *Server) repairsRender(c *echo.Context, status int, d postgres.DeviceDetail, f *Form) error {
	ctx := c.Request().Context()
	lang := langOf(c)
	list, err := s.store.DeviceRepairs(ctx, d.ID, d.Cycle, pageParam(c), repairsPerPage)
	if err != nil {
		return err
	}
	data := repairsPage{Device: d, Total: list.Page.Total, TotalMinutes: list.TotalMinutes,
		Pager: Pager{Number: list.Page.Number, Pages: list.Page.PagesOf(repairsPerPage),
			path: requestedPath(c), query: c.QueryParams()}}
	for _, r := range list.Items {
		row := repairRow{Repair: r, KindKey: r.Kind.Key()}
		if r.Part != nil {
			row.PartKey, row.ConditionKey = parts.KindKey(r.Part.Kind), r.Part.Condition.Key()
		}
		data.Rows = append(data.Rows, row)
	}
	if account.Authorize(Workshop, principalOf(c), true) == nil {
		state := lifecycle.State(d.State)
		data.CanEdit = parts.WorkAllowed(state)
		if !data.CanEdit {
			data.Closed = s.errorText(lang, berriz.As(parts.ErrWorkState(state)))
		}
	}
	if data.CanEdit {
		for _, k := range parts.RecordedKinds {
			if k != parts.WorkOSInstall {
				data.WorkKinds = append(data.WorkKinds, keyOption{string(k), k.Key()})
			}
		}
		data.PartKinds, data.DriveTypes = partKindOptions(nil), driveTypeOptions()
		stock, total, err := s.store.FittableStock(ctx, d.WorkshopOrgID, stockChoices)
		if err != nil {
			return err
		}
		data.StockMore = total - len(stock)
		for _, sp := range stock {
			label := s.cat.T(lang, parts.KindKey(sp.Kind), nil)
			if n := len(data.Stock); n == 0 || data.Stock[n-1].Label != label {
				data.Stock = append(data.Stock, stockGroup{Label: label})
			}
			text := s.cat.T(lang, "parts.stock.option", map[string]string{"id": strconv.FormatInt(sp.ID, 10),
				"condition": s.cat.T(lang, sp.Condition.Key(), nil)})
			if sum := s.partSummary(lang, sp.Description, sp.DriveType, sp.CapacityGB, sp.Serial); sum != "" {
				text += " · " + sum
			}
			g := &data.Stock[len(data.Stock)-1]
			g.Parts = append(g.Parts, keyOption{strconv.FormatInt(sp.ID, 10), text})
		}
		data.StockURL = localURL(lang, "/stock")
	}
	pg := s.newPage(c, "parts.repairs.title", data)
	pg.Title = s.cat.T(lang, "category."+d.Category, nil) + " " + d.Brand + " " + d.Model + " · " + pg.Title
	pg.Form = f
	return s.renderPage(c, status, "device_repairs", pg)
}

// renamed gives the field errors of err the names of the form they came
// from (the domain names the fields of its own types).
func renamed(err error, names map[string]string) error {
	be := berriz.As(err)
	if be.Kind != berriz.Invalid || len(be.Fields) == 0 {
		return err
	}
	fe := berriz.FieldErrors{}
	for field, key := range be.Fields {
		if n, ok := names[field]; ok {
			field = n
		}
		fe.Add(field, key)
	}
	return berriz.As(fe.Err()).WithCause(err)
}

// repairsFail shows the repairs page again with a refused form, or
// returns err when it is not the user's doing.
func (s *Server) repairsFail(c *echo.Context, d postgres.DeviceDetail, f *Form, err error) error {
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	return s.repairsRender(c, status, d, f)
}

// deviceRepairRecord records a repair, a cleaning or other work (kind,
// description, minutes), or an operating system installed (os,
// os_minutes).
func (s *Server) deviceRepairRecord(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, repairLabels)
	fe := berriz.FieldErrors{}
	w := parts.Work{Kind: parts.WorkKind(f.Values.Get("kind"))}
	names := map[string]string{}
	if w.Kind == parts.WorkOSInstall {
		w.OS, w.Minutes = f.Values.Get("os"), parts.ParseMinutes(fe, "os_minutes", f.Values.Get("os_minutes"))
		names = map[string]string{"minutes": "os_minutes", "description": "os"}
	} else {
		w.Description, w.Minutes = f.Values.Get("description"), parts.ParseMinutes(fe, "minutes", f.Values.Get("minutes"))
	}
	if _, ce := w.Check(); ce != nil {
		for k, v := range berriz.As(renamed(ce.Err(), names)).Fields {
			fe.Add(k, v)
		}
	}
	if len(fe) > 0 {
		return s.repairsFail(c, d, f, fe.Err())
	}
	if _, err := s.store.AddRepair(c.Request().Context(), d.ID, scope, w, principalOf(c)); err != nil {
		return s.repairsFail(c, d, f, renamed(err, names))
	}
	flash := "parts.flash.work_recorded"
	if w.Kind == parts.WorkOSInstall {
		flash = "parts.flash.os_installed"
	}
	s.SetFlash(c, "success", flash)
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID)+"/repairs")
}

// devicePartFit fits a part: one of the stock (stock_part_id,
// stock_minutes) or a new one (part_kind, part_description, and for a
// drive drive_type, capacity_gb, serial; part_minutes).
func (s *Server) devicePartFit(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, repairLabels)
	fe := berriz.FieldErrors{}
	var ft parts.Fit
	var names map[string]string
	if f.Values.Has("stock_part_id") {
		id, perr := strconv.ParseInt(f.Values.Get("stock_part_id"), 10, 64)
		if perr != nil || id <= 0 {
			fe.Add("stock_part_id", "parts.error.stock_part")
		}
		ft = parts.Fit{StockPartID: max(id, 0), Minutes: parts.ParseMinutes(fe, "stock_minutes", f.Values.Get("stock_minutes"))}
		names = map[string]string{"minutes": "stock_minutes"}
	} else {
		capacity := parts.ParseWhole(fe, "capacity_gb", f.Values.Get("capacity_gb"), 0, 1, device.MaxCapacityGB, "parts.error.capacity")
		ft = parts.Fit{NewPart: parts.NewPart{Kind: f.Values.Get("part_kind"), Description: f.Values.Get("part_description"),
			DriveType: device.DriveType(f.Values.Get("drive_type")), CapacityGB: capacity, Serial: f.Values.Get("serial")},
			Minutes: parts.ParseMinutes(fe, "part_minutes", f.Values.Get("part_minutes"))}
		names = map[string]string{"kind": "part_kind", "description": "part_description", "minutes": "part_minutes"}
	}
	if fe["stock_part_id"] == "" {
		if _, ce := ft.Check(); ce != nil {
			for k, v := range berriz.As(renamed(ce.Err(), names)).Fields {
				fe.Add(k, v)
			}
		}
	}
	if len(fe) > 0 {
		return s.repairsFail(c, d, f, fe.Err())
	}
	if _, err := s.store.FitPart(c.Request().Context(), d.ID, scope, ft, principalOf(c)); err != nil {
		return s.repairsFail(c, d, f, renamed(err, names))
	}
	s.SetFlash(c, "success", "parts.flash.part_fitted")
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID)+"/repairs")
}
