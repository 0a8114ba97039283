package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"
)

// asset is one static file held in memory with its pre-compressed form, so a
// request costs neither a disk read nor a compression.
type asset struct {
	name        string // path under web/static, e.g. css/berriz.css
	url         string // fingerprinted URL, e.g. /static/css/berriz.3f2a9c1d04.css
	contentType string
	body        []byte
	gz          []byte // nil when compression does not pay
	etag        string
}

// assets maps logical names to fingerprinted URLs and serves them with
// immutable caching: a changed file gets a new URL, so browsers never need to
// revalidate.
type assets struct {
	byName map[string]*asset
	byURL  map[string]*asset
}

func loadAssets(fsys fs.FS) (*assets, error) {
	a := &assets{byName: map[string]*asset{}, byURL: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:10]
		ext := path.Ext(p)
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		it := &asset{
			name:        p,
			url:         "/static/" + strings.TrimSuffix(p, ext) + "." + hash + ext,
			contentType: ct,
			body:        body,
			etag:        `"` + hash + `"`,
		}
		if compressible(ct) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(body)
			_ = zw.Close()
			if buf.Len() < len(body) {
				it.gz = buf.Bytes()
			}
		}
		a.byName[p] = it
		a.byURL[it.url] = it
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static files: %w", err)
	}
	return a, nil
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.Contains(contentType, "javascript") ||
		strings.Contains(contentType, "json") || strings.Contains(contentType, "svg")
}

// URL returns the fingerprinted URL of a static file. An unknown name is a
// programming error caught by the template tests, so it yields a URL that
// answers 404 rather than a panic in production.
func (a *assets) URL(name string) string {
	if it, ok := a.byName[name]; ok {
		return it.url
	}
	return "/static/missing/" + name
}

// serve answers GET /static/*.
func (a *assets) serve(c *echo.Context) error {
	it, ok := a.byURL[c.Request().URL.Path]
	if !ok {
		return errPageNotFound
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", it.etag)
	h.Set("Content-Type", it.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if match := c.Request().Header.Get("If-None-Match"); match == it.etag {
		return c.NoContent(http.StatusNotModified)
	}
	body := it.body
	if it.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(c.Request()) {
			h.Set("Content-Encoding", "gzip")
			body = it.gz
		}
	}
	return c.Blob(http.StatusOK, it.contentType, body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		k, v, found := strings.Cut(strings.TrimSpace(params), "=")
		if !found || strings.TrimSpace(k) != "q" {
			return true
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err == nil && q > 0
	}
	return false
}
