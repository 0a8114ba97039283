package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/config"
	"github.com/labstack/echo/v5"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{berriz.E(berriz.Invalid, "error.invalid"), 400, "invalid"},
		{berriz.E(berriz.Unauthorized, "error.unauthorized"), 401, "unauthorized"},
		{berriz.E(berriz.Forbidden, "error.forbidden"), 403, "forbidden"},
		{berriz.E(berriz.NotFound, "error.not_found"), 404, "not_found"},
		{berriz.E(berriz.Conflict, "error.conflict"), 409, "conflict"},
		{berriz.E(berriz.TooLarge, "error.too_large"), 413, "too_large"},
		{berriz.E(berriz.Unavailable, "error.unavailable"), 503, "unavailable"},
		{berriz.E(berriz.Internal, "error.internal"), 500, "internal"},
		{fmt.Errorf("load device 7: %w", berriz.E(berriz.NotFound, "error.not_found")), 404, "not_found"},
		{&berriz.Error{Kind: berriz.Conflict, Code: "device_reserved"}, 409, "device_reserved"},
		{echo.ErrNotFound, 404, "not_found"},
		{echo.ErrMethodNotAllowed, 405, "method_not_allowed"},
		{echo.ErrUnsupportedMediaType, 415, "unsupported_media_type"},
		{echo.ErrBadRequest, 400, "invalid"},
		{&http.MaxBytesError{Limit: 10}, 413, "too_large"},
		{errors.New("disk on fire"), 500, "internal"},
	}
	for _, tt := range tests {
		be, status := classify(tt.err)
		if status != tt.status || be.CodeOrKind() != tt.code {
			t.Errorf("classify(%v) = %d %q, want %d %q", tt.err, status, be.CodeOrKind(), tt.status, tt.code)
		}
	}
}

// newBareServer builds a server without database or storage, for tests that
// add their own routes to exercise the middleware chain.
func newBareServer(t *testing.T) (*Server, *bytes.Buffer) {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := New(Deps{Config: cfg, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s, &logs
}

func serve(s *Server, method, path string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func TestPanicBecomesLoggedInternalError(t *testing.T) {
	s, logs := newBareServer(t)
	s.echo.GET("/boom", func(c *echo.Context) error { panic("kaboom") })
	rec := serve(s, http.MethodGet, "/en/boom")
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "Internal error") || !strings.Contains(body, rec.Header().Get("X-Request-Id")) {
		t.Errorf("500 page lacks heading or request reference:\n%s", body)
	}
	if strings.Contains(body, "kaboom") {
		t.Error("500 page leaks the panic value")
	}
	if n := strings.Count(logs.String(), `"msg":"panic"`); n != 1 {
		t.Errorf("panic logged %d times, want once", n)
	}
	if !strings.Contains(logs.String(), "errors_internal_test.go") {
		t.Error("panic log has no stack")
	}
	// The server still serves afterwards.
	if rec := serve(s, http.MethodGet, "/"); rec.Code != 200 {
		t.Errorf("after panic: %d", rec.Code)
	}
}

func TestInternalErrorsLoggedOnceAndHidden(t *testing.T) {
	s, logs := newBareServer(t)
	s.echo.GET("/api/v1/fail", func(c *echo.Context) error {
		return fmt.Errorf("query devices: %w", errors.New("password=hunter2 connection refused"))
	})
	rec := serve(s, http.MethodGet, "/api/v1/fail")
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "hunter2") {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	var body jsonError
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "internal" || body.Error.RequestID == "" {
		t.Fatalf("body %s (%v)", rec.Body, err)
	}
	if n := strings.Count(logs.String(), `"msg":"request failed"`); n != 1 {
		t.Errorf("internal error logged %d times, want once", n)
	}
}

func TestUserErrorsNotLoggedAsErrors(t *testing.T) {
	s, logs := newBareServer(t)
	s.echo.GET("/api/v1/conflict", func(c *echo.Context) error {
		return berriz.E(berriz.Conflict, "error.conflict")
	})
	if rec := serve(s, http.MethodGet, "/api/v1/conflict"); rec.Code != 409 {
		t.Fatalf("status %d", rec.Code)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("a conflict was logged as an error:\n%s", logs)
	}
}

func TestFieldErrorsTranslated(t *testing.T) {
	s, _ := newBareServer(t)
	s.echo.GET("/api/v1/form", func(c *echo.Context) error {
		f := berriz.FieldErrors{}
		f.Add("email", "error.invalid")
		f.Add("email", "error.conflict") // second failure of a field is ignored
		return f.Err()
	})
	rec := serve(s, http.MethodGet, "/api/v1/form", "Accept-Language", "en")
	var body jsonError
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 400 || body.Error.Code != "invalid" || body.Error.Fields["email"] != "The request contains invalid data." {
		t.Fatalf("%d %+v", rec.Code, body)
	}
}

func TestFlashShownOnce(t *testing.T) {
	s, _ := newBareServer(t)
	s.echo.GET("/set", func(c *echo.Context) error {
		s.SetFlash(c, "success", "flash.signed_out")
		s.SetFlash(c, "success", "no.such.key") // ignored: not in the catalogs
		return c.Redirect(http.StatusSeeOther, "/")
	})
	rec := serve(s, http.MethodGet, "/set")
	var flash *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == flashCookie {
			flash = ck
		}
	}
	if flash == nil || !flash.HttpOnly || flash.SameSite != http.SameSiteLaxMode {
		t.Fatalf("flash cookie %+v", flash)
	}
	rec = serve(s, http.MethodGet, "/en/", "Cookie", flash.Name+"="+flash.Value)
	if !strings.Contains(rec.Body.String(), `class="flash flash-success" role="status">You are signed out.`) {
		t.Fatalf("flash not shown:\n%s", rec.Body)
	}
	cleared := false
	for _, ck := range rec.Result().Cookies() {
		cleared = cleared || (ck.Name == flashCookie && ck.MaxAge < 0)
	}
	if !cleared {
		t.Error("flash cookie not cleared after display")
	}
	rec = serve(s, http.MethodGet, "/", "Cookie", flashCookie+"=error.<b>forged</b>")
	if strings.Contains(rec.Body.String(), "forged") || strings.Contains(rec.Body.String(), `class="flash`) {
		t.Error("a forged flash reached the page")
	}
}
