package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/internal/tag"
	"github.com/chromedp/chromedp"
)

// TestIntakeJourney is the donations issue's acceptance journey, in a real
// browser, in French and Basque: a donor imports 3 devices by CSV, the
// operator assigns the donation to a workshop, a technician generates tags,
// prints their label sheet and links the tags at the scan station by typing
// the codes as a scanner would, and the public passport opens from a tag
// URL. Every page on the way is within the eco-design budgets with zero axe
// violations.
func TestIntakeJourney(t *testing.T) {
	for _, lang := range []string{"fr", "eu"} {
		t.Run(lang, func(t *testing.T) {
			env := servertest.MustStart(t, servertest.Options{})
			ctx := context.Background()
			opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique du Pays basque")
			operator := env.MustUser(t, opOrg.ID, "Oihana Operator", true)
			donorOrg := env.MustOrg(t, account.KindCommune, "Commune de Hasparren")
			donor := env.MustUser(t, donorOrg.ID, "Maite Donor", false)
			shop := env.MustOrg(t, account.KindWorkshop, "Atelier Berriz Baiona")
			tech := env.MustUser(t, shop.ID, "Peio Technician", false)
			base := env.URL + "/" + lang

			check := func(tab *browsertest.Tab, step string) browsertest.PageReport {
				t.Helper()
				r := tab.CheckCurrentPage()
				if r.Status >= 400 {
					t.Fatalf("%s: status %d at %s", step, r.Status, tab.URL())
				}
				if got := browsertest.RunValue(tab, chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
					t.Fatalf("%s: page in %q, want %q", step, got, lang)
				}
				return r
			}
			signIn := func(email string) *browsertest.Tab {
				t.Helper()
				tab := browsertest.MustTab(t)
				tab.Navigate(base + "/login")
				check(tab, "login page")
				tab.Fill("#f-email", email)
				tab.Fill("#f-password", servertest.Password)
				tab.Click(`main form button[type=submit]`)
				check(tab, "after sign-in")
				return tab
			}

			// 1. The donor imports three devices by CSV: preview, then confirm.
			csvPath := filepath.Join(t.TempDir(), "lot.csv")
			csv := "category,brand,model,serial,year,quantity,storage_drives,weight_kg,notes\n" +
				"laptop,Lenovo,ThinkPad T480,PF1AAA01,2018,1,1,1.6,Chargeur fourni\n" +
				"laptop,Dell,Latitude 5490,5CG8123001,2019,1,1,1.9,\n" +
				"monitor_24,Dell,P2419H,CN0ABC123,2020,1,0,4.5,Pied réglable\n"
			if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
				t.Fatal(err)
			}
			dtab := signIn(donor.Email)
			dtab.Navigate(base + "/donations/import")
			check(dtab, "import page")
			dtab.Fill("#f-title", "Renouvellement 2026 de la mairie")
			dtab.SetFiles("#f-file", csvPath)
			dtab.Click(`main form button[type=submit]`)
			check(dtab, "import preview")
			if n := dtab.Count("tbody tr"); n != 3 {
				t.Fatalf("preview shows %d lines, want 3", n)
			}
			dtab.Click(`main form button[type=submit]`)
			check(dtab, "donation page after import")
			m := regexp.MustCompile(`/donations/(\d+)$`).FindStringSubmatch(dtab.URL())
			if m == nil {
				t.Fatalf("after confirming the import: at %s", dtab.URL())
			}
			donationID, _ := strconv.ParseInt(m[1], 10, 64)
			d, err := env.DB.Donation(ctx, donationID, postgres.DonationScope{})
			if err != nil || d.Devices != 3 || d.State != donation.Declared {
				t.Fatalf("imported donation: %+v, %v", d, err)
			}

			// 2. The operator assigns it to the workshop.
			otab := signIn(operator.Email)
			otab.Navigate(base + "/donations/" + m[1])
			check(otab, "donation page (operator)")
			otab.Fill("#f-workshop", strconv.FormatInt(shop.ID, 10))
			otab.Click(`form[action$="/workshop"] button[type=submit]`)
			check(otab, "donation page after assignment")
			if d, _ := env.DB.Donation(ctx, donationID, postgres.DonationScope{}); d.WorkshopOrgID != shop.ID {
				t.Fatalf("donation assigned to %d, want %d", d.WorkshopOrgID, shop.ID)
			}

			// 3. The technician generates three tags and prints their sheet.
			ttab := signIn(tech.Email)
			ttab.Navigate(base + "/tags")
			check(ttab, "tags page")
			ttab.Fill("#f-count", "3")
			ttab.Click(`form[action$="/tags"] button[type=submit]`)
			check(ttab, "tag batch page")
			var codes []string
			for i := 1; i <= 3; i++ {
				codes = append(codes, ttab.Text(fmt.Sprintf("tbody tr:nth-child(%d) td.code", i)))
			}
			// The sheet form is a GET: fetch what it submits, with the
			// technician's cookies, as the browser would download it.
			sheet := browsertest.RunValue(ttab, chromedp.Evaluate[string](`(async () => {
				const f = document.querySelector('form[action*="/sheet.pdf"]');
				const r = await fetch(f.action + '?' + new URLSearchParams(new FormData(f)));
				const head = new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5));
				return r.status + ' ' + r.headers.get('Content-Type') + ' ' + head;
			})()`, chromedp.EvalAwaitPromise))
			if sheet != "200 application/pdf %PDF-" {
				t.Fatalf("label sheet: %q", sheet)
			}

			// 4. At the scan station the scanner types each code (as a
			// full tag URL for the first, as printed for the others) and
			// the technician picks the declared device it goes on.
			for i, code := range codes {
				ttab.Navigate(base + "/scan")
				check(ttab, "scan station")
				typed := code
				if i == 0 {
					typed = strings.ToUpper(env.URL) + "/T/" + code
				}
				ttab.Fill("#f-code", typed)
				ttab.Click(`#scan-form button[type=submit]`)
				check(ttab, "scan station with a blank tag")
				if n := ttab.Count(`button[name=device]`); n != 3-i {
					t.Fatalf("tag %s: %d declared devices offered, want %d", code, n, 3-i)
				}
				ttab.Click(`button[name=device]`)
				check(ttab, "scan station after linking")
				if n := ttab.Count(`button[name=device]`); n != 0 {
					t.Fatalf("tag %s still offers %d devices after linking", code, n)
				}
				if !strings.Contains(ttab.Text("main"), code) {
					t.Fatalf("the station does not show tag %s: %q", code, ttab.Text("main"))
				}
			}
			d, err = env.DB.Donation(ctx, donationID, postgres.DonationScope{})
			if err != nil || d.State != donation.Received {
				t.Fatalf("after intake: donation %+v, %v; want received", d, err)
			}

			// 5. Anyone opening a tag URL sees the public passport, with no
			// donor name.
			code, err := tag.Parse(codes[2])
			if err != nil {
				t.Fatal(err)
			}
			ptab := browsertest.MustTab(t)
			r := ptab.CheckPage(base + "/t/" + strings.ToLower(code.Compact()))
			if r.Status != http.StatusOK {
				t.Fatalf("passport: status %d", r.Status)
			}
			text := ptab.Text("main")
			td, err := env.DB.DeviceByTag(ctx, code)
			if err != nil || td.Device == nil {
				t.Fatalf("tag %s: %+v, %v", code, td, err)
			}
			if !strings.Contains(text, td.Device.Model) || strings.Contains(text, donorOrg.Name) {
				t.Fatalf("passport of %s: %q", code, text)
			}
		})
	}
}
