package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/push"
	"github.com/labstack/echo/v5"
)

// The observatory push over the API (docs/observatory-push.md). Observatory
// tokens are read-only by policy, and registering a URL is a write: the
// operator registers (here or on the organisation's page); the observatory
// reads its subscriptions and their delivery log.

// pushRoutes lists the push's routes, API and pages; routes() appends them.
func (s *Server) pushRoutes() []Route {
	const v1 = "/api/v1/observatory"
	return []Route{
		{http.MethodGet, v1 + "/subscriptions", "api_push_subscriptions", Observatory, s.apiPushSubscriptions},
		{http.MethodPost, v1 + "/subscriptions", "api_push_subscription_create", Operator, s.apiCreatePushSubscription},
		{http.MethodGet, v1 + "/subscriptions/:id", "api_push_subscription", Observatory, s.apiPushSubscription},
		{http.MethodPost, v1 + "/subscriptions/:id/deactivate", "api_push_subscription_deactivate", Operator, s.apiDeactivatePushSubscription},
		{http.MethodGet, v1 + "/subscriptions/:id/deliveries", "api_push_subscription_deliveries", Observatory, s.apiPushDeliveries},
		{http.MethodGet, v1 + "/deliveries/:id", "api_push_delivery", Observatory, s.apiPushDelivery},

		{http.MethodGet, "/admin/push", "admin_push", Operator, s.adminPush},
		{http.MethodGet, "/admin/push/:id", "admin_push_delivery", Operator, s.adminPushDelivery},
		{http.MethodGet, "/admin/organisations/:id/push", "admin_org_push", Operator, s.adminOrgPush},
		{http.MethodPost, "/admin/organisations/:id/push", "admin_org_push_create", Operator, s.adminOrgPushCreate},
		{http.MethodPost, "/admin/organisations/:id/push/:sub/deactivate", "admin_org_push_deactivate", Operator, s.adminOrgPushDeactivate},
	}
}

// PushSubscriptionInput registers a URL for an observatory organisation.
type PushSubscriptionInput struct {
	OrganisationID int64  `json:"organisation_id"`
	URL            string `json:"url"`
}

// PushSubscribed is a new subscription with its secret, shown this once.
type PushSubscribed struct {
	postgres.PushSubscription
	Secret string `json:"secret"`
}

// subscribePush checks and registers a subscription: the API and the page
// share it.
func (s *Server) subscribePush(c *echo.Context, in PushSubscriptionInput) (PushSubscribed, error) {
	f := berriz.FieldErrors{}
	if in.OrganisationID <= 0 {
		f.Add("organisation_id", "push.error.organisation_required")
	}
	url, err := push.CheckURL(in.URL, s.pushAllowHTTP())
	if err != nil {
		f.Add("url", berriz.As(err).Fields["url"])
	}
	if err := f.Err(); err != nil {
		return PushSubscribed{}, err
	}
	secret := push.NewSecret()
	sub, err := s.store.CreatePushSubscription(c.Request().Context(), in.OrganisationID, url, secret, principalOf(c), clientIP(c))
	if err != nil {
		return PushSubscribed{}, err
	}
	return PushSubscribed{PushSubscription: sub, Secret: secret}, nil
}

// apiPushSubscriptions lists the caller's organisation's subscriptions or,
// for an operator, those of ?organisation_id= (every one without it).
func (s *Server) apiPushSubscriptions(c *echo.Context) error {
	org := scope(principalOf(c))
	if org == 0 {
		var err error
		if org, err = queryID(c, "organisation_id"); err != nil {
			return err
		}
	}
	subs, err := s.store.ListPushSubscriptions(c.Request().Context(), org)
	if err != nil {
		return err
	}
	// The store returns at most 200: they are paged here, as tokens are.
	page := postgres.Page{Number: pageParam(c), Total: len(subs)}
	return apiJSON(c, http.StatusOK, pageOf(pageItems(subs, page), page))
}

func (s *Server) apiCreatePushSubscription(c *echo.Context) error {
	var in PushSubscriptionInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.subscribePush(c, in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/observatory/subscriptions/"+strconv.FormatInt(out.ID, 10))
	return apiJSON(c, http.StatusCreated, out)
}

func (s *Server) apiPushSubscription(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	sub, err := s.store.PushSubscription(c.Request().Context(), id, scope(principalOf(c)))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, sub)
}

func (s *Server) apiDeactivatePushSubscription(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.store.DeactivatePushSubscription(ctx, id, 0, s.now(), principalOf(c), clientIP(c)); err != nil {
		return err
	}
	sub, err := s.store.PushSubscription(ctx, id, 0)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, sub)
}

// apiPushDeliveries is a subscription's delivery log, newest month first;
// ?status= narrows it.
func (s *Server) apiPushDeliveries(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	org := scope(principalOf(c))
	if _, err := s.store.PushSubscription(ctx, id, org); err != nil {
		return err
	}
	status := c.QueryParam("status")
	switch status {
	case "", push.Pending, push.Delivered, push.Failed:
	default:
		f := berriz.FieldErrors{}
		f.Add("status", "push.error.status")
		return f.Err()
	}
	ds, page, err := s.store.ListPushDeliveries(ctx, postgres.PushDeliveryFilter{OrgID: org, SubscriptionID: id, Status: status, Page: pageParam(c)})
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(ds, page))
}

// apiPushDelivery is one delivery with its attempt log.
func (s *Server) apiPushDelivery(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	d, err := s.store.PushDelivery(c.Request().Context(), id, scope(principalOf(c)))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, d)
}
