package server_test

import (
	"encoding/json"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
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
		if _, prefix := dynamicKeyPrefixes[key]; prefix {
			continue // the start of keys built at run time, not a key
		}
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

// dynamicKeyPrefixes are the key families that code builds from a value at
// run time (a state, a kind, a status), so that no literal names their
// keys; each says where. Every other key must be named by a literal.
var dynamicKeyPrefixes = map[string]string{
	"account.role.":          `pages_account.go: "account.role." + role`,
	"admin.event.":           `pages_admin.go: "admin.event." + event kind`,
	"admin.kind.":            `admin_org(s).html: print "admin.kind." .Kind`,
	"admin.role.":            `admin_users.html: print "admin.role." .Role`,
	"category.":              `templates and categoryKey: "category." + co2 category ID`,
	"device.drive.":          `device.html: print "device.drive." drive type`,
	"donation.action.":       `donation.html: print "donation.action." next state`,
	"donation.device_state.": `templates and passport: "donation.device_state." + device state`,
	"donation.field.":        `donation_new/import.html: print "donation.field." column`,
	"donation.state.":        `templates: print "donation.state." donation state`,
	"error.title.":           `errors.go: "error.title." + HTTP status`,
	"lifecycle.action.":      `device.html: print "lifecycle.action." target state`,
	"lifecycle.event.":       `device_history.html: print "lifecycle.event." event kind`,
	"lifecycle.flash.":       `pages_device_lifecycle.go: "lifecycle.flash." + target state`,
	"lifecycle.need.state.":  `internal/lifecycle: "lifecycle.need.state." + missing state`,
	"lifecycle.path.":        `internal/lifecycle: "lifecycle.path." + target state`,
	"mail.invitation.":       `send: "mail.invitation" + ".subject" / ".body"`,
	"mail.reset.":            `send: "mail.reset" + ".subject" / ".body"`,
	"request.criterion.":     `internal/allocation: Criterion.Key, "request.criterion." + criterion`,
	"request.state.":         `internal/allocation: RequestState.Key, "request.state." + request state`,
	"scan.action_confirm.":   `scan_action.html: print "scan.action_confirm." action`,
	"scan.cards.":            `scanCards: "scan.cards." + action (+ "_hint")`,
	"scan.result.action_":    `setAction: "scan.result.action_" + action`,
}

// unusedKeys are kept although no code names them, each with the reason
// and what lets it go.
var unusedKeys = map[string]string{}

// Every key of the catalogs is named by a string literal of the Go code
// (tests excluded) or of a template, or belongs to a documented dynamic
// family: a feature that goes takes its messages with it, and translators
// never keep dead text up to date in three languages.
func TestEveryCatalogKeyIsUsed(t *testing.T) {
	cat, err := i18n.Load(web.Catalogs())
	if err != nil {
		t.Fatalf("catalogs: %v", err)
	}
	lits := usedLiterals(t)
	fileOf := catalogFiles(t)
	for _, key := range cat.Keys() {
		if lits[key] || dynamicKey(key) || unusedKeys[key] != "" {
			continue
		}
		t.Errorf("%q (web/i18n/*/%s) is named by no Go code or template: remove it from the three catalogs, "+
			"or add its prefix to dynamicKeyPrefixes if code builds it from a value", key, fileOf[key])
	}
	// The exceptions do not outlive what they stand for.
	for key := range unusedKeys {
		if !cat.Has(key) || lits[key] {
			t.Errorf("unusedKeys: %q is gone or used now: drop it from the list", key)
		}
	}
	for prefix, where := range dynamicKeyPrefixes {
		has := false
		for _, key := range cat.Keys() {
			has = has || strings.HasPrefix(key, prefix)
		}
		if !has {
			t.Errorf("dynamicKeyPrefixes: no catalog key starts with %q", prefix)
		}
		if !lits[prefix] && !lits[strings.TrimSuffix(prefix, ".")] {
			t.Errorf("dynamicKeyPrefixes: no code builds %q any more (%s)", prefix, where)
		}
	}
}

func dynamicKey(key string) bool {
	for prefix := range dynamicKeyPrefixes {
		if strings.HasPrefix(key, prefix) && len(key) > len(prefix) {
			return true
		}
	}
	return false
}

// usedLiterals returns every string literal of the module's Go code (tests
// excluded: a key only a test names is dead) and every quoted string of
// the templates.
func usedLiterals(t *testing.T) map[string]bool {
	t.Helper()
	lits := map[string]bool{}
	tmplString := regexp.MustCompile(`"([^"\\\n{}]*)"`)
	err := fs.WalkDir(web.Templates(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.Templates(), p)
		if err != nil {
			return err
		}
		for _, m := range tmplString.FindAllStringSubmatch(string(b), -1) {
			lits[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
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
		// The Go scanner, not a regular expression, so that quotes in
		// runes and comments cannot confuse it.
		fset := token.NewFileSet()
		var s scanner.Scanner
		s.Init(fset.AddFile(p, -1, len(src)), src, func(pos token.Position, msg string) { t.Errorf("%s: %s", pos, msg) }, 0)
		for {
			_, tok, lit := s.Scan()
			if tok == token.EOF {
				return nil
			}
			if tok == token.STRING {
				if v, err := strconv.Unquote(lit); err == nil {
					lits[v] = true
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lits) < 500 {
		t.Fatalf("found only %d literals: the scan is broken", len(lits))
	}
	return lits
}

// catalogFiles maps each key to the file of the French catalog holding it,
// for messages.
func catalogFiles(t *testing.T) map[string]string {
	t.Helper()
	files, err := fs.Glob(web.Catalogs(), string(i18n.Default)+"/*.json")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	out := map[string]string{}
	for _, f := range files {
		b, err := fs.ReadFile(web.Catalogs(), f)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k := range m {
			out[k] = filepath.Base(f)
		}
	}
	return out
}
