package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The JSON face of repairs, parts, dismantling and the stock: the same
// domain checks (internal/parts) and store calls as the pages, under the
// same scopes; field errors name the body's fields.

// apiRepairPage is a page of a device's records of one cycle, with the
// minutes of the whole cycle.
type apiRepairPage struct {
	apiPage[postgres.Repair]
	Cycle        int `json:"cycle"`
	TotalMinutes int `json:"total_minutes"`
}

// apiDeviceRepairs is GET /devices/{id}/repairs: the records of the
// device's current cycle, or of ?cycle=, newest first.
func (s *Server) apiDeviceRepairs(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	cycle := d.Cycle
	if v := c.QueryParam("cycle"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > d.Cycle {
			return berriz.FieldErrors{"cycle": "parts.error.cycle"}.Err()
		}
		cycle = n
	}
	list, err := s.store.DeviceRepairs(c.Request().Context(), d.ID, cycle, pageParam(c), postgres.PageSize)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, apiRepairPage{apiPage: pageOf(list.Items, list.Page), Cycle: cycle, TotalMinutes: list.TotalMinutes})
}

// apiRecordRepair is POST /devices/{id}/repairs: a repair, a cleaning,
// other work or an OS installed.
func (s *Server) apiRecordRepair(c *echo.Context) error {
	var in parts.Work
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	r, err := s.store.AddRepair(c.Request().Context(), d.ID, scope, in, principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, r)
}

// apiFitPart is POST /devices/{id}/parts: a part of the workshop's stock
// (stock_part_id) or a new one.
func (s *Server) apiFitPart(c *echo.Context) error {
	var in parts.Fit
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	r, err := s.store.FitPart(c.Request().Context(), d.ID, scope, in, principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, r)
}

// apiDismantled is the answer of a dismantling: the device's new state and
// the parts that entered the stock.
type apiDismantled struct {
	Device postgres.DeviceState `json:"device"`
	Parts  []postgres.StockPart `json:"parts"`
}

// apiDismantle is POST /devices/{id}/dismantle. A refusal of the
// lifecycle is a 409 with the device's state and version.
func (s *Server) apiDismantle(c *echo.Context) error {
	var in parts.Dismantle
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	st, kept, err := s.store.DismantleDevice(c.Request().Context(), d.ID, scope, in, principalOf(c))
	if err != nil {
		return withFreshState(c, s, d.ID, scope, err)
	}
	s.afterTransition(c, st)
	return apiJSON(c, http.StatusOK, apiDismantled{Device: st, Parts: kept})
}

// stockWorkshopOf is the workshop whose stock a call names: a
// technician's own (naming another is answered as if it did not exist),
// or for operators the one asked (0: every workshop, where allowed).
func stockWorkshopOf(c *echo.Context, asked int64) (int64, error) {
	p := principalOf(c)
	if p.IsOperator() {
		return asked, nil
	}
	if asked != 0 && asked != p.OrgID {
		return 0, berriz.E(berriz.NotFound, "error.not_found")
	}
	return p.OrgID, nil
}

// apiStock is GET /stock: the parts of the caller's workshop (operators:
// every workshop, or ?workshop_id=), filtered by ?state= and ?kind=.
func (s *Server) apiStock(c *echo.Context) error {
	fe := berriz.FieldErrors{}
	f := postgres.StockFilter{State: parts.StockState(c.QueryParam("state")), Kind: c.QueryParam("kind"), Page: pageParam(c)}
	if f.State != "" && !f.State.Valid() {
		fe.Add("state", "parts.error.stock_state")
	}
	if f.Kind != "" && !parts.ValidKind(f.Kind) {
		fe.Add("kind", "parts.error.kind")
	}
	asked, err := queryID(c, "workshop_id")
	if err != nil {
		fe.Add("workshop_id", "error.query_id")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if f.WorkshopOrgID, err = stockWorkshopOf(c, asked); err != nil {
		return err
	}
	list, page, err := s.store.StockParts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(list, page))
}

// apiStockInput is a part bought new for a workshop's stock; operators
// name the workshop.
type apiStockInput struct {
	WorkshopID int64 `json:"workshop_organisation_id,omitempty"`
	parts.NewPart
}

// apiStockAdd is POST /stock.
func (s *Server) apiStockAdd(c *echo.Context) error {
	var in apiStockInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	workshop, err := stockWorkshopOf(c, in.WorkshopID)
	if err != nil {
		return err
	}
	if workshop == 0 {
		return berriz.FieldErrors{"workshop_organisation_id": "parts.error.workshop"}.Err()
	}
	sp, err := s.store.AddStockPart(c.Request().Context(), workshop, in.NewPart, principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, sp)
}

// apiStockDiscard is POST /stock/{id}/discard: {"reason"}.
func (s *Server) apiStockDiscard(c *echo.Context) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	sp, err := s.store.DiscardStockPart(c.Request().Context(), id, scope(principalOf(c)), in.Reason, principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, sp)
}
