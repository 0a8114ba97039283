package server

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/scan"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// What one scan does, whichever way it came — the station's form, its
// script through POST /api/v1/scan, or the offline queue replayed later:
// a card sets the action in force; a tag gets that action, checked by the
// same store calls as the pages (the lifecycle's rules device by device),
// or is looked up when no action is in force. Every scan is logged with
// its outcome, so the station's last scans say what happened to each
// device. Only internal errors are errors here: a refusal is an outcome.

// scanOutcome is what one scan did.
type scanOutcome struct {
	postgres.ScanEntry
	Action scan.Action // the action in force after the scan
	Card   bool        // the scan was an action card
	Next   string      // the station's page showing what the code leads to, for lookups; ""
}

// applyScan applies what was scanned (raw) under action, logs it, and
// says what happened.
func (s *Server) applyScan(c *echo.Context, raw string, action scan.Action) (scanOutcome, error) {
	out, err := s.scanEffect(c, raw, action)
	if err != nil {
		return scanOutcome{}, err
	}
	if p := principalOf(c); p.UserID != 0 {
		if err := s.store.RecordScan(c.Request().Context(), p.UserID, out.ScanEntry); err != nil {
			return scanOutcome{}, err
		}
	}
	return out, nil
}

func (s *Server) scanEffect(c *echo.Context, raw string, action scan.Action) (scanOutcome, error) {
	if card, ok := scan.ParseCard(raw); ok {
		return s.applyCard(c, card, action)
	}
	code, err := tag.Parse(raw)
	if err != nil {
		return scanOutcome{ScanEntry: postgres.ScanEntry{Code: printable(raw), Result: "scan.result.invalid",
			Outcome: postgres.ScanInvalid}, Action: action}, nil
	}
	out := scanOutcome{ScanEntry: postgres.ScanEntry{Code: code.String()}, Action: action}
	switch action.Kind {
	case scan.Receive:
		err = s.scanReceive(c, code, &out)
	case scan.Move, scan.Recycle, scan.Publish:
		err = s.scanDeviceAction(c, code, action, &out)
	default:
		err = s.scanLookup(c, code, &out)
	}
	if err == nil {
		return out, nil
	}
	return refusedScan(out, err)
}

// printable is what the log keeps of garbage: valid UTF-8 without control
// characters, trimmed (the store cuts it to the log's width).
func printable(raw string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(raw, "")))
}

// refusedScan turns a refusal into the scan's outcome; internal errors
// stay errors.
func refusedScan(out scanOutcome, err error) (scanOutcome, error) {
	be, status := classify(err)
	if status >= 500 || be == nil {
		return scanOutcome{}, err
	}
	out.Result, out.Args, out.KeyArgs = be.Message, be.Args, be.KeyArgs
	switch be.Kind {
	case berriz.NotFound:
		out.Outcome = postgres.ScanNotFound
	case berriz.Invalid, berriz.TooLarge:
		out.Outcome = postgres.ScanInvalid
	default:
		out.Outcome = postgres.ScanRefused
	}
	return out, nil
}

// scanReceive marks received the declared device a tag is linked to.
func (s *Server) scanReceive(c *echo.Context, code tag.Code, out *scanOutcome) error {
	p := principalOf(c)
	r, err := s.store.ReceiveTagged(c.Request().Context(), code, scope(p), p)
	if err != nil && berriz.As(err).Message == "scan.error.receive_blank" {
		out.Next = "/scan?code=" + code.String() // the intake choice
	}
	if err != nil {
		return err
	}
	out.Result, out.Outcome, out.DeviceID = "scan.result.received", postgres.ScanDone, r.Device.ID
	return nil
}

