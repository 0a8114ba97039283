package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// Reservations (docs/matching.md): a beneficiary's page of the live
// reservations of its organisation's requests, each waiting one with
// accept and decline buttons and its expiry; operators see every
// organisation's and may release any live reservation. The buttons of a
// page share one form (each button names its action), which keeps the
// page within its DOM budget with a full page of reservations.

type reservationsPage struct {
	Reservations []reservationRow
	Total        int
	Pager        Pager
	Operator     bool
}

// reservationRow is a reservation with what its row shows.
type reservationRow struct {
	postgres.Reservation
	StateKey string
	Specs    string
	Expires  string // in the reader's language and time zone
	Waiting  bool   // may be accepted or declined
}

// reservations lists the live reservations the caller may answer or
// release.
func (s *Server) reservations(c *echo.Context) error {
	return s.reservationsRender(c, http.StatusOK, nil)
}

func (s *Server) reservationsRender(c *echo.Context, status int, f *Form) error {
	p := principalOf(c)
	rs, page, err := s.store.LiveReservations(c.Request().Context(), scope(p), pageParam(c))
	if err != nil {
		return err
	}
	d := reservationsPage{Total: page.Total, Pager: pagerOn(c, page, "/reservations"), Operator: p.IsOperator()}
	for _, r := range rs {
		d.Reservations = append(d.Reservations, s.reservationRow(langOf(c), r))
	}
	return s.renderForm(c, status, "reservations", "matching.reservations.title", f, d)
}

func (s *Server) reservationRow(lang i18n.Lang, r postgres.Reservation) reservationRow {
	row := reservationRow{Reservation: r, StateKey: postgres.ReservationStateKey(r.State), Specs: s.specsText(lang, r.Device)}
	if r.DroppedReason != "" {
		row.StateKey = droppedKeys[r.DroppedReason]
	}
	if r.ExpiresAt != nil {
		row.Expires = accountDate(lang, *r.ExpiresAt)
		row.Waiting = r.State == allocation.ReservationReserved && s.now().Before(*r.ExpiresAt)
	}
	return row
}

// droppedKeys name why a proposal's send dropped a device.
var droppedKeys = map[string]string{
	postgres.DropDeviceTaken:   "matching.dropped.device_taken",
	postgres.DropRequestClosed: "matching.dropped.request_closed",
	postgres.DropLineFull:      "matching.dropped.line_full",
}

// reservationAnswer records an answer (accept or decline) of the caller's
// organisation (operators: any), shared by the page and the API.
func (s *Server) reservationAnswer(c *echo.Context, accept bool) (postgres.Reservation, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return postgres.Reservation{}, err
	}
	p := principalOf(c)
	return s.store.AnswerReservation(c.Request().Context(), id, scope(p), accept, s.now(), p)
}

// reservationRelease takes a live reservation back (operators).
func (s *Server) reservationRelease(c *echo.Context) (postgres.Reservation, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return postgres.Reservation{}, err
	}
	return s.store.ReleaseReservation(c.Request().Context(), id, principalOf(c))
}

func (s *Server) reservationAccept(c *echo.Context) error {
	_, err := s.reservationAnswer(c, true)
	return s.reservationsDone(c, err, "matching.flash.accepted")
}

func (s *Server) reservationDecline(c *echo.Context) error {
	_, err := s.reservationAnswer(c, false)
	return s.reservationsDone(c, err, "matching.flash.declined")
}

func (s *Server) reservationReleasePage(c *echo.Context) error {
	_, err := s.reservationRelease(c)
	return s.reservationsDone(c, err, "matching.flash.released")
}

// reservationsDone redirects to the reservations' page after a change, or
// shows it again with the reason of a refusal.
func (s *Server) reservationsDone(c *echo.Context, err error, flash string) error {
	f := s.newForm(c, nil)
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		return s.reservationsRender(c, status, f)
	}
	s.SetFlash(c, "success", flash)
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/reservations"))
}

// expireReservations is the background job that releases the devices of
// reservations left unanswered past their expiry, then reminds the
// beneficiaries of those about to expire (postgres ExpireReservations and
// RemindReservations: safe with several instances at once).
func (s *Server) expireReservations(ctx context.Context, now time.Time) error {
	n, err := s.store.ExpireReservations(ctx, now)
	if n > 0 {
		s.log.Info("reservations expired", "count", n)
	}
	reminded, rerr := s.store.RemindReservations(ctx, now)
	if reminded > 0 {
		s.log.Info("reservations reminded", "count", reminded)
	}
	return errors.Join(err, rerr)
}
