package browsertest_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/browsertest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Run(m)) }

// csp is the policy of berriz's pages: the harness must work under it.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'"

// page wraps a body in a minimal accessible document.
func page(title, body string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>` + title +
		`</title><link rel="stylesheet" href="/style.css"></head><body><main>` + body + `</main></body></html>`
}

// mustPNG encodes a w×h image; noisy pixels do not compress, so the file
// weighs about 4·w·h bytes.
func mustPNG(t *testing.T, w, h int, noisy bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = 200
		if noisy {
			img.Pix[i] = uint8(r.UintN(256))
		}
	}
	img.Set(0, 0, color.Black)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatalf("encode png: %v", err)
	}
	return buf.Bytes()
}

// mustServer serves the fixture pages.
func mustServer(t *testing.T) *httptest.Server {
	t.Helper()
	small, big := mustPNG(t, 8, 8, false), mustPNG(t, 256, 256, true)
	if len(big) < 200*1024 {
		t.Fatalf("big image is %d bytes, want at least 200 KiB", len(big))
	}
	html := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", csp)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		}
	}
	blob := func(typ string, b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", typ)
			w.Write(b)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /style.css", blob("text/css", []byte("body{font-family:system-ui,sans-serif;color:#111;background:#fff}")))
	mux.HandleFunc("GET /favicon.ico", blob("image/png", small))
	mux.HandleFunc("GET /small.png", blob("image/png", small))
	mux.HandleFunc("GET /big.png", blob("image/png", big))
	mux.HandleFunc("GET /font.woff2", blob("font/woff2", []byte("not really a font")))
	mux.HandleFunc("GET /light", html(page("Light", `<h1>Light page</h1><p>Hello.</p>`+
		`<img src="/small.png" alt="A grey square" width="8" height="8"><p><a href="/form">Go to the form</a></p>`)))
	mux.HandleFunc("GET /dom", html(page("DOM", "<ul>"+strings.Repeat("<li>item</li>", 400)+"</ul>")))
	mux.HandleFunc("GET /svg", html(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SVG</title></head><body>`+
		`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" aria-hidden="true"><g>`+
		strings.Repeat(`<rect width="1" height="1"/>`, 500)+`</g></svg></body></html>`))
	mux.HandleFunc("GET /heavy", html(page("Heavy", `<h1>Heavy</h1><img src="/big.png" alt="Noise" width="256" height="256">`)))
	mux.HandleFunc("GET /noalt", html(page("No alt", `<h1>No alt</h1><img src="/small.png" width="8" height="8">`)))
	mux.HandleFunc("GET /inline-script", html(page("Inline", `<h1>Inline</h1><script>document.title = "ran"</script>`)))
	mux.HandleFunc("GET /form", html(page("Form", `<h1>Form</h1><form method="post" action="/submit">`+
		`<label for="name">Name</label> <input id="name" name="name" autocomplete="name">`+
		`<button type="submit">Send</button></form>`)))
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/done?name="+r.FormValue("name"), http.StatusSeeOther) // POST/redirect/GET
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		html(page("Done", "<h1>Thanks, "+template(r.FormValue("name"))+"</h1>"))(w, r)
	})
	mux.HandleFunc("GET /set-cookie", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "tab-one", Path: "/"})
		html(page("Cookie set", "<h1>set</h1>"))(w, r)
	})
	mux.HandleFunc("GET /cookie", func(w http.ResponseWriter, r *http.Request) {
		v := "none"
		if c, err := r.Cookie("session"); err == nil {
			v = c.Value
		}
		html(page("Cookie", `<h1 id="cookie">`+template(v)+`</h1>`))(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// A page with an image from another host (allowed by its CSP) and a web font.
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	mux.HandleFunc("GET /font.css", blob("text/css", []byte(
		"@font-face{font-family:F;src:url(/font.woff2) format('woff2')}body{font-family:F,sans-serif}")))
	mux.HandleFunc("GET /third-party", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp+" "+other)
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Third party</title>`+
			`<link rel="stylesheet" href="/font.css"></head><body><main><h1>Other host, web font</h1>`+
			`<img src="`+other+`/small.png" alt="Square" width="8" height="8"></main></body></html>`)
	})
	return srv
}

// template escapes text for the fixture pages.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func TestLightPagePasses(t *testing.T) {
	srv := mustServer(t)
	tab := browsertest.MustTab(t)
	r := tab.CheckPage(srv.URL + "/light")
	if r.Status != http.StatusOK {
		t.Errorf("status = %d, want 200", r.Status)
	}
	// Document, stylesheet and image; a favicon when Chromium asks for one.
	if r.Requests < 3 || r.Requests > 4 {
		t.Errorf("requests = %d, want 3 or 4:\n%v", r.Requests, r.Resources)
	}
	if r.Bytes <= 0 || len(r.Domains) != 1 || r.Fonts != 0 {
		t.Errorf("report = %s, want some bytes, one domain, no font", r)
	}
	if got := tab.Title(); got != "Light" {
		t.Errorf("title = %q, want Light", got)
	}
}

func TestDOMBudget(t *testing.T) {
	srv := mustServer(t)
	tab := browsertest.MustTab(t)
	tab.Navigate(srv.URL + "/dom")
	r := tab.Measure()
	if r.DOMElements < 400 {
		t.Fatalf("DOM elements = %d, want at least 400", r.DOMElements)
	}
	p := browsertest.Default.Problems(r)
	if len(p) != 1 || !strings.HasPrefix(p[0], "DOM elements:") {
		t.Errorf("problems = %q, want only the DOM budget", p)
	}
}

func TestSVGInsidesNotCounted(t *testing.T) {
	srv := mustServer(t)
	tab := browsertest.MustTab(t)
	tab.Navigate(srv.URL + "/svg")
	// html, head, meta, title, body, svg: the <g> and 500 <rect> do not count.
	if got := tab.Measure().DOMElements; got != 6 {
		t.Errorf("DOM elements = %d, want 6", got)
	}
}

func TestBytesAndRequests(t *testing.T) {
	srv := mustServer(t)
	tab := browsertest.MustTab(t)
	tab.Navigate(srv.URL + "/heavy")
	r := tab.Measure()
	if r.Bytes < 200*1024 {
		t.Errorf("bytes = %d, want at least 200 KiB (the image)", r.Bytes)
	}
	var image bool
	for _, res := range r.Resources {
		image = image || (strings.HasSuffix(res.URL, "/big.png") && res.Type == "Image" && res.Bytes > 200*1024)
	}
	if !image || r.Requests < 3 {
		t.Errorf("requests = %d, want document, stylesheet and a 200 KiB image:\n%v", r.Requests, r.Resources)
	}
	p := browsertest.Default.Problems(r)
	if len(p) != 1 || !strings.HasPrefix(p[0], "bytes:") {
		t.Errorf("problems = %q, want only the bytes budget", p)
	}
}

func TestDomainsFontsAndCSPViolation(t *testing.T) {
	srv := mustServer(t)
	tab := browsertest.MustTab(t)
	tab.Navigate(srv.URL + "/third-party")
	r := tab.Measure()
	if len(r.Domains) != 2 {
		t.Errorf("domains = %v, want 127.0.0.1 and localhost", r.Domains)
	}
	if r.Fonts != 1 {
		t.Errorf("fonts = %d, want 1:\n%v", r.Fonts, r.Resources)
	}
	p := browsertest.Default.Problems(r)
	if len(p) != 2 || !strings.HasPrefix(p[0], "domains:") || !strings.HasPrefix(p[1], "web fonts:") {
		t.Errorf("problems = %q, want domains and web fonts", p)
	}

	tab.Navigate(srv.URL + "/inline-script")
	r = tab.Measure()
	if tab.Title() == "ran" {
		t.Fatalf("inline script ran despite script-src 'self'")
	}
	if !slices.ContainsFunc(r.ConsoleErrors, func(s string) bool { return strings.Contains(s, "Content Security Policy") }) {
		t.Errorf("console errors = %q, want a Content Security Policy violation", r.ConsoleErrors)
	}
	if len(r.Domains) != 1 {
		t.Errorf("domains = %v after a new navigation, want one: reports must not carry over", r.Domains)
	}
}

func TestAxeFindsMissingAlt(t *testing.T) {
	srv := mustServer(t)
	tab := browsertest.MustTab(t)
	tab.Navigate(srv.URL + "/noalt")
	vs := tab.Axe()
	i := slices.IndexFunc(vs, func(v browsertest.Violation) bool { return v.ID == "image-alt" })
	if i < 0 {
		t.Fatalf("violations = %v, want image-alt", vs)
	}
	if n := vs[i].Nodes; len(n) != 1 || !strings.Contains(n[0].HTML, "small.png") {
		t.Errorf("image-alt nodes = %+v, want the <img>", n)
	}
	t.Logf("axe report as CheckAxe prints it:\n%s", browsertest.FormatViolations(vs))
}

func TestFormSubmitLandsOnNextPage(t *testing.T) {
	srv := mustServer(t)
	tab := browsertest.MustTab(t)
	tab.Navigate(srv.URL + "/light")
	tab.Click(`a[href="/form"]`)
	if got := tab.Title(); got != "Form" {
		t.Fatalf("title after clicking the link = %q, want Form", got)
	}
	tab.Fill("#name", "Miren <3")
	tab.Click(`button[type="submit"]`)
	if got := tab.Text("h1"); got != "Thanks, Miren <3" {
		t.Errorf("h1 = %q, want the submitted name", got)
	}
	if !strings.Contains(tab.URL(), "/done?") {
		t.Errorf("URL = %s, want /done", tab.URL())
	}
	r := tab.CheckCurrentPage()
	if !strings.Contains(r.URL, "/done?") || r.Status != http.StatusOK {
		t.Errorf("report of %s (status %d), want the landing page", r.URL, r.Status)
	}
	// POST hop (303), GET /done and its stylesheet; nothing of /form.
	for _, res := range r.Resources {
		if strings.HasSuffix(res.URL, "/form") {
			t.Errorf("report counts %s from the previous page", res.URL)
		}
	}
	if r.Requests < 3 {
		t.Errorf("requests = %d, want the POST, the redirected GET and the stylesheet:\n%v", r.Requests, r.Resources)
	}
	if tab.Count("form") != 0 {
		t.Errorf("still a form on the landing page")
	}
	tab.Screenshot(filepath.Join(t.TempDir(), "done.png"))
}

func TestTabsDoNotShareCookies(t *testing.T) {
	srv := mustServer(t)
	one, two := browsertest.MustTab(t), browsertest.MustTab(t)
	one.Navigate(srv.URL + "/set-cookie")
	one.Navigate(srv.URL + "/cookie")
	if got := one.Text("#cookie"); got != "tab-one" {
		t.Fatalf("tab one cookie = %q, want tab-one", got)
	}
	two.Navigate(srv.URL + "/cookie")
	if got := two.Text("#cookie"); got != "none" {
		t.Errorf("tab two cookie = %q, want none: tabs share cookies", got)
	}
}

func TestBudgetProblems(t *testing.T) {
	fits := browsertest.PageReport{Bytes: 150 * 1024, Requests: 10, DOMElements: 300, Domains: []string{"a"}}
	tests := []struct {
		name   string
		change func(*browsertest.PageReport)
		want   []string // prefixes, in order
	}{
		{"at the limits", func(*browsertest.PageReport) {}, nil},
		{"one byte over", func(r *browsertest.PageReport) { r.Bytes++ }, []string{"bytes:"}},
		{"everything over", func(r *browsertest.PageReport) {
			r.Bytes, r.Requests, r.DOMElements, r.Domains, r.Fonts = 1<<20, 11, 301, []string{"a", "b"}, 1
		}, []string{"bytes:", "requests:", "DOM elements:", "domains:", "web fonts:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fits
			tt.change(&r)
			got := browsertest.Default.Problems(r)
			if len(got) != len(tt.want) {
				t.Fatalf("problems = %q, want %d", got, len(tt.want))
			}
			for i, p := range tt.want {
				if !strings.HasPrefix(got[i], p) {
					t.Errorf("problem %d = %q, want prefix %q", i, got[i], p)
				}
			}
		})
	}
}
