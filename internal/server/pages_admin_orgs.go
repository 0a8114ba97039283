package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The operator's organisation screens: list, creation, and one page per
// organisation gathering its details, members, invitations, access and, for
// observatories, API tokens.

var adminOrgLabels = map[string]string{
	"kind": "admin.org.kind", "name": "account.name", "commune": "admin.org.commune", "official_id": "admin.org.official_id",
}

var adminInviteLabels = map[string]string{"email": "login.email", "lang": "admin.invite.lang"}

// The token form's field is token_name, not name, so that it cannot clash
// with the organisation's name field on the same page.
var adminTokenLabels = map[string]string{"token_name": "admin.tokens.name"}

// adminOrgPreview is how many invitations the organisation page lists
// before linking to the full listing; members show a full page (25).
const adminOrgPreview = 10

func adminOrgURL(c *echo.Context, id int64) string {
	return localURL(langOf(c), "/admin/organisations/"+strconv.FormatInt(id, 10))
}

type adminOrgsPage struct {
	Orgs  []account.Organisation
	Kind  string
	Query string
	Kinds []adminOption
	Total int
	Pager Pager
}

// adminOrgs lists organisations by name, filtered by kind and by part of
// the name; an unknown kind is ignored.
func (s *Server) adminOrgs(c *echo.Context) error {
	d := adminOrgsPage{Query: adminQuery(c, "q"), Kinds: adminKindOptions("admin.orgs.all_kinds")}
	if k := account.OrgKind(c.QueryParam("kind")); k.Valid() {
		d.Kind = string(k)
	}
	orgs, page, err := s.store.ListOrganisations(c.Request().Context(),
		postgres.OrgFilter{Kind: account.OrgKind(d.Kind), Query: d.Query, Page: pageParam(c)})
	if err != nil {
		return err
	}
	d.Orgs, d.Total, d.Pager = orgs, page.Total, s.pager(c, page)
	return s.render(c, http.StatusOK, "admin_orgs", "nav.organisations", d)
}

type adminOrgNewPage struct{ Kinds []adminOption }

func (s *Server) adminOrgNew(c *echo.Context) error {
	return s.renderForm(c, http.StatusOK, "admin_org_new", "admin.orgs.new", nil, adminOrgNewPage{Kinds: adminKindOptions("admin.org.choose_kind")})
}

func adminOrgInput(f *Form) account.OrgInput {
	return account.OrgInput{Kind: f.Values.Get("kind"), Name: f.Values.Get("name"),
		Commune: f.Values.Get("commune"), OfficialID: f.Values.Get("official_id")}
}

// adminOrgCreate creates an organisation; a taken official id shows on its
// field like any other mistake.
func (s *Server) adminOrgCreate(c *echo.Context) error {
	f := s.newForm(c, adminOrgLabels)
	if !s.adminCheckText(c, f) {
		return s.renderForm(c, http.StatusBadRequest, "admin_org_new", "admin.orgs.new", f, adminOrgNewPage{Kinds: adminKindOptions("admin.org.choose_kind")})
	}
	o, err := adminOrgInput(f).Validate()
	if err == nil {
		o, err = s.store.CreateOrganisation(c.Request().Context(), o, principalOf(c), clientIP(c))
	}
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		return s.renderForm(c, status, "admin_org_new", "admin.orgs.new", f, adminOrgNewPage{Kinds: adminKindOptions("admin.org.choose_kind")})
	}
	s.SetFlash(c, "success", "admin.flash.org_created")
	return c.Redirect(http.StatusSeeOther, adminOrgURL(c, o.ID))
}

type adminOrgPage struct {
	Org             account.Organisation
	Edit            url.Values // the edit form's values: the organisation's, or what failed
	Kinds           []adminOption
	Langs           []adminOption
	Lang            string
	Members         []account.User
	Invitations     []postgres.Invitation
	InvitationTotal int
	Observatory     bool
	Tokens          []postgres.Token
	Here            string
}

