package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/recycling"
	"github.com/berriz/berriz/internal/server/servertest"
)

// The recycling, location and action card pages with the longest lists
// they show (a page of batches and the next one, a batch of 27 devices, a
// batch handed over, 30 locations with long names and their cards), a
// device's recycling page, and the handover form refused with its errors,
// in French and Basque: within the budgets, zero axe violations.
func TestRecyclingPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	shop := env.MustOrg(t, account.KindWorkshop, "Atelier de reconditionnement et de réemploi du Pays basque intérieur — Hazparne")
	tech := env.MustUser(t, shop.ID, "Ane Etxeberria Goienetxe", false)
	p := &account.Principal{UserID: tech.ID, OrgID: shop.ID, OrgKind: shop.Kind}
	donor := env.MustOrg(t, account.KindIntercommunality, "Communauté d'agglomération Pays basque — direction du numérique")
	d, err := env.DB.CreateDonation(ctx, donor.ID, nil, "Renouvellement du parc informatique des services techniques", "", []donation.Line{
		{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T480s with a rather long model name", Quantity: 58, WeightKg: 1.45}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, d.ID, shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	devices, err := allDonationDevices(ctx, env, d.ID)
	if err != nil || len(devices) != 58 {
		t.Fatalf("devices: %d, %v", len(devices), err)
	}
	_, codes := mustServerBatch(t, env.DB, shop.ID, tech.ID, 58)
	for i, dev := range devices {
		mustSQL(t, env, `UPDATE tags SET device_id = $1, linked_at = now() WHERE code = $2`, dev.ID, string(codes[i]))
		mustSQL(t, env, `UPDATE devices SET state = 'received' WHERE id = $1`, dev.ID)
	}
	join := func(from, to int) int64 {
		var batch int64
		for _, dev := range devices[from:to] {
			j, err := env.DB.AddToRecycling(ctx, dev.ID, postgres.DonationScope{}, p)
			if err != nil {
				t.Fatal(err)
			}
			batch = j.BatchID
		}
		return batch
	}
	handed := join(0, 30)
	key := fmt.Sprintf("recycling/%d/certificate-browser.pdf", handed)
	if _, err := env.Store.Put(ctx, key, bytes.NewReader(testCertPDF), int64(len(testCertPDF)), "application/pdf"); err != nil {
		t.Fatal(err)
	}
	h := recycling.Handover{Recycler: strings.Repeat("Éco-organisme agréé pour les DEEE professionnels et ménagers, ", 3)[:180],
		HandedOverOn: time.Now().UTC().Truncate(24 * time.Hour), TotalWeightKg: 43.5, CertificateRef: "BSD-2026-000042-TRAITEMENT-DEEE"}
	if _, err := env.DB.HandOverRecycling(ctx, handed, 0, h, postgres.Certificate{Key: key,
		Name: strings.Repeat("certificat-de-traitement-", 8) + ".pdf", Size: int64(len(testCertPDF)), SHA256: strings.Repeat("a", 64)}, p); err != nil {
		t.Fatal(err)
	}
	open := join(30, 57)
	refused := devices[57].ID
	mustSQL(t, env, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, 1, 'hdd', 500, 'WD-1')`, refused)
	mustSQL(t, env, `UPDATE devices SET storage_drives = 1 WHERE id = $1`, refused)
	for i := range 26 { // older batches, long gone
		mustSQL(t, env, `INSERT INTO recycling_batches (workshop_org_id, state, recycler, handed_over_on, total_weight_kg, certificate_ref,
			certificate_key, certificate_size, certificate_sha256, handed_over_at) VALUES ($1, 'handed_over', $2, '2025-01-01', 12.5, $3, $4, 10, $5, now())`,
			shop.ID, h.Recycler, fmt.Sprintf("BSD-2025-%06d", i), fmt.Sprintf("recycling/old/%d.pdf", i), strings.Repeat("b", 64))
	}
	for i := range 30 {
		if _, err := env.DB.CreateLocation(ctx, shop.ID, fmt.Sprintf("Étagère %02d — rayonnage du fond, près de la porte de l'atelier de réparation des écrans", i)); err != nil {
			t.Fatal(err)
		}
	}

	for _, lang := range []string{"/fr", "/eu"} {
		t.Run(lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, tech.Email)
			for _, path := range []string{"/recycling", "/recycling?page=2", fmt.Sprintf("/recycling/%d", open),
				fmt.Sprintf("/recycling/%d?page=2", open), fmt.Sprintf("/recycling/%d", handed), "/scan/cards", "/scan/cards?page=2",
				"/scan/locations", "/scan/locations?page=2", devicePath(devices[40].ID, "/recycling"), devicePath(refused, "/recycling"),
				devicePath(devices[3].ID, "/recycling")} {
				if r := tab.CheckPage(env.URL + lang + path); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", path, r.Status)
				}
			}
			// The handover form sent empty: every error at once.
			tab.Navigate(env.URL + lang + fmt.Sprintf("/recycling/%d", open))
			tab.Click(`form[enctype] button[type=submit]`)
			r := tab.Measure() // a 400 document: Chromium logs it as a console error
			if r.Status != http.StatusBadRequest || tab.Count(`.error-summary li`) != 4 {
				t.Fatalf("refused handover: %d, %d errors", r.Status, tab.Count(`.error-summary li`))
			}
			r.CheckBudgets(t)
			tab.CheckAxe()
			// A location added from its page.
			tab.Navigate(env.URL + lang + "/scan/locations")
			tab.Fill("#f-name", "Palette DEEE "+lang)
			tab.Click(`main form button[type=submit]`)
			if r := tab.CheckCurrentPage(); r.Status != http.StatusOK || tab.Count(`.flash-success`) != 1 {
				t.Errorf("after adding a location: %d, %q", r.Status, tab.Text("main"))
			}
		})
	}
}

// allDonationDevices reads every device of a donation, page by page.
func allDonationDevices(ctx context.Context, env *servertest.Env, id int64) ([]postgres.Device, error) {
	var out []postgres.Device
	for page := 1; ; page++ {
		devs, p, err := env.DB.DonationDevices(ctx, id, postgres.DonationScope{}, page)
		if err != nil {
			return nil, err
		}
		out = append(out, devs...)
		if page >= p.Pages() {
			return out, nil
		}
	}
}
