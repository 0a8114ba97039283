// Package storagetest owns the conformance suite of storage.Store: one set of
// tests that every backend must pass, so that disk and S3 cannot drift apart,
// and the helpers that give tests of any package a fresh store (a temporary
// directory, or a bucket of its own on the test MinIO).
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/storage"
)

// Run runs the suite against stores made by newStore, which is called once
// per subtest so that subtests share nothing and run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"Roundtrip", testRoundtrip},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"Missing", testMissing},
		{"InvalidKeys", testInvalidKeys},
		{"SizeMismatch", testSizeMismatch},
		{"CancelledContext", testCancelled},
		{"LargeBlob", testLargeBlob},
		{"ConcurrentPuts", testConcurrentPuts},
		{"DownloadURL", testDownloadURL},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

func testRoundtrip(t *testing.T, s storage.Store) {
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	tests := []struct {
		name, key, contentType, wantType string
		data                             []byte
	}{
		{"text", "notes/hello.txt", "text/plain; charset=utf-8", "text/plain; charset=utf-8", []byte("bonjour, egun on\n")},
		{"binary", "photos/2026/ab12.webp", "image/webp", "image/webp", allBytes},
		{"default type", "blob", "", "application/octet-stream", []byte{0, 1, 2}},
		{"empty", "empty/file.bin", "application/octet-stream", "application/octet-stream", nil},
		{"deep", "a/b/c/d/e/f/g.pdf", "application/pdf", "application/pdf", []byte("%PDF-1.7")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			put := mustPut(t, s, tt.key, tt.data, tt.contentType)
			want := storage.Object{Key: tt.key, Size: int64(len(tt.data)), ContentType: tt.wantType, ETag: put.ETag}
			if put.ETag == "" {
				t.Errorf("Put: empty ETag")
			}
			checkObject(t, "Put", put, want)

			got, obj := mustGet(t, s, tt.key)
			if !bytes.Equal(got, tt.data) {
				t.Errorf("Get: %d bytes %q, want %d bytes %q", len(got), truncate(got), len(tt.data), truncate(tt.data))
			}
			checkObject(t, "Get", obj, want)

			st, err := s.Stat(t.Context(), tt.key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			checkObject(t, "Stat", st, want)
			if st.Modified.IsZero() {
				t.Errorf("Stat: zero Modified")
			}
		})
	}
}

func testOverwrite(t *testing.T, s storage.Store) {
	first := mustPut(t, s, "doc/report.pdf", []byte("first version, longer than the second"), "application/pdf")
	second := mustPut(t, s, "doc/report.pdf", []byte("second"), "text/plain")
	if first.ETag == second.ETag {
		t.Errorf("ETag unchanged by a different content: %q", first.ETag)
	}
	got, obj := mustGet(t, s, "doc/report.pdf")
	if string(got) != "second" {
		t.Errorf("Get after overwrite = %q, want %q", got, "second")
	}
	checkObject(t, "Get", obj, storage.Object{Key: "doc/report.pdf", Size: 6, ContentType: "text/plain", ETag: second.ETag})
}

func testDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustPut(t, s, "gone/soon.txt", []byte("x"), "text/plain")
	mustPut(t, s, "gone/stays.txt", []byte("y"), "text/plain")
	if err := s.Delete(ctx, "gone/soon.txt"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	checkNotFound(t, s, "gone/soon.txt")
	if got, _ := mustGet(t, s, "gone/stays.txt"); string(got) != "y" {
		t.Errorf("neighbour blob = %q after Delete, want %q", got, "y")
	}
	for _, key := range []string{"gone/soon.txt", "never/was.txt"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing key = %v, want nil", key, err)
		}
	}
}

func testMissing(t *testing.T, s storage.Store) {
	mustPut(t, s, "present/file", []byte("x"), "")
	for _, key := range []string{"absent", "present/absent", "no/such/dir/file", "present/file/below"} {
		checkNotFound(t, s, key)
	}
}

// badKeys covers each rule of ValidateKey once.
var badKeys = []string{
	"", "/abs", "../escape", "a/../../escape", "a//b", "a/", ".", "a/./b",
	".meta/x", ".tmp/x", `a\b`, "a\x00b", "a\nb", "\xff\xfe", "é", "a b",
	string(bytes.Repeat([]byte("a"), storage.MaxKeyLen+1)),
}

func testInvalidKeys(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for _, key := range badKeys {
		calls := map[string]error{}
		_, err := s.Put(ctx, key, bytes.NewReader([]byte("x")), 1, "text/plain")
		calls["Put"] = err
		_, _, err = s.Get(ctx, key)
		calls["Get"] = err
		_, err = s.Stat(ctx, key)
		calls["Stat"] = err
		calls["Delete"] = s.Delete(ctx, key)
		_, _, err = s.DownloadURL(ctx, key, time.Minute, "x.txt")
		calls["DownloadURL"] = err
		for method, err := range calls {
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("%s(%q) = %v, want ErrInvalidKey", method, truncate([]byte(key)), err)
			}
		}
	}
}

