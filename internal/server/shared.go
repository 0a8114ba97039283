package server

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/mail"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The domain operations shared by HTML and JSON handlers: one validation,
// one store call, one event, whichever face the request came through.

// scope returns the organisation a principal's actions are confined to: 0
// (everything) for operators, its own organisation for everyone else.
func scope(p *account.Principal) int64 {
	if p.IsOperator() {
		return 0
	}
	return p.OrgID
}

// InviteInput is an invitation request from a form or the API.
type InviteInput struct {
	Email    string `json:"email"`
	Lang     string `json:"lang"`
	OrgAdmin bool   `json:"org_admin"`
}

// Invited is the outcome of an invitation: the link is set only when the
// message was not really sent (no SMTP), so the inviter can pass it on.
type Invited struct {
	Invitation postgres.Invitation `json:"invitation"`
	Link       string              `json:"link,omitempty"`
}

// invite invites someone to an organisation and mails the link. Operators
// invite the admins of any organisation; organisation admins invite members
// of their own.
func (s *Server) invite(c *echo.Context, orgID int64, in InviteInput) (Invited, error) {
	p := principalOf(c)
	if !p.IsOperator() {
		if orgID != p.OrgID {
			return Invited{}, berriz.E(berriz.NotFound, "error.org_not_found")
		}
		in.OrgAdmin = false
	}
	f := berriz.FieldErrors{}
	email, err := account.NormalizeEmail(in.Email)
	if err != nil {
		f.Add("email", berriz.As(err).Message)
	}
	lang, ok := i18n.Parse(in.Lang)
	if in.Lang == "" {
		lang, ok = langOf(c), true
	}
	if !ok {
		f.Add("lang", "error.lang")
	}
	if err := f.Err(); err != nil {
		return Invited{}, err
	}
	plain, hash := account.NewToken()
	inv, err := s.store.CreateInvitation(c.Request().Context(), postgres.NewInvitation{
		Hash: hash, OrgID: orgID, Email: email, OrgAdmin: in.OrgAdmin, Lang: string(lang),
		ExpiresAt: s.now().Add(s.cfg.InvitationLifetime),
	}, p, clientIP(c))
	if err != nil {
		return Invited{}, err
	}
	link := s.absoluteURL(localURL(lang, "/invitations/"+plain))
	inviter := p.Name
	if inviter == "" {
		inviter = p.OrgName
	}
	d, err := s.send(c, lang, email, "mail.invitation", map[string]string{
		"organisation": inv.OrgName, "inviter": inviter, "link": link,
		"days": strconv.Itoa(max(1, int(s.cfg.InvitationLifetime.Hours()/24))),
	})
	if err != nil {
		return Invited{}, err
	}
	out := Invited{Invitation: inv}
	if d == mail.Logged {
		out.Link = link
	}
	return out, nil
}

// TokenInput is a token request from a form or the API.
type TokenInput struct {
	Name  string `json:"name"`
	Scope string `json:"scope"` // read or write
	// OrganisationID, for operators only, issues an organisation token (an
	// observatory client) instead of a token of one's own.
	OrganisationID int64 `json:"organisation_id,omitempty"`
}

// Issued is a new token: the secret is shown once and never again.
type Issued struct {
	Token  postgres.Token `json:"token"`
	Secret string         `json:"secret"`
}

// issueToken creates an API token for the principal itself, or, for an
// operator naming an organisation, an organisation token.
func (s *Server) issueToken(c *echo.Context, in TokenInput) (Issued, error) {
	p := principalOf(c)
	if p.TokenID != 0 {
		// A token that could mint tokens would outlive its own revocation.
		return Issued{}, berriz.E(berriz.Forbidden, "error.token_from_token")
	}
	f := berriz.FieldErrors{}
	name, err := account.Line(in.Name, 100)
	if err != nil {
		f.Add("name", berriz.As(err).Message)
	}
	if in.Scope != "read" && in.Scope != "write" {
		f.Add("scope", "error.token_scope")
	}
	if err := f.Err(); err != nil {
		return Issued{}, err
	}
	n := postgres.NewToken{OrgID: p.OrgID, UserID: p.UserID, Name: name, Scope: in.Scope}
	if in.OrganisationID != 0 {
		if !p.IsOperator() {
			return Issued{}, berriz.E(berriz.Forbidden, "error.forbidden")
		}
		n.OrgID, n.UserID = in.OrganisationID, 0
	}
	plain, _ := account.NewToken()
	plain = tokenPrefix + plain
	n.Prefix, n.Hash = plain[:12], account.HashToken(plain)
	t, err := s.store.CreateToken(c.Request().Context(), n, p, clientIP(c))
	if err != nil {
		return Issued{}, err
	}
	return Issued{Token: t, Secret: plain}, nil
}

// Pager links the pages of a listing, keeping the other query parameters.
type Pager struct {
	Number int
	Pages  int
	path   string
	query  url.Values
}

// Link returns the URL of page n.
func (p Pager) Link(n int) string {
	q := url.Values{}
	for k, v := range p.query {
		q[k] = v
	}
	q.Set("page", strconv.Itoa(n))
	return p.path + "?" + q.Encode()
}

func (s *Server) pager(c *echo.Context, page postgres.Page) Pager {
	return Pager{Number: page.Number, Pages: page.Pages(), path: requestedPath(c), query: c.QueryParams()}
}

// pageParam reads ?page=, defaulting to 1 for anything that is not a
// positive number.
func pageParam(c *echo.Context) int {
	n, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || n < 1 || n > 100000 {
		return 1
	}
	return n
}

// idParam reads a numeric path parameter; anything else is not found.
func idParam(c *echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, berriz.E(berriz.NotFound, "error.not_found").WithCause(fmt.Errorf("bad id %q", c.Param(name)))
	}
	return id, nil
}
