package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// Matching proposals (docs/matching.md), the operator's pages: the list of
// proposals with the button that runs matching (or the link to the draft),
// a proposal's review — its lines in matching's service order, each with
// what it still needs and what the proposal gives it — and a line's
// devices, where a draft is edited: a device taken off, an available
// device added by its tag or number. Sending reserves the devices;
// discarding drops the draft. The JSON API (api_matching*.go) makes the
// same calls.

// matchingRoutes lists the routes of the catalogue, proposals and
// reservations; routes() appends them to the table.
func (s *Server) matchingRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodGet, "/catalogue", "catalogue", Beneficiary, s.catalogue},
		{http.MethodPost, "/catalogue/:device/reserve", "catalogue_reserve", Beneficiary, s.catalogueReserve},
		{http.MethodGet, "/proposals", "proposals", Operator, s.proposalsList},
		{http.MethodPost, "/proposals", "proposals_run", Operator, s.proposalsRun},
		{http.MethodGet, "/proposals/:id", "proposal", Operator, s.proposalReview},
		{http.MethodPost, "/proposals/:id/send", "proposal_send", Operator, s.proposalSend},
		{http.MethodPost, "/proposals/:id/discard", "proposal_discard", Operator, s.proposalDiscard},
		{http.MethodPost, "/proposals/:id/lines/:line/devices", "proposal_add", Operator, s.proposalAdd},
		{http.MethodPost, "/proposals/:id/reservations/:reservation/remove", "proposal_remove", Operator, s.proposalRemove},
		{http.MethodGet, "/reservations", "reservations", Beneficiary, s.reservations},
		{http.MethodPost, "/reservations/:id/accept", "reservation_accept", Beneficiary, s.reservationAccept},
		{http.MethodPost, "/reservations/:id/decline", "reservation_decline", Beneficiary, s.reservationDecline},
		{http.MethodPost, "/reservations/:id/release", "reservation_release", Operator, s.reservationReleasePage},

		{http.MethodGet, v1 + "/catalogue", "api_catalogue", Beneficiary, s.apiCatalogue},
		{http.MethodGet, v1 + "/catalogue/lines", "api_catalogue_lines", Beneficiary, s.apiCatalogueLines},
		{http.MethodPost, v1 + "/catalogue/:device/reserve", "api_catalogue_reserve", Beneficiary, s.apiCatalogueReserve},
		{http.MethodGet, v1 + "/proposals", "api_proposals", Operator, s.apiProposals},
		{http.MethodPost, v1 + "/proposals", "api_proposals_run", Operator, s.apiProposalsRun},
		{http.MethodGet, v1 + "/proposals/:id", "api_proposal", Operator, s.apiProposal},
		{http.MethodGet, v1 + "/proposals/:id/lines", "api_proposal_lines", Operator, s.apiProposalLines},
		{http.MethodGet, v1 + "/proposals/:id/lines/:line/devices", "api_proposal_devices", Operator, s.apiProposalDevices},
		{http.MethodPost, v1 + "/proposals/:id/lines/:line/devices", "api_proposal_add", Operator, s.apiProposalAdd},
		{http.MethodDelete, v1 + "/proposals/:id/reservations/:reservation", "api_proposal_remove", Operator, s.apiProposalRemove},
		{http.MethodPost, v1 + "/proposals/:id/send", "api_proposal_send", Operator, s.apiProposalSend},
		{http.MethodPost, v1 + "/proposals/:id/discard", "api_proposal_discard", Operator, s.apiProposalDiscard},
		{http.MethodGet, v1 + "/reservations", "api_reservations", Beneficiary, s.apiReservations},
		{http.MethodGet, v1 + "/reservations/:id", "api_reservation", Beneficiary, s.apiReservation},
		{http.MethodPost, v1 + "/reservations/:id/accept", "api_reservation_accept", Beneficiary, s.apiReservationAccept},
		{http.MethodPost, v1 + "/reservations/:id/decline", "api_reservation_decline", Beneficiary, s.apiReservationDecline},
		{http.MethodPost, v1 + "/reservations/:id/release", "api_reservation_release", Operator, s.apiReservationRelease},
	}
}

func proposalURL(c *echo.Context, id int64) string {
	return localURL(langOf(c), "/proposals/"+strconv.FormatInt(id, 10))
}

type proposalsPage struct {
	Proposals []proposalRow
	Draft     int64
	Total     int
	Pager     Pager
}

