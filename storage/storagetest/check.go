package storagetest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/berriz/berriz/storage"
)

// mustPut stores data under key and fails the test on error.
func mustPut(t *testing.T, s storage.Store, key string, data []byte, contentType string) storage.Object {
	t.Helper()
	obj, err := s.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), contentType)
	if err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
	return obj
}

// mustGet reads the whole blob under key and fails the test on error.
func mustGet(t *testing.T, s storage.Store, key string) ([]byte, storage.Object) {
	t.Helper()
	rc, obj, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get %s: read: %v", key, err)
	}
	return data, obj
}

// checkNotFound asserts that Get and Stat of key both report ErrNotFound.
func checkNotFound(t *testing.T, s storage.Store, key string) {
	t.Helper()
	if rc, _, err := s.Get(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		if err == nil {
			rc.Close()
		}
		t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
	}
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
	}
}

// checkObject compares what a backend reports; Modified is left out since
// each backend takes it from its own clock.
func checkObject(t *testing.T, op string, got, want storage.Object) {
	t.Helper()
	if got.Key != want.Key || got.Size != want.Size || got.ContentType != want.ContentType || got.ETag != want.ETag {
		t.Errorf("%s: Object = {Key:%q Size:%d ContentType:%q ETag:%q}, want {Key:%q Size:%d ContentType:%q ETag:%q}",
			op, got.Key, got.Size, got.ContentType, got.ETag, want.Key, want.Size, want.ContentType, want.ETag)
	}
}

// truncate shortens data for an error message.
func truncate(data []byte) []byte {
	const limit = 64
	if len(data) > limit {
		return data[:limit]
	}
	return data
}
