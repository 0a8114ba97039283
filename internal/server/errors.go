package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/labstack/echo/v5"
)

// errPageNotFound is what unknown URLs answer.
var errPageNotFound = &berriz.Error{Kind: berriz.NotFound, Code: "not_found", Message: "error.page_not_found"}

// statusOf is the one place where the error vocabulary meets HTTP.
var statusOf = map[berriz.Kind]int{
	berriz.Invalid:      http.StatusBadRequest,
	berriz.Unauthorized: http.StatusUnauthorized,
	berriz.Forbidden:    http.StatusForbidden,
	berriz.NotFound:     http.StatusNotFound,
	berriz.Conflict:     http.StatusConflict,
	berriz.TooLarge:     http.StatusRequestEntityTooLarge,
	berriz.Unavailable:  http.StatusServiceUnavailable,
	berriz.Internal:     http.StatusInternalServerError,
}

// byStatus describes the HTTP errors raised by Echo itself (no route, wrong
// method, body too large, bad bind) in the vocabulary.
var byStatus = map[int]berriz.Error{
	http.StatusBadRequest:            {Kind: berriz.Invalid, Code: "invalid", Message: "error.invalid"},
	http.StatusUnauthorized:          {Kind: berriz.Unauthorized, Code: "unauthorized", Message: "error.unauthorized"},
	http.StatusForbidden:             {Kind: berriz.Forbidden, Code: "forbidden", Message: "error.forbidden"},
	http.StatusNotFound:              {Kind: berriz.NotFound, Code: "not_found", Message: "error.page_not_found"},
	http.StatusMethodNotAllowed:      {Kind: berriz.Invalid, Code: "method_not_allowed", Message: "error.method_not_allowed"},
	http.StatusRequestEntityTooLarge: {Kind: berriz.TooLarge, Code: "too_large", Message: "error.too_large"},
	http.StatusUnsupportedMediaType:  {Kind: berriz.Invalid, Code: "unsupported_media_type", Message: "error.unsupported_media_type"},
	http.StatusTooManyRequests:       {Kind: berriz.Unavailable, Code: "too_many_requests", Message: "error.too_many_requests"},
	http.StatusServiceUnavailable:    {Kind: berriz.Unavailable, Code: "unavailable", Message: "error.unavailable"},
}

// fromStatus returns the vocabulary error for an HTTP status.
func fromStatus(status int, cause error) *berriz.Error {
	e, ok := byStatus[status]
	switch {
	case ok:
	case status >= 400 && status < 500:
		e = byStatus[http.StatusBadRequest]
	default:
		e = berriz.Error{Kind: berriz.Internal, Code: "internal", Message: "error.internal"}
	}
	e.Err = cause
	return &e
}

// classify returns the vocabulary error and the HTTP status for any error a
// handler or middleware returned.
func classify(err error) (*berriz.Error, int) {
	var be *berriz.Error
	if errors.As(err, &be) {
		return be, statusOf[be.Kind]
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return fromStatus(http.StatusRequestEntityTooLarge, err), http.StatusRequestEntityTooLarge
	}
	var coder echo.HTTPStatusCoder
	if errors.As(err, &coder) {
		st := coder.StatusCode()
		if st >= 400 && st < 600 {
			return fromStatus(st, err), st
		}
	}
	return &berriz.Error{Kind: berriz.Internal, Code: "internal", Message: "error.internal", Err: err}, http.StatusInternalServerError
}

// jsonError is the body of every JSON error answer.
type jsonError struct {
	Error jsonErrorBody `json:"error"`
}

type jsonErrorBody struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	Details   map[string]any    `json:"details,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// errorPage is the data of the error template.
type errorPage struct {
	Status    int
	Heading   string
	Message   string
	RequestID string
}

// handleError answers err as an HTML page or a JSON body, logging only
// internal errors, once. Every error of the process goes through here.
func (s *Server) handleError(c *echo.Context, err error) {
	if resp, uerr := echo.UnwrapResponse(c.Response()); uerr == nil && resp.Committed {
		s.logFor(c).Warn("error after response started", "error", err.Error())
		return
	}
	if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		// The client went away; nobody is left to answer.
		return
	}
	be, status := classify(err)
	reqID := requestIDOf(c)
	if status >= 500 && be.Kind != berriz.Unavailable {
		s.logFor(c).Error("request failed", "error", err.Error(), "status", status)
	} else if status == http.StatusServiceUnavailable {
		s.logFor(c).Warn("dependency unavailable", "error", err.Error())
	}
	lang := langOf(c)
	msg := s.errorText(lang, be)
	if be.Message == "" || !s.cat.Has(be.Message) {
		msg = s.cat.T(lang, fromStatus(status, nil).Message, nil)
	}
	if wantsJSON(c.Request()) {
		body := jsonError{Error: jsonErrorBody{Code: be.CodeOrKind(), Message: msg, Details: be.Details, RequestID: reqID}}
		if len(be.Fields) > 0 {
			body.Error.Fields = make(map[string]string, len(be.Fields))
			for f, key := range be.Fields {
				body.Error.Fields[f] = s.cat.T(lang, key, nil)
			}
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		if jerr := c.JSON(status, body); jerr != nil {
			s.logFor(c).Error("write error body", "error", jerr.Error())
		}
		return
	}
	titleKey := "error.title." + strconv.Itoa(status)
	if !s.cat.Has(titleKey) {
		titleKey = "error.title." + strconv.Itoa(status/100*100)
	}
	page := errorPage{Status: status, Heading: s.cat.T(lang, titleKey, nil), Message: msg}
	if status >= 500 {
		page.RequestID = reqID
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if rerr := s.render(c, status, "error", titleKey, page); rerr != nil {
		s.logFor(c).Error("render error page", "error", rerr.Error())
		_ = c.String(status, msg)
	}
}

// errorText is an error's message in lang, its placeholders filled from
// Args and from the translations of KeyArgs.
func (s *Server) errorText(lang i18n.Lang, be *berriz.Error) string {
	args := be.Args
	if len(be.KeyArgs) > 0 {
		args = make(map[string]string, len(be.Args)+len(be.KeyArgs))
		for k, v := range be.Args {
			args[k] = v
		}
		for k, key := range be.KeyArgs {
			args[k] = s.cat.T(lang, key, nil)
		}
	}
	return s.cat.T(lang, be.Message, args)
}

// wantsJSON decides between the two faces of an error: API paths always get
// JSON, other paths get JSON only when the client asks for it and not HTML.
func wantsJSON(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}
