package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/push"
	"github.com/labstack/echo/v5"
)

// The operator's push screens: the delivery log of every observatory
// (/admin/push, one delivery's attempts), and on each observatory's own
// page its subscriptions, the form registering a URL and its deliveries.

var pushLabels = map[string]string{"url": "push.url"}

type pushLogPage struct {
	Deliveries []postgres.PushDelivery
	Org        int64
	Status     string
	Statuses   []adminOption
	Total      int
	Pager      Pager
}

func pushStatusOptions() []adminOption {
	return []adminOption{{"", "push.status.all"}, {push.Pending, "push.status.pending"},
		{push.Delivered, "push.status.delivered"}, {push.Failed, "push.status.failed"}}
}

// pushStatusParam reads ?status=, ignoring an unknown one.
func pushStatusParam(c *echo.Context) string {
	switch v := c.QueryParam("status"); v {
	case push.Pending, push.Delivered, push.Failed:
		return v
	}
	return ""
}

// adminPush is the delivery log of every subscription, or of one
// organisation's (?org=, an unknown one shows an empty log), newest first.
func (s *Server) adminPush(c *echo.Context) error {
	d := pushLogPage{Status: pushStatusParam(c), Statuses: pushStatusOptions()}
	d.Org, _ = strconv.ParseInt(c.QueryParam("org"), 10, 64)
	d.Org = max(d.Org, 0)
	ds, page, err := s.store.ListPushDeliveries(c.Request().Context(), postgres.PushDeliveryFilter{OrgID: d.Org, Status: d.Status, Page: pageParam(c)})
	if err != nil {
		return err
	}
	d.Deliveries, d.Total, d.Pager = ds, page.Total, s.pager(c, page)
	return s.render(c, http.StatusOK, "push_log", "push.log.title", d)
}

// adminPushDelivery is one delivery and its attempts.
func (s *Server) adminPushDelivery(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	d, err := s.store.PushDelivery(c.Request().Context(), id, 0)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "push_delivery", "push.delivery.title", d)
}

type pushOrgPage struct {
	Org           account.Organisation
	Subscriptions []postgres.PushSubscription
	Deliveries    []postgres.PushDelivery
	Total         int
}

// pushOrgPreview is how many deliveries an observatory's page lists before
// linking to its full log: the page keeps its DOM budget.
const pushOrgPreview = 10

func pushOrgURL(c *echo.Context, id int64) string {
	return localURL(langOf(c), "/admin/organisations/"+strconv.FormatInt(id, 10)+"/push")
}

func (s *Server) adminOrgPush(c *echo.Context) error {
	o, err := s.adminOrgObservatory(c)
	if err != nil {
		return err
	}
	return s.adminOrgPushRender(c, http.StatusOK, o, nil)
}

// adminOrgPushRender shows an observatory's push page; f is the
// registration form that failed, if any.
func (s *Server) adminOrgPushRender(c *echo.Context, status int, o account.Organisation, f *Form) error {
	ctx := c.Request().Context()
	d := pushOrgPage{Org: o}
	var err error
	if d.Subscriptions, err = s.store.ListPushSubscriptions(ctx, o.ID); err != nil {
		return err
	}
	ds, page, err := s.store.ListPushDeliveries(ctx, postgres.PushDeliveryFilter{OrgID: o.ID, Page: 1})
	if err != nil {
		return err
	}
	d.Deliveries, d.Total = ds[:min(len(ds), pushOrgPreview)], page.Total
	p := s.newPage(c, "push.title", d)
	p.Title, p.Form = o.Name+" · "+p.Title, f
	return s.renderPage(c, status, "push_org", p)
}

type pushSecretPage struct {
	Org account.Organisation
	Sub PushSubscribed
}

// adminOrgPushCreate registers a URL and shows its secret, once.
func (s *Server) adminOrgPushCreate(c *echo.Context) error {
	o, err := s.adminOrgObservatory(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, pushLabels)
	if !s.adminCheckText(c, f) {
		return s.adminOrgPushRender(c, http.StatusBadRequest, o, f)
	}
	sub, err := s.subscribePush(c, PushSubscriptionInput{OrganisationID: o.ID, URL: f.Values.Get("url")})
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		return s.adminOrgPushRender(c, status, o, f)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, "push_secret", "push.secret.title", pushSecretPage{Org: o, Sub: sub})
}

// adminOrgPushDeactivate stops one of the organisation's subscriptions; one
// of another organisation is not found here.
func (s *Server) adminOrgPushDeactivate(c *echo.Context) error {
	o, err := s.adminOrgObservatory(c)
	if err != nil {
		return err
	}
	sub, err := idParam(c, "sub")
	if err != nil {
		return err
	}
	if err := s.store.DeactivatePushSubscription(c.Request().Context(), sub, o.ID, s.now(), principalOf(c), clientIP(c)); err != nil {
		return err
	}
	s.SetFlash(c, "success", "push.flash.deactivated")
	return c.Redirect(http.StatusSeeOther, pushOrgURL(c, o.ID))
}
