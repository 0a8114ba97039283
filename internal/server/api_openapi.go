package server

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"

	"github.com/labstack/echo/v5"
)

// openAPIDoc is the contract of the JSON API, written by hand and kept true
// by TestOpenAPIDocument.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPIETag is weak: gzip may re-encode the bytes, the meaning stays.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDoc)
	return `W/"` + hex.EncodeToString(sum[:12]) + `"`
}()

// apiOpenAPI serves the document; clients revalidate it on every use
// (no-cache) and get a 304 while it has not changed.
func (s *Server) apiOpenAPI(c *echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", openAPIETag)
	if etagMatches(c.Request().Header.Get("If-None-Match"), openAPIETag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "application/json", openAPIDoc)
}
