package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The JSON face of handovers and returns: the same store calls and checks
// as the pages (pages_handovers*.go, pages_returns.go), documented in
// openapi/handovers.json. Listings have postgres.HandoverPageSize rows a
// page.

// handoverPageOf is the listing envelope of a handover listing.
func handoverPageOf[T any](items []T, p postgres.Page) apiPage[T] {
	out := pageOf(items, p)
	out.Pages = postgres.HandoverPages(p.Total)
	return out
}

// apiHandovers is GET /handovers: the caller's handovers.
func (s *Server) apiHandovers(c *echo.Context) error {
	scope, err := handoverScope(principalOf(c))
	if err != nil {
		return err
	}
	list, page, err := s.store.Handovers(c.Request().Context(), scope, pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, handoverPageOf(list, page))
}

// apiHandoversReady is GET /handovers/ready: what the workshop (operators:
// every workshop) may hand over, request by request.
func (s *Server) apiHandoversReady(c *echo.Context) error {
	const most = 100
	groups, total, err := s.store.HandoversReady(c.Request().Context(), scope(principalOf(c)), 0, most)
	if err != nil {
		return err
	}
	if groups == nil {
		groups = []postgres.ReadyGroup{}
	}
	return apiJSON(c, http.StatusOK, map[string]any{"items": groups, "total": total})
}

// apiHandoverCandidates is GET /requests/{id}/handover/candidates: the
// request as the workshop sees it and one page of its reservations ready
// to hand over (operators: every workshop's, or ?workshop_id='s).
func (s *Server) apiHandoverCandidates(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	p := principalOf(c)
	workshop := scope(p)
	if p.IsOperator() {
		if workshop, err = queryID(c, "workshop_id"); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	req, err := s.store.HandoverRequestOf(ctx, id, scope(p))
	if err != nil {
		return err
	}
	list, page, err := s.store.HandoverCandidates(ctx, id, workshop, pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, struct {
		Request postgres.HandoverRequest `json:"request"`
		apiPage[postgres.HandoverCandidate]
	}{req, handoverPageOf(list, page)})
}

// apiHandoverCreate is POST /handovers: {"request_id", "reservation_ids"}.
func (s *Server) apiHandoverCreate(c *echo.Context) error {
	var in postgres.NewHandover
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	h, err := s.prepareHandover(c, in, scope(principalOf(c)))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, h)
}

// apiHandover is GET /handovers/{id}.
func (s *Server) apiHandover(c *echo.Context) error {
	h, _, err := s.handoverLoad(c)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, h)
}

// apiHandoverDevices is GET /handovers/{id}/devices.
func (s *Server) apiHandoverDevices(c *echo.Context) error {
	h, _, err := s.handoverLoad(c)
	if err != nil {
		return err
	}
	list, page, err := s.store.HandoverDevices(c.Request().Context(), h.ID, pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, handoverPageOf(list, page))
}

// apiHandoverConfirm is POST /handovers/{id}/confirm: {"answer"}, the
// answer optional.
func (s *Server) apiHandoverConfirm(c *echo.Context) error {
	var in struct {
		Answer string `json:"answer"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	h, scope, err := s.handoverLoad(c)
	if err != nil {
		return err
	}
	answer, err := allocation.ParseAnswer(in.Answer)
	if err != nil {
		return err
	}
	out, err := s.store.ConfirmHandover(c.Request().Context(), h.ID, scope, answer, principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, out)
}

// apiHandoverCancel is POST /handovers/{id}/cancel, without a body.
func (s *Server) apiHandoverCancel(c *echo.Context) error {
	h, scope, err := s.handoverLoad(c)
	if err != nil {
		return err
	}
	out, err := s.store.CancelHandover(c.Request().Context(), h.ID, scope.WorkshopOrgID, principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, out)
}

// apiHandoverReturnRequest is POST /handovers/{id}/returns: {"tag" or
// "device_id", "reason"}.
func (s *Server) apiHandoverReturnRequest(c *echo.Context) error {
	var in struct {
		Tag      string `json:"tag"`
		DeviceID int64  `json:"device_id"`
		Reason   string `json:"reason"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	h, scope, err := s.handoverLoad(c)
	if err != nil {
		return err
	}
	req, err := returnRequestInput(in.Tag, in.DeviceID, in.Reason)
	if err != nil {
		return err
	}
	out, err := s.store.RequestReturn(c.Request().Context(), h.ID, scope, req, principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, out)
}

// apiDeviceReturn is POST /devices/{id}/return: {"reason", "version"}
// (the version the client saw; 0 skips the check); a stale version or a
// device not delivered is a 409 with the device's fresh state and version.
func (s *Server) apiDeviceReturn(c *echo.Context) error {
	var in struct {
		Reason  string `json:"reason"`
		Version int    `json:"version"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Version < 0 {
		return berriz.FieldErrors{"version": "lifecycle.error.version"}.Err()
	}
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	st, err := s.recordReturn(c, d.ID, scope, in.Reason, in.Version)
	if err != nil {
		return withFreshState(c, s, d.ID, scope, err)
	}
	return apiJSON(c, http.StatusOK, st)
}
