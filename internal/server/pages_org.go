package server

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// orgRoutes are the screens of organisation admins: the members of their
// organisation and the invitations to join it. Operators see their own
// organisation here (they manage the others under /admin). Every store call
// is scoped with scope(p), so an admin never reaches another organisation.
func (s *Server) orgRoutes() []Route {
	return []Route{
		{http.MethodGet, "/org/members", "org_members", OrgAdmin, s.orgMembers},
		{http.MethodPost, "/org/members/:id/admin", "org_member_admin", OrgAdmin, s.orgMemberAdmin},
		{http.MethodPost, "/org/members/:id/remove", "org_member_remove", OrgAdmin, s.orgMemberRemove},
		{http.MethodGet, "/org/invitations", "org_invitations", OrgAdmin, s.orgInvitations},
		{http.MethodPost, "/org/invitations", "org_invite", OrgAdmin, s.orgInvite},
		{http.MethodPost, "/org/invitations/:id/revoke", "org_invitation_revoke", OrgAdmin, s.orgInvitationRevoke},
	}
}

// orgMembersView is one page of the organisation's members.
type orgMembersView struct {
	Members []orgMemberRow
	Total   int
	Pending int // pending invitations
	Page    int
	Pager   Pager
}

type orgMemberRow struct {
	account.User
	Self      bool
	LastLogin string
}

func (s *Server) orgMembersView(c *echo.Context, pageNumber int) (orgMembersView, error) {
	p := principalOf(c)
	ctx := c.Request().Context()
	users, page, err := s.store.ListUsers(ctx, postgres.UserFilter{OrgID: p.OrgID, Page: pageNumber})
	if err != nil {
		return orgMembersView{}, err
	}
	_, pending, err := s.store.ListInvitations(ctx, postgres.InvitationFilter{OrgID: p.OrgID}, s.now())
	if err != nil {
		return orgMembersView{}, err
	}
	lang := langOf(c)
	v := orgMembersView{Total: page.Total, Pending: pending.Total, Page: page.Number,
		Pager: Pager{Number: page.Number, Pages: page.Pages(), path: localURL(lang, "/org/members"), query: url.Values{}}}
	never := s.cat.T(lang, "account.never", nil)
	for _, u := range users {
		v.Members = append(v.Members, orgMemberRow{User: u, Self: u.ID == p.UserID, LastLogin: accountDateOr(lang, u.LastLoginAt, never)})
	}
	return v, nil
}

func (s *Server) orgMembers(c *echo.Context) error {
	v, err := s.orgMembersView(c, pageParam(c))
	if err != nil {
		return err
	}
	return s.renderForm(c, http.StatusOK, "org_members", "members.title", nil, v)
}

