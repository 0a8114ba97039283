package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// Preparing a handover: the workshop lists the accepted reservations of a
// request whose devices it holds, ticks those leaving now (all of them,
// by default) and prepares the handover, or hands over every ready device
// of the request at once when they span several pages. Operators choose
// the workshop first (one handover, one workshop).

// handoverFields labels the fields of the preparation form.
var handoverFields = map[string]string{allocation.FieldReservations: "handover.field.reservations"}

type handoverNewPage struct {
	Request      postgres.HandoverRequest
	Workshops    []postgres.ReadyGroup // operators: who holds devices ready for the request
	Workshop     int64                 // the workshop handing over
	WorkshopName string
	Operator     bool
	Candidates   []postgres.HandoverCandidate
	Total        int
	Pager        Pager
	Submitted    bool           // a failed submission: Chosen is what was ticked
	Chosen       map[int64]bool // (before one, every device is ticked)
	Max          int
}

// handoverWorkshop is the workshop a caller hands over for: a
// technician's own, or for an operator the ?workshop= (form field) among
// those holding devices ready for the request, the first by default.
func (s *Server) handoverWorkshop(c *echo.Context, requestID int64, asked string) (int64, []postgres.ReadyGroup, error) {
	p := principalOf(c)
	if !p.IsOperator() {
		return p.OrgID, nil, nil
	}
	groups, _, err := s.store.HandoversReady(c.Request().Context(), 0, requestID, 50)
	if err != nil || len(groups) == 0 {
		return 0, groups, err
	}
	want, _ := strconv.ParseInt(asked, 10, 64)
	for _, g := range groups {
		if g.WorkshopOrgID == want {
			return want, groups, nil
		}
	}
	return groups[0].WorkshopOrgID, groups, nil
}

// handoverNew shows what the workshop may hand over for a request.
func (s *Server) handoverNew(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	return s.handoverNewRender(c, http.StatusOK, id, c.QueryParam("workshop"), nil)
}

func (s *Server) handoverNewRender(c *echo.Context, status int, requestID int64, workshop string, f *Form) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	shop, groups, err := s.handoverWorkshop(c, requestID, workshop)
	if err != nil {
		return err
	}
	req, err := s.store.HandoverRequestOf(ctx, requestID, scope(p))
	if err != nil {
		return err
	}
	d := handoverNewPage{Request: req, Workshops: groups, Workshop: shop, Operator: p.IsOperator(), Max: allocation.MaxHandoverDevices}
	for _, g := range groups {
		if g.WorkshopOrgID == shop {
			d.WorkshopName = g.WorkshopName
		}
	}
	if shop != 0 {
		var page postgres.Page
		if d.Candidates, page, err = s.store.HandoverCandidates(ctx, requestID, shop, pageParam(c)); err != nil {
			return err
		}
		d.Total, d.Pager = page.Total, handoverPager(c, page)
	}
	if f != nil && f.Values.Get("all") == "" {
		d.Submitted, d.Chosen = true, map[int64]bool{}
		for _, v := range f.Values["reservation"] {
			if id, err := strconv.ParseInt(v, 10, 64); err == nil {
				d.Chosen[id] = true
			}
		}
	}
	return s.renderForm(c, status, "handover_new", "handover.new.title", f, d)
}

// handoverCreate prepares a handover from the preparation form: the
// ticked reservations, or with all=1 every one ready for the request.
func (s *Server) handoverCreate(c *echo.Context) error {
	f := s.newForm(c, handoverFields)
	requestID, err := strconv.ParseInt(f.Values.Get("request"), 10, 64)
	if err != nil || requestID <= 0 {
		return berriz.E(berriz.NotFound, "handover.error.request_not_found")
	}
	shop, _, err := s.handoverWorkshop(c, requestID, f.Values.Get("workshop"))
	if err != nil {
		return err
	}
	in := postgres.NewHandover{RequestID: requestID}
	if f.Values.Get("all") != "" && shop != 0 {
		all, _, err := s.store.HandoverCandidates(c.Request().Context(), requestID, shop, 0)
		if err != nil {
			return err
		}
		for _, r := range all {
			in.ReservationIDs = append(in.ReservationIDs, r.ReservationID)
		}
	} else {
		for _, v := range f.Values["reservation"] {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				f.Errors[allocation.FieldReservations] = s.cat.T(langOf(c), "handover.error.reservation_unknown", nil)
				return s.handoverNewRender(c, http.StatusBadRequest, requestID, f.Values.Get("workshop"), f)
			}
			in.ReservationIDs = append(in.ReservationIDs, id)
		}
	}
	if shop == 0 { // an operator, and nothing is ready for the request
		shop = -1 // matches no workshop: the store answers as for a request it cannot see
	}
	h, err := s.prepareHandover(c, in, shop)
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok || status == http.StatusNotFound {
			return err
		}
		return s.handoverNewRender(c, status, requestID, f.Values.Get("workshop"), f)
	}
	s.SetFlash(c, "success", "handover.flash.prepared")
	return c.Redirect(http.StatusSeeOther, handoverURL(c, h.ID))
}
