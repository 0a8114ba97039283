package server_test

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/chromedp/chromedp"
)

// TestWorkshopJourney is the workshop issue's acceptance journey, in a
// real browser, in French and Basque: a technician scans a received
// laptop, records its specs and diagnosis, records the erasure of its two
// drives with the tool's log, downloads the erasure certificate (its text
// read back with pdftotext), fits a second-hand SSD from the stock,
// installs the OS, grades it and publishes it. Every page on the way is
// within the eco-design budgets with zero axe violations, and the device's
// event chain verifies at the end.
func TestWorkshopJourney(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("BERRIZ_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("pdftotext (poppler-utils) is missing")
		}
		t.Skip("pdftotext (poppler-utils) is missing")
	}
	for _, lang := range []string{"fr", "eu"} {
		t.Run(lang, func(t *testing.T) {
			env := servertest.MustStart(t, servertest.Options{})
			ctx := context.Background()
			donorOrg := env.MustOrg(t, account.KindCommune, "Commune d'Ustaritz")
			shop := env.MustOrg(t, account.KindWorkshop, "Atelier Berriztu")
			tech := env.MustUser(t, shop.ID, "Ane Etxeberria", false)
			d, err := env.DB.CreateDonation(ctx, donorOrg.ID, nil, "Parc de la mairie", "", []donation.Line{
				{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T480", Serial: "PF1JRN7K", Year: 2018, Quantity: 1, StorageDrives: 2, WeightKg: 1.6},
				{Category: "laptop", Brand: "Dell", Model: "Latitude 7490", Serial: "5CG9000", Year: 2018, Quantity: 1, StorageDrives: 1, WeightKg: 1.4}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.DB.AssignWorkshop(ctx, d.ID, shop.ID, nil); err != nil {
				t.Fatal(err)
			}
			devs, _, err := env.DB.Devices(ctx, postgres.DeviceFilter{DonationID: d.ID})
			if err != nil || len(devs) != 2 {
				t.Fatal(err)
			}
			laptop, donorOfSSD := devs[1].ID, devs[0].ID // oldest first: the ThinkPad is line 1

			// The stock holds a second-hand SSD, erased on the Latitude it
			// was harvested from.
			mustWipedDevice(t, env, donorOfSSD, 1)
			if _, _, err := env.DB.DismantleDevice(ctx, donorOfSSD, postgres.DonationScope{}, parts.Dismantle{
				Parts: []parts.Kept{{Kind: "ssd_256gb", Description: "Samsung PM981 256 Go", Drive: 1}}}, nil); err != nil {
				t.Fatal(err)
			}
			// The ThinkPad is received with a tag.
			_, codes := mustServerBatch(t, env.DB, shop.ID, tech.ID, 1)
			if _, err := env.DB.IntakeDevice(ctx, codes[0], laptop, shop.ID, nil, time.Now()); err != nil {
				t.Fatal(err)
			}

			base := env.URL + "/" + lang
			here := base + devicePath(laptop)
			tab := donationSignInTab(t, env, "/"+lang, tech.Email)
			step := func(what string) {
				t.Helper()
				r := tab.CheckCurrentPage()
				if r.Status >= 400 {
					t.Fatalf("%s: status %d at %s\n%s", what, r.Status, tab.URL(), tab.Text("main"))
				}
			}
			state := func() lifecycle.State {
				t.Helper()
				st, _, err := env.DB.DeviceFacts(ctx, laptop, postgres.DonationScope{})
				if err != nil {
					t.Fatal(err)
				}
				return st.State
			}
			takeStep := func(to lifecycle.State) {
				t.Helper()
				tab.Navigate(here)
				step("device page before " + string(to))
				tab.Click(`form[action$="/state"]:has(input[name=to][value="` + string(to) + `"]) button`)
				step("device page after " + string(to))
				if got := state(); got != to {
					t.Fatalf("after the %s step the device is %s:\n%s", to, got, tab.Text("main"))
				}
			}

			// 1. The scan station: the scanner types the tag's URL.
			tab.Navigate(base + "/scan")
			step("scan station")
			tab.Fill("#f-code", env.URL+"/t/"+codes[0].String())
			tab.Click(`#scan-form button[type=submit]`)
			step("scanned")
			tab.Click(`main a[href$="` + devicePath(laptop) + `"]`)
			step("device page")

			// 2. Specs: two drives.
			tab.Navigate(here + "/specs?drives=2")
			step("specs form")
			for sel, v := range map[string]string{"#f-cpu": "Intel Core i5-8350U", "#f-ram_gb": "16", "#f-screen_inches": "14",
				"#f-battery_health_pct": "86", "#f-drive_type_1": "nvme", "#f-drive_capacity_1": "256", "#f-drive_serial_1": "S4EVNX0M123",
				"#f-drive_type_2": "hdd", "#f-drive_capacity_2": "500", "#f-drive_serial_2": "WD-WX11A"} {
				tab.Fill(sel, v)
			}
			tab.Click(`form[action$="/specs"] button[type=submit]`)
			step("specs saved")

			// 3. Diagnosis: every test passes, cosmetic A.
			tab.Navigate(here + "/diagnosis")
			step("diagnosis form")
			tab.Run(chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('main input[type=radio][value=pass]').forEach(r => r.click())`))
			tab.Click(`#f-cosmetic`)
			tab.Click(`form[action$="/diagnosis"] button[type=submit]`)
			step("diagnosis saved")
			takeStep(lifecycle.Diagnosed)

			// 4. Erasure of both drives with nwipe, each with its log.
			logPath := filepath.Join(t.TempDir(), "nwipe.log")
			if err := os.WriteFile(logPath, []byte(nwipeLog), 0o600); err != nil {
				t.Fatal(err)
			}
			start, end := time.Now().Add(-3*time.Hour), time.Now().Add(-time.Hour)
			for i := range 2 {
				tab.Navigate(here + "/erasure")
				step("erasure page")
				tab.Run(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('f-drive'); s.selectedIndex = ` +
					[]string{"0", "1"}[i] + `; s.dispatchEvent(new Event('change', {bubbles: true})); })()`))
				tab.Fill("#f-method", "clear")
				tab.Fill("#f-tool", "nwipe")
				tab.Fill("#f-tool_version", "0.35")
				tab.Fill("#f-passes", "1")
				tab.Click("#f-verification")
				tab.Fill("#f-started_at", typedTime(start))
				tab.Fill("#f-ended_at", typedTime(end))
				tab.SetFiles("#f-log", logPath)
				tab.Click(`form[action$="/erasures"] button[type=submit]`)
				step("erasure recorded")
			}
			takeStep(lifecycle.Wiped)

			// 5. The certificate, downloaded as the browser would, read back.
			pdf := browsertest.RunValue(tab, chromedp.Evaluate[string](`(async () => {
				const r = await fetch('`+here+`/certificate.pdf');
				if (r.status !== 200) return 'status ' + r.status;
				const b = new Uint8Array(await r.arrayBuffer());
				let s = ''; for (const x of b) s += String.fromCharCode(x);
				return btoa(s);
			})()`, chromedp.EvalAwaitPromise))
			raw, err := base64.StdEncoding.DecodeString(pdf)
			if err != nil || !strings.HasPrefix(string(raw), "%PDF-") {
				t.Fatalf("certificate: %.80q", pdf)
			}
			text := pdfText(t, raw)
			for _, want := range []string{codes[0].String(), "PF1JRN7K", "S4EVNX0M123", "WD-WX11A", "nwipe", "Ane Etxeberria",
				"/c/", start.In(erasureZone).Format(map[string]string{"fr": "02/01/2006 15:04", "eu": "2006/01/02 15:04"}[lang])} {
				if !strings.Contains(text, want) {
					t.Errorf("the certificate does not say %q:\n%s", want, text)
				}
			}

			// 6. A second-hand SSD from the stock, and the OS.
			tab.Navigate(here + "/repairs")
			step("repairs page")
			tab.Click(`form[action$="/parts"]:has(#f-stock_part_id) button[type=submit]`)
			step("part fitted")
			tab.Navigate(here + "/repairs")
			tab.Fill("#f-os", "Debian 13 (Trixie) avec Xfce")
			tab.Click(`form[action$="/repairs"]:has(#f-os) button[type=submit]`)
			step("OS recorded")
			dd, err := env.DB.Device(ctx, laptop, postgres.DonationScope{})
			if err != nil || len(dd.Specs.Drives) != 3 || dd.Specs.Drives[2].Type != "ssd" || dd.Specs.OS == "" {
				t.Fatalf("after the repairs: %+v, %v", dd.Specs, err)
			}

			// 7. Grade (the suggested one), refurbished, published.
			tab.Navigate(here + "/grade")
			step("grade page")
			tab.Click(`#f-grade`)
			tab.Click(`form[action$="/grade"] button[type=submit]`)
			step("graded")
			takeStep(lifecycle.Refurbished)
			takeStep(lifecycle.Available)
			tab.CheckPage(here + "/history")

			rep, err := env.DB.VerifyEventChains(ctx)
			if err != nil || len(rep.Breaks) != 0 {
				t.Fatalf("audit: %+v, %v", rep, err)
			}
		})
	}
}

// pdfText is the text pdftotext reads in a PDF.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
