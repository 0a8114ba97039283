package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// The scanning screens: the workshop's scan station (a field a
// keyboard-wedge scanner types into, camera scanning by scan.js where the
// browser can, and scan-queue.js, which sends scans through the idempotent
// POST /api/v1/scan and queues them while the network is down) where blank
// tags are linked to devices at intake and action cards apply one step to
// many devices. The tag lookup (/t/, pages_tag_lookup.go), the action
// cards (pages_scan_cards.go), the locations (pages_scan_locations.go) and
// the scan API (api_scan.go) share its route list; what a scan does is in
// pages_scan_apply.go.

// scanRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) scanRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodGet, "/t", "tag_lookup", Public, s.tagLookupForm},
		{http.MethodGet, "/t/:code", "tag_lookup_code", Public, s.tagLookup},
		{http.MethodGet, "/scan", "scan", Workshop, s.scanStation},
		{http.MethodPost, "/scan", "scan_submit", Workshop, s.scanSubmit},
		{http.MethodPost, "/scan/intake", "scan_intake", Workshop, s.scanIntake},
		{http.MethodPost, "/scan/new", "scan_new", Workshop, s.scanNew},
		{http.MethodGet, "/scan/cards", "scan_cards", Workshop, s.scanCards},
		{http.MethodGet, "/scan/locations", "scan_locations", Workshop, s.scanLocations},
		{http.MethodPost, "/scan/locations", "scan_location_create", Workshop, s.scanLocationCreate},
		{http.MethodGet, "/a/receive", "action_receive_confirm", Workshop, s.actionCardConfirm},
		{http.MethodPost, "/a/receive", "action_receive", Workshop, s.actionCard},
		{http.MethodGet, "/a/recycle", "action_recycle_confirm", Workshop, s.actionCardConfirm},
		{http.MethodPost, "/a/recycle", "action_recycle", Workshop, s.actionCard},
		{http.MethodGet, "/a/publish", "action_publish_confirm", Workshop, s.actionCardConfirm},
		{http.MethodPost, "/a/publish", "action_publish", Workshop, s.actionCard},
		{http.MethodGet, "/a/move/:id", "action_move_confirm", Workshop, s.actionCardConfirm},
		{http.MethodPost, "/a/move/:id", "action_move", Workshop, s.actionCard},
		{http.MethodGet, "/a/stop", "action_stop_confirm", Workshop, s.actionCardConfirm},
		{http.MethodPost, "/a/stop", "action_stop", Workshop, s.actionCard},
		{http.MethodPost, v1 + "/scan", "api_scan", Workshop, s.apiScan},
		{http.MethodGet, v1 + "/locations", "api_locations", Workshop, s.apiLocations},
		{http.MethodPost, v1 + "/locations", "api_location_create", Workshop, s.apiCreateLocation},
	}
}

var scanLabels = map[string]string{"code": "scan.field.code", donation.FieldCategory: "scan.new.category",
	donation.FieldBrand: "scan.new.brand", donation.FieldModel: "scan.new.model", donation.FieldSerial: "scan.new.serial",
	"donation": "scan.new.donation"}

type scanPage struct {
	Action     actionView
	Code       string // the tag shown, with its dash
	Message    string // translation key about the code shown
	Device     *postgres.Device
	Blank      bool
	Candidates []postgres.IntakeCandidate
	Total      int
	Pager      Pager
	Donations  []postgres.Donation
	Categories []co2.Category
	Scans      []scanLine
	UserID     int64 // the offline queue is the user's own
}

// scanLine is one of the last scans as the station shows it.
type scanLine struct {
	At       time.Time
	Code     string // as shown
	Text     string // what happened, translated
	Device   string
	DeviceID int64
	OK       bool // done or information, not a failure
}

// scanStation shows the station: the field, the current action, the tag
// named by ?code= (its device, or the intake choice for a blank tag) and
// the last scans.
func (s *Server) scanStation(c *echo.Context) error { return s.scanRender(c, http.StatusOK, nil) }

func (s *Server) scanRender(c *echo.Context, status int, f *Form) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	action, err := s.actionBanner(c, scanAction(c))
	if err != nil {
		return err
	}
	d := scanPage{Action: action, UserID: p.UserID}
	raw := c.QueryParam("code")
	if f != nil && f.Values.Get("code") != "" {
		raw = f.Values.Get("code")
	}
	if raw != "" {
		if err := s.scanShow(c, raw, &d); err != nil {
			return err
		}
	}
	if p.UserID != 0 {
		scans, err := s.store.ScanLog(ctx, p.UserID)
		if err != nil {
			return err
		}
		lang := langOf(c)
		for _, sc := range scans {
			disp := sc.Code
			if code, err := tag.Parse(sc.Code); err == nil {
				disp = code.String()
			}
			d.Scans = append(d.Scans, scanLine{At: sc.At, Code: disp, Text: s.scanText(lang, sc.ScanEntry), Device: sc.Device,
				DeviceID: sc.DeviceID, OK: scanOK(sc.Outcome, sc.Result)})
		}
	}
	return s.renderForm(c, status, "scan", "scan.title", f, d)
}

