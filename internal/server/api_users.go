package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

func (s *Server) apiUsers(c *echo.Context) error {
	orgID, err := s.orgParam(c)
	if err != nil {
		return err
	}
	users, page, err := s.store.ListUsers(c.Request().Context(), postgres.UserFilter{OrgID: orgID, Query: c.QueryParam("q"), Page: pageParam(c)})
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(users, page))
}

func (s *Server) apiUser(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	u, err := s.store.User(c.Request().Context(), id, scope(principalOf(c)))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, u)
}

func (s *Server) apiRevokeSessions(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	n, err := s.store.RevokeSessions(c.Request().Context(), id, principalOf(c), clientIP(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, map[string]int64{"revoked": n})
}

func (s *Server) apiInvitations(c *echo.Context) error {
	orgID, err := s.orgParam(c)
	if err != nil {
		return err
	}
	invs, page, err := s.store.ListInvitations(c.Request().Context(), postgres.InvitationFilter{OrgID: orgID, Page: pageParam(c)}, s.now())
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(invs, page))
}

// apiInvitationInput is InviteInput with the organisation, which operators
// choose and organisation admins do not (theirs is implied).
type apiInvitationInput struct {
	OrganisationID int64  `json:"organisation_id"`
	Email          string `json:"email"`
	Lang           string `json:"lang"`
	OrgAdmin       bool   `json:"org_admin"`
}

func (s *Server) apiCreateInvitation(c *echo.Context) error {
	var in apiInvitationInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p := principalOf(c)
	orgID := in.OrganisationID
	if !p.IsOperator() {
		orgID = p.OrgID
	} else if orgID <= 0 {
		f := berriz.FieldErrors{}
		f.Add("organisation_id", "error.required")
		return f.Err()
	}
	out, err := s.invite(c, orgID, InviteInput{Email: in.Email, Lang: in.Lang, OrgAdmin: in.OrgAdmin})
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, out)
}

func (s *Server) apiRevokeInvitation(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.store.RevokeInvitation(c.Request().Context(), id, scope(principalOf(c)), principalOf(c), clientIP(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
