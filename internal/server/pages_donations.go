package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The donation screens: a donor declares a lot (form or CSV import) and
// follows its donations; the operator assigns each to a workshop; the
// workshop (or the operator) moves it through its states.

// donationRoutes lists the routes of this area; routes() appends them to the table.
//
// Listing and reading are SignedIn because three roles share them (donors
// their own, workshops those assigned, operators all): donationScope
// confines them, and answers not found to every other role.
func (s *Server) donationRoutes() []Route {
	return []Route{
		{http.MethodGet, "/donations", "donations", Inventory, s.donationList},
		{http.MethodGet, "/donations/new", "donation_new", Donor, s.donationNew},
		{http.MethodPost, "/donations", "donation_create", Donor, s.donationCreate},
		{http.MethodGet, "/donations/import", "donation_import_form", Donor, s.donationImportForm},
		{http.MethodPost, "/donations/import", "donation_import", Donor, s.donationImport},
		{http.MethodPost, "/donations/import/confirm", "donation_import_confirm", Donor, s.donationImportConfirm},
		{http.MethodGet, "/donations/template.csv", "donation_template", Donor, s.donationTemplate},
		{http.MethodGet, "/donations/:id", "donation", Inventory, s.donationShow},
		{http.MethodPost, "/donations/:id/workshop", "donation_assign", Operator, s.donationAssign},
		{http.MethodPost, "/donations/:id/state", "donation_state", Workshop, s.donationSetState},
		{http.MethodPost, "/donations/:id/tags", "donation_tags", Workshop, s.donationTags},
	}
}

// donationScope says which donations p may see and act on.
func donationScope(p *account.Principal) (postgres.DonationScope, error) {
	switch {
	case p.IsOperator():
		return postgres.DonationScope{}, nil
	case p.Role() == account.RoleDonor:
		return postgres.DonationScope{DonorOrgID: p.OrgID}, nil
	case p.Role() == account.RoleTechnician:
		return postgres.DonationScope{WorkshopOrgID: p.OrgID}, nil
	}
	return postgres.DonationScope{}, berriz.E(berriz.NotFound, "error.page_not_found")
}

func donationURL(c *echo.Context, id int64) string {
	return localURL(langOf(c), "/donations/"+strconv.FormatInt(id, 10))
}

// maxWorkshopChoices bounds the assign select (each option weighs on the
// page's DOM budget); a territory has a handful of workshops.
const maxWorkshopChoices = 50

type donationsPage struct {
	Donations  []postgres.Donation
	State      string
	States     []adminOption
	Total      int
	Pager      Pager
	CanDeclare bool
}

func stateOptions(allKey string) []adminOption {
	opts := []adminOption{{"", allKey}}
	for _, st := range donation.States {
		opts = append(opts, adminOption{string(st), "donation.state." + string(st)})
	}
	return opts
}

// donationList lists the donations the principal may see, newest first,
// filtered by state.
func (s *Server) donationList(c *echo.Context) error {
	p := principalOf(c)
	scope, err := donationScope(p)
	if err != nil {
		return err
	}
	d := donationsPage{States: stateOptions("donation.state.all"),
		CanDeclare: account.Authorize(Donor, p, true) == nil}
	if st := donation.State(c.QueryParam("state")); st.Valid() {
		d.State = string(st)
	}
	list, page, err := s.store.Donations(c.Request().Context(),
		postgres.DonationFilter{Scope: scope, State: donation.State(d.State), Page: pageParam(c)})
	if err != nil {
		return err
	}
	d.Donations, d.Total, d.Pager = list, page.Total, s.pager(c, page)
	return s.render(c, http.StatusOK, "donations", "donation.list.title", d)
}

type donationPage struct {
	Donation  postgres.Donation
	Devices   []postgres.Device
	Pager     Pager
	Workshops []account.Organisation
	Workshop  string
	CanAssign bool
	Next      donation.State // the state the viewer may move it to, or ""
	Untagged  int            // devices without a tag, when the viewer may print theirs
}

