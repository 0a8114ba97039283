package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/server/servertest"
)

// The factor-set pages with the embedded set's 26 categories and 14
// parts, an imported set, the import form and the import refused with a
// file full of mistakes, in French and Basque: within the budgets, zero
// axe violations.
func TestFactorSetPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique du Pays basque")
	op := env.MustUser(t, opOrg.ID, "Maddi Etxeberria", true)
	dir := t.TempDir()
	// 60 bad lines: 50 problems found, the first 20 shown.
	bad := goodCategories + strings.Repeat("Tablet,8O,41,121,3,2.5,3,0.5,E,\n", 60)
	files := map[string]string{"bad.csv": bad, "parts.csv": goodParts, "good.csv": goodCategories}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range []string{"/fr", "/eu"} {
		t.Run(lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, op.Email)
			for _, path := range []string{"/admin", "/admin/factor-sets", "/admin/factor-sets/fr-ademe-2025",
				"/admin/factor-sets/fr-ademe-2025?rows=parts", "/admin/factor-sets/new"} {
				if r := tab.CheckPage(env.URL + lang + path); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", path, r.Status)
				}
			}
			// A file full of mistakes: refused with its lines, nothing saved.
			id := "fr-test" + strings.TrimPrefix(lang, "/")
			tab.Fill("#f-id", id)
			tab.Fill("#f-version", "2026.1")
			tab.SetFiles("#f-categories", filepath.Join(dir, "bad.csv"))
			tab.SetFiles("#f-parts", filepath.Join(dir, "parts.csv"))
			tab.Click(`main form button[type=submit]`)
			r := tab.Measure() // a 400 document: Chromium logs it as a console error
			if r.Status != http.StatusBadRequest || tab.Count(`main table tbody tr`) != 20 {
				t.Fatalf("refused import: %d, %d problems", r.Status, tab.Count(`main table tbody tr`))
			}
			r.CheckBudgets(t)
			tab.CheckAxe()
			// The good file: imported, shown, made active.
			tab.Fill("#f-id", id)
			tab.Fill("#f-version", "2026.1")
			tab.SetFiles("#f-categories", filepath.Join(dir, "good.csv"))
			tab.SetFiles("#f-parts", filepath.Join(dir, "parts.csv"))
			tab.Click(`main form button[type=submit]`)
			if r := tab.CheckCurrentPage(); r.Status != http.StatusOK || tab.Count(`.flash-success`) != 1 {
				t.Fatalf("after the import: %d, %q", r.Status, tab.Text("main"))
			}
			tab.Click(`main form button[type=submit]`) // unconfirmed
			r = tab.Measure()
			if r.Status != http.StatusBadRequest || tab.Count(`.error-summary`) != 1 {
				t.Fatalf("unconfirmed activation: %d", r.Status)
			}
			r.CheckBudgets(t)
			tab.CheckAxe()
			tab.Click(`#f-confirm`)
			tab.Click(`main form button[type=submit]`)
			if r := tab.CheckCurrentPage(); r.Status != http.StatusOK || tab.Count(`.flash-success`) != 1 {
				t.Fatalf("after the activation: %d, %q", r.Status, tab.Text("main"))
			}
		})
	}
}