// orgMemberAdmin grants or withdraws the organisation-admin flag; the form
// says which with admin=true or admin=false, so that a repeated click does
// not undo the first.
func (s *Server) orgMemberAdmin(c *echo.Context) error {
	p := principalOf(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	f := s.newForm(c, nil)
	var admin bool
	switch f.Values.Get("admin") {
	case "true":
		admin = true
	case "false":
	default:
		return berriz.E(berriz.Invalid, "error.invalid")
	}
	if err := s.store.SetOrgAdmin(c.Request().Context(), id, scope(p), admin, p, clientIP(c)); err != nil {
		return s.orgMembersFailed(c, f, err)
	}
	if admin {
		s.SetFlash(c, "success", "members.flash.admin_granted")
	} else {
		s.SetFlash(c, "success", "members.flash.admin_removed")
	}
	if id == p.UserID && !admin && !p.IsOperator() {
		// Stepping down: the members page is no longer this person's.
		return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/account"))
	}
	return c.Redirect(http.StatusSeeOther, orgMembersURL(c, f))
}

// orgMemberRemove removes a member from the organisation, which deletes the
// account. Removing oneself goes through /account/delete, which asks for the
// password.
func (s *Server) orgMemberRemove(c *echo.Context) error {
	p := principalOf(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	f := s.newForm(c, nil)
	if id == p.UserID {
		return s.orgMembersFailed(c, f, berriz.E(berriz.Conflict, "members.error.remove_self"))
	}
	if err := s.store.DeleteUser(c.Request().Context(), id, scope(p), p, clientIP(c)); err != nil {
		return s.orgMembersFailed(c, f, err)
	}
	s.SetFlash(c, "success", "members.flash.removed")
	return c.Redirect(http.StatusSeeOther, orgMembersURL(c, f))
}

// orgMembersFailed answers a refused change of a member: an unknown or
// foreign member is a 404 page; anything else the user can act on (the last
// admin, oneself) shows on the members page.
func (s *Server) orgMembersFailed(c *echo.Context, f *Form, err error) error {
	if berriz.KindOf(err) == berriz.NotFound {
		return err
	}
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	v, verr := s.orgMembersView(c, orgFormPage(f))
	if verr != nil {
		return verr
	}
	return s.renderForm(c, status, "org_members", "members.title", f, v)
}

// orgFormPage is the members page a form was posted from.
func orgFormPage(f *Form) int {
	n, err := strconv.Atoi(f.Values.Get("page"))
	if err != nil || n < 1 || n > 100000 {
		return 1
	}
	return n
}

func orgMembersURL(c *echo.Context, f *Form) string {
	u := localURL(langOf(c), "/org/members")
	if n := orgFormPage(f); n > 1 {
		u += "?page=" + strconv.Itoa(n)
	}
	return u
}

var orgInviteLabels = map[string]string{"email": "login.email", "lang": "members.invite.lang"}

// orgInvitationsView is the invitation form and one page of the
// organisation's pending invitations.
type orgInvitationsView struct {
	Invitations []orgInvitationRow
	Total       int
	Pager       Pager
	// Invited is set right after an invitation that was not mailed (no SMTP
	// configured): the page shows its link, once, for the admin to pass on.
	Invited *Invited
	Expires string
}

type orgInvitationRow struct {
	postgres.Invitation
	Expires string
}

func (s *Server) orgInvitationsView(c *echo.Context, pageNumber int, invited *Invited) (orgInvitationsView, error) {
	p := principalOf(c)
	invs, page, err := s.store.ListInvitations(c.Request().Context(), postgres.InvitationFilter{OrgID: p.OrgID, Page: pageNumber}, s.now())
	if err != nil {
		return orgInvitationsView{}, err
	}
	lang := langOf(c)
	v := orgInvitationsView{Total: page.Total, Invited: invited,
		Pager: Pager{Number: page.Number, Pages: page.Pages(), path: localURL(lang, "/org/invitations"), query: url.Values{}}}
	if invited != nil {
		v.Expires = accountDate(lang, invited.Invitation.ExpiresAt)
	}
	for _, inv := range invs {
		v.Invitations = append(v.Invitations, orgInvitationRow{Invitation: inv, Expires: accountDate(lang, inv.ExpiresAt)})
	}
	return v, nil
}

// orgInviteForm is the blank invitation form: the invitation is in the
// page's language unless the admin picks another.
func orgInviteForm(c *echo.Context) *Form {
	return &Form{Values: url.Values{"lang": {string(langOf(c))}}, Errors: map[string]string{}}
}

func (s *Server) orgInvitations(c *echo.Context) error {
	v, err := s.orgInvitationsView(c, pageParam(c), nil)
	if err != nil {
		return err
	}
	return s.renderForm(c, http.StatusOK, "org_invitations", "members.invitations.title", orgInviteForm(c), v)
}

// orgInvite invites someone to the admin's own organisation. Without SMTP
// the message only goes to the server log, so the answer shows the link for
// the admin to pass on, instead of redirecting.
func (s *Server) orgInvite(c *echo.Context) error {
	p := principalOf(c)
	f := s.newForm(c, orgInviteLabels)
	invited, err := s.invite(c, p.OrgID, InviteInput{Email: f.Values.Get("email"), Lang: f.Values.Get("lang"),
		OrgAdmin: p.IsOperator() && f.Checked("org_admin")})
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		v, verr := s.orgInvitationsView(c, 1, nil)
		if verr != nil {
			return verr
		}
		return s.renderForm(c, status, "org_invitations", "members.invitations.title", f, v)
	}
	if invited.Link == "" {
		s.SetFlash(c, "success", "members.flash.invited")
		return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/org/invitations"))
	}
	v, err := s.orgInvitationsView(c, 1, &invited)
	if err != nil {
		return err
	}
	// The link opens an account: it must not linger in any cache.
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.renderForm(c, http.StatusOK, "org_invitations", "members.invitations.title", orgInviteForm(c), v)
}

func (s *Server) orgInvitationRevoke(c *echo.Context) error {
	p := principalOf(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.store.RevokeInvitation(c.Request().Context(), id, scope(p), p, clientIP(c)); err != nil {
		return err
	}
	s.SetFlash(c, "success", "members.flash.invitation_revoked")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/org/invitations"))
}
