package server

import (
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The operator's screens: organisations (pages_admin_orgs.go), every user,
// every pending invitation and the security log. The guard has already
// checked that the principal is an operator and the CSRF token of each POST.

// adminRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) adminRoutes() []Route {
	return []Route{
		{http.MethodGet, "/admin", "admin_home", Operator, s.adminHome},
		{http.MethodGet, "/admin/organisations", "admin_orgs", Operator, s.adminOrgs},
		{http.MethodGet, "/admin/organisations/new", "admin_org_new", Operator, s.adminOrgNew},
		{http.MethodPost, "/admin/organisations", "admin_org_create", Operator, s.adminOrgCreate},
		{http.MethodGet, "/admin/organisations/:id", "admin_org", Operator, s.adminOrg},
		{http.MethodPost, "/admin/organisations/:id", "admin_org_update", Operator, s.adminOrgUpdate},
		{http.MethodPost, "/admin/organisations/:id/deactivate", "admin_org_deactivate", Operator, s.adminOrgSetActive(false)},
		{http.MethodPost, "/admin/organisations/:id/activate", "admin_org_activate", Operator, s.adminOrgSetActive(true)},
		{http.MethodPost, "/admin/organisations/:id/invitations", "admin_org_invite", Operator, s.adminOrgInvite},
		{http.MethodPost, "/admin/organisations/:id/tokens", "admin_org_token_create", Operator, s.adminOrgTokenCreate},
		{http.MethodPost, "/admin/organisations/:id/tokens/:token/revoke", "admin_org_token_revoke", Operator, s.adminOrgTokenRevoke},

		{http.MethodGet, "/admin/users", "admin_users", Operator, s.adminUsers},
		{http.MethodPost, "/admin/users/:id/revoke-sessions", "admin_user_revoke_sessions", Operator, s.adminRevokeSessions},
		{http.MethodGet, "/admin/invitations", "admin_invitations", Operator, s.adminInvitations},
		{http.MethodPost, "/admin/invitations/:id/revoke", "admin_invitation_revoke", Operator, s.adminInvitationRevoke},
		{http.MethodGet, "/admin/events", "admin_events", Operator, s.adminEvents},
	}
}

// adminOption is one choice of a select: Label is a catalog key.
type adminOption struct{ Value, Label string }

// adminKindOptions lists the organisation kinds, translated by the
// template; first, when set, is an empty choice put before them.
func adminKindOptions(first string) []adminOption {
	var out []adminOption
	if first != "" {
		out = append(out, adminOption{"", first})
	}
	for _, k := range account.OrgKinds {
		out = append(out, adminOption{string(k), "admin.kind." + string(k)})
	}
	return out
}

// adminEventKinds lists the security events, in the order of the filter.
var adminEventKinds = []postgres.EventKind{
	postgres.EventLoginSucceeded, postgres.EventLoginFailed, postgres.EventLoginThrottled, postgres.EventLogout,
	postgres.EventPasswordChanged, postgres.EventResetRequested, postgres.EventPasswordReset, postgres.EventSessionsRevoked,
	postgres.EventInvitationSent, postgres.EventInvitationRevoked, postgres.EventMemberJoined, postgres.EventMemberRemoved,
	postgres.EventRoleChanged, postgres.EventAccountDeleted, postgres.EventOrgCreated, postgres.EventOrgUpdated,
	postgres.EventOrgDeactivated, postgres.EventOrgActivated, postgres.EventTokenCreated, postgres.EventTokenRevoked,
	postgres.EventPushSubscribed, postgres.EventPushUnsubscribed,
}

// adminQuery reads a free-text filter, bounded so that a pasted novel
// does not become a query.
func adminQuery(c *echo.Context, name string) string {
	q := strings.TrimSpace(adminText(c.QueryParam(name)))
	if r := []rune(q); len(r) > 100 {
		q = string(r[:100])
	}
	return q
}

// adminText drops what no text may hold (invalid UTF-8, control
// characters such as NUL): PostgreSQL refuses it with a server error.
func adminText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// adminCheckText flags the form's labelled fields that hold invalid UTF-8 or
// a control character, and keeps them cleaned for display. It reports
// whether every field was clean.
func (s *Server) adminCheckText(c *echo.Context, f *Form) bool {
	ok := true
	for name := range f.Labels {
		for i, v := range f.Values[name] {
			if clean := adminText(v); clean != v {
				f.Values[name][i] = clean
				f.Errors[name] = s.cat.T(langOf(c), "error.invalid", nil)
				ok = false
			}
		}
	}
	return ok
}

