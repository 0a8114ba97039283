package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// What is done on a handover's page: the beneficiary confirms receipt
// (with the optional answer of co2/METHOD.md) or, once confirmed, asks for
// a device to be taken back; the workshop cancels a handover not yet
// confirmed. Each refusal shows the page again with the reason.

// handoverActionFields labels the fields of the page's forms.
var handoverActionFields = map[string]string{allocation.FieldAnswer: "handover.field.answer",
	allocation.FieldTag: "handover.field.tag", allocation.FieldReason: "handover.field.reason"}

// handoverFail shows a handover's page again, fresh, with what went
// wrong on its form; errors that are not the user's doing (and a handover
// gone from the caller's scope) go to the error page.
func (s *Server) handoverFail(c *echo.Context, h postgres.Handover, scope postgres.HandoverScope, f *Form, err error) error {
	status, ok := s.failForm(c, f, err)
	if !ok || status == http.StatusNotFound {
		return err
	}
	if fresh, lerr := s.store.Handover(c.Request().Context(), h.ID, scope); lerr == nil {
		h = fresh
	}
	return s.handoverRender(c, status, h, f)
}

// handoverConfirm confirms receipt from the handover's page.
func (s *Server) handoverConfirm(c *echo.Context) error {
	h, scope, err := s.handoverLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, handoverActionFields)
	answer, err := allocation.ParseAnswer(f.Values.Get(allocation.FieldAnswer))
	if err == nil {
		_, err = s.store.ConfirmHandover(c.Request().Context(), h.ID, scope, answer, principalOf(c))
	}
	if err != nil {
		return s.handoverFail(c, h, scope, f, err)
	}
	s.SetFlash(c, "success", "handover.flash.confirmed")
	return c.Redirect(http.StatusSeeOther, handoverURL(c, h.ID))
}

// handoverCancel cancels a prepared handover from its page.
func (s *Server) handoverCancel(c *echo.Context) error {
	h, scope, err := s.handoverLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, nil)
	if _, err := s.store.CancelHandover(c.Request().Context(), h.ID, scope.WorkshopOrgID, principalOf(c)); err != nil {
		return s.handoverFail(c, h, scope, f, err)
	}
	s.SetFlash(c, "success", "handover.flash.cancelled")
	return c.Redirect(http.StatusSeeOther, handoverURL(c, h.ID))
}

// returnRequestInput reads what names the device to take back: its tag as
// printed on its label (the page's field), or its id (the API). A tag that
// cannot be one is a field error.
func returnRequestInput(tagText string, deviceID int64, reason string) (postgres.NewReturnRequest, error) {
	in := postgres.NewReturnRequest{DeviceID: deviceID, Reason: reason}
	if deviceID == 0 {
		code, err := tag.Parse(tagText)
		if err != nil {
			return in, berriz.FieldErrors{allocation.FieldTag: "handover.error.device_not_in_handover"}.Err()
		}
		in.Tag = code.Compact()
	}
	return in, nil
}

// handoverReturnRequest records the beneficiary's request to take a
// delivered device back.
func (s *Server) handoverReturnRequest(c *echo.Context) error {
	h, scope, err := s.handoverLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, handoverActionFields)
	in, err := returnRequestInput(f.Values.Get(allocation.FieldTag), 0, f.Values.Get(allocation.FieldReason))
	if err == nil {
		_, err = s.store.RequestReturn(c.Request().Context(), h.ID, scope, in, principalOf(c))
	}
	if err != nil {
		return s.handoverFail(c, h, scope, f, err)
	}
	s.SetFlash(c, "success", "handover.flash.return_requested")
	return c.Redirect(http.StatusSeeOther, handoverURL(c, h.ID))
}
