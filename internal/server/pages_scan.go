package server

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
	qrcode "github.com/skip2/go-qrcode"
)

// The tag and scanning screens: /t/<code> (what a phone opens when it
// scans a tag: the device page for the staff holding it, the public
// passport for everyone else), the workshop's scan station (a field a
// keyboard-wedge scanner types into, camera scanning by scan.js where the
// browser can) where blank tags are linked to devices at intake, and the
// printable action cards.
//
// Action cards are QR codes of <public URL>/a/<action>: a separate
// namespace from tags (/t/), so no tag code can ever mean an action.
// "receive" marks received the declared device a scanned tag is already
// linked to (tags printed for chosen devices); "stop" ends the action.
// The current action is a cookie of the browser at the station, shown on
// the station at all times; every scan is still checked by the store
// against the scanner's workshop.

// scanRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) scanRoutes() []Route {
	return []Route{
		{http.MethodGet, "/t", "tag_lookup", Public, s.tagLookupForm},
		{http.MethodGet, "/t/:code", "tag_lookup_code", Public, s.tagLookup},
		{http.MethodGet, "/scan", "scan", Workshop, s.scanStation},
		{http.MethodPost, "/scan", "scan_submit", Workshop, s.scanSubmit},
		{http.MethodPost, "/scan/intake", "scan_intake", Workshop, s.scanIntake},
		{http.MethodPost, "/scan/new", "scan_new", Workshop, s.scanNew},
		{http.MethodGet, "/scan/cards", "scan_cards", Workshop, s.scanCards},
		{http.MethodGet, "/a/receive", "action_receive_confirm", Workshop, s.actionCardConfirm},
		{http.MethodPost, "/a/receive", "action_receive", Workshop, s.actionCard},
		{http.MethodGet, "/a/stop", "action_stop_confirm", Workshop, s.actionCardConfirm},
		{http.MethodPost, "/a/stop", "action_stop", Workshop, s.actionCard},
	}
}

const (
	scanActionCookie = "berriz_scan_action"
	actionReceive    = "receive"
	actionStop       = "stop"
	// scanActionLife: an action left on overnight should not surprise the
	// next morning's shift.
	scanActionLife = 12 * time.Hour
)

var scanLabels = map[string]string{"code": "scan.field.code", donation.FieldCategory: "scan.new.category",
	donation.FieldBrand: "scan.new.brand", donation.FieldModel: "scan.new.model", donation.FieldSerial: "scan.new.serial",
	"donation": "scan.new.donation"}

// parseAction recognises an action card: /a/<action>, as a full URL or a
// path, in any case.
func parseAction(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		return "", false
	}
	if u, err := url.Parse(s); err == nil && u.Path != "" {
		s = u.Path
	}
	s = strings.TrimSuffix(strings.ToLower(s), "/")
	for _, a := range []string{actionReceive, actionStop} {
		if s == "/a/"+a || strings.HasSuffix(s, "/a/"+a) && strings.Count(s, "/") <= 3 {
			return a, true
		}
	}
	return "", false
}

// isStaffOf reports whether p works for org (technicians) or runs the
// territory (operators with a user).
func isStaffOf(p *account.Principal, org int64) bool {
	if p == nil {
		return false
	}
	if p.IsOperator() {
		return p.UserID != 0
	}
	return p.Role() == account.RoleTechnician && org != 0 && p.OrgID == org
}

// mayUseBlankTag reports whether p may link the blank tag t at intake, as
// the store decides (IntakeDevice, CreateDeviceAtIntake): a workshop uses
// its own tags and those an operator generated; operators use any.
func (s *Server) mayUseBlankTag(ctx context.Context, p *account.Principal, t postgres.Tag) (bool, error) {
	switch {
	case p == nil:
		return false, nil
	case p.IsOperator() || isStaffOf(p, t.OrgID):
		return true, nil
	case p.Role() != account.RoleTechnician:
		return false, nil
	}
	org, err := s.store.Organisation(ctx, t.OrgID)
	if err != nil {
		return false, err
	}
	return org.Kind == account.KindOperator, nil
}

type tagLookupPage struct {
	Code    string // as typed, for the field
	Message string // translation key of what went wrong, or ""
	Blank   bool   // a real tag, not in use yet
}

// tagLookupForm answers the lookup field: a code (or URL) in ?code= goes
// to /t/<code>; without one, the page with the field.
func (s *Server) tagLookupForm(c *echo.Context) error {
	raw := c.QueryParam("code")
	if strings.TrimSpace(raw) == "" {
		return s.render(c, http.StatusOK, "tag_lookup", "tag.lookup.title", tagLookupPage{})
	}
	code, err := tag.Parse(raw)
	if err != nil {
		return s.render(c, http.StatusNotFound, "tag_lookup", "tag.lookup.title", tagLookupPage{Code: cut(raw, 100), Message: "error.tag_code"})
	}
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/t/"+code.String()))
}