// scanOK tells a scan that went well from a failure; lines logged before
// outcomes were recorded are told by their key.
func scanOK(outcome, result string) bool {
	switch outcome {
	case postgres.ScanDone, postgres.ScanInfo:
		return true
	case "":
		return strings.HasPrefix(result, "scan.result.") && result != "scan.result.invalid"
	}
	return false
}

// scanShow fills the station with what a code leads to, as far as the
// principal's workshop may know.
func (s *Server) scanShow(c *echo.Context, raw string, d *scanPage) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	code, err := tag.Parse(raw)
	if err != nil {
		d.Message = "error.tag_code"
		return nil
	}
	d.Code = code.String()
	td, err := s.store.DeviceByTag(ctx, code)
	switch {
	case berriz.KindOf(err) == berriz.NotFound:
		d.Message = "error.tag_unknown"
		return nil
	case err != nil:
		return err
	}
	if td.Device != nil {
		if !isStaffOf(p, td.WorkshopOrgID) {
			d.Message = "error.tag_unknown"
			return nil
		}
		d.Device = td.Device
		return nil
	}
	if ok, err := s.mayUseBlankTag(ctx, p, td.Tag); err != nil {
		return err
	} else if !ok {
		d.Message = "error.tag_unknown"
		return nil
	}
	d.Blank = true
	cands, page, err := s.store.DeclaredDevices(ctx, scope(p), pageParam(c))
	if err != nil {
		return err
	}
	d.Candidates, d.Total, d.Pager = cands, page.Total, s.pager(c, page)
	if d.Donations, err = s.store.IntakeDonations(ctx, scope(p), 50); err != nil {
		return err
	}
	d.Categories = co2.Categories()
	return nil
}

// logIntake records an intake at the station: its result key when it
// worked, the refusal otherwise; internal errors are returned.
func (s *Server) logIntake(c *echo.Context, code tag.Code, err error, ok string, deviceID int64) error {
	out := scanOutcome{ScanEntry: postgres.ScanEntry{Code: code.String(), Result: ok, Outcome: postgres.ScanDone, DeviceID: deviceID}}
	if err != nil {
		var rerr error
		if out, rerr = refusedScan(out, err); rerr != nil {
			return rerr
		}
	}
	p := principalOf(c)
	if p.UserID == 0 {
		return nil
	}
	return s.store.RecordScan(c.Request().Context(), p.UserID, out.ScanEntry)
}

func (s *Server) scanRedirect(c *echo.Context, code tag.Code) error {
	target := "/scan"
	if code != "" {
		target += "?code=" + code.String()
	}
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), target))
}

// scanSubmit takes what the scanner typed: an action card sets or ends the
// action; a tag code gets the action in force, or is looked up. The
// station then shows the code scanned; what is not a code is refused.
func (s *Server) scanSubmit(c *echo.Context) error {
	f := s.newForm(c, scanLabels)
	raw := f.Values.Get("code")
	out, err := s.applyScan(c, raw, scanAction(c))
	if err != nil {
		return err
	}
	if out.Card {
		return s.scanRedirect(c, "")
	}
	code, err := tag.Parse(raw)
	if err != nil {
		status, _ := s.failForm(c, f, berriz.FieldErrors{"code": "error.tag_code"}.Err())
		return s.scanRender(c, status, f)
	}
	return s.scanRedirect(c, code)
}

// scanIntake links a blank tag to the chosen declared device.
func (s *Server) scanIntake(c *echo.Context) error {
	f := s.newForm(c, scanLabels)
	code, err := tag.Parse(f.Values.Get("code"))
	if err != nil {
		return berriz.E(berriz.Invalid, "error.tag_code")
	}
	id, err := strconv.ParseInt(f.Values.Get("device"), 10, 64)
	if err != nil || id <= 0 {
		return berriz.E(berriz.Invalid, "scan.error.device_choose")
	}
	p := principalOf(c)
	r, err := s.store.IntakeDevice(c.Request().Context(), code, id, scope(p), p, s.now())
	if err := s.logIntake(c, code, err, "scan.result.linked", r.Device.ID); err != nil {
		return err
	}
	return s.scanRedirect(c, code)
}

// scanNew adds a device found in the box to a donation and links the tag.
func (s *Server) scanNew(c *echo.Context) error {
	f := s.newForm(c, scanLabels)
	code, err := tag.Parse(f.Values.Get("code"))
	if err != nil {
		return berriz.E(berriz.Invalid, "error.tag_code")
	}
	in := donation.Input{}
	for _, name := range []string{donation.FieldCategory, donation.FieldBrand, donation.FieldModel, donation.FieldSerial} {
		in.Set(name, f.Values.Get(name))
	}
	line, fe := in.Parse(s.now())
	donationID, perr := strconv.ParseInt(f.Values.Get("donation"), 10, 64)
	if perr != nil || donationID <= 0 {
		if fe == nil {
			fe = berriz.FieldErrors{}
		}
		fe.Add("donation", "scan.error.donation_choose")
	}
	if len(fe) > 0 {
		status, _ := s.failForm(c, f, fe.Err())
		return s.scanRender(c, status, f)
	}
	p := principalOf(c)
	r, err := s.store.CreateDeviceAtIntake(c.Request().Context(), code, donationID, scope(p), line, p, s.now())
	if err := s.logIntake(c, code, err, "scan.result.created", r.Device.ID); err != nil {
		return err
	}
	return s.scanRedirect(c, code)
}
