package server_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/server/servertest"
)

func TestHomeInEveryLanguage(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	tests := []struct {
		path, lang, title string
	}{
		{"/", "fr", "Une seconde vie pour le matériel informatique"},
		{"/fr/", "fr", "Une seconde vie pour le matériel informatique"},
		{"/eu/", "eu", "Bigarren bizitza bat ekipamendu informatikoarentzat"},
		{"/en/", "en", "A second life for IT equipment"},
		{"/eu/about", "eu", "berrizi buruz"},
		{"/en/about", "en", "About berriz"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, env.Client(), env.URL+tt.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			mustContain(t, tt.path, body, `<html lang="`+tt.lang+`">`, tt.title, `href="#main"`, `<main id="main"`,
				`hreflang="eu" lang="eu"`, `>Euskara</a>`, `>English</a>`, `>Français</a>`)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("content type %q", ct)
			}
		})
	}
}

func TestLanguageChoice(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})

	t.Run("Accept-Language decides the first visit and is remembered", func(t *testing.T) {
		c := env.Client()
		_, body := get(t, c, env.URL+"/", "Accept-Language", "eu-ES,es;q=0.8")
		mustContain(t, "first visit", body, `<html lang="eu">`)
		// The cookie now wins over a different header.
		_, body = get(t, c, env.URL+"/about", "Accept-Language", "en")
		mustContain(t, "second visit", body, `<html lang="eu">`)
	})
	t.Run("a prefix wins over the cookie and replaces it", func(t *testing.T) {
		c := env.Client()
		get(t, c, env.URL+"/", "Accept-Language", "eu")
		_, body := get(t, c, env.URL+"/en/about")
		mustContain(t, "prefixed", body, `<html lang="en">`, `href="/en/"`)
		_, body = get(t, c, env.URL+"/about")
		mustContain(t, "after prefix", body, `<html lang="en">`)
		_, body = get(t, c, env.URL+"/fr/")
		mustContain(t, "back to French", body, `<html lang="fr">`)
		_, body = get(t, c, env.URL+"/about")
		mustContain(t, "French remembered", body, `<html lang="fr">`)
	})
	t.Run("unsupported languages fall back to French", func(t *testing.T) {
		_, body := get(t, env.Client(), env.URL+"/", "Accept-Language", "de-DE,es")
		mustContain(t, "fallback", body, `<html lang="fr">`)
	})
	t.Run("language cookie is HttpOnly and SameSite=Lax", func(t *testing.T) {
		resp, _ := get(t, env.Client(), env.URL+"/eu/")
		sc := resp.Header.Get("Set-Cookie")
		mustContain(t, "Set-Cookie", sc, "berriz_lang=eu", "HttpOnly", "SameSite=Lax", "Path=/")
		if strings.Contains(sc, "Secure") {
			t.Errorf("Secure cookie over plain http: %s", sc)
		}
	})
	t.Run("a bare prefix redirects to the folder", func(t *testing.T) {
		resp, _ := get(t, env.Client(), env.URL+"/eu")
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/eu/" {
			t.Fatalf("got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("a prefix must be a whole segment", func(t *testing.T) {
		resp, _ := get(t, env.Client(), env.URL+"/eus")
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("/eus: %d, want 404", resp.StatusCode)
		}
	})
	t.Run("links stay in the chosen language", func(t *testing.T) {
		_, body := get(t, env.Client(), env.URL+"/eu/")
		mustContain(t, "Basque links", body, `href="/eu/about"`, `aria-current="page"`)
	})
}

