package server

import (
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"
)

// blobCacheForever is the Cache-Control of a file that never changes
// under its URL (deleting it retires the URL). Personal data: private.
const blobCacheForever = "private, max-age=86400"

// blob is a stored file on its way to a browser.
type blob struct {
	Key         string // storage key
	ContentType string
	Name        string // the download name
	Inline      bool   // shown by the browser (photos) rather than saved
	Cache       string // Cache-Control; blobCacheForever when empty
}

// sendBlob streams a stored file through the server, whatever the storage
// backend: callers check the viewer's scope first, on every request (a
// presigned URL would outlive a revoked access). The browser never sniffs
// another type than the one recorded.
func (s *Server) sendBlob(c *echo.Context, b blob) error {
	r, obj, err := s.files.Get(c.Request().Context(), b.Key)
	if err != nil {
		return err
	}
	defer r.Close()
	disposition := "attachment"
	if b.Inline {
		disposition = "inline"
	}
	if b.Cache == "" {
		b.Cache = blobCacheForever
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": b.Name}))
	h.Set(echo.HeaderContentType, b.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", b.Cache)
	if obj.Size > 0 {
		h.Set(echo.HeaderContentLength, strconv.FormatInt(obj.Size, 10))
	}
	return c.Stream(http.StatusOK, b.ContentType, r)
}