type passportPage struct {
	Code     string
	Category string // translation key
	Brand    string
	Model    string
	State    string // translation key
	Year     int
}

// tagLookup is what scanning a tag opens.
func (s *Server) tagLookup(c *echo.Context) error {
	raw := c.Param("code")
	code, err := tag.Parse(raw)
	if err != nil {
		return s.render(c, http.StatusNotFound, "tag_lookup", "tag.lookup.title", tagLookupPage{Code: cut(raw, 100), Message: "error.tag_code"})
	}
	td, err := s.store.DeviceByTag(c.Request().Context(), code)
	if berriz.KindOf(err) == berriz.NotFound {
		return s.render(c, http.StatusNotFound, "tag_lookup", "tag.lookup.title", tagLookupPage{Code: code.String(), Message: "error.tag_unknown"})
	}
	if err != nil {
		return err
	}
	p := principalOf(c)
	lang := langOf(c)
	if td.Device == nil {
		ok, err := s.mayUseBlankTag(c.Request().Context(), p, td.Tag)
		if err != nil {
			return err
		}
		if ok && (!p.IsOperator() || p.UserID != 0) {
			return c.Redirect(http.StatusSeeOther, localURL(lang, "/scan?code="+code.String()))
		}
		return s.render(c, http.StatusOK, "tag_lookup", "tag.lookup.title", tagLookupPage{Code: code.String(), Blank: true})
	}
	if isStaffOf(p, td.WorkshopOrgID) {
		return c.Redirect(http.StatusSeeOther, localURL(lang, "/devices/"+strconv.FormatInt(td.Device.ID, 10)))
	}
	d := td.Device
	pg := s.newPage(c, "passport.title", passportPage{Code: code.String(), Category: categoryKey(d.Category),
		Brand: d.Brand, Model: d.Model, State: "donation.device_state." + d.State, Year: d.Year})
	return s.renderPage(c, http.StatusOK, "passport", pg)
}

// categoryKey names a category in the catalogs; an unknown one (a factor
// set changed since) is "other".
func categoryKey(id string) string {
	if _, ok := co2.CategoryByID(id); ok {
		return "category." + id
	}
	return "passport.category_unknown"
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

type scanPage struct {
	Action     string
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
}

type scanLine struct {
	postgres.Scan
	Display string
}

func scanAction(c *echo.Context) string {
	if ck, err := c.Cookie(scanActionCookie); err == nil && ck.Value == actionReceive {
		return actionReceive
	}
	return ""
}

// scanStation shows the station: the field, the current action, the tag
// named by ?code= (its device, or the intake choice for a blank tag) and
// the last scans.
func (s *Server) scanStation(c *echo.Context) error { return s.scanRender(c, http.StatusOK, nil) }

func (s *Server) scanRender(c *echo.Context, status int, f *Form) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	d := scanPage{Action: scanAction(c)}
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
		scans, err := s.store.RecentScans(ctx, p.UserID)
		if err != nil {
			return err
		}
		for _, sc := range scans {
			disp := sc.Code
			if code, err := tag.Parse(sc.Code); err == nil {
				disp = code.String()
			}
			d.Scans = append(d.Scans, scanLine{Scan: sc, Display: disp})
		}
	}
	return s.renderForm(c, status, "scan", "scan.title", f, d)
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

// scanResult is the outcome of a scan for the log: the key of what
// happened, or of the user-facing error; internal errors are returned.
func scanResult(err error, ok string) (string, error) {
	if err == nil {
		return ok, nil
	}
	be, status := classify(err)
	if status >= 500 || be == nil {
		return "", err
	}
	return be.Message, nil
}

func (s *Server) logScan(c *echo.Context, code, result string, deviceID int64) error {
	p := principalOf(c)
	if p.UserID == 0 {
		return nil
	}
	return s.store.LogScan(c.Request().Context(), p.UserID, code, result, deviceID)
}

func (s *Server) scanRedirect(c *echo.Context, code tag.Code) error {
	target := "/scan"
	if code != "" {
		target += "?code=" + code.String()
	}
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), target))
}

