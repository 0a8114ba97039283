package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/internal/server/servertest"
)

// Every page the route table serves by GET, as every kind of signed-in
// browser and anonymous visitor sees it, in each language, is the same,
// status and bytes, whether rendered from the templates as written or
// from their copies written in the language at start (render_translate.go).
func TestTranslatedTemplatesRenderTheSame(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	callers, v := seedMatrix(t, env)
	defer server.SetPlainTemplates(env.Server, false)
	pages := 0
	for _, r := range env.Server.Routes() {
		if r.Method != http.MethodGet || strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/static/") {
			continue
		}
		path := concretePath(t, r.Path, v)
		for _, p := range principals {
			if p.token != "" {
				continue // API clients get no page
			}
			b := callers[p.name]
			for _, lang := range []string{"fr", "eu", "en"} {
				server.SetPlainTemplates(env.Server, false)
				resp, translated := b.Get(path, "Accept-Language", lang)
				server.SetPlainTemplates(env.Server, true)
				plainResp, plain := b.Get(path, "Accept-Language", lang)
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					continue // files, metrics: no template
				}
				pages++
				// Error pages show the request's id: the one thing that
				// differs from one request to the next.
				translated = strings.ReplaceAll(translated, resp.Header.Get("X-Request-Id"), "REQUEST-ID")
				plain = strings.ReplaceAll(plain, plainResp.Header.Get("X-Request-Id"), "REQUEST-ID")
				if resp.StatusCode != plainResp.StatusCode || translated != plain {
					t.Errorf("GET %s as %s in %s: %d, %d bytes translated; %d, %d bytes as written\n%s",
						path, p.name, lang, resp.StatusCode, len(translated), plainResp.StatusCode, len(plain), firstDiff(translated, plain))
				}
			}
		}
	}
	if pages < 300 {
		t.Errorf("only %d pages compared", pages)
	}
	t.Logf("%d pages compared", pages)
}

// firstDiff shows where two texts part.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	return "…" + a[from:min(len(a), i+80)] + "\n≠\n…" + b[from:min(len(b), i+80)]
}

// TestMemoizedPagesRenderOnce holds the load benchmark's bound
// (page-memo) to what it claims: while set, an address is rendered once
// and its bytes served again; unset, nothing is kept or counted.
func TestMemoizedPagesRenderOnce(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	anon := env.Anonymous(t)
	defer server.SetMemoizedPages(env.Server, false)
	get := func(path string) string {
		t.Helper()
		resp, body := anon.Get(path, "Accept-Language", "fr")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return body
	}
	before := server.MemoizedRenders(env.Server)
	get("/about")
	if n := server.MemoizedRenders(env.Server) - before; n != 0 {
		t.Fatalf("%d renders counted while unset", n)
	}
	server.SetMemoizedPages(env.Server, true)
	first := get("/about")
	again := get("/about")
	get("/login")
	if n := server.MemoizedRenders(env.Server) - before; n != 2 {
		t.Errorf("two addresses asked for three times: %d renders, want 2", n)
	}
	if again != first {
		t.Errorf("the same address served other bytes:\n%s", firstDiff(again, first))
	}
	server.SetMemoizedPages(env.Server, false)
	get("/about")
	if n := server.MemoizedRenders(env.Server) - before; n != 2 {
		t.Errorf("a render counted after unsetting: %d", n)
	}
}