// proposalRow is a proposal with its dates as its row shows them.
type proposalRow struct {
	postgres.Proposal
	StateKey, Created, Sent, Expires string
}

var proposalStateKeys = map[string]string{
	postgres.ProposalDraft: "matching.proposal.draft", postgres.ProposalSent: "matching.proposal.sent",
	postgres.ProposalDiscarded: "matching.proposal.discarded",
}

func proposalRowOf(c *echo.Context, p postgres.Proposal) proposalRow {
	lang := langOf(c)
	r := proposalRow{Proposal: p, StateKey: proposalStateKeys[p.State], Created: accountDate(lang, p.CreatedAt)}
	if p.SentAt != nil {
		r.Sent = accountDate(lang, *p.SentAt)
	}
	if p.ExpiresAt != nil {
		r.Expires = accountDate(lang, *p.ExpiresAt)
	}
	return r
}

// proposalsList shows the proposals, the draft first.
func (s *Server) proposalsList(c *echo.Context) error {
	return s.proposalsRender(c, http.StatusOK, nil)
}

func (s *Server) proposalsRender(c *echo.Context, status int, f *Form) error {
	ctx := c.Request().Context()
	list, page, err := s.store.Proposals(ctx, pageParam(c))
	if err != nil {
		return err
	}
	d := proposalsPage{Total: page.Total, Pager: pagerOn(c, page, "/proposals")}
	if d.Draft, err = s.store.DraftProposal(ctx); err != nil {
		return err
	}
	for _, p := range list {
		d.Proposals = append(d.Proposals, proposalRowOf(c, p))
	}
	return s.renderForm(c, status, "proposals", "matching.proposals.title", f, d)
}

// proposalsRun runs matching and shows the draft.
func (s *Server) proposalsRun(c *echo.Context) error {
	f := s.newForm(c, nil)
	p, err := s.store.RunMatching(c.Request().Context(), principalOf(c))
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		return s.proposalsRender(c, status, f)
	}
	s.SetFlash(c, "success", "matching.flash.drafted")
	return c.Redirect(http.StatusSeeOther, proposalURL(c, p.ID))
}

// proposalLoad reads the proposal of the URL.
func (s *Server) proposalLoad(c *echo.Context) (postgres.Proposal, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return postgres.Proposal{}, err
	}
	return s.store.Proposal(c.Request().Context(), id)
}

// deviceRef reads a device as an operator types it: its tag (7KQ2-M9XD, a
// scanned URL) or its number (#123 or 123).
func (s *Server) deviceRef(c *echo.Context, ref string) (int64, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return 0, berriz.FieldErrors{"device": "matching.error.device_required"}.Err()
	}
	if code, err := tag.Parse(ref); err == nil && !strings.HasPrefix(ref, "#") {
		td, err := s.store.DeviceByTag(c.Request().Context(), code)
		if err != nil || td.Device == nil {
			return 0, berriz.FieldErrors{"device": "matching.error.device_unknown"}.Err()
		}
		return td.Device.ID, nil
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(ref, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, berriz.FieldErrors{"device": "matching.error.device_unknown"}.Err()
	}
	return id, nil
}

// proposalSend sends the draft: its devices are reserved; those no longer
// available are dropped, which the proposal's page then lists.
func (s *Server) proposalSend(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	res, err := s.store.SendProposal(c.Request().Context(), p.ID, s.now(), s.cfg.ReservationDays, principalOf(c))
	if err != nil {
		return s.proposalFail(c, p.ID, err)
	}
	if len(res.Dropped) > 0 {
		s.SetFlash(c, "warning", "matching.flash.sent_dropped")
	} else {
		s.SetFlash(c, "success", "matching.flash.sent")
	}
	return c.Redirect(http.StatusSeeOther, proposalURL(c, p.ID))
}

// proposalDiscard drops the draft.
func (s *Server) proposalDiscard(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	if _, err := s.store.DiscardProposal(c.Request().Context(), p.ID); err != nil {
		return s.proposalFail(c, p.ID, err)
	}
	s.SetFlash(c, "success", "matching.flash.discarded")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/proposals"))
}

// proposalFail shows the proposal again with the reason of a refusal.
func (s *Server) proposalFail(c *echo.Context, id int64, err error) error {
	f := s.newForm(c, map[string]string{"device": "matching.line.add_device"})
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	p, lerr := s.store.Proposal(c.Request().Context(), id)
	if lerr != nil {
		return lerr
	}
	return s.proposalRender(c, status, p, f)
}