// adminOrgLoad returns the organisation named by the :id parameter, or a
// NotFound error.
func (s *Server) adminOrgLoad(c *echo.Context) (account.Organisation, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return account.Organisation{}, err
	}
	return s.store.Organisation(c.Request().Context(), id)
}

func (s *Server) adminOrg(c *echo.Context) error {
	o, err := s.adminOrgLoad(c)
	if err != nil {
		return err
	}
	return s.adminOrgRender(c, http.StatusOK, o, nil, false)
}

// adminOrgRender shows the organisation page; f is the form that failed, if
// any, and editFailed says whether it is the edit form (whose fields then
// keep what was typed).
func (s *Server) adminOrgRender(c *echo.Context, status int, o account.Organisation, f *Form, editFailed bool) error {
	ctx := c.Request().Context()
	d := adminOrgPage{
		Org:   o,
		Kinds: adminKindOptions(""),
		Langs: []adminOption{{"fr", "admin.lang.fr"}, {"eu", "admin.lang.eu"}, {"en", "admin.lang.en"}},
		Lang:  string(langOf(c)),
		Edit: url.Values{"kind": {string(o.Kind)}, "name": {o.Name}, "commune": {o.Commune},
			"official_id": {o.OfficialID}},
		Observatory: o.Kind == account.KindObservatory,
		// Row actions come back here, even from a page answering a POST.
		Here: adminOrgURL(c, o.ID),
	}
	if editFailed {
		d.Edit = f.Values
	}
	if f != nil && f.Values.Get("lang") != "" {
		d.Lang = f.Values.Get("lang")
	}
	var err error
	if d.Members, _, err = s.store.ListUsers(ctx, postgres.UserFilter{OrgID: o.ID, Page: 1}); err != nil {
		return err
	}
	invs, page, err := s.store.ListInvitations(ctx, postgres.InvitationFilter{OrgID: o.ID, Page: 1}, s.now())
	if err != nil {
		return err
	}
	d.Invitations, d.InvitationTotal = invs[:min(len(invs), adminOrgPreview)], page.Total
	if d.Observatory {
		if d.Tokens, err = s.store.ListTokens(ctx, postgres.TokenFilter{OrgID: o.ID, OrgTokensOnly: true}); err != nil {
			return err
		}
	}
	// The organisation's name is the page title, as in its heading.
	p := s.newPage(c, "nav.organisations", d)
	p.Title, p.Form = o.Name+" · "+p.Title, f
	return s.renderPage(c, status, "admin_org", p)
}

// adminOrgFail shows the organisation page again with the form's errors,
// or returns err when it is not the user's doing.
func (s *Server) adminOrgFail(c *echo.Context, o account.Organisation, f *Form, err error, editFailed bool) error {
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	return s.adminOrgRender(c, status, o, f, editFailed)
}

// adminOrgUpdate changes an organisation's kind, name, commune and official
// id.
func (s *Server) adminOrgUpdate(c *echo.Context) error {
	o, err := s.adminOrgLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, adminOrgLabels)
	if !s.adminCheckText(c, f) {
		return s.adminOrgRender(c, http.StatusBadRequest, o, f, true)
	}
	v, err := adminOrgInput(f).Validate()
	if err == nil {
		err = s.store.UpdateOrganisation(c.Request().Context(), o.ID, v, principalOf(c), clientIP(c))
	}
	if err != nil {
		return s.adminOrgFail(c, o, f, err, true)
	}
	s.SetFlash(c, "success", "admin.flash.org_updated")
	return c.Redirect(http.StatusSeeOther, adminOrgURL(c, o.ID))
}