// scanLookup says what a tag leads to, as far as the scanner may know.
func (s *Server) scanLookup(c *echo.Context, code tag.Code, out *scanOutcome) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	td, err := s.store.DeviceByTag(ctx, code)
	if err != nil {
		return err
	}
	out.Result, out.Outcome = "scan.result.found", postgres.ScanInfo
	switch {
	case td.Device != nil && isStaffOf(p, td.WorkshopOrgID):
		out.DeviceID = td.Device.ID
	case td.Device != nil:
		return berriz.E(berriz.NotFound, "error.tag_unknown")
	default:
		ok, err := s.mayUseBlankTag(ctx, p, td.Tag)
		if err != nil {
			return err
		}
		if !ok {
			return berriz.E(berriz.NotFound, "error.tag_unknown")
		}
		out.Result = "scan.result.blank"
	}
	out.Next = "/scan?code=" + code.String()
	return nil
}

// scanDeviceAction applies a move, recycle or publish card to the device
// a tag is linked to.
func (s *Server) scanDeviceAction(c *echo.Context, code tag.Code, action scan.Action, out *scanOutcome) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	td, err := s.store.DeviceByTag(ctx, code)
	if err != nil {
		return err
	}
	if td.Device == nil {
		if ok, err := s.mayUseBlankTag(ctx, p, td.Tag); err != nil || !ok {
			return orNotFound(err)
		}
		return berriz.E(berriz.Conflict, "scan.error.action_blank")
	}
	if !isStaffOf(p, td.WorkshopOrgID) {
		return berriz.E(berriz.NotFound, "error.tag_unknown")
	}
	out.DeviceID = td.Device.ID
	sc, err := donationScope(p)
	if err != nil {
		return err
	}
	switch action.Kind {
	case scan.Move:
		m, err := s.store.MoveDevice(ctx, td.Device.ID, sc, action.Location, 0, p)
		if err != nil {
			return err
		}
		out.Result, out.Outcome, out.Args = "scan.result.moved", postgres.ScanDone, map[string]string{"location": m.Location}
		if !m.Changed {
			out.Result, out.Outcome = "scan.result.already_there", postgres.ScanInfo
		}
	case scan.Recycle:
		j, err := s.store.AddToRecycling(ctx, td.Device.ID, sc, p)
		if err != nil {
			return err
		}
		out.Result, out.Outcome = "scan.result.recycling_added", postgres.ScanDone
		out.Args = map[string]string{"batch": strconv.FormatInt(j.BatchID, 10)}
	case scan.Publish:
		t := postgres.Transition{To: lifecycle.Available, Via: lifecycle.Direct}
		if _, err := s.transitionDevice(c, td.Device.ID, sc, t); err != nil {
			return err
		}
		out.Result, out.Outcome = "scan.result.published", postgres.ScanDone
	}
	return nil
}

func orNotFound(err error) error {
	if err != nil {
		return err
	}
	return berriz.E(berriz.NotFound, "error.tag_unknown")
}

// applyCard sets the action a card names, once checked: a move card must
// name a location of the scanner's workshop. A refused card leaves the
// action in force as it was.
func (s *Server) applyCard(c *echo.Context, card, was scan.Action) (scanOutcome, error) {
	out := scanOutcome{ScanEntry: postgres.ScanEntry{Code: card.Path(), Outcome: postgres.ScanInfo}, Action: was, Card: true}
	if card.Kind == scan.Move {
		loc, err := s.store.Location(c.Request().Context(), card.Location, scope(principalOf(c)))
		if err != nil {
			return refusedScan(out, err)
		}
		out.Args = map[string]string{"location": loc.Name}
	}
	out.Result = "scan.result.action_" + string(card.Kind)
	out.Action = card
	if card.Kind == scan.Stop {
		out.Action = scan.None
	}
	s.rememberAction(c, out.Action)
	return out, nil
}

// rememberAction keeps the action in force in the station's cookie; an
// API client with a token has no station to remember it.
func (s *Server) rememberAction(c *echo.Context, a scan.Action) {
	switch {
	case viaBearer(c):
	case a == scan.None:
		s.setCookie(c, scanActionCookie, "", -1)
	default:
		s.setCookie(c, scanActionCookie, a.String(), scanActionLife)
	}
}

// scanText is a scan's result in lang, its placeholders filled.
func (s *Server) scanText(lang i18n.Lang, e postgres.ScanEntry) string {
	return s.errorText(lang, &berriz.Error{Message: e.Result, Args: e.Args, KeyArgs: e.KeyArgs})
}
