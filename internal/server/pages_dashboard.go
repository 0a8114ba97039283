package server

import (
	"fmt"
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
	const (
		w, h, left, bottom = 600, 160, 30, 20
		top                = 10
	)
	top1 := 1
	for _, wk := range weeks {
		top1 = max(top1, wk.Received, wk.Published)
	}
	scale := float64(h-bottom-top) / float64(top1)
	slot := float64(w-left) / float64(max(len(weeks), 1))
	bar := slot * 0.35
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" aria-hidden="true" focusable="false" class="chart">`, w, h)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555"/>`, left, h-bottom, w, h-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#333">%d</text>`, left-4, top+8, top1)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#333">0</text>`, left-4, h-bottom)
	for i, wk := range weeks {
		x := float64(left) + float64(i)*slot + slot*0.1
		for j, n := range []int{wk.Received, wk.Published} {
			bh := float64(n) * scale
			fill := []string{"#1f5f8b", "#2e7d32"}[j]
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x+float64(j)*bar, float64(h-bottom)-bh, bar, bh, fill)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#333">%s</text>`, x+bar, h-5, wk.Week.Format("02/01"))
	}
	for j, l := range labels {
		x := w - 260 + j*130
		fmt.Fprintf(&b, `<rect x="%d" y="2" width="10" height="10" fill="%s"/><text x="%d" y="11" font-size="11" fill="#333">%s</text>`,
			x, []string{"#1f5f8b", "#2e7d32"}[j], x+14, template.HTMLEscapeString(l))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), top1 // numbers, fixed strings and escaped labels only
}
