package server

import (
	"net/http"
	"net/url"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// A person's notifications: the page of recent ones (nothing depends on
// e-mail alone) and the switch of the daily digest, on the account page
// and in the API (api_notifications.go). Only the person: never an
// organisation token, never an administrator for a member.

// notificationRoutes lists the routes of this area; routes() appends them
// to the table.
func (s *Server) notificationRoutes() []Route {
	const me = "/api/v1/me/notifications"
	return []Route{
		{http.MethodGet, "/account/notifications", "notifications", UserOnly, s.notificationsPage},
		{http.MethodPost, "/account/notifications", "notifications_settings", UserOnly, s.notificationsSettings},
		{http.MethodGet, me, "api_notification_settings", UserOnly, s.apiNotificationSettings},
		{http.MethodPut, me, "api_notification_settings_update", UserOnly, s.apiSetNotificationSettings},
		{http.MethodGet, me + "/items", "api_notifications", UserOnly, s.apiNotifications},
	}
}

// notificationSection is the account page's section about e-mails.
type notificationSection struct {
	// Choice is "on" or "off", the radio button checked.
	Choice     string
	Hour       int
	LastDigest string
}

func (s *Server) notificationSection(c *echo.Context) (notificationSection, error) {
	st, err := s.store.NotificationSettings(c.Request().Context(), principalOf(c).UserID)
	if err != nil {
		return notificationSection{}, err
	}
	lang := langOf(c)
	return notificationSection{Choice: onOff(st.Email), Hour: s.cfg.DigestHour,
		LastDigest: accountDateOr(lang, st.LastDigestAt, s.cat.T(lang, "account.never", nil))}, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

var notificationLabels = map[string]string{"notify_email": "notifications.settings.legend"}

// notificationsSettings switches the person's digest on or off from the
// account page; a choice that is neither re-renders the account page with
// the error.
func (s *Server) notificationsSettings(c *echo.Context) error {
	f := s.newForm(c, notificationLabels)
	var on bool
	switch f.Values.Get("notify_email") {
	case "on":
		on = true
	case "off":
	default:
		f.Errors["notify_email"] = s.cat.T(langOf(c), "notifications.error.choice", nil)
		v, err := s.accountView(c)
		if err != nil {
			return err
		}
		// The profile form above shows the stored profile.
		if f.Values == nil {
			f.Values = url.Values{}
		}
		f.Values.Set("name", v.User.Name)
		f.Values.Set("lang", v.User.Lang)
		return s.renderForm(c, http.StatusBadRequest, "account", "account.title", f, v)
	}
	if _, err := s.setNotificationEmail(c, on); err != nil {
		return err
	}
	if on {
		s.SetFlash(c, "success", "notifications.flash.on")
	} else {
		s.SetFlash(c, "success", "notifications.flash.off")
	}
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/account"))
}

// setNotificationEmail is the one switch, for the page and the API.
func (s *Server) setNotificationEmail(c *echo.Context, on bool) (postgres.NotificationSettings, error) {
	return s.store.SetNotificationEmail(c.Request().Context(), principalOf(c).UserID, on, s.now())
}

// notificationsView is the page of recent notifications.
type notificationsView struct {
	Items []notificationRow
	Pager Pager
	Total int
	Email bool
}

// notificationRow is one notification put in words for the page.
type notificationRow struct {
	At      string // RFC 3339, for <time datetime>
	When    string
	Message string
	Href    string // "" when it points nowhere
}

func (s *Server) notificationsPage(c *echo.Context) error {
	p := principalOf(c)
	ctx := c.Request().Context()
	st, err := s.store.NotificationSettings(ctx, p.UserID)
	if err != nil {
		return err
	}
	ns, page, err := s.store.Notifications(ctx, p.UserID, pageParam(c))
	if err != nil {
		return err
	}
	lang := langOf(c)
	v := notificationsView{Total: page.Total, Email: st.Email,
		Pager: Pager{Number: page.Number, Pages: page.Pages(), path: localURL(lang, "/account/notifications"), query: url.Values{}}}
	for _, n := range ns {
		row := notificationRow{At: n.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), When: accountDate(lang, n.CreatedAt)}
		row.Message, _ = notificationText(s.cat, lang, n)
		if link := safeLink(n.Link); link != "" {
			row.Href = localURL(lang, link)
		}
		v.Items = append(v.Items, row)
	}
	return s.render(c, http.StatusOK, "notifications", "notifications.title", v)
}
