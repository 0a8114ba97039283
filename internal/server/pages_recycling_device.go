package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// A device's recycling page, where the device page's "Recycle" step leads:
// why the device can or cannot be recycled, the button that adds it to its
// workshop's open batch, or, while it waits in a batch, the button that
// takes it out.

type deviceRecyclingPage struct {
	Device  postgres.DeviceDetail
	Batch   *postgres.RecyclingBatch // the batch it is in, if any
	CanJoin bool
	Reason  string // why it cannot join, translated
}

// deviceRecycling shows the device's standing towards recycling.
func (s *Server) deviceRecycling(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	return s.deviceRecyclingRender(c, http.StatusOK, d, scope, nil)
}

func (s *Server) deviceRecyclingRender(c *echo.Context, status int, d postgres.DeviceDetail, scope postgres.DonationScope,
	f *Form) error {
	page := deviceRecyclingPage{Device: d}
	ctx := c.Request().Context()
	if d.RecyclingBatchID != 0 {
		b, err := s.store.RecyclingBatch(ctx, d.RecyclingBatchID, 0)
		if err != nil {
			return err
		}
		page.Batch = &b
	} else {
		st, facts, err := s.store.DeviceFacts(ctx, d.ID, scope)
		if err != nil {
			return err
		}
		if err := lifecycle.Check(st.State, lifecycle.Recycled, lifecycle.Recycling, facts); err != nil {
			page.Reason = s.errorText(langOf(c), berriz.As(err))
		} else {
			page.CanJoin = true
		}
	}
	return s.renderForm(c, status, "recycling_device", "recycling.device.title", f, page)
}

// deviceRecyclingAdd puts the device into its workshop's open batch; a
// refusal shows the page again with the reason.
func (s *Server) deviceRecyclingAdd(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, nil)
	if _, err := s.store.AddToRecycling(c.Request().Context(), d.ID, scope, principalOf(c)); err != nil {
		return s.deviceRecyclingFail(c, d.ID, scope, f, err)
	}
	s.SetFlash(c, "success", "recycling.flash.added")
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID)+"/recycling")
}

// deviceRecyclingRemove takes the device out of its open batch, then
// shows the batch (from the batch page) or the device's recycling page.
func (s *Server) deviceRecyclingRemove(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, nil)
	j, err := s.store.RemoveFromRecycling(c.Request().Context(), d.ID, scope, principalOf(c))
	if err != nil {
		return s.deviceRecyclingFail(c, d.ID, scope, f, err)
	}
	s.SetFlash(c, "success", "recycling.flash.removed")
	if f.Values.Get("back") == "batch" {
		return c.Redirect(http.StatusSeeOther, batchURL(c, j.BatchID))
	}
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID)+"/recycling")
}

func (s *Server) deviceRecyclingFail(c *echo.Context, id int64, scope postgres.DonationScope, f *Form, err error) error {
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	d, lerr := s.store.Device(c.Request().Context(), id, scope)
	if lerr != nil {
		return lerr
	}
	return s.deviceRecyclingRender(c, status, d, scope, f)
}
