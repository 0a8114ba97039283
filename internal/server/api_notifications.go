package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The API of a person's notifications (routes in notificationRoutes): the
// digest switch at /me/notifications, the recent notifications at
// /me/notifications/items. Same store calls as the pages.

// notificationSettingsBody is the API's view of the settings.
type notificationSettingsBody struct {
	postgres.NotificationSettings
	// DigestHour is the hour (Europe/Paris) from which digests are sent.
	DigestHour int `json:"digest_hour"`
}

// notificationSettingsInput is the API's switch; a pointer, so that a
// missing choice is an error rather than "off".
type notificationSettingsInput struct {
	Email *bool `json:"email"`
}

// apiNotification is one notification with its message in the request's
// language.
type apiNotification struct {
	postgres.Notification
	Message string `json:"message"`
}

// apiNotificationOf puts a notification in words in lang, like every API
// message; a link that does not point inside berriz is left out.
func (s *Server) apiNotificationOf(lang i18n.Lang, n postgres.Notification) apiNotification {
	msg, _ := notificationText(s.cat, lang, n)
	n.Link = safeLink(n.Link)
	return apiNotification{Notification: n, Message: msg}
}

func (s *Server) apiNotificationSettings(c *echo.Context) error {
	st, err := s.store.NotificationSettings(c.Request().Context(), principalOf(c).UserID)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, notificationSettingsBody{NotificationSettings: st, DigestHour: s.cfg.DigestHour})
}

func (s *Server) apiSetNotificationSettings(c *echo.Context) error {
	var in notificationSettingsInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Email == nil {
		f := berriz.FieldErrors{}
		f.Add("email", "error.required")
		return f.Err()
	}
	st, err := s.setNotificationEmail(c, *in.Email)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, notificationSettingsBody{NotificationSettings: st, DigestHour: s.cfg.DigestHour})
}

func (s *Server) apiNotifications(c *echo.Context) error {
	ns, page, err := s.store.Notifications(c.Request().Context(), principalOf(c).UserID, pageParam(c))
	if err != nil {
		return err
	}
	lang := langOf(c)
	items := make([]apiNotification, 0, len(ns))
	for _, n := range ns {
		items = append(items, s.apiNotificationOf(lang, n))
	}
	return apiJSON(c, http.StatusOK, pageOf(items, page))
}
