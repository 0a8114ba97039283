package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The JSON face of matching proposals (operators): the same store calls as
// pages_proposals*.go.

// apiProposals is GET /proposals: the draft first, then the newest.
func (s *Server) apiProposals(c *echo.Context) error {
	list, page, err := s.store.Proposals(c.Request().Context(), pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(list, page))
}

// apiProposalsRun is POST /proposals: matching drafts a proposal (409 when
// a draft exists, with error.details.proposal_id).
func (s *Server) apiProposalsRun(c *echo.Context) error {
	p, err := s.store.RunMatching(c.Request().Context(), principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, p)
}

// apiProposal is GET /proposals/{id}.
func (s *Server) apiProposal(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, p)
}

// apiProposalLines is GET /proposals/{id}/lines: one page of its lines.
func (s *Server) apiProposalLines(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	lines, page, err := s.store.ProposalLines(c.Request().Context(), p, pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(lines, page))
}

// apiProposalDevices is GET /proposals/{id}/lines/{line}/devices: one page
// of the reservations the proposal makes for the line.
func (s *Server) apiProposalDevices(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	line, err := idParam(c, "line")
	if err != nil {
		return err
	}
	if _, err := s.store.ProposalLine(c.Request().Context(), p, line); err != nil {
		return err
	}
	rs, page, err := s.store.ProposalDevices(c.Request().Context(), p.ID, line, pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(rs, page))
}

// addBody names the device to add to a line of a draft: its number, or its
// tag as printed or scanned.
type addBody struct {
	DeviceID int64  `json:"device_id"`
	Tag      string `json:"tag"`
}

// apiProposalAdd is POST /proposals/{id}/lines/{line}/devices.
func (s *Server) apiProposalAdd(c *echo.Context) error {
	var in addBody
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	line, err := idParam(c, "line")
	if err != nil {
		return err
	}
	device := in.DeviceID
	switch {
	case device != 0 && in.Tag != "":
		return berriz.FieldErrors{"device_id": "matching.error.device_or_tag"}.Err()
	case device == 0 && in.Tag == "":
		return berriz.FieldErrors{"device_id": "matching.error.device_required"}.Err()
	case device == 0:
		if device, err = s.deviceRef(c, in.Tag); err != nil {
			return berriz.FieldErrors{"tag": "matching.error.device_unknown"}.Err()
		}
	case device < 0:
		return berriz.FieldErrors{"device_id": "matching.error.device_unknown"}.Err()
	}
	r, err := s.store.AddToProposal(c.Request().Context(), p.ID, line, device, principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusCreated, r)
}

// apiProposalRemove is DELETE /proposals/{id}/reservations/{reservation}.
func (s *Server) apiProposalRemove(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, "reservation")
	if err != nil {
		return err
	}
	if err := s.store.RemoveFromProposal(c.Request().Context(), p.ID, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiProposalSend is POST /proposals/{id}/send: the sent proposal and the
// devices the send dropped, with the reason.
func (s *Server) apiProposalSend(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	res, err := s.store.SendProposal(c.Request().Context(), p.ID, s.now(), s.cfg.ReservationDays, principalOf(c))
	if err != nil {
		return err
	}
	if res.Dropped == nil {
		res.Dropped = []postgres.Dropped{} // never null
	}
	return apiJSON(c, http.StatusOK, res)
}

// apiProposalDiscard is POST /proposals/{id}/discard.
func (s *Server) apiProposalDiscard(c *echo.Context) error {
	p, err := s.proposalLoad(c)
	if err != nil {
		return err
	}
	out, err := s.store.DiscardProposal(c.Request().Context(), p.ID)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, out)
}