// scanSubmit takes what the scanner typed: an action card sets or ends the
// action; a tag code applies the current action, or is looked up.
func (s *Server) scanSubmit(c *echo.Context) error {
	f := s.newForm(c, scanLabels)
	raw := f.Values.Get("code")
	if a, ok := parseAction(raw); ok {
		return s.setAction(c, a)
	}
	code, err := tag.Parse(raw)
	if err != nil {
		if err := s.logScan(c, cut(strings.TrimSpace(raw), 40), "scan.result.invalid", 0); err != nil {
			return err
		}
		status, _ := s.failForm(c, f, berriz.FieldErrors{"code": "error.tag_code"}.Err())
		return s.scanRender(c, status, f)
	}
	ctx := c.Request().Context()
	p := principalOf(c)
	var result string
	var deviceID int64
	if scanAction(c) == actionReceive {
		r, err := s.store.ReceiveTagged(ctx, code, scope(p), p)
		if result, err = scanResult(err, "scan.result.received"); err != nil {
			return err
		}
		deviceID = r.Device.ID
	} else {
		td, err := s.store.DeviceByTag(ctx, code)
		switch {
		case berriz.KindOf(err) == berriz.NotFound:
			result = "error.tag_unknown"
		case err != nil:
			return err
		case td.Device == nil:
			ok, err := s.mayUseBlankTag(ctx, p, td.Tag)
			if err != nil {
				return err
			}
			result = "error.tag_unknown"
			if ok {
				result = "scan.result.blank"
			}
		case isStaffOf(p, td.WorkshopOrgID):
			result, deviceID = "scan.result.found", td.Device.ID
		default:
			result = "error.tag_unknown"
		}
	}
	if err := s.logScan(c, string(code), result, deviceID); err != nil {
		return err
	}
	return s.scanRedirect(c, code)
}

func (s *Server) setAction(c *echo.Context, a string) error {
	if a == actionStop {
		s.setCookie(c, scanActionCookie, "", -1)
	} else {
		s.setCookie(c, scanActionCookie, a, scanActionLife)
	}
	if err := s.logScan(c, "/a/"+a, "scan.result.action_"+a, 0); err != nil {
		return err
	}
	return s.scanRedirect(c, "")
}

// actionCard is what a phone scanning an action card opens: the action is
// set for this browser's station.
func (s *Server) actionCard(c *echo.Context) error {
	a, _ := parseAction(c.Request().URL.Path)
	return s.setAction(c, a)
}

// actionCardConfirm is what a phone opens when its camera reads an action
// card: a page with one button, because a GET must not change anything (a
// link on another site could otherwise switch the station's mode).
func (s *Server) actionCardConfirm(c *echo.Context) error {
	a, _ := parseAction(c.Request().URL.Path)
	return s.render(c, http.StatusOK, "scan_action", "scan.action_confirm.title", struct{ Action string }{a})
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
	result, err := scanResult(err, "scan.result.linked")
	if err != nil {
		return err
	}
	if err := s.logScan(c, string(code), result, r.Device.ID); err != nil {
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
	result, err := scanResult(err, "scan.result.created")
	if err != nil {
		return err
	}
	if err := s.logScan(c, string(code), result, r.Device.ID); err != nil {
		return err
	}
	return s.scanRedirect(c, code)
}

type actionCardView struct {
	Title, Hint, URL string
	QR               template.HTML
}

// scanCards shows the printable action cards.
func (s *Server) scanCards(c *echo.Context) error {
	var cards []actionCardView
	for _, a := range []string{actionReceive, actionStop} {
		u := s.absoluteURL("/a/" + a)
		svg, err := qrSVG(u)
		if err != nil {
			return err
		}
		cards = append(cards, actionCardView{Title: "scan.cards." + a, Hint: "scan.cards." + a + "_hint", URL: u, QR: svg})
	}
	return s.render(c, http.StatusOK, "scan_cards", "scan.cards.title", cards)
}

// qrSVG draws a QR code as one inline SVG path (error correction Q, as
// tags). internal/label draws tag labels only; action cards are not tags.
func qrSVG(content string) (template.HTML, error) {
	q, err := qrcode.New(content, qrcode.High)
	if err != nil {
		return "", fmt.Errorf("encode QR of %s: %w", content, err)
	}
	bm := q.Bitmap() // with its quiet zone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="200" height="200" aria-hidden="true" focusable="false">`+
		`<rect width="%d" height="%d" fill="#fff"/><path fill="#000" shape-rendering="crispEdges" d="`, len(bm), len(bm), len(bm), len(bm))
	for r, line := range bm {
		for x := 0; x < len(line); {
			if !line[x] {
				x++
				continue
			}
			start := x
			for x < len(line) && line[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, r, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil // built here from numbers only
}
