package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/server/servertest"
)

type errorBody struct {
	Error struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		Fields    map[string]string `json:"fields"`
		RequestID string            `json:"request_id"`
	} `json:"error"`
}

func decodeError(t *testing.T, body string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not a JSON error body: %v\n%s", err, body)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body lacks code or message: %s", body)
	}
	return e
}

func TestErrorPagesTranslated(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	tests := []struct {
		path, lang, heading string
	}{
		{"/nope", "fr", "Page introuvable"},
		{"/eu/nope", "eu", "Ez da orria aurkitu"},
		{"/en/nope", "en", "Page not found"},
		{"/en/static/css/nope.css", "en", "Page not found"},
	}
	for _, tt := range tests {
		resp, body := get(t, env.Client(), env.URL+tt.path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", tt.path, resp.StatusCode)
		}
		mustContain(t, tt.path, body, `<html lang="`+tt.lang+`">`, "<h1>"+tt.heading+"</h1>", `href="#main"`)
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", tt.path, cc)
		}
	}
}

func TestErrorsAsJSON(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	c := env.Client()

	resp, body := get(t, c, env.URL+"/api/v1/nothing-here", "Accept-Language", "eu")
	e := decodeError(t, body)
	if resp.StatusCode != http.StatusNotFound || e.Error.Code != "not_found" || !strings.Contains(e.Error.Message, "Orri hau") {
		t.Errorf("API 404: %d %+v", resp.StatusCode, e)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}

	resp, body = get(t, c, env.URL+"/nope", "Accept", "application/json")
	if e := decodeError(t, body); resp.StatusCode != 404 || e.Error.Code != "not_found" {
		t.Errorf("JSON-accepting client on a page: %d %+v", resp.StatusCode, e)
	}

	resp, body = do(t, c, http.MethodDelete, env.URL+"/healthz", nil, "Accept", "application/json")
	if e := decodeError(t, body); resp.StatusCode != http.StatusMethodNotAllowed || e.Error.Code != "method_not_allowed" {
		t.Errorf("wrong method: %d %+v", resp.StatusCode, e)
	}
}

func TestMethodNotAllowedPage(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	resp, body := do(t, env.Client(), http.MethodPost, env.URL+"/en/about", strings.NewReader("x=1"), "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /about: %d", resp.StatusCode)
	}
	mustContain(t, "405 page", body, "Method not allowed")
}

func TestBodyTooLarge(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{Env: map[string]string{"BERRIZ_MAX_BODY_BYTES": "1024"}})
	big := strings.Repeat("x", 4096)
	resp, body := do(t, env.Client(), http.MethodPost, env.URL+"/api/v1/anything", strings.NewReader(big), "Content-Type", "application/json")
	if e := decodeError(t, body); resp.StatusCode != http.StatusRequestEntityTooLarge || e.Error.Code != "too_large" {
		t.Fatalf("large body: %d %+v", resp.StatusCode, e)
	}
}

func TestNoServerErrorForOddInput(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	c := env.Client()
	paths := []string{
		"/%zz", "/eu/%00", "/static/%2e%2e/%2e%2e/etc/passwd", "/" + strings.Repeat("a", 4000),
		"/about?lang=<script>", "/t/../../", "/eu/eu/eu", "/api/v1/%ff",
	}
	headers := [][]string{
		{"Accept-Language", strings.Repeat("eu;q=0.5,", 500)},
		{"Accept-Language", "ëü-ẞ;q=é"},
		{"Cookie", "berriz_lang=xx; berriz_flash=error.<script>"},
		{"If-None-Match", strings.Repeat(`"a",`, 200)},
		{"Accept-Encoding", "gzip;q=abc"},
	}
	for _, p := range paths {
		for _, h := range headers {
			req, err := http.NewRequest(http.MethodGet, env.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = p // send the path as is, undecoded
			req.Header.Set(h[0], h[1])
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("GET %s with %s: %d", p, h[0], resp.StatusCode)
			}
		}
	}
}
