package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The workshop's locations (shelves, cages, the recycling pallet...): a
// page that lists them and adds one; each gets its "move" action card on
// the cards page. A technician adds places to their own workshop; an
// operator chooses the workshop.

var locationLabels = map[string]string{"name": "scan.location.field.name", "workshop": "scan.location.field.workshop"}

type locationsPage struct {
	Locations []postgres.Location
	Total     int
	Pager     Pager
	Workshops []account.Organisation // operators choose the workshop
	Operator  bool
	NameMax   int
}

// scanLocations lists the locations of the workshop (operators: all).
func (s *Server) scanLocations(c *echo.Context) error {
	return s.locationsRender(c, http.StatusOK, nil)
}

func (s *Server) locationsRender(c *echo.Context, status int, f *Form) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	locs, page, err := s.store.Locations(ctx, scope(p), pageParam(c))
	if err != nil {
		return err
	}
	d := locationsPage{Locations: locs, Total: page.Total, Pager: s.pager(c, page), Operator: p.IsOperator(),
		NameMax: postgres.LocationNameMax}
	if d.Operator {
		if d.Workshops, err = s.store.ActiveOrganisations(ctx, account.RoleTechnician, maxWorkshopChoices); err != nil {
			return err
		}
	}
	return s.renderForm(c, status, "scan_locations", "scan.location.title", f, d)
}

// locationWorkshop is the workshop a new location belongs to: the
// technician's own, or the one an operator chose.
func locationWorkshop(p *account.Principal, chosen string) (int64, error) {
	if !p.IsOperator() {
		return p.OrgID, nil
	}
	id, err := strconv.ParseInt(chosen, 10, 64)
	if err != nil || id <= 0 {
		return 0, berriz.FieldErrors{"workshop": "scan.location.error.workshop"}.Err()
	}
	return id, nil
}

// scanLocationCreate adds a location.
func (s *Server) scanLocationCreate(c *echo.Context) error {
	f := s.newForm(c, locationLabels)
	workshop, err := locationWorkshop(principalOf(c), f.Values.Get("workshop"))
	if err == nil {
		_, err = s.store.CreateLocation(c.Request().Context(), workshop, f.Values.Get("name"))
	}
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		return s.locationsRender(c, status, f)
	}
	s.SetFlash(c, "success", "scan.location.flash.created")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/scan/locations"))
}

// locationInput is the body of POST /api/v1/locations.
type locationInput struct {
	Name          string `json:"name"`
	WorkshopOrgID int64  `json:"workshop_organisation_id"`
}

// apiLocations is GET /locations: the workshop's locations (operators: all).
func (s *Server) apiLocations(c *echo.Context) error {
	locs, page, err := s.store.Locations(c.Request().Context(), scope(principalOf(c)), pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(locs, page))
}

// apiCreateLocation is POST /locations: {"name"} (operators also name the
// workshop_organisation_id).
func (s *Server) apiCreateLocation(c *echo.Context) error {
	var in locationInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p := principalOf(c)
	workshop := p.OrgID
	if p.IsOperator() {
		if in.WorkshopOrgID <= 0 {
			return berriz.FieldErrors{"workshop_organisation_id": "scan.location.error.workshop"}.Err()
		}
		workshop = in.WorkshopOrgID
	}
	loc, err := s.store.CreateLocation(c.Request().Context(), workshop, in.Name)
	if be := berriz.As(err); err != nil && be.Fields["workshop"] != "" {
		return berriz.FieldErrors{"workshop_organisation_id": be.Fields["workshop"]}.Err()
	}
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, loc)
}
