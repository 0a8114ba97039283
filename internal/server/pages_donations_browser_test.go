package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/server/servertest"
)

func donationSignInTab(t *testing.T, env *servertest.Env, lang, email string) *browsertest.Tab {
	t.Helper()
	tab := browsertest.MustTab(t)
	tab.Navigate(env.URL + lang + "/login")
	tab.Fill("#f-email", email)
	tab.Fill("#f-password", servertest.Password)
	tab.Click(`main form button[type=submit]`)
	tab.Measure()
	return tab
}

// The donation pages with full lists (30 donations, 40 devices, long
// names), as a donor and as the operator, in French and Basque: within the
// budgets, zero axe violations, including the import preview and the error
// table of a faulty file.
func TestDonationPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	donorOrg := env.MustOrg(t, account.KindIntercommunality, "Communauté d'agglomération Pays basque — direction du numérique")
	donor := env.MustUser(t, donorOrg.ID, "Amaia Etxeberria", false)
	opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique")
	operator := env.MustUser(t, opOrg.ID, "Maddi Etxart", true)
	for i := 1; i <= 5; i++ {
		env.MustOrg(t, account.KindWorkshop, fmt.Sprintf("Atelier de reconditionnement n° %d", i))
	}
	var big int64
	for i := 1; i <= 30; i++ {
		lines := []donation.Line{{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T480s", Serial: fmt.Sprintf("PF1ABCD%03d", i), Year: 2018, Quantity: 1, StorageDrives: 1, WeightKg: 1.4}}
		if i == 30 {
			for j := 2; j <= 40; j++ {
				lines = append(lines, donation.Line{Category: "monitor_xl", Brand: "Hewlett-Packard", Model: "EliteDisplay E273q long model name",
					Serial: fmt.Sprintf("CN4ABCDEFG%03d", j), Year: 2020, Quantity: 1, WeightKg: 7.5, Notes: "Pied réglable, câble fourni"})
			}
		}
		d, err := env.DB.CreateDonation(ctx, donorOrg.ID, nil, fmt.Sprintf("Renouvellement du parc informatique des services n° %02d", i), "", lines)
		if err != nil {
			t.Fatal(err)
		}
		big = d.ID
	}
	dir := t.TempDir()
	good, faulty := filepath.Join(dir, "lot.csv"), filepath.Join(dir, "faulty.csv")
	var csv, bad strings.Builder
	csv.WriteString("catégorie;marque;modèle;numéro_de_série;année;quantité;disques;poids_kg;remarques\n")
	bad.WriteString("category,year\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&csv, "laptop;Dell;Latitude 5490 avec station;5CG8123%03d;2019;1;1;1,9;Chargeur fourni et sacoche\n", i)
		fmt.Fprintf(&bad, "toaster,1980\n")
	}
	for path, s := range map[string]string{good: csv.String(), faulty: bad.String()} {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	detail := fmt.Sprintf("/donations/%d", big)
	for _, lang := range []string{"/fr", "/eu"} {
		t.Run("donor"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, donor.Email)
			for _, p := range []string{"/donations", "/donations?page=2", "/donations/new", "/donations/new?lines=10", "/donations/import", detail, detail + "?page=2"} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
			tab.Navigate(env.URL + lang + "/donations")
			if n := tab.Count("tbody tr"); n != 25 {
				t.Errorf("list: %d rows, want 25", n)
			}
			tab.Navigate(env.URL + lang + "/donations/import")
			tab.Fill("#f-title", "Parc 2019")
			tab.SetFiles("#f-file", good)
			tab.Click(`main form button[type=submit]`)
			tab.CheckCurrentPage()
			if n := tab.Count("tbody tr"); n != 25 {
				t.Errorf("preview: %d rows, want 25", n)
			}
			tab.Navigate(env.URL + lang + "/donations/import")
			tab.Fill("#f-title", "Parc 2019")
			tab.SetFiles("#f-file", faulty)
			tab.Click(`main form button[type=submit]`)
			r := tab.Measure() // a 400 document: Chromium logs it as a console error
			if r.Status != http.StatusBadRequest {
				t.Fatalf("faulty file: status %d", r.Status)
			}
			r.CheckBudgets(t)
			tab.CheckAxe()
			if n := tab.Count("tbody tr"); n != 25 {
				t.Errorf("error table: %d rows, want 25", n)
			}
		})
		t.Run("operator"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, operator.Email)
			if r := tab.CheckPage(env.URL + lang + detail); r.Status != http.StatusOK {
				t.Errorf("detail: status %d", r.Status)
			}
			if n := tab.Count("#f-workshop option"); n != 6 {
				t.Errorf("%d workshop options", n)
			}
			tab.Navigate(env.URL + lang + "/donations/new")
			tab.Fill("#f-title", "Don")
			tab.Fill("#f-d1_category", "laptop")
			tab.Fill("#f-d1_year", "1980")
			tab.Click(`main form button[type=submit]`)
			r := tab.Measure()
			if r.Status != http.StatusBadRequest {
				t.Fatalf("failed form: status %d", r.Status)
			}
			r.CheckBudgets(t)
			tab.CheckAxe()
			if n := tab.Count(`.error-summary a[href="#f-d1_year"]`); n != 1 {
				t.Errorf("error summary links %d times to the year", n)
			}
		})
	}
}