// adminOrgSetActive deactivates an organisation (its members are signed out
// and locked out) or reactivates it.
func (s *Server) adminOrgSetActive(active bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		o, err := s.adminOrgLoad(c)
		if err != nil {
			return err
		}
		if err := s.store.SetOrganisationActive(c.Request().Context(), o.ID, active, principalOf(c), clientIP(c)); err != nil {
			return s.adminOrgFail(c, o, s.newForm(c, nil), err, false)
		}
		if active {
			s.SetFlash(c, "success", "admin.flash.org_activated")
		} else {
			s.SetFlash(c, "success", "admin.flash.org_deactivated")
		}
		return c.Redirect(http.StatusSeeOther, adminOrgURL(c, o.ID))
	}
}

type adminInvitedPage struct {
	Org  account.Organisation
	Sent Invited
	Days int
}

// adminOrgInvite invites an administrator of the organisation. Without a
// mail server the link is shown to the operator to pass on, on this very
// response: it exists nowhere else.
func (s *Server) adminOrgInvite(c *echo.Context) error {
	o, err := s.adminOrgLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, adminInviteLabels)
	sent, err := s.invite(c, o.ID, InviteInput{Email: f.Values.Get("email"), Lang: f.Values.Get("lang"), OrgAdmin: true})
	if err != nil {
		return s.adminOrgFail(c, o, f, err, false)
	}
	if sent.Link == "" {
		s.SetFlash(c, "success", "admin.flash.invitation_sent")
		return c.Redirect(http.StatusSeeOther, adminOrgURL(c, o.ID))
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, "admin_invited", "admin.invited.title",
		adminInvitedPage{Org: o, Sent: sent, Days: max(1, int(s.cfg.InvitationLifetime.Hours()/24))})
}

type adminTokenPage struct {
	Org    account.Organisation
	Issued Issued
}

// adminOrgObservatory loads the organisation and refuses any that is not an
// observatory: only those have organisation tokens.
func (s *Server) adminOrgObservatory(c *echo.Context) (account.Organisation, error) {
	o, err := s.adminOrgLoad(c)
	if err == nil && o.Kind != account.KindObservatory {
		err = berriz.E(berriz.NotFound, "error.not_found").WithCause(fmt.Errorf("organisation %d is not an observatory", o.ID))
	}
	return o, err
}

// adminOrgTokenCreate issues a read-only token to an observatory and shows
// its secret, once.
func (s *Server) adminOrgTokenCreate(c *echo.Context) error {
	o, err := s.adminOrgObservatory(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, adminTokenLabels)
	if !s.adminCheckText(c, f) {
		return s.adminOrgRender(c, http.StatusBadRequest, o, f, false)
	}
	issued, err := s.issueToken(c, TokenInput{Name: f.Values.Get("token_name"), Scope: "read", OrganisationID: o.ID})
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		if msg, ok := f.Errors["name"]; ok {
			delete(f.Errors, "name")
			f.Errors["token_name"] = msg
		}
		return s.adminOrgRender(c, status, o, f, false)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, "admin_token", "admin.token.title", adminTokenPage{Org: o, Issued: issued})
}

// adminOrgTokenRevoke revokes one of the organisation's tokens; a token of
// another organisation, or of a user, is not found here.
func (s *Server) adminOrgTokenRevoke(c *echo.Context) error {
	o, err := s.adminOrgLoad(c)
	if err != nil {
		return err
	}
	tokenID, err := idParam(c, "token")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	tokens, err := s.store.ListTokens(ctx, postgres.TokenFilter{OrgID: o.ID, OrgTokensOnly: true})
	if err != nil {
		return err
	}
	found := false
	for _, t := range tokens {
		found = found || t.ID == tokenID
	}
	if !found {
		return berriz.E(berriz.NotFound, "error.token_not_found")
	}
	if err := s.store.RevokeToken(ctx, tokenID, 0, true, principalOf(c), clientIP(c)); err != nil {
		return err
	}
	s.SetFlash(c, "success", "admin.flash.token_revoked")
	return c.Redirect(http.StatusSeeOther, adminOrgURL(c, o.ID))
}
