package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
)

const (
	ctxRequestID = "berriz.request_id"
	ctxLogger    = "berriz.logger"
)

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// requestID gives every request an id, taken from a well-formed incoming
// X-Request-Id (set by a load balancer) or generated, echoed in the response
// and carried by every log line of the request.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !requestIDRE.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func requestedPath(c *echo.Context) string {
	if p, ok := c.Get(ctxPath).(string); ok {
		return p
	}
	return c.Request().URL.Path
}

func requestIDOf(c *echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// logFor is the request's logger: every line carries the request's id.
// It is made when first asked (most requests log only their request line,
// which observe writes with the id itself).
func (s *Server) logFor(c *echo.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger).(*slog.Logger); ok {
		return l
	}
	id := requestIDOf(c)
	if id == "" {
		return s.log
	}
	l := s.log.With("request_id", id)
	c.Set(ctxLogger, l)
	return l
}

// observe logs one line per request and records its metrics. It answers
// errors itself (through handleError) so that the status it logs and counts
// is the one the client received.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			s.handleError(c, err)
		}
		status := http.StatusOK
		var size int64
		if resp, uerr := echo.UnwrapResponse(c.Response()); uerr == nil {
			status, size = resp.Status, resp.Size
		}
		elapsed := time.Since(start)
		route := c.Path()
		if route == "" || status == http.StatusNotFound && c.RouteInfo().Name == "" {
			route = "unmatched"
		}
		s.metrics.observe(c.Request().Method, route, status, elapsed)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		} else if status >= 400 {
			level = slog.LevelWarn
		}
		// The id as its own attribute: the same line as logFor's logger
		// writes, without making one for every request.
		s.log.LogAttrs(c.Request().Context(), level, "request", slog.String("request_id", requestIDOf(c)),
			slog.String("method", c.Request().Method),
			slog.String("path", requestedPath(c)),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int64("bytes", size),
			slog.Duration("duration", elapsed),
			slog.String("ip", c.RealIP()),
		)
		return nil
	}
}

// recoverPanics turns a panic into an internal error with its stack logged,
// so one bad request never takes the process down.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				stack := make([]byte, 8<<10)
				stack = stack[:runtime.Stack(stack, false)]
				s.logFor(c).Error("panic", "panic", fmt.Sprint(r), "stack", string(stack))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// contentSecurityPolicy allows only same-origin resources and no inline
// script or style; camera use is limited to berriz's own pages (the scan
// station asks for it after a click).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; manifest-src 'self'; media-src 'self' blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()")
		if s.cfg.Secure() {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		return next(c)
	}
}

// limitBody refuses bodies larger than the configured maximum before a
// handler reads them: by Content-Length when declared, and by a capped
// reader otherwise.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	limit := s.cfg.MaxBodyBytes
	return func(c *echo.Context) error {
		r := c.Request()
		if r.ContentLength > limit {
			return fromStatus(http.StatusRequestEntityTooLarge, nil)
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		}
		return next(c)
	}
}

// isLoopback reports whether the request comes straight from this machine,
// not relayed by a proxy.
func isLoopback(r *http.Request) bool {
	if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != "" {
		return false
	}
	host := r.RemoteAddr
	if i := strings.LastIndex(host, ":"); i >= 0 {
		host = host[:i]
	}
	host = strings.Trim(host, "[]")
	return host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.")
}
