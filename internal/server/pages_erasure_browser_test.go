package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// The erasure pages at their fullest — eight drives, a page of records
// and a pager, the certificate — and a device held back by a failed
// verification, as its workshop and its donor, the public check page, and
// a refused form: in French and Basque, within the budgets, with zero axe
// violations. The form is filled and sent through the browser, its log
// attached with the file field.
func TestErasurePagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	donorOrg := env.MustOrg(t, account.KindIntercommunality, "Communauté d'agglomération Pays basque — direction du numérique")
	donor := env.MustUser(t, donorOrg.ID, "Amaia Etxeberria", false)
	shop := env.MustOrg(t, account.KindWorkshop, "Atelier de reconditionnement Berriz Lapurdi")
	techUser := env.MustUser(t, shop.ID, "Ane Etxeberria-Goikoetxea", false)
	tech := &account.Principal{UserID: techUser.ID, OrgID: shop.ID, OrgKind: shop.Kind}
	d, err := env.DB.CreateDonation(ctx, donorOrg.ID, nil, "Renouvellement du parc informatique des services techniques", "",
		[]donation.Line{{Category: "desktop", Brand: "Hewlett-Packard", Model: "Z4 G4 Workstation long model name", Serial: "CZC8123ABC",
			Quantity: 2, StorageDrives: 8, WeightKg: 12}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, d.ID, shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	devs, _, _ := env.DB.Devices(ctx, postgres.DeviceFilter{DonationID: d.ID})
	wiped, held := devs[1].ID, devs[0].ID
	now := time.Now()
	logs := 0
	record := func(id int64, pos int, v erasure.Verification, log bool) {
		in := postgres.NewErasure{Drive: erasure.DriveRef{Position: pos}, Now: now,
			Record: erasure.Record{Method: erasure.PurgeOverwrite, Tool: erasure.NWipe, ToolVersion: "0.35-1+deb13u1 (ShredOS 2024.11)",
				Passes: 3, Verification: v, StartedAt: now.Add(-30 * time.Hour), EndedAt: now.Add(-2 * time.Hour),
				Notes: strings.Repeat("Vérification de la dernière passe, PRNG Mersenne Twister. ", 8)}}
		if log {
			logs++
			in.Log = &postgres.ErasureLog{Key: fmt.Sprintf("devices/%d/erasure-logs/%d.txt", id, logs),
				Name: "nwipe_log_20260314-090501_sda.txt", ContentType: erasure.LogText, Size: 183_245, SHA256: strings.Repeat("ab", 32)}
		}
		if _, err := env.DB.RecordErasure(ctx, id, postgres.DonationScope{}, in, tech); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []int64{wiped, held} {
		mustReceiveDevice(t, env, id, 0)
		for n := 1; n <= 8; n++ {
			mustSQL(t, env, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, $2, 'hdd', 18000, $3)`,
				id, n, fmt.Sprintf("WD-WX12D3456789%02d-LONG-SERIAL", n))
		}
		mustSQL(t, env, `UPDATE devices SET storage_drives = 8 WHERE id = $1`, id)
		for n := 1; n <= 8; n++ {
			if n <= 4 {
				record(id, n, erasure.Failed, true) // failed first, erased again below
			}
			if id == held && n == 8 {
				record(id, n, erasure.Failed, true)
				continue
			}
			record(id, n, erasure.Passed, true)
		}
	}
	mustDiagnosed(t, env, wiped)
	for _, to := range []lifecycle.State{lifecycle.Diagnosed, lifecycle.Wiped} {
		if _, err := env.DB.TransitionDevice(ctx, wiped, postgres.DonationScope{}, postgres.Transition{To: to}, tech); err != nil {
			t.Fatal(err)
		}
	}
	// Issued through the server, as the download does.
	b := env.SignIn(t, donor.Email)
	if resp, _ := b.Get(devicePath(wiped, "/certificate.pdf")); resp.StatusCode != http.StatusOK {
		t.Fatalf("certificate: %d", resp.StatusCode)
	}
	certs, err := env.DB.DeviceCertificates(ctx, wiped)
	if err != nil || len(certs) != 1 {
		t.Fatalf("certificates %v", err)
	}
	logFile := filepath.Join(t.TempDir(), "nwipe_log_sdh.txt")
	if err := os.WriteFile(logFile, []byte(nwipeLog), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"/fr", "/eu"} {
		t.Run("workshop"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, techUser.Email)
			for _, p := range []string{devicePath(wiped, "/erasure"), devicePath(wiped, "/erasure?page=2"), devicePath(held, "/erasure"),
				"/devices"} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
			tab.Navigate(env.URL + lang + devicePath(held, "/erasure"))
			if n := tab.Count("tbody tr"); n != 8+8 {
				t.Errorf("%d rows, want 8 drives and 8 records", n)
			}
			if n := tab.Count(".flash-error"); n != 1 {
				t.Errorf("%d failure flags, want 1", n)
			}
			tab.Navigate(env.URL + lang + "/devices")
			if n := tab.Count("td strong.field-error"); n != 1 {
				t.Errorf("%d failure flags in the inventory, want 1", n)
			}
			tab.Navigate(env.URL + lang + devicePath(held, "/erasure"))
			// A refused form: error summary and field errors pass axe too.
			tab.Fill("#f-passes", "7")
			tab.Click(`form[action$="/erasures"] button[type=submit]`)
			tab.Measure().CheckBudgets(t)
			tab.CheckAxe()
			if n := tab.Count(".error-summary a"); n < 4 {
				t.Errorf("error summary: %d links", n)
			}
			if lang == "/eu" {
				// The drive that failed, erased again through the form.
				tab.Navigate(env.URL + lang + devicePath(held, "/erasure"))
				tab.Fill("#f-method", "purge_overwrite")
				tab.Fill("#f-tool", "nwipe")
				tab.Fill("#f-drive", "8:WD-WX12D345678908-LONG-SERIAL")
				tab.Fill("#f-tool_version", "0.35")
				tab.Fill("#f-passes", "1")
				tab.Click("#f-verification")
				tab.Fill("#f-started_at", now.Add(-5*time.Hour).In(erasureZone).Format("2006-01-02T15:04"))
				tab.Fill("#f-ended_at", now.Add(-time.Hour).In(erasureZone).Format("2006-01-02T15:04"))
				tab.SetFiles("#f-log", logFile)
				tab.Click(`form[action$="/erasures"] button[type=submit]`)
				r := tab.CheckCurrentPage()
				if r.Status != http.StatusOK || tab.Count(".flash-error") != 0 || tab.Count(".flash-success") != 1 {
					t.Errorf("after the form: status %d, %d flags", r.Status, tab.Count(".flash-error"))
				}
			}
		})
		t.Run("donor"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, donor.Email)
			for _, p := range []string{devicePath(wiped, "/erasure"), devicePath(held, "/erasure"), "/devices"} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
		})
		t.Run("check"+lang, func(t *testing.T) {
			tab := browsertest.MustTab(t) // anyone holding the URL
			if r := tab.CheckPage(env.URL + lang + "/c/" + certs[0].Token); r.Status != http.StatusOK {
				t.Errorf("check page: status %d", r.Status)
			}
			if n := tab.Count("tbody tr"); n != 8 {
				t.Errorf("check page: %d drives", n)
			}
		})
	}
}