// adminOrgParam reads ?org=: anything but a positive number means no filter.
func adminOrgParam(c *echo.Context) int64 {
	id, err := strconv.ParseInt(c.QueryParam("org"), 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// adminFilterOrg returns the organisation a listing is narrowed to (?org=);
// found is false when it does not exist, and the listing is then empty.
func (s *Server) adminFilterOrg(c *echo.Context, id int64) (o account.Organisation, found bool, err error) {
	o, err = s.store.Organisation(c.Request().Context(), id)
	switch {
	case err == nil:
		return o, true, nil
	case berriz.KindOf(err) == berriz.NotFound:
		return o, false, nil
	}
	return o, false, err
}

// adminBack returns where a row action sends the operator back to: the
// listing it was posted from (its "next" field), or fallback.
func adminBack(c *echo.Context, fallback string) string {
	if next := safeNext(c.FormValue("next")); next != "" {
		return next
	}
	return localURL(langOf(c), fallback)
}

// adminHere is the page's own address, language prefix and query included,
// for the "next" field of its row actions.
func adminHere(c *echo.Context) string {
	here := requestedPath(c)
	if q := c.Request().URL.RawQuery; q != "" {
		here += "?" + q
	}
	return here
}

type adminUsersPage struct {
	Users []account.User
	Org   *account.Organisation
	OrgID int64
	Query string
	Total int
	Pager Pager
	Here  string
}

// adminUsers lists every user, or the members of one organisation (?org=),
// optionally searched by name or address (?q=).
func (s *Server) adminUsers(c *echo.Context) error {
	d := adminUsersPage{OrgID: adminOrgParam(c), Query: adminQuery(c, "q"), Here: adminHere(c)}
	if d.OrgID != 0 {
		o, found, err := s.adminFilterOrg(c, d.OrgID)
		if err != nil {
			return err
		}
		if found {
			d.Org = &o
		}
	}
	users, page, err := s.store.ListUsers(c.Request().Context(), postgres.UserFilter{OrgID: d.OrgID, Query: d.Query, Page: pageParam(c)})
	if err != nil {
		return err
	}
	d.Users, d.Total, d.Pager = users, page.Total, s.pager(c, page)
	return s.render(c, http.StatusOK, "admin_users", "nav.users", d)
}

// adminRevokeSessions signs a user out everywhere.
func (s *Server) adminRevokeSessions(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	n, err := s.store.RevokeSessions(c.Request().Context(), id, principalOf(c), clientIP(c))
	if err != nil {
		return err
	}
	// A flash carries a key and no number: the wording says how many.
	switch {
	case n == 0:
		s.SetFlash(c, "info", "admin.flash.sessions_none")
	case n == 1:
		s.SetFlash(c, "success", "admin.flash.sessions_one")
	default:
		s.SetFlash(c, "success", "admin.flash.sessions_many")
	}
	return c.Redirect(http.StatusSeeOther, adminBack(c, "/admin/users"))
}

type adminInvitationsPage struct {
	Invitations []postgres.Invitation
	Org         *account.Organisation
	OrgID       int64
	Total       int
	Pager       Pager
	Here        string
}

// adminInvitations lists the pending invitations of every organisation, or
// of one (?org=).
func (s *Server) adminInvitations(c *echo.Context) error {
	d := adminInvitationsPage{OrgID: adminOrgParam(c), Here: adminHere(c)}
	if d.OrgID != 0 {
		o, found, err := s.adminFilterOrg(c, d.OrgID)
		if err != nil {
			return err
		}
		if found {
			d.Org = &o
		}
	}
	invs, page, err := s.store.ListInvitations(c.Request().Context(), postgres.InvitationFilter{OrgID: d.OrgID, Page: pageParam(c)}, s.now())
	if err != nil {
		return err
	}
	d.Invitations, d.Total, d.Pager = invs, page.Total, s.pager(c, page)
	return s.render(c, http.StatusOK, "admin_invitations", "nav.invitations", d)
}

// adminInvitationRevoke cancels a pending invitation of any organisation.
func (s *Server) adminInvitationRevoke(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.store.RevokeInvitation(c.Request().Context(), id, scope(principalOf(c)), principalOf(c), clientIP(c)); err != nil {
		return err
	}
	s.SetFlash(c, "success", "admin.flash.invitation_revoked")
	return c.Redirect(http.StatusSeeOther, adminBack(c, "/admin/invitations"))
}

type adminEventsPage struct {
	Events []adminEvent
	Kind   string
	Kinds  []adminOption
	Total  int
	Pager  Pager
}

// adminEvent is a line of the security log with its kind's label resolved,
// so that a kind recorded by a newer version still shows as itself.
type adminEvent struct {
	postgres.Event
	Label string
}

// adminEvents shows the security log, newest first, optionally of one kind.
func (s *Server) adminEvents(c *echo.Context) error {
	d := adminEventsPage{Kinds: []adminOption{{"", "admin.events.all"}}}
	kind := postgres.EventKind(c.QueryParam("kind"))
	for _, k := range adminEventKinds {
		d.Kinds = append(d.Kinds, adminOption{string(k), "admin.event." + string(k)})
		if k == kind {
			d.Kind = string(k)
		}
	}
	events, page, err := s.store.ListEvents(c.Request().Context(), postgres.EventFilter{Kind: postgres.EventKind(d.Kind), Page: pageParam(c)})
	if err != nil {
		return err
	}
	lang := langOf(c)
	for _, e := range events {
		label := string(e.Kind)
		if key := "admin.event." + label; s.cat.Has(key) {
			label = s.cat.T(lang, key, nil)
		}
		d.Events = append(d.Events, adminEvent{Event: e, Label: label})
	}
	d.Total, d.Pager = page.Total, s.pager(c, page)
	return s.render(c, http.StatusOK, "admin_events", "nav.events", d)
}
