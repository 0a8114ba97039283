package server

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"

	"github.com/labstack/echo/v5"
)

// The contract of the JSON API is written by hand, one file per area in
// openapi/ (base.json holds the document's head and what every area
// shares), merged at start and kept true by TestOpenAPIDocument. One file
// per area keeps each readable and lets areas grow without touching each
// other.
//
//go:embed openapi/*.json
var openAPIFiles embed.FS

// openAPIDoc is the merged document, served as is.
var openAPIDoc = mustMergeOpenAPI(openAPIFiles)

// openAPIETag is weak: gzip may re-encode the bytes, the meaning stays.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDoc)
	return `W/"` + hex.EncodeToString(sum[:12]) + `"`
}()

// mustMergeOpenAPI merges base.json and every other file of the folder, in
// name order: objects merge key by key, the top-level "tags" lists are
// concatenated, and a key defined twice is a programming error.
func mustMergeOpenAPI(fsys fs.FS) []byte {
	names, err := fs.Glob(fsys, "openapi/*.json")
	if err != nil {
		panic(err)
	}
	sort.Slice(names, func(i, j int) bool { // base.json first
		return names[i] == "openapi/base.json" || names[j] != "openapi/base.json" && names[i] < names[j]
	})
	doc := map[string]any{}
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			panic(err)
		}
		var part map[string]any
		if err := json.Unmarshal(raw, &part); err != nil {
			panic(fmt.Sprintf("%s: %v", name, err))
		}
		if tags, ok := part["tags"].([]any); ok {
			prev, _ := doc["tags"].([]any)
			doc["tags"] = append(prev, tags...)
			delete(part, "tags")
		}
		if err := mergeJSON(doc, part, ""); err != nil {
			panic(fmt.Sprintf("%s: %v", name, err))
		}
	}
	out, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		panic(err)
	}
	return out
}

func mergeJSON(dst, src map[string]any, at string) error {
	for k, v := range src {
		cur, exists := dst[k]
		if !exists {
			dst[k] = v
			continue
		}
		cm, ok1 := cur.(map[string]any)
		vm, ok2 := v.(map[string]any)
		if !ok1 || !ok2 {
			return fmt.Errorf("%s/%s is defined twice", at, k)
		}
		if err := mergeJSON(cm, vm, at+"/"+k); err != nil {
			return err
		}
	}
	return nil
}

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
