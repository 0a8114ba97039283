package server

import (
	"strings"

	"github.com/labstack/echo/v5"
)

const flashCookie = "berriz_flash"

// Flash is a one-time message shown on the next page after a redirect
// (POST/redirect/GET). It travels in a cookie as a kind and a translation
// key only, so nothing a user could forge reaches the page as text and no
// server keeps it.
type Flash struct {
	Kind string // success, info, warning or error
	Key  string
}

var flashKinds = map[string]bool{"success": true, "info": true, "warning": true, "error": true}

// SetFlash queues a message for the next page.
func (s *Server) SetFlash(c *echo.Context, kind, key string) {
	if !flashKinds[kind] || !s.cat.Has(key) {
		return
	}
	s.setCookie(c, flashCookie, kind+"."+key, 0)
}

// takeFlash reads and clears the pending message, ignoring anything that is
// not a known kind and catalog key.
func (s *Server) takeFlash(c *echo.Context) *Flash {
	ck, err := c.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	s.setCookie(c, flashCookie, "", -1)
	kind, key, ok := strings.Cut(ck.Value, ".")
	if !ok || !flashKinds[kind] || !s.cat.Has(key) {
		return nil
	}
	return &Flash{Kind: kind, Key: key}
}
