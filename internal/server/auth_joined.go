package server

import (
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

// tagViewRead is a view read with the token, before any scope.
type tagViewRead struct {
	code tag.Code
	view postgres.TagView
	err  error
}

// tokenAndTagView reads the token and the tag of the path's code; a
// malformed code costs no read of a tag (the handler refuses it).
func (s *Server) tokenAndTagView(c *echo.Context, hash []byte) (*account.Principal, error) {
	ctx := c.Request().Context()
	code, err := tag.Parse(c.Param("code"))
	if err != nil {
		return s.store.TokenPrincipal(ctx, hash, s.now())
	}
	p, tv, err := s.store.TokenTagView(ctx, hash, s.now(), code)
	if p == nil {
		return nil, err
	}
	c.Set(ctxTagView, &tagViewRead{code: code, view: tv, err: err})
	return p, nil
}

// joinedTagView is the view of code as read with the token, within the
// scope, if it was (ok).
func joinedTagView(c *echo.Context, code tag.Code, scope postgres.DonationScope) (tv postgres.TagView, ok bool, err error) {
	r, ok := c.Get(ctxTagView).(*tagViewRead)
	if !ok || r.code != code {
		return postgres.TagView{}, false, nil
	}
	if r.err != nil {
		return postgres.TagView{}, true, r.err
	}
	tv, err = r.view.Within(scope)
	return tv, true, err
}

// devicePageRead is a device page read with the session, before any
// scope.
type devicePageRead struct {
	id   int64
	page postgres.DevicePage
	err  error
}

// sessionAndDevicePage reads the session and the page of the path's
// device; a malformed id costs no read of a device (the handler refuses
// it).
func (s *Server) sessionAndDevicePage(c *echo.Context, hash []byte) (*account.Principal, error) {
	ctx := c.Request().Context()
	id, err := idParam(c, "id")
	if err != nil {
		return s.store.SessionPrincipal(ctx, hash, s.now(), s.cfg.SessionIdle)
	}
	p, dp, err := s.store.SessionDevicePage(ctx, hash, s.now(), s.cfg.SessionIdle, id)
	if p == nil {
		return nil, err
	}
	c.Set(ctxDevicePage, &devicePageRead{id: id, page: dp, err: err})
	return p, nil
}

// joinedDevicePage is the page of device id as read with the session,
// within the scope, if it was (ok).
func joinedDevicePage(c *echo.Context, id int64, scope postgres.DonationScope) (dp postgres.DevicePage, ok bool, err error) {
	r, ok := c.Get(ctxDevicePage).(*devicePageRead)
	if !ok || r.id != id {
		return postgres.DevicePage{}, false, nil
	}
	if r.err != nil {
		return postgres.DevicePage{}, true, r.err
	}
	dp, err = r.page.Within(scope)
	return dp, true, err
}

// deviceByTagRead is a tag and its device read with the session, for
// the handler to decide who may see what.
type deviceByTagRead struct {
	code   tag.Code
	tagged postgres.TaggedDevice
	err    error
}

// sessionAndDeviceByTag reads the session and the tag of the path's code
// (a staff phone's scan); a malformed code costs no read of a tag.
func (s *Server) sessionAndDeviceByTag(c *echo.Context, hash []byte) (*account.Principal, error) {
	ctx := c.Request().Context()
	code, err := tag.Parse(c.Param("code"))
	if err != nil {
		return s.store.SessionPrincipal(ctx, hash, s.now(), s.cfg.SessionIdle)
	}
	p, td, err := s.store.SessionDeviceByTag(ctx, hash, s.now(), s.cfg.SessionIdle, code)
	if p == nil {
		return nil, err
	}
	c.Set(ctxDeviceByTag, &deviceByTagRead{code: code, tagged: td, err: err})
	return p, nil
}

// joinedDeviceByTag is what code leads to as read with the session, if it
// was (ok).
func joinedDeviceByTag(c *echo.Context, code tag.Code) (td postgres.TaggedDevice, ok bool, err error) {
	r, ok := c.Get(ctxDeviceByTag).(*deviceByTagRead)
	if !ok || r.code != code {
		return postgres.TaggedDevice{}, false, nil
	}
	return r.tagged, true, r.err
}
