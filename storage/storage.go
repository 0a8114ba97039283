// Package storage owns the blobs of berriz: photos, certificates, tool logs and
// generated PDFs. One Store interface has two backends, S3 (any server that
// speaks the protocol, through minio-go) and a directory on local disk, chosen
// by configuration. Keys are validated here so that no key can escape its
// bucket or directory, whatever the caller passes.
package storage

import (
	"context"
	"io"
	"time"

	"github.com/berriz/berriz/internal/berriz"
)

// Object describes a stored blob.
type Object struct {
	Key         string
	Size        int64
	ContentType string
	ETag        string
	Modified    time.Time
}

// Store is a flat key → blob store. Keys are relative slash-separated paths
// such as "photos/2026/ab12.webp" (see ValidateKey).
type Store interface {
	// Put stores exactly size bytes read from r under key, replacing any
	// previous blob. A reader that ends early or holds more than size bytes is
	// refused and nothing is left under key.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Object, error)
	// Get opens the blob for reading; the caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// Stat describes the blob without reading it.
	Stat(ctx context.Context, key string) (Object, error)
	// Delete removes the blob; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// DownloadURL returns a time-limited URL from which a browser may fetch
	// the blob directly, with filename as its download name. ok is false when
	// the backend cannot serve directly (local disk): the server then proxies
	// the download through Get.
	DownloadURL(ctx context.Context, key string, ttl time.Duration, filename string) (url string, ok bool, err error)
	// Ping reports whether the backend answers, for readiness checks.
	Ping(ctx context.Context) error
}

// Errors of the package, comparable with errors.Is and mapped by the server
// through their vocabulary kind.
var (
	ErrNotFound     = &berriz.Error{Kind: berriz.NotFound, Code: "blob_not_found", Message: "error.blob_not_found"}
	ErrInvalidKey   = &berriz.Error{Kind: berriz.Invalid, Code: "blob_key_invalid", Message: "error.blob_key_invalid"}
	ErrSizeMismatch = &berriz.Error{Kind: berriz.Invalid, Code: "blob_size_mismatch", Message: "error.blob_size_mismatch"}
	ErrUnavailable  = &berriz.Error{Kind: berriz.Unavailable, Code: "storage_unavailable", Message: "error.storage_unavailable"}
)
