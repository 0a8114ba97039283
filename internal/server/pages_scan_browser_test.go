package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/server/servertest"
)

// The scan station with a full intake choice (30 declared devices, long
// names), the action cards, the lookup page of an unknown code and a
// passport, in French and Basque: within the budgets, zero axe violations,
// no console error; and intake by typing a code as a scanner would.
func TestScanPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	shop := env.MustOrg(t, account.KindWorkshop, "Atelier de reconditionnement du Pays basque intérieur")
	tech := env.MustUser(t, shop.ID, "Ane Etxeberria", false)
	donor := env.MustOrg(t, account.KindIntercommunality, "Communauté d'agglomération Pays basque — direction du numérique")
	d, err := env.DB.CreateDonation(ctx, donor.ID, nil, "Renouvellement du parc informatique des services techniques", "", []donation.Line{
		{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T480s with a long model name", Serial: "PF1ABCD", Year: 2018, Quantity: 30, WeightKg: 1.4}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, d.ID, shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, codes := mustServerBatch(t, env.DB, shop.ID, tech.ID, 6)
	for i, lang := range []string{"/fr", "/eu"} {
		t.Run("station"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, tech.Email)
			for _, p := range []string{"/scan", "/scan/cards", "/a/receive", "/a/stop"} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
			// A keyboard-wedge scanner types the tag's URL and Enter.
			code := codes[i]
			tab.Navigate(env.URL + lang + "/scan")
			tab.Fill("#f-code", "HTTP://BERRIZ.EXAMPLE/T/"+code.String())
			tab.Click(`#scan-form button[type=submit]`)
			r := tab.CheckCurrentPage()
			if !strings.HasSuffix(r.URL, "/scan?code="+code.String()) {
				t.Fatalf("landed on %s", r.URL)
			}
			if n := tab.Count(`button[name=device]`); n != 25 {
				t.Errorf("%d devices offered, want 25", n)
			}
			tab.Click(`button[name=device]`)
			tab.CheckCurrentPage()
			if n := tab.Count(`button[name=device]`); n != 0 {
				t.Errorf("the linked tag still offers %d devices", n)
			}
			// The scan and the intake; Basque runs after French's junk.
			if n, want := tab.Count(`ol.scans li`), []int{2, 10}[i]; n != want {
				t.Errorf("%d last scans, want %d", n, want)
			}
			// A full log of scans and a full page of choices stay within
			// the budgets.
			// scan-queue.js sends them without leaving the page.
			tab.Navigate(env.URL + lang + "/scan")
			for n := 1; n <= 10; n++ {
				typeScan(t, tab, "junk")
				waitFor(t, tab, fmt.Sprintf(`document.querySelectorAll('#scan-recent li[data-state=refused]').length === %d`, n))
			}
			tab.CheckPage(env.URL + lang + "/scan?code=" + codes[4].String())
			if n := tab.Count(`ol.scans li`); n != 10 {
				t.Errorf("%d last scans, want 10", n)
			}
			tab.CheckPage(env.URL + lang + "/scan?code=" + codes[4].String() + "&page=2")
		})
		t.Run("public"+lang, func(t *testing.T) {
			tab := browsertest.MustTab(t)
			r := tab.CheckPage(env.URL + lang + "/t/" + codes[i].String())
			if r.Status != http.StatusOK || !strings.Contains(tab.Text("main"), "Lenovo") {
				t.Errorf("passport: status %d, %q", r.Status, tab.Text("main"))
			}
			if r := tab.CheckPage(env.URL + lang + "/t/" + codes[5].String()); r.Status != http.StatusOK {
				t.Errorf("blank tag: status %d", r.Status)
			}
			tab.Navigate(env.URL + lang + "/t/NOPE")
			r = tab.Measure() // a 404 document: Chromium logs it as a console error
			if r.Status != http.StatusNotFound {
				t.Fatalf("unknown code: status %d", r.Status)
			}
			r.CheckBudgets(t)
			tab.CheckAxe()
			// The lookup field leads to the passport.
			tab.Fill("#f-code", strings.ToLower(codes[i].Compact()))
			tab.Click(`main form button[type=submit]`)
			if r := tab.Measure(); r.Status != http.StatusOK || !strings.Contains(r.URL, "/t/"+codes[i].String()) {
				t.Errorf("lookup field: %d at %s", r.Status, r.URL)
			}
		})
	}
}
