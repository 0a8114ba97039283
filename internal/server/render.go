package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/labstack/echo/v5"
)

// templates holds one parsed template set a page: the layout plus the page's
// own file, so each page defines its "content" block independently.
type templates struct {
	pages map[string]*template.Template
	// byLang holds the same sets written in each language
	// (render_translate.go); plain ignores them (tests compare the two).
	byLang map[i18n.Lang]map[string]*template.Template
	plain  atomic.Bool
	// memo is for the load benchmark's bound only, never set outside
	// tests: each page address is rendered once and its bytes served
	// again to whoever asks, as if rendering cost nothing (with the first
	// client's CSRF token and name: a measure, not a page to serve).
	memo     atomic.Bool
	memoized sync.Map     // memoKey → []byte
	rendered atomic.Int64 // pages rendered while memo was set
}

// memoKey is what a memoized page's bytes are kept under.
type memoKey struct{ name, lang, path string }

// execute renders page name with tt into buf, or, when memo is set,
// copies the bytes rendered the first time at the same address.
func (t *templates) execute(buf *bytes.Buffer, tt *template.Template, name string, p *Page) error {
	if !t.memo.Load() {
		return tt.ExecuteTemplate(buf, "layout", p)
	}
	key := memoKey{name, string(p.Lang), p.Path}
	if b, ok := t.memoized.Load(key); ok {
		buf.Write(b.([]byte))
		return nil
	}
	t.rendered.Add(1)
	if err := tt.ExecuteTemplate(buf, "layout", p); err != nil {
		return err
	}
	t.memoized.Store(key, bytes.Clone(buf.Bytes()))
	return nil
}

// page returns the template set of a page for a language.
func (t *templates) page(lang i18n.Lang, name string) (*template.Template, bool) {
	if tt, ok := t.byLang[lang][name]; ok && !t.plain.Load() {
		return tt, true
	}
	tt, ok := t.pages[name]
	return tt, ok
}

func loadTemplates(fsys fs.FS) (*templates, error) {
	layout, err := template.New("layout.html").Funcs(template.FuncMap{
		"dict": dict,
		"add":  func(a, b int) int { return a + b },
		"sub":  func(a, b int) int { return a - b },
	}).ParseFS(fsys, "layout.html", "partials.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	files, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return nil, err
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, f := range files {
		if f == "layout.html" || f == "partials.html" {
			continue
		}
		clone, err := layout.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := clone.ParseFS(fsys, f); err != nil {
			return nil, fmt.Errorf("parse %s: %w", f, err)
		}
		t.pages[strings.TrimSuffix(f, ".html")] = clone
	}
	return t, nil
}

// Page is what every template receives: the language, the helpers bound to
// it, and the page's own Data.
type Page struct {
	Lang      i18n.Lang
	Title     string
	Path      string // current path, without language prefix
	Flash     *Flash
	Nav       []NavItem
	Languages []LangLink
	Data      any
	// Principal is who is signed in, or nil.
	Principal *account.Principal
	// CSRF is the token every form posts in its hidden "csrf" field.
	CSRF string
	// Form is the form being shown again with its errors, or nil.
	Form *Form

	cat    *i18n.Catalogs
	assets *assets
}

// NavItem is one entry of the main navigation.
type NavItem struct {
	Key     string
	Href    string
	Current bool
}

// LangLink is one entry of the language switch: the current page in another
// language.
type LangLink struct {
	Lang    i18n.Lang
	Name    string
	Href    string
	Current bool
}

// T translates key; kv are placeholder name/value pairs.
func (p *Page) T(key string, kv ...any) string {
	var args map[string]string
	if len(kv) > 1 {
		args = make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			args[fmt.Sprint(kv[i])] = fmt.Sprint(kv[i+1])
		}
	}
	return p.cat.T(p.Lang, key, args)
}

// URL returns an absolute path in the page's language.
func (p *Page) URL(target string) string { return localURL(p.Lang, target) }

// Asset returns the fingerprinted URL of a static file.
func (p *Page) Asset(name string) string { return p.assets.URL(name) }

