package server

import (
	"context"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// A few reads are what nearly every scan asks: there, the bearer token or
// the session cookie is read together with the handler's first read, in
// one statement (one round trip instead of two; docs/benchmarks.md). The
// read returns the principal, or the token's or session's refusal, exactly
// as TokenPrincipal and SessionPrincipal would; what it read for the
// handler waits in the context, and is shown only after the route's
// policy (guard) and the handler's scope rules, as if read afterwards.
type joinedRead func(c *echo.Context, hash []byte) (*account.Principal, error)

// joinedReads are the reads of one route joined to a token's or a
// session's; either may be nil.
type joinedReads struct {
	token, session joinedRead
}

const (
	ctxTagView     = "berriz.tagview"
	ctxDevicePage  = "berriz.devicepage"
	ctxDeviceByTag = "berriz.devicebytag"
)

// joined are the GET routes, by name, whose first read joins the
// principal's.
func (s *Server) joined() map[string]joinedReads {
	return map[string]joinedReads{
		"api_tag_lookup":  {token: s.tokenAndTagView},
		"device":          {session: s.sessionAndDevicePage},
		"tag_lookup_code": {session: s.sessionAndDeviceByTag},
	}
}

// joinedValue is an object read with the principal for the request's
// key (the path's code or id), before any scope.
type joinedValue[K comparable, V any] struct {
	key K
	val V
	err error
}

// readJoined reads the principal and the object of the path's key in one
// statement (read), and keeps the object in the context under name; a
// malformed key costs no read of an object (alone reads the principal,
// and the handler refuses the key).
func readJoined[K comparable, V any](c *echo.Context, name string, key func() (K, error),
	alone func() (*account.Principal, error), read func(K) (*account.Principal, V, error)) (*account.Principal, error) {
	k, err := key()
	if err != nil {
		return alone()
	}
	p, v, err := read(k)
	if p == nil {
		return nil, err
	}
	c.Set(name, &joinedValue[K, V]{key: k, val: v, err: err})
	return p, nil
}

// joinedOf is the object of key read with the principal, if it was (ok).
func joinedOf[K comparable, V any](c *echo.Context, name string, key K) (v V, ok bool, err error) {
	r, ok := c.Get(name).(*joinedValue[K, V])
	if !ok || r.key != key {
		return v, false, nil
	}
	return r.val, true, r.err
}

func (s *Server) tokenAndTagView(c *echo.Context, hash []byte) (*account.Principal, error) {
	ctx := c.Request().Context()
	return readJoined(c, ctxTagView, func() (tag.Code, error) { return tag.Parse(c.Param("code")) },
		func() (*account.Principal, error) { return s.store.TokenPrincipal(ctx, hash, s.now()) },
		func(code tag.Code) (*account.Principal, postgres.TagView, error) {
			return s.store.TokenTagView(ctx, hash, s.now(), code)
		})
}

func (s *Server) sessionAndDevicePage(c *echo.Context, hash []byte) (*account.Principal, error) {
	ctx := c.Request().Context()
	return readJoined(c, ctxDevicePage, func() (int64, error) { return idParam(c, "id") }, s.sessionAlone(ctx, hash),
		func(id int64) (*account.Principal, postgres.DevicePage, error) {
			return s.store.SessionDevicePage(ctx, hash, s.now(), s.cfg.SessionIdle, id)
		})
}

func (s *Server) sessionAndDeviceByTag(c *echo.Context, hash []byte) (*account.Principal, error) {
	ctx := c.Request().Context()
	return readJoined(c, ctxDeviceByTag, func() (tag.Code, error) { return tag.Parse(c.Param("code")) }, s.sessionAlone(ctx, hash),
		func(code tag.Code) (*account.Principal, postgres.TaggedDevice, error) {
			return s.store.SessionDeviceByTag(ctx, hash, s.now(), s.cfg.SessionIdle, code)
		})
}

func (s *Server) sessionAlone(ctx context.Context, hash []byte) func() (*account.Principal, error) {
	return func() (*account.Principal, error) {
		return s.store.SessionPrincipal(ctx, hash, s.now(), s.cfg.SessionIdle)
	}
}

// joinedTagView is the view of code as read with the token, within the
// scope, if it was (ok).
func joinedTagView(c *echo.Context, code tag.Code, scope postgres.DonationScope) (postgres.TagView, bool, error) {
	tv, ok, err := joinedOf[tag.Code, postgres.TagView](c, ctxTagView, code)
	if ok && err == nil {
		tv, err = tv.Within(scope)
	}
	return tv, ok, err
}

// joinedDevicePage is the page of device id as read with the session,
// within the scope, if it was (ok).
func joinedDevicePage(c *echo.Context, id int64, scope postgres.DonationScope) (postgres.DevicePage, bool, error) {
	dp, ok, err := joinedOf[int64, postgres.DevicePage](c, ctxDevicePage, id)
	if ok && err == nil {
		dp, err = dp.Within(scope)
	}
	return dp, ok, err
}

// joinedDeviceByTag is what code leads to as read with the session, for
// the handler to decide who may see what, if it was (ok).
func joinedDeviceByTag(c *echo.Context, code tag.Code) (postgres.TaggedDevice, bool, error) {
	return joinedOf[tag.Code, postgres.TaggedDevice](c, ctxDeviceByTag, code)
}
