package server_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// photoLike is a camera-like JPEG: smooth shapes with sensor noise, so its
// thumbnail weighs what a real one does.
func photoLike(t *testing.T, seed uint64) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, 2000, 1500))
	for y := 0; y < 1500; y++ {
		for x := 0; x < 2000; x++ {
			n := r.IntN(12)
			img.Set(x, y, color.RGBA{uint8(60 + x/16 + n), uint8(80 + y/12 + n), uint8(120 + (x+y)/40 + n), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The inventory and a device page with five photos, two documents and
// drives, as a donor and as its workshop, in French and Basque: within
// the budgets (thumbnails count), zero axe violations; the fifth photo is
// added through the browser's file field.
func TestDevicePagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	donorOrg := env.MustOrg(t, account.KindIntercommunality, "Communauté d'agglomération Pays basque — direction du numérique")
	donor := env.MustUser(t, donorOrg.ID, "Amaia Etxeberria", false)
	shop := env.MustOrg(t, account.KindWorkshop, "Atelier de reconditionnement Berriz Lapurdi")
	tech := env.MustUser(t, shop.ID, "Ane Tech", false)
	var lines []donation.Line
	for i := 1; i <= 40; i++ {
		lines = append(lines, donation.Line{Category: []string{"laptop", "monitor_24", "desktop"}[i%3], Brand: "Hewlett-Packard",
			Model: "EliteBook 840 G5 long model name", Serial: fmt.Sprintf("5CG8123%03d", i), Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.5})
	}
	d, err := env.DB.CreateDonation(ctx, donorOrg.ID, nil, "Renouvellement du parc informatique des services techniques", "", lines)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, d.ID, shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	devs, _, _ := env.DB.Devices(ctx, postgres.DeviceFilter{DonationID: d.ID})
	id := devs[len(devs)-1].ID
	path := devicePath(id)
	b := env.SignIn(t, tech.Email)
	b.Get(path)
	resp, body := b.PostForm(path+"/specs", map[string][]string{"cpu": {"Intel Core i5-8350U"}, "ram_gb": {"16"}, "screen_inches": {"14"},
		"battery_health_pct": {"81"}, "os": {"Debian 13 (Trixie)"}, "condition_notes": {"Rayures légères sur le capot, clavier AZERTY complet."},
		"drive_type_1": {"nvme"}, "drive_capacity_1": {"256"}, "drive_serial_1": {"S4EVNX0M123456"},
		"drive_type_2": {"hdd"}, "drive_capacity_2": {"1000"}, "drive_serial_2": {"WD-WCC4N1234567"}})
	wantStatus(t, "specs", resp, body, http.StatusSeeOther)
	for i := range 4 {
		resp, body := upload(t, b, path+"/photos", "photo", fmt.Sprintf("IMG_%04d.jpg", i), photoLike(t, uint64(i)))
		wantStatus(t, "photo", resp, body, http.StatusSeeOther)
	}
	for _, n := range []string{"Facture d'achat 2019.pdf", "Rapport de diagnostic.pdf"} {
		resp, body := upload(t, b, path+"/documents", "document", n, []byte("%PDF-1.4\n%%EOF\n"))
		wantStatus(t, "document", resp, body, http.StatusSeeOther)
	}
	fifth := filepath.Join(t.TempDir(), "IMG_0005.jpg")
	if err := os.WriteFile(fifth, photoLike(t, 5), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"/fr", "/eu"} {
		t.Run("workshop"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, tech.Email)
			if lang == "/fr" {
				tab.Navigate(env.URL + lang + path)
				tab.SetFiles("#f-photo", fifth)
				tab.Click(`form[action$="/photos"] button[type=submit]`)
				tab.CheckCurrentPage()
				if n := tab.Count(`img[loading="lazy"][width][height]`); n != 5 {
					t.Errorf("%d lazy thumbnails, want 5", n)
				}
			}
			for _, p := range []string{"/devices", "/devices?page=2", "/devices?category=laptop&state=declared", path, path + "/specs", path + "/specs?drives=8"} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
			tab.Navigate(env.URL + lang + "/devices")
			if n := tab.Count("tbody tr"); n != 25 {
				t.Errorf("list: %d rows, want 25", n)
			}
			// A refused specs form: error summary and field errors pass axe too.
			tab.Navigate(env.URL + lang + path + "/specs")
			tab.Fill("#f-ram_gb", "beaucoup")
			tab.Click(`form[action$="/specs"] button[type=submit]`)
			// A 400 page: Chromium logs its status, so no console check.
			tab.Measure().CheckBudgets(t)
			tab.CheckAxe()
			if n := tab.Count(".error-summary a"); n != 1 {
				t.Errorf("error summary: %d links, want 1", n)
			}
		})
		t.Run("donor"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, donor.Email)
			for _, p := range []string{"/devices", "/devices?page=2", path} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
		})
	}
}