// navigation lists the main menu: who sees an entry is decided by the same
// policy as the route it leads to. The brand links home and the footer
// links the about page: every element counts against the page budget.
var navigation = []struct {
	key, path string
	access    account.Access
}{
	{"nav.admin", "/admin", account.Operator},
	{"nav.members", "/org/members", account.OrgAdmin},
	{"nav.donations", "/donations", account.Inventory},
	{"nav.requests", "/requests", account.Beneficiary},
	{"nav.catalogue", "/catalogue", account.Beneficiary},
	{"nav.devices", "/devices", account.Inventory},
	{"nav.workshop", "/workshop", account.Workshop},
	{"nav.handovers", "/handovers", account.Allocation},
	{"nav.reports", "/reports/donor", account.Donor},
	{"nav.tags", "/tags", account.Workshop},
	{"nav.account", "/account", account.UserOnly},
}

// dict builds a map for passing several values to a partial template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func (s *Server) newPage(c *echo.Context, titleKey string, data any) *Page {
	lang := langOf(c)
	current := c.Request().URL.Path
	p := &Page{
		Lang:      lang,
		Title:     s.cat.T(lang, titleKey, nil),
		Path:      current,
		Data:      data,
		Flash:     s.takeFlash(c),
		Principal: principalOf(c),
		CSRF:      s.csrfToken(c),
		cat:       s.cat,
		// assets are shared and read-only.
		assets: s.assets,
	}
	for _, n := range navigation {
		if n.access != account.Public && account.Authorize(n.access, p.Principal, false) != nil {
			continue
		}
		p.Nav = append(p.Nav, NavItem{Key: n.key, Href: localURL(lang, n.path), Current: n.path == current ||
			n.path != "/" && strings.HasPrefix(current, n.path+"/")})
	}
	target := current
	if q := c.Request().URL.RawQuery; q != "" {
		target += "?" + q
	}
	for _, l := range i18n.Langs {
		// Explicit prefix even for French, so choosing French overrides a
		// remembered or negotiated language.
		p.Languages = append(p.Languages, LangLink{Lang: l, Name: l.Name(), Href: "/" + string(l) + target, Current: l == lang})
	}
	return p
}

// render writes a page with the given status. Pages carry an ETag so that a
// revisit over a slow link costs a 304 instead of the whole page.
func (s *Server) render(c *echo.Context, status int, name, titleKey string, data any) error {
	return s.renderPage(c, status, name, s.newPage(c, titleKey, data))
}

// renderForm writes a page showing a form, with its values and errors.
func (s *Server) renderForm(c *echo.Context, status int, name, titleKey string, f *Form, data any) error {
	p := s.newPage(c, titleKey, data)
	p.Form = f
	return s.renderPage(c, status, name, p)
}

// pageBuffers are the buffers pages are rendered into: a page is written
// whole (its ETag is its hash), and growing a buffer anew for each page
// was a sixth of the device page's allocated bytes (86.5 KB a request
// before, 72 KB after: docs/benchmarks.md, "The page's bound").
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledPage bounds the buffers kept: a rare large page's is let go.
const maxPooledPage = 256 << 10

func (s *Server) renderPage(c *echo.Context, status int, name string, p *Page) error {
	t, ok := s.tmpl.page(p.Lang, name)
	if !ok {
		return fmt.Errorf("render: no template %q", name)
	}
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledPage {
			buf.Reset()
			pageBuffers.Put(buf)
		}
	}()
	if err := s.tmpl.execute(buf, t, name, p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := c.Response().Header()
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	if status == http.StatusOK && (c.Request().Method == http.MethodGet || c.Request().Method == http.MethodHead) {
		sum := sha256.Sum256(buf.Bytes())
		etag := `W/"` + hex.EncodeToString(sum[:12]) + `"`
		h.Set("ETag", etag)
		if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
			return c.NoContent(http.StatusNotModified)
		}
	}
	return c.HTMLBlob(status, buf.Bytes())
}

func etagMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}