func TestSecureCookiesOverHTTPS(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{Env: map[string]string{"BERRIZ_PUBLIC_URL": "https://berriz.example.eus"}})
	resp, _ := get(t, env.Client(), env.URL+"/eu/")
	mustContain(t, "Set-Cookie", resp.Header.Get("Set-Cookie"), "Secure")
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over https")
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	_, home := get(t, env.Client(), env.URL+"/")
	css := regexp.MustCompile(`/static/css/berriz\.[0-9a-f]{10}\.css`).FindString(home)
	for _, p := range []string{"/", "/about", "/nope", "/api/v1/nope", "/healthz", css} {
		resp, _ := get(t, env.Client(), env.URL+p)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		for name, want := range map[string]string{
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
		} {
			if h.Get(name) != want {
				t.Errorf("%s: %s = %q, want %q", p, name, h.Get(name), want)
			}
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", p)
		}
	}
}

func TestNoInlineScriptOrStyle(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	for _, p := range []string{"/", "/eu/about", "/en/nope"} {
		_, body := get(t, env.Client(), env.URL+p)
		for _, bad := range []string{"<script>", "<script ", "style=", "<style", "onclick=", "onload=", "javascript:"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q, which the CSP would block", p, bad)
			}
		}
	}
}

func TestStaticFilesFingerprintedAndImmutable(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	_, home := get(t, env.Client(), env.URL+"/")
	css := regexp.MustCompile(`/static/css/berriz\.[0-9a-f]{10}\.css`).FindString(home)
	if css == "" {
		t.Fatal("home page links no fingerprinted stylesheet")
	}
	tr := &http.Transport{DisableCompression: true}
	raw := &http.Client{Transport: tr}

	resp, plain := get(t, raw, env.URL+css)
	if resp.StatusCode != http.StatusOK || !strings.Contains(plain, "system-ui") {
		t.Fatalf("stylesheet: %d", resp.StatusCode)
	}
	mustContain(t, "Cache-Control", resp.Header.Get("Cache-Control"), "immutable", "max-age=31536000")
	mustContain(t, "Content-Type", resp.Header.Get("Content-Type"), "text/css")

	resp, zipped := get(t, raw, env.URL+css, "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(zipped) >= len(plain) {
		t.Fatalf("gzip: encoding %q, %d bytes vs %d", resp.Header.Get("Content-Encoding"), len(zipped), len(plain))
	}
	zr, err := gzip.NewReader(strings.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if string(unzipped) != plain {
		t.Fatal("gzip body differs from the file")
	}
	resp, _ = get(t, raw, env.URL+css, "Accept-Encoding", "gzip;q=0")
	if resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent although refused with q=0")
	}

	resp, _ = get(t, raw, env.URL+css, "If-None-Match", resp.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", resp.StatusCode)
	}
	for _, p := range []string{"/static/css/berriz.0000000000.css", "/static/css/berriz.css", "/static/../go.mod", "/static/"} {
		if resp, _ := get(t, raw, env.URL+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
	resp, _ = get(t, env.Client(), env.URL+"/favicon.ico")
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), "/static/favicon.") {
		t.Errorf("favicon: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestPagesCarryETagAndCompress(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, _ := get(t, raw, env.URL+"/en/", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("home page not gzipped")
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the home page")
	}
	resp, body := get(t, raw, env.URL+"/en/", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("revalidation: %d with %d bytes, want 304 and no body", resp.StatusCode, len(body))
	}
	resp, _ = get(t, raw, env.URL+"/eu/", "If-None-Match", etag)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("another language's ETag matched: %d", resp.StatusCode)
	}
}

func TestRequestIDs(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	resp, _ := get(t, env.Client(), env.URL+"/healthz", "X-Request-Id", "lb-1234567890")
	if got := resp.Header.Get("X-Request-Id"); got != "lb-1234567890" {
		t.Errorf("well-formed incoming id not kept: %q", got)
	}
	resp, _ = get(t, env.Client(), env.URL+"/healthz", "X-Request-Id", "<script>")
	if got := resp.Header.Get("X-Request-Id"); got == "<script>" || len(got) < 16 {
		t.Errorf("malformed incoming id kept: %q", got)
	}
	if !strings.Contains(env.Logs(), `"request_id":"lb-1234567890"`) {
		t.Error("the request's log line does not carry its id")
	}
}
