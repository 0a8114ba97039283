package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// A proposal's review: without ?line=, its lines in service order, 25 a
// page; with ?line=<id>, one line and its devices, where a draft is edited.

type proposalPage struct {
	Proposal proposalRow
	Draft    bool
	Days     int // how long a sent proposal holds its devices
	Lines    []proposalLineRow
	Line     *proposalLineRow // the line shown, with its devices
	Devices  []reservationRow
	Total    int
	Pager    Pager
}

// proposalLineRow is a line with its minimum specs written out.
type proposalLineRow struct {
	postgres.ProposalLine
	Minimum string
}

// proposalReview shows a proposal, or one of its lines.
func (s *Server) proposalReview(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	return s.proposalRender(c, http.StatusOK, p, nil)
}

// shownLine is the line a proposal's page is about: the line of an edit's
// URL, or ?line=; 0 for the overview.
func shownLine(c *echo.Context) int64 {
	for _, v := range []string{c.Param("line"), c.QueryParam("line")} {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			return id
		}
	}
	return 0
}

func (s *Server) proposalRender(c *echo.Context, status int, p postgres.Proposal, f *Form) error {
	ctx := c.Request().Context()
	lang := langOf(c)
	d := proposalPage{Proposal: proposalRowOf(c, p), Draft: p.State == postgres.ProposalDraft, Days: s.cfg.ReservationDays}
	if line := shownLine(c); line != 0 {
		l, err := s.store.ProposalLine(ctx, p, line)
		if err != nil {
			return err
		}
		d.Line = &proposalLineRow{ProposalLine: l, Minimum: s.minimumText(lang, l.Spec)}
		devices, page, err := s.store.ProposalDevices(ctx, p.ID, line, pageParam(c))
		if err != nil {
			return err
		}
		d.Total, d.Pager = page.Total, pagerOn(c, page, "/proposals/"+strconv.FormatInt(p.ID, 10))
		d.Pager.query.Set("line", strconv.FormatInt(line, 10))
		for _, r := range devices {
			d.Devices = append(d.Devices, s.reservationRow(lang, r))
		}
		return s.renderForm(c, status, "proposal_line", "matching.line.title", f, d)
	}
	lines, page, err := s.store.ProposalLines(ctx, p, pageParam(c))
	if err != nil {
		return err
	}
	d.Total, d.Pager = page.Total, pagerOn(c, page, "/proposals/"+strconv.FormatInt(p.ID, 10))
	for _, l := range lines {
		d.Lines = append(d.Lines, proposalLineRow{ProposalLine: l, Minimum: s.minimumText(lang, l.Spec)})
	}
	return s.renderForm(c, status, "proposal", "matching.proposal.title", f, d)
}

// lineURL is a line's page of a proposal.
func lineURL(c *echo.Context, proposal, line int64) string {
	return proposalURL(c, proposal) + "?line=" + strconv.FormatInt(line, 10)
}

// proposalAdd adds the device typed (tag or number) to the line.
func (s *Server) proposalAdd(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	line, err := idParam(c, "line")
	if err != nil {
		return err
	}
	f := s.newForm(c, nil)
	device, err := s.deviceRef(c, f.Values.Get("device"))
	if err == nil {
		_, err = s.store.AddToProposal(c.Request().Context(), p.ID, line, device, principalOf(c))
	}
	if err != nil {
		return s.proposalFail(c, p.ID, err)
	}
	s.SetFlash(c, "success", "matching.flash.added")
	return c.Redirect(http.StatusSeeOther, lineURL(c, p.ID, line))
}

// proposalRemove takes a device off its line of the draft.
func (s *Server) proposalRemove(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, "reservation")
	if err != nil {
		return err
	}
	if err := s.store.RemoveFromProposal(c.Request().Context(), p.ID, id); err != nil {
		return s.proposalFail(c, p.ID, err)
	}
	s.SetFlash(c, "success", "matching.flash.removed")
	if line := shownLine(c); line != 0 {
		return c.Redirect(http.StatusSeeOther, lineURL(c, p.ID, line))
	}
	return c.Redirect(http.StatusSeeOther, proposalURL(c, p.ID))
}

// decimalText writes a decimal as the language does (a comma in French
// and Basque).
func decimalText(lang i18n.Lang, x float64) string {
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if lang != i18n.EN {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// minimumText writes a line's category and minimum specs out.
func (s *Server) minimumText(lang i18n.Lang, l allocation.Line) string {
	t := func(key string, kv ...string) string {
		args := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			args[kv[i]] = kv[i+1]
		}
		return s.cat.T(lang, key, args)
	}
	parts := []string{t(categoryKey(l.Category))}
	if l.MinRAMGB > 0 {
		parts = append(parts, t("matching.min.ram", "gb", strconv.Itoa(l.MinRAMGB)))
	}
	if l.MinStorageGB > 0 {
		parts = append(parts, t("matching.min.storage", "gb", strconv.Itoa(l.MinStorageGB)))
	}
	if l.MinScreenInches > 0 {
		parts = append(parts, t("matching.min.screen", "inches", decimalText(lang, l.MinScreenInches)))
	}
	if l.MinGrade != "" {
		parts = append(parts, t("matching.min.grade", "grade", string(l.MinGrade)))
	}
	if len(parts) == 1 {
		parts = append(parts, t("matching.min.none"))
	}
	return strings.Join(parts, " · ")
}

// specsText writes a device's specs out: what is known of them.
func (s *Server) specsText(lang i18n.Lang, d postgres.CatalogueDevice) string {
	var parts []string
	if d.RAMGB > 0 {
		parts = append(parts, s.cat.T(lang, "matching.spec.ram", map[string]string{"gb": strconv.Itoa(d.RAMGB)}))
	}
	if d.StorageGB > 0 {
		parts = append(parts, s.cat.T(lang, "matching.spec.storage", map[string]string{"gb": strconv.Itoa(d.StorageGB)}))
	}
	if d.ScreenInches > 0 {
		parts = append(parts, s.cat.T(lang, "matching.spec.screen", map[string]string{"inches": decimalText(lang, d.ScreenInches)}))
	}
	if d.Grade != "" {
		parts = append(parts, s.cat.T(lang, "matching.spec.grade", map[string]string{"grade": string(d.Grade)}))
	}
	if len(parts) == 0 {
		return s.cat.T(lang, "matching.spec.unknown", nil)
	}
	return strings.Join(parts, " · ")
}
