package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/storage"
	"github.com/berriz/berriz/storage/storagetest"
)

func TestDisk(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return storagetest.MustDisk(t) })
}

func TestS3(t *testing.T) {
	storagetest.MustS3Config(t) // skip (or fail) once here rather than in every subtest
	storagetest.Run(t, func(t *testing.T) storage.Store { return storagetest.MustS3(t) })
}

func TestNewDiskCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "blobs")
	if _, err := storage.NewDisk(dir); err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() || info.Mode().Perm()&0o027 != 0 {
		t.Fatalf("Stat(%s) = %v, %v; want a directory closed to others", dir, info, err)
	}
}

func TestDiskDownloadURLNotServed(t *testing.T) {
	d := storagetest.MustDisk(t)
	u, ok, err := d.DownloadURL(t.Context(), "a/b.pdf", time.Minute, "b.pdf")
	if u != "" || ok || err != nil {
		t.Fatalf("DownloadURL = %q, %v, %v; want \"\", false, nil", u, ok, err)
	}
}

// TestDiskSymlinkEscape plants links leading out of the store, as a
// compromised or careless process on the host could, and checks that no
// operation reads, writes or removes anything outside.
func TestDiskSymlinkEscape(t *testing.T) {
	ctx := t.Context()
	d := storagetest.MustDisk(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(d.Dir(), "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(d.Dir(), "leak")); err != nil {
		t.Fatal(err)
	}

	if _, err := d.Put(ctx, "evil/planted", strings.NewReader("x"), 1, ""); err == nil {
		t.Errorf("Put through a directory link succeeded")
	}
	if _, err := os.Lstat(filepath.Join(outside, "planted")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Put wrote outside the store: %v", err)
	}
	for _, key := range []string{"evil/secret", "leak"} {
		if rc, _, err := d.Get(ctx, key); err == nil {
			data, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("Get(%q) read %q from outside the store", key, data)
		}
		if obj, err := d.Stat(ctx, key); err == nil {
			t.Errorf("Stat(%q) = %+v from outside the store", key, obj)
		}
		_ = d.Delete(ctx, key) // may fail or not; what matters is the file
	}
	// Replacing the link "leak" must replace the link, not write through it.
	if _, err := d.Put(ctx, "leak", strings.NewReader("new"), 3, ""); err != nil {
		t.Errorf("Put over a link: %v", err)
	}
	if got, err := os.ReadFile(secret); err != nil || string(got) != "secret" {
		t.Errorf("file outside the store = %q, %v; want it untouched", got, err)
	}
}

// TestDiskNoLeftovers checks that failed uploads leave nothing behind: not
// in .tmp, not under the key.
func TestDiskNoLeftovers(t *testing.T) {
	d := storagetest.MustDisk(t)
	ctx := t.Context()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	fails := []struct {
		name string
		put  func() error
	}{
		{"short", func() error {
			_, err := d.Put(ctx, "k/short", strings.NewReader("abc"), 10, "")
			return err
		}},
		{"long", func() error {
			_, err := d.Put(ctx, "k/long", strings.NewReader("abcdef"), 3, "")
			return err
		}},
		{"cancelled", func() error {
			_, err := d.Put(cancelled, "k/cancelled", strings.NewReader("abc"), 3, "")
			return err
		}},
		{"reader error", func() error {
			_, err := d.Put(ctx, "k/broken", io.MultiReader(strings.NewReader("ab"), errReader{}), 10, "")
			return err
		}},
		{"key conflict", func() error {
			if _, err := d.Put(ctx, "file", strings.NewReader("x"), 1, ""); err != nil {
				return nil // report as "no error": the test then fails
			}
			_, err := d.Put(ctx, "file/below", strings.NewReader("x"), 1, "")
			return err
		}},
	}
	for _, f := range fails {
		if err := f.put(); err == nil {
			t.Errorf("%s: Put succeeded", f.name)
		}
	}
	var files []string
	err := filepath.WalkDir(d.Dir(), func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(d.Dir(), path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".meta/file", "file"}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Errorf("files in the store = %q, want %q", files, want)
	}
}

// TestDiskKeyAndPrefix documents the one difference from S3: on disk a key
// cannot be a blob and a prefix of another key at once.
func TestDiskKeyAndPrefix(t *testing.T) {
	d := storagetest.MustDisk(t)
	ctx := t.Context()
	put := func(key string) error {
		_, err := d.Put(ctx, key, strings.NewReader("x"), 1, "")
		return err
	}
	steps := []struct {
		do      func() error
		wantErr error
	}{
		{func() error { return put("a") }, nil},
		{func() error { return put("a/b") }, storage.ErrInvalidKey},
		{func() error { return d.Delete(ctx, "a") }, nil},
		{func() error { return put("a/b") }, nil},
		{func() error { return put("a") }, storage.ErrInvalidKey},
		{func() error { return d.Delete(ctx, "a") }, nil}, // a prefix, not a blob: nothing to do
		{func() error { return d.Delete(ctx, "a/b") }, nil},
		{func() error { return put("a") }, nil}, // Delete pruned the empty "a/"
	}
	for i, s := range steps {
		if err := s.do(); !errors.Is(err, s.wantErr) && (s.wantErr != nil || err != nil) {
			t.Fatalf("step %d: err = %v, want %v", i, err, s.wantErr)
		}
	}
}

// TestDiskStaleMetadata simulates a crash between the blob's rename and its
// metadata's: the blob wins, its ETag is recomputed.
func TestDiskStaleMetadata(t *testing.T) {
	d := storagetest.MustDisk(t)
	if _, err := d.Put(t.Context(), "doc", strings.NewReader("old"), 3, "text/plain"); err != nil {
		t.Fatal(err)
	}
	content := []byte("newer content")
	if err := os.WriteFile(filepath.Join(d.Dir(), "doc"), content, 0o640); err != nil {
		t.Fatal(err)
	}
	obj, err := d.Stat(t.Context(), "doc")
	sum := sha256.Sum256(content)
	if err != nil || obj.Size != int64(len(content)) || obj.ETag != hex.EncodeToString(sum[:]) ||
		obj.ContentType != "application/octet-stream" {
		t.Fatalf("Stat = %+v, %v; want size %d, recomputed ETag, octet-stream", obj, err, len(content))
	}
}

func TestS3CreatesBucket(t *testing.T) {
	cfg := storagetest.MustS3Config(t)
	// Several instances starting at once race to create the bucket.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := storage.NewS3(t.Context(), cfg); err != nil {
				t.Errorf("NewS3 on a missing bucket: %v", err)
			}
		})
	}
	wg.Wait()
	s, err := storage.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewS3 on an existing bucket: %v", err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after creation: %v", err)
	}
	if _, err := s.Put(t.Context(), "x", bytes.NewReader([]byte("x")), 1, ""); err != nil {
		t.Fatalf("Put in the created bucket: %v", err)
	}
}

