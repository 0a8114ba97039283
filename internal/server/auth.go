package server

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/labstack/echo/v5"
)

const (
	sessionCookie = "berriz_session"
	ctxPrincipal  = "berriz.principal"
	ctxBearer     = "berriz.bearer"
)

// authenticate finds who is acting: a bearer token (API clients) or a
// session cookie (browsers). A bad token is refused outright; a stale cookie
// is dropped and the visitor continues anonymously.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if s.store == nil || anonymousPath(c.Request().URL.Path) {
			return next(c)
		}
		ctx := c.Request().Context()
		if h := c.Request().Header.Get("Authorization"); h != "" && !isMetrics(c) {
			plain, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || !account.ValidTokenShape(strings.TrimPrefix(plain, tokenPrefix)) || !strings.HasPrefix(plain, tokenPrefix) {
				return berriz.E(berriz.Unauthorized, "error.token_invalid")
			}
			hash := account.HashToken(plain)
			var p *account.Principal
			var err error
			if read := s.joinedFor(c).token; read != nil {
				p, err = read(c, hash)
			} else {
				p, err = s.store.TokenPrincipal(ctx, hash, s.now())
			}
			if err != nil {
				return err
			}
			c.Set(ctxPrincipal, p)
			c.Set(ctxBearer, true)
			return next(c)
		}
		if ck, err := c.Cookie(sessionCookie); err == nil {
			if !account.ValidTokenShape(ck.Value) {
				s.setCookie(c, sessionCookie, "", -1)
				return next(c)
			}
			hash := account.HashToken(ck.Value)
			var p *account.Principal
			var err error
			if read := s.joinedFor(c).session; read != nil {
				p, err = read(c, hash)
			} else {
				p, err = s.store.SessionPrincipal(ctx, hash, s.now(), s.cfg.SessionIdle)
			}
			switch {
			case berriz.KindOf(err) == berriz.Unauthorized:
				s.setCookie(c, sessionCookie, "", -1)
			case err != nil:
				return err
			default:
				c.Set(ctxPrincipal, p)
			}
		}
		return next(c)
	}
}

// joinedFor are the reads of the request's route joined to the
// principal's (auth_joined.go), if any.
func (s *Server) joinedFor(c *echo.Context) joinedReads {
	if c.Request().Method != http.MethodGet {
		return joinedReads{}
	}
	return s.joinedPaths[c.Path()]
}

// anonymousPath tells the requests that never need to know who is acting:
// static files and probes. Browsers send the session cookie with each of
// them, and looking it up would cost a query per stylesheet and icon.
func anonymousPath(p string) bool {
	return strings.HasPrefix(p, "/static/") || p == "/favicon.ico" || p == "/healthz" || p == "/readyz"
}

// isMetrics spares /metrics the token lookup: its own bearer token is not an
// API token.
func isMetrics(c *echo.Context) bool { return c.Request().URL.Path == "/metrics" }

// principalOf returns who is acting, or nil for an anonymous visitor.
func principalOf(c *echo.Context) *account.Principal {
	p, _ := c.Get(ctxPrincipal).(*account.Principal)
	return p
}

func viaBearer(c *echo.Context) bool { b, _ := c.Get(ctxBearer).(bool); return b }

// guard applies the one authorization policy and CSRF protection to a
// route; mount wraps every handler of the route table with it.
func (s *Server) guard(r Route) echo.HandlerFunc {
	return func(c *echo.Context) error {
		write := c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead
		if r.Access == Loopback {
			return r.Handler(c)
		}
		if err := account.Authorize(r.Access, principalOf(c), write); err != nil {
			if berriz.KindOf(err) == berriz.Unauthorized && !wantsJSON(c.Request()) && !write {
				// A browser is sent to sign in, then back here.
				return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/login")+"?next="+url.QueryEscape(requestedPath(c)))
			}
			return err
		}
		if write && !viaBearer(c) {
			if err := s.checkCSRF(c); err != nil {
				return err
			}
		}
		return r.Handler(c)
	}
}

// startSession signs a user in: a fresh session token in an HttpOnly,
// SameSite=Lax cookie (Secure over HTTPS), its hash in PostgreSQL.
func (s *Server) startSession(c *echo.Context, userID int64) error {
	plain, hash := account.NewToken()
	now := s.now()
	err := s.store.CreateSession(c.Request().Context(), postgresSession(hash, userID, now.Add(s.cfg.SessionLifetime),
		clientIP(c), c.Request().UserAgent()), now)
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, plain, s.cfg.SessionLifetime)
	// A new session gets new CSRF tokens: a token seen before sign-in is
	// worth nothing after it.
	s.rotateCSRF(c)
	return nil
}

// clientIP is the address throttling and the security log use; IPv6
// clients are grouped by /64, the block one subscriber usually holds.
func clientIP(c *echo.Context) string {
	ip := net.ParseIP(c.RealIP())
	if ip == nil {
		return ""
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// safeNext keeps a post-login redirect on this site: a local absolute path,
// never "//host" or a scheme.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return next
}

func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}
