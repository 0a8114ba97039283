package server

import (
	"context"
	"net/http"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/recycling"
	"github.com/labstack/echo/v5"
)

// The JSON face of recycling batches: the same store calls and checks as
// the pages (pages_recycling*.go), documented in openapi/recycling.json.

// apiRecyclingBatches is GET /recycling: the workshop's batches (operators:
// every workshop's), open ones first.
func (s *Server) apiRecyclingBatches(c *echo.Context) error {
	batches, page, err := s.store.RecyclingBatches(c.Request().Context(), scope(principalOf(c)), pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(batches, page))
}

// apiRecyclingBatch is GET /recycling/{id}.
func (s *Server) apiRecyclingBatch(c *echo.Context) error {
	b, err := s.batchLoad(c)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, b)
}

// apiRecyclingDevices is GET /recycling/{id}/devices: one page of the
// batch's devices.
func (s *Server) apiRecyclingDevices(c *echo.Context) error {
	b, err := s.batchLoad(c)
	if err != nil {
		return err
	}
	devices, page, err := s.store.RecyclingBatchDevices(c.Request().Context(), b.ID, pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(devices, page))
}

// apiRecyclingHandover is POST /recycling/{id}/handover, a
// multipart/form-data body with the handover form's fields and the
// certificate file.
func (s *Server) apiRecyclingHandover(c *echo.Context) error {
	if err := requireMediaType(c, "multipart/form-data"); err != nil {
		return err
	}
	b, err := s.batchLoad(c)
	if err != nil {
		return err
	}
	in := recycling.Input{Recycler: c.FormValue(recycling.FieldRecycler), HandedOverOn: c.FormValue(recycling.FieldHandedOverOn),
		TotalWeightKg: c.FormValue(recycling.FieldTotalWeightKg), CertificateRef: c.FormValue(recycling.FieldCertificateRef)}
	out, err := s.handOver(c, b, in)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, out)
}

// deviceRecyclingStatus is a device's standing towards recycling.
type deviceRecyclingStatus struct {
	DeviceID int64  `json:"device_id"`
	State    string `json:"state"`
	Version  int    `json:"version"`
	BatchID  int64  `json:"batch_id,omitempty"` // the batch it is in
	CanJoin  bool   `json:"can_join"`
	Reason   string `json:"reason,omitempty"` // why it cannot join
}

// apiDeviceRecycling is GET /devices/{id}/recycling.
func (s *Server) apiDeviceRecycling(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	st, facts, err := s.store.DeviceFacts(c.Request().Context(), d.ID, scope)
	if err != nil {
		return err
	}
	out := deviceRecyclingStatus{DeviceID: d.ID, State: string(st.State), Version: st.Version, BatchID: d.RecyclingBatchID}
	if d.RecyclingBatchID == 0 {
		if err := lifecycle.Check(st.State, lifecycle.Recycled, lifecycle.Recycling, facts); err != nil {
			out.Reason = s.errorText(langOf(c), berriz.As(err))
		} else {
			out.CanJoin = true
		}
	}
	return apiJSON(c, http.StatusOK, out)
}

// apiDeviceRecyclingAdd is POST /devices/{id}/recycling: the device joins
// its workshop's open batch (created on demand). Refusals are 409 with the
// lifecycle's reason.
func (s *Server) apiDeviceRecyclingAdd(c *echo.Context) error {
	return s.apiDeviceRecyclingChange(c, s.store.AddToRecycling)
}

// apiDeviceRecyclingRemove is DELETE /devices/{id}/recycling: the device
// leaves its open batch.
func (s *Server) apiDeviceRecyclingRemove(c *echo.Context) error {
	return s.apiDeviceRecyclingChange(c, s.store.RemoveFromRecycling)
}

type recyclingChange func(ctx context.Context, id int64, scope postgres.DonationScope, actor *account.Principal) (postgres.RecyclingJoin, error)

func (s *Server) apiDeviceRecyclingChange(c *echo.Context, change recyclingChange) error {
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	j, err := change(c.Request().Context(), id, scope, principalOf(c))
	if err != nil {
		return withFreshState(c, s, id, scope, err)
	}
	return apiJSON(c, http.StatusOK, j)
}
