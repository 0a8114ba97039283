package server

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The workshop dashboard: devices per state, the ones waiting longest for
// the next step, and the weekly throughput (a chart drawn on the server as
// SVG, with the same figures as a table for screen readers and for
// everyone who prefers numbers).

// errNotWorkshop answers an operator's filter naming an organisation that
// is not a workshop, as if it did not exist.
var errNotWorkshop = berriz.E(berriz.NotFound, "error.org_not_found")

// dashboardWeeks is how many weeks the throughput covers.
const dashboardWeeks = 8

// dashboardRoutes lists the routes of this area; routes() appends them to
// the table.
func (s *Server) dashboardRoutes() []Route {
	return []Route{
		{http.MethodGet, "/workshop", "workshop_dashboard", Workshop, s.workshopDashboard},
		{http.MethodGet, "/api/v1/workshop/dashboard", "api_workshop_dashboard", Workshop, s.apiWorkshopDashboard},
	}
}

type dashboardPage struct {
	postgres.Dashboard
	Workshops []workshopOption // operators only
	Workshop  string           // the operator's filter, as chosen
	Chart     template.HTML
	Max       int
}

// dashboardWorkshop is the workshop a dashboard covers: the technician's
// own, or the operator's choice (0: every workshop). An operator naming an
// organisation that is not a workshop gets not found.
func (s *Server) dashboardWorkshop(c *echo.Context) (int64, error) {
	p := principalOf(c)
	if !p.IsOperator() {
		return p.OrgID, nil
	}
	name := "workshop"
	if strings.HasPrefix(c.Request().URL.Path, "/api/") {
		name = "workshop_id"
	}
	id, err := queryID(c, name)
	if err != nil || id == 0 {
		return 0, err
	}
	org, err := s.store.Organisation(c.Request().Context(), id)
	if err != nil {
		return 0, err
	}
	if org.Role() != account.RoleTechnician {
		return 0, errNotWorkshop
	}
	return id, nil
}

func (s *Server) workshopDashboard(c *echo.Context) error {
	ctx := c.Request().Context()
	workshop, err := s.dashboardWorkshop(c)
	if err != nil {
		return err
	}
	dash, err := s.store.WorkshopDashboard(ctx, workshop, s.now(), dashboardWeeks)
	if err != nil {
		return err
	}
	d := dashboardPage{Dashboard: dash}
	if principalOf(c).IsOperator() {
		shops, err := s.store.ActiveOrganisations(ctx, account.RoleTechnician, maxWorkshopChoices)
		if err != nil {
			return err
		}
		for _, w := range shops {
			d.Workshops = append(d.Workshops, workshopOption{strconv.FormatInt(w.ID, 10), w.Name})
		}
		if workshop != 0 {
			d.Workshop = strconv.FormatInt(workshop, 10)
		}
	}
	lang := langOf(c)
	d.Chart, d.Max = throughputChart(dash.Weeks, [2]string{s.cat.T(lang, "dashboard.col.received", nil),
		s.cat.T(lang, "dashboard.col.published", nil)})
	return s.render(c, http.StatusOK, "workshop_dashboard", "dashboard.title", d)
}

func (s *Server) apiWorkshopDashboard(c *echo.Context) error {
	workshop, err := s.dashboardWorkshop(c)
	if err != nil {
		return err
	}
	dash, err := s.store.WorkshopDashboard(c.Request().Context(), workshop, s.now(), dashboardWeeks)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, dash)
}

// throughputChart draws the devices received and published per week as
// pairs of bars. It is decorative (aria-hidden): the table that follows it
// carries the same figures.
func throughputChart(weeks []postgres.WeekThroughput, labels [2]string) (template.HTML, int) {
	names := make([]string, len(weeks))
	pairs := make([][2]float64, len(weeks))
	for i, wk := range weeks {
		names[i] = wk.Week.Format("02/01")
		pairs[i] = [2]float64{float64(wk.Received), float64(wk.Published)}
	}
	const w, h = 600, 160
	chart, top := pairChart{W: w, H: h, Left: 30, Bottom: 20, Top: 10, Inset: 0.1, LabelY: h - 5,
		Colours: [2]string{"#1f5f8b", "#2e7d32"}, Series: labels, LegendX: w - 260, LegendStep: 130, LegendY: 2}.draw(names, pairs)
	return chart, int(top)
}
