package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/labstack/echo/v5"
)

const (
	csrfCookie = "berriz_csrf"
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
	ctxCSRFID  = "berriz.csrf_id"
)

// CSRF protection: every visitor holds a random id in an HttpOnly cookie;
// forms carry HMAC(secret, id | session) in a hidden field. The secret is
// shared by every instance through PostgreSQL, so a form rendered by one
// instance validates on another. Tying the token to the session means a
// token from before sign-in (login CSRF) or from another session is refused.

// csrfID returns the visitor's CSRF id, issuing one when missing.
func (s *Server) csrfID(c *echo.Context) string {
	if id, ok := c.Get(ctxCSRFID).(string); ok {
		return id
	}
	if ck, err := c.Cookie(csrfCookie); err == nil && len(ck.Value) == 43 {
		c.Set(ctxCSRFID, ck.Value)
		return ck.Value
	}
	return s.rotateCSRF(c)
}

func (s *Server) rotateCSRF(c *echo.Context) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	s.setCookie(c, csrfCookie, id, 0)
	c.Set(ctxCSRFID, id)
	return id
}

// csrfToken is the value forms put in their hidden csrf field.
func (s *Server) csrfToken(c *echo.Context) string {
	return s.csrfFor(s.csrfID(c), principalSession(c))
}

func (s *Server) csrfFor(id, session string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(id))
	m.Write([]byte{'|'})
	m.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func principalSession(c *echo.Context) string {
	if p := principalOf(c); p != nil {
		return hex.EncodeToString(p.SessionID)
	}
	return ""
}

// checkCSRF refuses a state-changing request from a browser that does not
// prove it comes from one of our forms.
func (s *Server) checkCSRF(c *echo.Context) error {
	r := c.Request()
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
		return berriz.E(berriz.Forbidden, "error.csrf")
	}
	ck, err := c.Cookie(csrfCookie)
	if err != nil || len(ck.Value) != 43 {
		return berriz.E(berriz.Forbidden, "error.csrf")
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = c.FormValue(csrfField)
	}
	want := s.csrfFor(ck.Value, principalSession(c))
	if !hmac.Equal([]byte(got), []byte(want)) {
		return berriz.E(berriz.Forbidden, "error.csrf")
	}
	return nil
}
