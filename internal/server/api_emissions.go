package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The JSON face of factor sets and device results: the same store calls
// and checks as the pages (pages_emissions.go), documented in
// openapi/emissions.json.

// apiFactorSets is GET /factor-sets: every set, the active one first.
func (s *Server) apiFactorSets(c *echo.Context) error {
	sets, err := s.store.FactorSets(c.Request().Context())
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(sets, postgres.Page{Number: 1, Total: len(sets)}))
}

// apiFactorSet is GET /factor-sets/{id}: a set with its rows.
func (s *Server) apiFactorSet(c *echo.Context) error {
	set, err := s.store.FactorSet(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, set)
}

// apiFactorSetImport is POST /factor-sets, a multipart/form-data body with
// the import form's fields and the two CSV files. A refused import is 400
// with the field errors and, in details.problems, every line error
// translated; nothing is saved.
func (s *Server) apiFactorSetImport(c *echo.Context) error {
	if err := requireMediaType(c, "multipart/form-data"); err != nil {
		return err
	}
	set, err := s.importFactorSet(c)
	if err != nil {
		if be := berriz.As(err); be.Kind == berriz.Invalid && be.Details["problems"] != nil {
			return be.WithDetail("problems", s.importProblems(c, err))
		}
		return err
	}
	return apiJSON(c, http.StatusCreated, set)
}

// apiFactorSetActivate is POST /factor-sets/{id}/activate: the set becomes
// the active one; the background job computes the results it lacks.
func (s *Server) apiFactorSetActivate(c *echo.Context) error {
	set, err := s.store.ActivateFactorSet(c.Request().Context(), c.Param("id"), principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, set)
}

// apiDeviceEmissions is GET /devices/{id}/emissions: every result of a
// device the caller may see, all cycles, sets and statuses.
func (s *Server) apiDeviceEmissions(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	rs, err := s.store.DeviceEmissions(c.Request().Context(), d.ID)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(rs, postgres.Page{Number: 1, Total: len(rs)}))
}
