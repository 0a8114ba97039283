package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The JSON face of the catalogue, proposals and reservations: the same
// store calls and checks as the pages (pages_catalogue.go,
// pages_proposals*.go, pages_reservations.go), documented in
// openapi/matching.json. Refusals are 409 with the reason; a beneficiary
// without an open request gets 403 catalogue_closed from the catalogue.

// apiCatalogue is GET /catalogue: one page of the available devices the
// filters' minimums accept.
func (s *Server) apiCatalogue(c *echo.Context) error {
	if _, err := s.catalogueAccess(c); err != nil {
		return err
	}
	filter, fe := allocation.ParseCatalogueFilter(c.QueryParam)
	if fe != nil {
		return fe.Err()
	}
	devices, page, err := s.store.Catalogue(c.Request().Context(), filter, pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(devices, page))
}

// apiCatalogueLines is GET /catalogue/lines: the caller's open lines that
// still need devices (operators: every organisation's), in matching's
// service order.
func (s *Server) apiCatalogueLines(c *echo.Context) error {
	org, err := s.catalogueAccess(c)
	if err != nil {
		return err
	}
	lines, err := s.store.OpenLines(c.Request().Context(), org)
	if err != nil {
		return err
	}
	if lines == nil {
		lines = []postgres.OpenLine{}
	}
	return apiJSON(c, http.StatusOK, map[string]any{"items": lines})
}

// reserveBody is the body of a reservation from the catalogue.
type reserveBody struct {
	RequestLineID int64 `json:"request_line_id"`
}

// apiCatalogueReserve is POST /catalogue/{device}/reserve.
func (s *Server) apiCatalogueReserve(c *echo.Context) error {
	var in reserveBody
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.RequestLineID <= 0 {
		return berriz.FieldErrors{"request_line_id": "matching.error.line_required"}.Err()
	}
	r, err := s.reserveFromCatalogue(c, in.RequestLineID)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, r)
}

// apiReservations is GET /reservations: the live reservations of the
// caller's organisation (operators: every organisation's).
func (s *Server) apiReservations(c *echo.Context) error {
	rs, page, err := s.store.LiveReservations(c.Request().Context(), scope(principalOf(c)), pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(rs, page))
}

// apiReservation is GET /reservations/{id}, in any state.
func (s *Server) apiReservation(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	r, err := s.store.Reservation(c.Request().Context(), id, scope(principalOf(c)))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, r)
}

func (s *Server) apiReservationAccept(c *echo.Context) error {
	return apiReservationDone(c)(s.reservationAnswer(c, true))
}

func (s *Server) apiReservationDecline(c *echo.Context) error {
	return apiReservationDone(c)(s.reservationAnswer(c, false))
}

func (s *Server) apiReservationRelease(c *echo.Context) error {
	return apiReservationDone(c)(s.reservationRelease(c))
}

func apiReservationDone(c *echo.Context) func(postgres.Reservation, error) error {
	return func(r postgres.Reservation, err error) error {
		if err != nil {
			return err
		}
		return apiJSON(c, http.StatusOK, r)
	}
}