func (s *Server) donationLoad(c *echo.Context) (postgres.Donation, postgres.DonationScope, error) {
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return postgres.Donation{}, scope, err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return postgres.Donation{}, scope, err
	}
	d, err := s.store.Donation(c.Request().Context(), id, scope)
	return d, scope, err
}

func (s *Server) donationShow(c *echo.Context) error {
	d, scope, err := s.donationLoad(c)
	if err != nil {
		return err
	}
	return s.donationRender(c, http.StatusOK, d, scope, nil)
}

// donationRender shows a donation with one page of its devices and the
// actions the viewer may take now; f is a failed action's form, if any.
func (s *Server) donationRender(c *echo.Context, status int, d postgres.Donation, scope postgres.DonationScope, f *Form) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	data := donationPage{Donation: d, Workshop: strconv.FormatInt(d.WorkshopOrgID, 10)}
	devs, page, err := s.store.DonationDevices(ctx, d.ID, scope, pageParam(c))
	if err != nil {
		return err
	}
	data.Devices, data.Pager = devs, s.pager(c, page)
	if data.Untagged, err = s.donationUntagged(c, d, scope); err != nil {
		return err
	}
	if account.Authorize(Workshop, p, true) == nil {
		if next, ok := d.State.Next(); ok && d.WorkshopOrgID != 0 {
			data.Next = next
		}
	}
	if account.Authorize(Operator, p, true) == nil && (d.State == donation.Declared || d.State == donation.Collected) {
		shops, err := s.store.ActiveOrganisations(ctx, account.RoleTechnician, maxWorkshopChoices)
		if err != nil {
			return err
		}
		data.CanAssign, data.Workshops = true, shops
	}
	if f != nil && f.Values.Get("workshop") != "" {
		data.Workshop = f.Values.Get("workshop")
	}
	pg := s.newPage(c, "donation.list.title", data)
	pg.Title, pg.Form = d.Title+" · "+pg.Title, f
	return s.renderPage(c, status, "donation", pg)
}

// donationFail shows the donation again with the refusal, or returns err
// when it is not the user's doing.
func (s *Server) donationFail(c *echo.Context, id int64, f *Form, err error) error {
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	scope, _ := donationScope(principalOf(c))
	d, lerr := s.store.Donation(c.Request().Context(), id, scope)
	if lerr != nil {
		return lerr
	}
	return s.donationRender(c, status, d, scope, f)
}

// donationAssign gives the donation to a workshop (operators).
func (s *Server) donationAssign(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	f := s.newForm(c, map[string]string{"workshop": "donation.field.workshop"})
	shop, perr := strconv.ParseInt(f.Values.Get("workshop"), 10, 64)
	if perr != nil {
		err = &berriz.Error{Kind: berriz.Invalid, Message: "error.invalid_fields",
			Fields: map[string]string{"workshop": "donation.error.workshop_invalid"}}
	} else {
		_, err = s.store.AssignWorkshop(c.Request().Context(), id, shop, principalOf(c))
	}
	if err != nil {
		return s.donationFail(c, id, f, err)
	}
	s.SetFlash(c, "success", "donation.flash.assigned")
	return c.Redirect(http.StatusSeeOther, donationURL(c, id))
}

// donationSetState moves the donation one step forward (its workshop, or
// the operator). The form says which state the person saw, so that a
// change made meanwhile by someone else is not overridden.
func (s *Server) donationSetState(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	f := s.newForm(c, nil)
	from, to := donation.State(f.Values.Get("from")), donation.State(f.Values.Get("to"))
	if _, err := s.store.SetDonationState(c.Request().Context(), id, scope, from, to, principalOf(c)); err != nil {
		return s.donationFail(c, id, f, err)
	}
	s.SetFlash(c, "success", "donation.flash.state_changed")
	return c.Redirect(http.StatusSeeOther, donationURL(c, id))
}

// categoryOption is a category code with its translation key, for the
// lists of codes shown to donors.
type categoryOption struct {
	ID  string
	Key string
}

func categoryOptions() []categoryOption {
	cs := co2.Categories()
	out := make([]categoryOption, len(cs))
	for i, c := range cs {
		out[i] = categoryOption{c.ID, "category." + c.ID}
	}
	return out
}
