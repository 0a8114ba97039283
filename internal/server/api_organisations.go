package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

func (s *Server) apiOrganisations(c *echo.Context) error {
	f := postgres.OrgFilter{Query: c.QueryParam("q"), Page: pageParam(c)}
	if k := c.QueryParam("kind"); k != "" {
		if f.Kind = account.OrgKind(k); !f.Kind.Valid() {
			fe := berriz.FieldErrors{}
			fe.Add("kind", "error.org_kind")
			return fe.Err()
		}
	}
	active, err := queryBool(c, "active")
	if err != nil {
		return err
	}
	f.Active = active
	orgs, page, err := s.store.ListOrganisations(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(orgs, page))
}

func (s *Server) apiCreateOrganisation(c *echo.Context) error {
	var in account.OrgInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	o, err := in.Validate()
	if err != nil {
		return err
	}
	if o, err = s.store.CreateOrganisation(c.Request().Context(), o, principalOf(c), clientIP(c)); err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/organisations/"+strconv.FormatInt(o.ID, 10))
	return apiJSON(c, http.StatusCreated, o)
}

// apiOrganisation answers operators about any organisation, everyone else
// about its own only: another one is answered as if it did not exist.
func (s *Server) apiOrganisation(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	p := principalOf(c)
	if sc := scope(p); sc != 0 && sc != id {
		return berriz.E(berriz.NotFound, "error.org_not_found")
	}
	o, err := s.store.Organisation(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, o)
}

// orgPatch is a partial OrgInput: absent (or null) fields keep their value.
type orgPatch struct {
	Kind       *string `json:"kind"`
	Name       *string `json:"name"`
	Commune    *string `json:"commune"`
	OfficialID *string `json:"official_id"`
}

func (s *Server) apiUpdateOrganisation(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var patch orgPatch
	if err := decodeJSON(c, &patch); err != nil {
		return err
	}
	// The merge happens under the row's lock: concurrent PATCHes of
	// different fields both land.
	o, err := s.store.PatchOrganisation(c.Request().Context(), id, func(cur account.Organisation) (account.Organisation, error) {
		in := account.OrgInput{Kind: string(cur.Kind), Name: cur.Name, Commune: cur.Commune, OfficialID: cur.OfficialID}
		for _, f := range []struct{ dst, src *string }{
			{&in.Kind, patch.Kind}, {&in.Name, patch.Name}, {&in.Commune, patch.Commune}, {&in.OfficialID, patch.OfficialID},
		} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		return in.Validate()
	}, principalOf(c), clientIP(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, o)
}

func (s *Server) apiSetOrganisationActive(active bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		if err := s.store.SetOrganisationActive(c.Request().Context(), id, active, principalOf(c), clientIP(c)); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}
