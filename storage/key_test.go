package storage_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berriz/berriz/storage"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"a", true},
		{"photos/2026/ab12.webp", true},
		{"certificates/DEV-0042_v2.pdf", true},
		{"a.b.c/d-e_f", true},
		{"x..y", true}, // dots inside a segment are harmless
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a/", 255) + "aa", true},
		{"", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{"/", false},
		{".", false},
		{"..", false},
		{"a/../b", false},
		{"a/./b", false},
		{"../a", false},
		{"a/..", false},
		{".meta/a", false},
		{".tmp", false},
		{"a/.hidden", false},
		{`a\b`, false},
		{`..\a`, false},
		{"a b", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\tb", false},
		{"a\x7fb", false},
		{"\xff", false},
		{"été.pdf", false},
		{"a:b", false},
		{"a*b", false},
		{"a%2e%2e", false},
		{"~/a", false},
		{strings.Repeat("a", 256), false},
		{strings.Repeat("a/", 256) + "a", false},
		{strings.Repeat("a", 513), false},
	}
	for _, tt := range tests {
		name := tt.key
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			err := storage.ValidateKey(tt.key)
			if tt.ok && err != nil {
				t.Fatalf("ValidateKey(%q) = %v, want nil", tt.key, err)
			}
			if !tt.ok && !errors.Is(err, storage.ErrInvalidKey) {
				t.Fatalf("ValidateKey(%q) = %v, want ErrInvalidKey", tt.key, err)
			}
		})
	}
}

// FuzzValidateKey checks the property the disk backend relies on: an accepted
// key, joined under a directory, names a path strictly inside it.
func FuzzValidateKey(f *testing.F) {
	for _, seed := range []string{
		"a", "photos/2026/ab12.webp", "../etc/passwd", "a/../../b", "/abs", `a\..\b`,
		"a//b", ".meta/x", "a/.", "a\x00", "é", "C:/x", "a/b/", strings.Repeat("z", 600),
	} {
		f.Add(seed)
	}
	base := filepath.Join(string(os.PathSeparator), "srv", "blobs")
	f.Fuzz(func(t *testing.T, key string) {
		if err := storage.ValidateKey(key); err != nil {
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Fatalf("ValidateKey(%q) = %v, not ErrInvalidKey", key, err)
			}
			return
		}
		if filepath.IsAbs(key) || !filepath.IsLocal(key) {
			t.Fatalf("accepted key %q is not a local path", key)
		}
		if filepath.ToSlash(filepath.Clean(key)) != key {
			t.Fatalf("accepted key %q is not clean", key)
		}
		joined := filepath.Join(base, key)
		if !strings.HasPrefix(joined, base+string(os.PathSeparator)) {
			t.Fatalf("accepted key %q joins to %q, outside %q", key, joined, base)
		}
		rel, err := filepath.Rel(base, joined)
		if err != nil || rel != filepath.FromSlash(key) {
			t.Fatalf("accepted key %q: Rel = %q, %v", key, rel, err)
		}
		for _, seg := range strings.Split(key, "/") {
			if strings.HasPrefix(seg, ".") {
				t.Fatalf("accepted key %q has a hidden segment", key)
			}
		}
	})
}
