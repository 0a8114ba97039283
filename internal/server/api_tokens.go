package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// apiTokens lists the caller's own live tokens or, for an operator naming
// an organisation, that organisation's tokens (observatory clients). The
// store returns at most 200 live tokens; they are paged here.
func (s *Server) apiTokens(c *echo.Context) error {
	p := principalOf(c)
	orgID, err := queryID(c, "organisation_id")
	if err != nil {
		return err
	}
	f := postgres.TokenFilter{UserID: p.UserID}
	if orgID != 0 {
		if !p.IsOperator() {
			return berriz.E(berriz.Forbidden, "error.forbidden")
		}
		if _, err := s.store.Organisation(c.Request().Context(), orgID); err != nil {
			return err
		}
		f = postgres.TokenFilter{OrgID: orgID, OrgTokensOnly: true}
	}
	all, err := s.store.ListTokens(c.Request().Context(), f)
	if err != nil {
		return err
	}
	page := postgres.Page{Number: pageParam(c), Total: len(all)}
	return apiJSON(c, http.StatusOK, pageOf(pageItems(all, page), page))
}

func (s *Server) apiCreateToken(c *echo.Context) error {
	var in TokenInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.issueToken(c, in)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, out)
}

// apiRevokeToken revokes one of the caller's own tokens or, for an
// operator, an organisation token.
func (s *Server) apiRevokeToken(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	p := principalOf(c)
	ctx := c.Request().Context()
	err = s.store.RevokeToken(ctx, id, p.UserID, false, p, clientIP(c))
	if berriz.KindOf(err) == berriz.NotFound && p.IsOperator() {
		err = s.store.RevokeToken(ctx, id, 0, true, p, clientIP(c))
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
