package server_test

import (
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/web"
)

// notifyKindRE is what a notification kind looks like: the key of its
// message, "notify.<what>".
var notifyKindRE = regexp.MustCompile(`^notify\.[a-z_]+(\.[a-z_]+)*$`)

// notifyKinds returns every "notify.…" string literal of the Go source src
// (a Notice's Kind, or a constant that names one), with where it is.
func notifyKinds(t *testing.T, name string, src []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	var s scanner.Scanner
	s.Init(fset.AddFile(name, -1, len(src)), src, func(pos token.Position, msg string) { t.Errorf("%s: %s", pos, msg) }, 0)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return out
		}
		if tok != token.STRING {
			continue
		}
		if v, err := strconv.Unquote(lit); err == nil && notifyKindRE.MatchString(v) {
			out[v] = fset.Position(pos).String()
		}
	}
}

// The scan finds kinds however the code names them, and nothing in
// comments.
func TestNotifyKindsScan(t *testing.T) {
	src := []byte(`package x
// a comment naming "notify.in_comment" is no kind
const kindDeclined = "notify.request_declined"
func f() { _ = Notice{Kind: "notify.request_approved", Link: "/requests/1"}; _ = "notify."; _ = "notification.x" }
`)
	got := notifyKinds(t, "x.go", src)
	if len(got) != 2 || got["notify.request_declined"] == "" || got["notify.request_approved"] == "" {
		t.Fatalf("scan found %v", got)
	}
}

// Every notification kind the code writes has its message in the three
// languages, so no digest falls back to "something changed" for a kind
// that berriz itself sends.
func TestEveryNotifyKindHasMessages(t *testing.T) {
	cat, err := i18n.Load(web.Catalogs())
	if err != nil {
		t.Fatalf("catalogs: %v", err)
	}
	kinds := map[string]string{}
	files := 0
	root := filepath.Join("..", "..")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "data" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for k, where := range notifyKinds(t, p, src) {
			kinds[k] = where
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("scanned only %d Go files: the walk is broken", files)
	}
	t.Logf("%d notification kinds in the code", len(kinds))
	for kind, where := range kinds {
		if !cat.Has(kind) {
			t.Errorf("%s: notification kind %q has no message: add it to the area's catalogs (web/i18n/{fr,eu,en})", where, kind)
			continue
		}
		// Load already checks that every language has every key; a message
		// must also be a message, not the key echoed back.
		for _, l := range i18n.Langs {
			if msg := cat.T(l, kind, nil); msg == kind || strings.TrimSpace(msg) == "" {
				t.Errorf("%s: %q has no %s message", where, kind, l)
			}
		}
	}
}
