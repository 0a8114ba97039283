package server

import (
	"crypto/rand"
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// Tags printed for chosen existing devices: from a donation's page, its
// workshop (or the operator) generates one tag per device that has none,
// linked to it from the start, and prints the batch's sheet. The devices
// stay declared until the "receive" action card (or intake) marks them
// received when their tag is scanned.

// mayTagDevices reports whether p may print tags for the donation's
// devices from its page: the workshop staff, once the donation is theirs,
// while it is open.
func mayTagDevices(p *account.Principal, d postgres.Donation) bool {
	return account.Authorize(Workshop, p, true) == nil && d.State != donation.Closed
}

// donationUntagged counts the devices of the donation that have no tag,
// for the print button (0: no button).
func (s *Server) donationUntagged(c *echo.Context, d postgres.Donation, scope postgres.DonationScope) (int, error) {
	if !mayTagDevices(principalOf(c), d) {
		return 0, nil
	}
	_, total, err := s.store.UntaggedDevices(c.Request().Context(), d.ID, scope, 0)
	return total, err
}

// donationTags generates the linked tags of the donation's devices that
// have none (at most postgres.MaxDeviceTags at once: the rest take another
// click) and shows the batch, whose sheet is printed from there.
func (s *Server) donationTags(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	p := principalOf(c)
	scope, err := donationScope(p)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d, err := s.store.Donation(ctx, id, scope)
	if err != nil {
		return err
	}
	f := s.newForm(c, nil)
	var b postgres.TagBatch
	switch {
	case d.State == donation.Closed:
		err = berriz.E(berriz.Conflict, "donation.error.tags_closed")
	default:
		var ids []int64
		ids, _, err = s.store.UntaggedDevices(ctx, id, scope, postgres.MaxDeviceTags)
		if err == nil && len(ids) == 0 {
			err = berriz.E(berriz.Conflict, "donation.error.all_tagged")
		}
		if err == nil {
			b, _, err = s.store.CreateTagsForDevices(ctx, p.OrgID, p.UserID, ids, scope,
				func() (tag.Code, error) { return tag.Generate(rand.Reader) })
		}
	}
	if err != nil {
		return s.donationFail(c, id, f, err)
	}
	s.SetFlash(c, "success", "donation.flash.tags_created")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/tags/"+strconv.FormatInt(b.ID, 10)))
}
