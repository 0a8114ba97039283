package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// A delivered device comes back: the workshop that handed it over (its
// technicians, and operators) records it back with a reason, from the
// device's return page or the API. The step is the lifecycle's own Direct
// step delivered → returned, taken through s.transitionDevice like every
// change of state; its event in the device's log (who, when, the reason as
// its note) is the record of the return. The device then starts a new
// cycle: diagnosis, erasure and grading again. The page shows how the
// device left (the handover, the beneficiary) and the beneficiary's
// request to take it back, if there is one, whose reason it proposes.

type returnPage struct {
	Device    postgres.DeviceDetail
	Delivery  *postgres.DeviceDelivery
	Delivered bool
	Reason    string // the form's default: the beneficiary's reason
	Confirmed string // when the handover was confirmed
	MaxReason int
}

// deviceReturnForm shows the return page of a device.
func (s *Server) deviceReturnForm(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	return s.returnRender(c, http.StatusOK, d, nil)
}

func (s *Server) returnRender(c *echo.Context, status int, d postgres.DeviceDetail, f *Form) error {
	data := returnPage{Device: d, Delivered: d.State == string(lifecycle.Delivered), MaxReason: allocation.MaxReasonRunes}
	del, err := s.store.DeviceDeliveryOf(c.Request().Context(), d.ID)
	switch {
	case err == nil:
		data.Delivery, data.Confirmed = &del, accountDate(langOf(c), del.ConfirmedAt)
		if del.Request != nil {
			data.Reason = del.Request.Reason
		}
	case berriz.KindOf(err) != berriz.NotFound:
		return err
	}
	return s.renderForm(c, status, "handover_return", "handover.return.title", f, data)
}

// deviceReturn records a delivered device back from its return page.
func (s *Server) deviceReturn(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, map[string]string{allocation.FieldReason: "handover.field.return_reason"})
	version, _ := strconv.Atoi(f.Values.Get("version"))
	if version <= 0 {
		version = -1 // a form always carries the version it showed
	}
	if _, err := s.recordReturn(c, d.ID, scope, f.Values.Get(allocation.FieldReason), version); err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok || status == http.StatusNotFound {
			return err
		}
		if fresh, lerr := s.store.Device(c.Request().Context(), d.ID, scope); lerr == nil {
			d = fresh
		}
		return s.returnRender(c, status, d, f)
	}
	s.SetFlash(c, "success", "handover.flash.returned")
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID))
}

// recordReturn checks the reason and takes the lifecycle's step to
// returned, the reason as the event's note. Pages and the API share it.
func (s *Server) recordReturn(c *echo.Context, id int64, scope postgres.DonationScope, reason string, version int) (postgres.DeviceState, error) {
	reason, err := allocation.CheckReason(reason)
	if err != nil {
		return postgres.DeviceState{}, err
	}
	return s.transitionDevice(c, id, scope, postgres.Transition{To: lifecycle.Returned, Via: lifecycle.Direct, Version: version,
		Note: reason})
}