func testSizeMismatch(t *testing.T, s storage.Store) {
	// 17 MiB is past minio-go's 16 MiB threshold for multipart uploads,
	// whose failure path differs from a single PUT's.
	const big = 17 << 20
	tests := []struct {
		name       string
		actual     int64
		size       int64
		preExisted bool
	}{
		{"short", 10, 20, false},
		{"long", 20, 10, false},
		{"long by one", 11, 10, false},
		{"empty expected", 1, 0, false},
		{"empty reader", 0, 1, false},
		{"negative size", 5, -1, false},
		{"short over previous", 10, 20, true},
		{"long over previous", 20, 10, true},
		{"big short", big - 1, big, false},
		{"big long", big + 1, big, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("mismatch/%02d", i)
			if tt.preExisted {
				mustPut(t, s, key, []byte("previous"), "text/plain")
			}
			_, err := s.Put(t.Context(), key, newGenerator(1, tt.actual), tt.size, "application/octet-stream")
			if !errors.Is(err, storage.ErrSizeMismatch) {
				t.Fatalf("Put of %d bytes as %d = %v, want ErrSizeMismatch", tt.actual, tt.size, err)
			}
			if !tt.preExisted {
				checkNotFound(t, s, key)
				return
			}
			if got, _ := mustGet(t, s, key); string(got) != "previous" {
				t.Errorf("after a refused overwrite, blob = %q, want the previous one", truncate(got))
			}
		})
	}
}

func testCancelled(t *testing.T, s storage.Store) {
	mustPut(t, s, "kept", []byte("x"), "text/plain")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := s.Put(cancelled, "before", bytes.NewReader([]byte("data")), 4, "text/plain")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context = %v, want context.Canceled", err)
	}
	checkNotFound(t, s, "before")
	if _, _, err := s.Get(cancelled, "kept"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := s.Stat(cancelled, "kept"); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat with a cancelled context = %v, want context.Canceled", err)
	}
	if err := s.Delete(cancelled, "kept"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a cancelled context = %v, want context.Canceled", err)
	}
	mustGet(t, s, "kept")

	// Cancelled while the upload streams: the reader cancels after 1 MiB.
	ctx, cancelMid := context.WithCancel(t.Context())
	defer cancelMid()
	const size = 4 << 20
	r := &cancelAfter{r: newGenerator(2, size), after: 1 << 20, cancel: cancelMid}
	if _, err := s.Put(ctx, "during", r, size, "application/octet-stream"); err == nil {
		t.Errorf("Put cancelled mid-stream succeeded")
	}
	checkNotFound(t, s, "during")
}

func testLargeBlob(t *testing.T, s storage.Store) {
	const size = 12 << 20
	// Hash while uploading so the blob never sits whole in the test's memory.
	sent := sha256.New()
	put, err := s.Put(t.Context(), "large/blob.bin", io.TeeReader(newGenerator(3, size), sent), size, "application/octet-stream")
	if err != nil {
		t.Fatalf("Put %d bytes: %v", size, err)
	}
	if put.Size != size {
		t.Errorf("Put: Size = %d, want %d", put.Size, size)
	}
	rc, obj, err := s.Get(t.Context(), "large/blob.bin")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	received := sha256.New()
	n, err := io.Copy(received, rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if n != size || obj.Size != size {
		t.Errorf("read %d bytes, Object.Size %d, want %d", n, obj.Size, size)
	}
	if !bytes.Equal(sent.Sum(nil), received.Sum(nil)) {
		t.Errorf("content read back differs from content sent")
	}
}

func testConcurrentPuts(t *testing.T, s storage.Store) {
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("concurrent/%02d/blob", i)
			data := bytes.Repeat([]byte{byte(i)}, 1000+i)
			if _, err := s.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), "application/octet-stream"); err != nil {
				t.Errorf("Put %s: %v", key, err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		key := fmt.Sprintf("concurrent/%02d/blob", i)
		if got, _ := mustGet(t, s, key); !bytes.Equal(got, bytes.Repeat([]byte{byte(i)}, 1000+i)) {
			t.Errorf("%s: wrong content (%d bytes)", key, len(got))
		}
	}
}

func testDownloadURL(t *testing.T, s storage.Store) {
	data := []byte("certificate body")
	mustPut(t, s, "certs/DEV-0042.pdf", data, "application/pdf")
	for _, filename := range []string{
		"certificate.pdf",
		"Certificat d'effacement – été 2026.pdf",
		`quote" and; semicolon.pdf`,
	} {
		u, ok, err := s.DownloadURL(t.Context(), "certs/DEV-0042.pdf", 5*time.Minute, filename)
		if err != nil {
			t.Fatalf("DownloadURL: %v", err)
		}
		if !ok {
			if u != "" {
				t.Errorf("DownloadURL: ok=false with url %q", u)
			}
			return // the backend serves through Get; nothing to fetch
		}
		checkDownload(t, u, data, filename)
	}
}

func checkDownload(t *testing.T, u string, want []byte, filename string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatalf("request %s: %v", u, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
		t.Fatalf("GET %s = %s %q, want 200 %q", u, resp.Status, truncate(body), want)
	}
	disposition, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || disposition != "attachment" || params["filename"] != filename {
		t.Errorf("Content-Disposition %q parses to %q %q (%v), want attachment with filename %q",
			resp.Header.Get("Content-Disposition"), disposition, params["filename"], err, filename)
	}
}

func testPing(t *testing.T, s storage.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// newGenerator streams n deterministic pseudo-random bytes without holding
// them: large blobs cost no memory in the test.
func newGenerator(seed uint64, n int64) io.Reader {
	var key [32]byte
	key[0] = byte(seed)
	return io.LimitReader(rand.NewChaCha8(key), n)
}

// cancelAfter cancels its context once after bytes have been read, to
// interrupt an upload midway.
type cancelAfter struct {
	r      io.Reader
	read   int64
	after  int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read >= c.after {
		c.cancel()
	}
	return n, err
}
