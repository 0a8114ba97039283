package server

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// The operator's administration hub: one menu entry leads here, and from
// here to every screen of the territory's coordination. Keeping these out
// of the main menu keeps every page light for operators, whose menu would
// otherwise hold a dozen entries.

// adminSection is one entry of the hub.
type adminSection struct {
	Path, Title, Hint string // Title and Hint are translation keys
}

// adminSections are the hub's entries, in the order of an operator's day.
var adminSections = []adminSection{
	{"/admin/organisations", "nav.organisations", "admin.home.organisations"},
	{"/admin/users", "nav.users", "admin.home.users"},
	{"/admin/invitations", "nav.invitations", "admin.home.invitations"},
	{"/requests", "nav.requests", "admin.home.requests"},
	{"/proposals", "admin.home.proposals_title", "admin.home.proposals"},
	{"/handovers", "nav.handovers", "admin.home.handovers"},
	{"/recycling", "admin.home.recycling_title", "admin.home.recycling"},
	{"/stock", "admin.home.stock_title", "admin.home.stock"},
	{"/reports/donor", "nav.reports", "reports.home.hint"},
	{"/admin/push", "push.log.title", "push.home.hint"},
	{"/admin/factor-sets", "emissions.sets.title", "emissions.sets.hint"},
	{"/admin/events", "nav.events", "admin.home.events"},
}

// adminHome shows the hub.
func (s *Server) adminHome(c *echo.Context) error {
	return s.render(c, http.StatusOK, "admin_home", "nav.admin", adminSections)
}
