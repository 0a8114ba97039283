package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// The tag lookup: /t/<code> is what a phone opens when it scans a tag: the
// device page for the staff holding it, the public passport for everyone
// else. Its routes are listed with the scan station's (scanRoutes); the
// station shares isStaffOf and mayUseBlankTag, which decide who may see
// what a tag leads to.

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
//
// The rule is blankTagUsable's (devices_shared.go), shared with the JSON
// API; only a technician holding another organisation's tag needs to know
// whether the operator generated it.
func (s *Server) mayUseBlankTag(ctx context.Context, p *account.Principal, t postgres.Tag) (bool, error) {
	if p == nil || p.IsOperator() || isStaffOf(p, t.OrgID) || p.Role() != account.RoleTechnician {
		return blankTagUsable(p, t.OrgID, ""), nil
	}
	org, err := s.store.Organisation(ctx, t.OrgID)
	if err != nil {
		return false, err
	}
	return blankTagUsable(p, t.OrgID, org.Kind), nil
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
	Emission *emissionView // once delivered (pages_emissions.go)
}

// tagLookup is what scanning a tag opens.
func (s *Server) tagLookup(c *echo.Context) error {
	raw := c.Param("code")
	code, err := tag.Parse(raw)
	if err != nil {
		return s.render(c, http.StatusNotFound, "tag_lookup", "tag.lookup.title", tagLookupPage{Code: cut(raw, 100), Message: "error.tag_code"})
	}
	td, ok, err := joinedDeviceByTag(c, code)
	if !ok {
		td, err = s.store.DeviceByTag(c.Request().Context(), code)
	}
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
	em, err := s.deviceEmission(c, d.ID, true, true)
	if err != nil {
		return err
	}
	pg := s.newPage(c, "passport.title", passportPage{Code: code.String(), Category: categoryKey(d.Category),
		Brand: d.Brand, Model: d.Model, State: "donation.device_state." + d.State, Year: d.Year, Emission: em})
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