func TestNewS3Unavailable(t *testing.T) {
	cfg := storage.S3Config{Endpoint: closedAddr(t), AccessKey: "k", SecretKey: "secret-key", Bucket: "b-unavailable"}
	if _, err := storage.NewS3(t.Context(), cfg); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("NewS3 on a closed port = %v, want ErrUnavailable", err)
	}
}

func TestS3PingUnavailable(t *testing.T) {
	// Ping needs a store that once worked: reach MinIO through a proxy, then
	// close the proxy so the port it listened on refuses connections.
	cfg := storagetest.MustS3Config(t)
	proxy, stop := tcpProxy(t, cfg.Endpoint)
	cfg.Endpoint = proxy
	s, err := storage.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewS3 through the proxy: %v", err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping through the proxy: %v", err)
	}
	stop()
	if err := s.Ping(t.Context()); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Ping on a closed port = %v, want ErrUnavailable", err)
	}
}

func TestS3DownloadURLTTL(t *testing.T) {
	s := storagetest.MustS3(t)
	for _, ttl := range []time.Duration{0, -time.Minute, 8 * 24 * time.Hour} {
		if _, _, err := s.DownloadURL(t.Context(), "a", ttl, "a.pdf"); err == nil {
			t.Errorf("DownloadURL with ttl %s succeeded", ttl)
		}
	}
}

// closedAddr returns a 127.0.0.1 address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// tcpProxy forwards connections from a local port to target until stop is
// called, after which the port refuses connections.
func tcpProxy(t *testing.T, target string) (addr string, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			go io.Copy(up, c)
			go io.Copy(c, up)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			l.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
	}
	t.Cleanup(stop)
	return l.Addr().String(), stop
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by client") }

// Without a public URL browsers cannot reach the S3 server, so the store
// says so and the server proxies downloads (keeping pages on one domain).
func TestS3WithoutPublicURLProxies(t *testing.T) {
	cfg := storagetest.MustS3Config(t)
	cfg.PublicURL = ""
	s, err := storage.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, ok, err := s.DownloadURL(t.Context(), "certs/a.pdf", time.Minute, "a.pdf")
	if err != nil || ok || u != "" {
		t.Fatalf("DownloadURL = %q, %v, %v; want proxying", u, ok, err)
	}
	for _, bad := range []string{"ftp://x", "https://files.example.org/berriz", "//nohost", "https://h?x=1"} {
		cfg := storagetest.MustS3Config(t)
		cfg.PublicURL = bad
		if _, err := storage.NewS3(t.Context(), cfg); err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
}
