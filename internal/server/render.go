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

	"github.com/berriz/berriz/internal/i18n"
	"github.com/labstack/echo/v5"
)

// templates holds one parsed template set a page: the layout plus the page's
// own file, so each page defines its "content" block independently.
type templates struct {
	pages map[string]*template.Template
}

func loadTemplates(fsys fs.FS) (*templates, error) {
	layout, err := template.New("layout.html").Option("missingkey=error").ParseFS(fsys, "layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	files, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return nil, err
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, f := range files {
		if f == "layout.html" {
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

// navigation lists the main menu; later issues add entries by role.
var navigation = []struct{ key, path string }{
	{"nav.home", "/"},
	{"nav.about", "/about"},
}

func (s *Server) newPage(c *echo.Context, titleKey string, data any) *Page {
	lang := langOf(c)
	current := c.Request().URL.Path
	p := &Page{
		Lang:  lang,
		Title: s.cat.T(lang, titleKey, nil),
		Path:  current,
		Data:  data,
		Flash: s.takeFlash(c),
		cat:   s.cat,
		// assets are shared and read-only.
		assets: s.assets,
	}
	for _, n := range navigation {
		p.Nav = append(p.Nav, NavItem{Key: n.key, Href: localURL(lang, n.path), Current: n.path == current})
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
	t, ok := s.tmpl.pages[name]
	if !ok {
		return fmt.Errorf("render: no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", s.newPage(c, titleKey, data)); err != nil {
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
