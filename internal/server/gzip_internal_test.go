package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
)

// The gzip middleware's behaviours, each on its own handler: what Echo's
// middleware did (gzip.go lists them), on klauspost's compressor.
func TestGzipMiddleware(t *testing.T) {
	big := strings.Repeat("berriz donne une seconde vie aux appareils. ", 100) // 4,400 bytes
	e := echo.New()
	e.Use(gzipMiddleware)
	bigHandler := func(c *echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentLength, "4400")
		return c.String(http.StatusCreated, big)
	}
	e.GET("/big", bigHandler)
	e.HEAD("/big", bigHandler)
	e.GET("/small", func(c *echo.Context) error { return c.String(http.StatusOK, "short") })
	e.GET("/notmodified", func(c *echo.Context) error { return c.NoContent(http.StatusNotModified) })
	e.GET("/redirect", func(c *echo.Context) error { return c.Redirect(http.StatusSeeOther, "/small") })
	e.GET("/stream", func(c *echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentType, "text/csv")
		fl := c.Response().(http.Flusher)
		fl.Flush() // before any byte: compressed, whatever the length
		_, _ = io.WriteString(c.Response(), "a,b\n")
		fl.Flush()
		_, _ = io.WriteString(c.Response(), "c,d\n")
		return nil
	})
	e.GET("/static/x.css", func(c *echo.Context) error { return c.String(http.StatusOK, big) })
	e.GET("/error", func(c *echo.Context) error { return echo.ErrNotFound })

	do := func(method, path, accept string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	gunzip := func(rec *httptest.ResponseRecorder) string {
		t.Helper()
		zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatalf("not gzip: %v", err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("truncated gzip: %v", err)
		}
		return string(b)
	}

	rec := do(http.MethodGet, "/big", "br, gzip")
	if rec.Code != http.StatusCreated || rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Content-Length") != "" ||
		rec.Header().Get("Vary") != "Accept-Encoding" || rec.Body.Len() >= len(big) || gunzip(rec) != big {
		t.Errorf("big answer: %d, encoding %q, length %q, vary %q, %d bytes", rec.Code, rec.Header().Get("Content-Encoding"),
			rec.Header().Get("Content-Length"), rec.Header().Get("Vary"), rec.Body.Len())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("big answer: Content-Type %q", ct)
	}
	for _, accept := range []string{"", "gzip;q=0", "identity"} {
		rec = do(http.MethodGet, "/big", accept)
		if rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != big || rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("big answer, Accept-Encoding %q: encoding %q, vary %q", accept, rec.Header().Get("Content-Encoding"),
				rec.Header().Get("Vary"))
		}
	}
	rec = do(http.MethodGet, "/small", "gzip")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != "short" {
		t.Errorf("small answer: %d, encoding %q, %q", rec.Code, rec.Header().Get("Content-Encoding"), rec.Body.String())
	}
	for path, code := range map[string]int{"/notmodified": http.StatusNotModified, "/redirect": http.StatusSeeOther} {
		rec = do(http.MethodGet, path, "gzip")
		if rec.Code != code || rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: %d, encoding %q, vary %q", path, rec.Code, rec.Header().Get("Content-Encoding"), rec.Header().Get("Vary"))
		}
	}
	rec = do(http.MethodHead, "/big", "gzip")
	if rec.Code != http.StatusCreated || rec.Header().Get("Vary") != "Accept-Encoding" {
		t.Errorf("HEAD: %d, vary %q", rec.Code, rec.Header().Get("Vary"))
	}
	rec = do(http.MethodGet, "/stream", "gzip")
	if rec.Header().Get("Content-Encoding") != "gzip" || !rec.Flushed || gunzip(rec) != "a,b\nc,d\n" {
		t.Errorf("stream: encoding %q, flushed %v", rec.Header().Get("Content-Encoding"), rec.Flushed)
	}
	rec = do(http.MethodGet, "/static/x.css", "gzip")
	if rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("Vary") != "" || rec.Body.String() != big {
		t.Errorf("static: encoding %q, vary %q", rec.Header().Get("Content-Encoding"), rec.Header().Get("Vary"))
	}
	rec = do(http.MethodGet, "/error", "gzip")
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Encoding") != "" || rec.Body.Len() == 0 {
		t.Errorf("error: %d, encoding %q, %q", rec.Code, rec.Header().Get("Content-Encoding"), rec.Body.String())
	}
	// Writers come back from the pool clean: a small answer after a big one.
	for range 3 {
		do(http.MethodGet, "/big", "gzip")
		if rec = do(http.MethodGet, "/small", "gzip"); rec.Body.String() != "short" || rec.Header().Get("Content-Encoding") != "" {
			t.Fatalf("small after big: encoding %q, %q", rec.Header().Get("Content-Encoding"), rec.Body.String())
		}
	}
}
