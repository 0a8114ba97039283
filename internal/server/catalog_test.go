package server_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/web"
)

// Every message key that templates or Go code name must be in the catalogs
// (which i18n.Load already checks agree across languages), so no user ever
// sees a raw key.
func TestEveryUsedMessageKeyIsTranslated(t *testing.T) {
	cat, err := i18n.Load(web.Catalogs())
	if err != nil {
		t.Fatalf("catalogs: %v", err)
	}
	used := map[string]string{} // key -> where

	tmplKey := regexp.MustCompile(`\$?\.T "([a-z0-9_.]+)"`)
	err = fs.WalkDir(web.Templates(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.Templates(), p)
		if err != nil {
			return err
		}
		for _, m := range tmplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = "web/templates/" + p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Go code names keys as string literals in these shapes.
	goKey := regexp.MustCompile(`(?:Message: |berriz\.E\([^,]+, |\.Add\("[^"]+", |SetFlash\(c, "[a-z]+", |render\(c, [^,]+, "[a-z_]+", )"([a-z0-9_]+\.[a-z0-9_.]+)"`)
	root := filepath.Join("..", "..")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache" || d.Name() == "data") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(used) < 20 {
		t.Fatalf("found only %d keys: the scan is broken", len(used))
	}
	for key, where := range used {
		if !cat.Has(key) {
			t.Errorf("%s uses %q, which no catalog has", where, key)
		}
	}
	for _, l := range []string{"400", "401", "403", "404", "405", "409", "413", "415", "429", "500", "503"} {
		if !cat.Has("error.title." + l) {
			t.Errorf("no title for error %s", l)
		}
	}
}
