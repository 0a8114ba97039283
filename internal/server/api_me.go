package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/account"
	"github.com/labstack/echo/v5"
)

// apiMeBody is who the caller is, as the API sees it.
type apiMeBody struct {
	User         *account.User        `json:"user"` // null for an organisation token
	Organisation account.Organisation `json:"organisation"`
	Role         account.Role         `json:"role"`
	OrgAdmin     bool                 `json:"org_admin"`
	ReadOnly     bool                 `json:"read_only"`
	// CSRFToken is given to browser sessions only: a script of ours
	// sends it back in X-CSRF-Token with every write. Other sites cannot
	// read it (no CORS), and bearer tokens need none.
	CSRFToken string `json:"csrf_token,omitempty"`
}

func (s *Server) apiMe(c *echo.Context) error {
	p := principalOf(c)
	ctx := c.Request().Context()
	org, err := s.store.Organisation(ctx, p.OrgID)
	if err != nil {
		return err
	}
	out := apiMeBody{Organisation: org, Role: p.Role(), OrgAdmin: p.OrgAdmin, ReadOnly: p.ReadOnly || p.Role() == account.RoleObservatory}
	if p.UserID != 0 {
		u, err := s.store.User(ctx, p.UserID, p.OrgID)
		if err != nil {
			return err
		}
		out.User = &u
	}
	if !viaBearer(c) {
		out.CSRFToken = s.csrfToken(c)
	}
	return apiJSON(c, http.StatusOK, out)
}
