package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// The diagnosis and grade pages in a browser, with the densest checklist
// (the laptop's: 15 tests, four of which may be absent) filled with the
// longest notes, in French and Basque: within the budgets, zero axe
// violations, a refused form too. In French the journey of the part: a
// received laptop is diagnosed by clicking through the checklist, then
// "Mark diagnosed" on the device page works.
func TestDiagnosisPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	donorOrg := env.MustOrg(t, account.KindIntercommunality, "Communauté d'agglomération Pays basque — direction du numérique")
	donor := env.MustUser(t, donorOrg.ID, "Amaia Etxeberria", false)
	shop := env.MustOrg(t, account.KindWorkshop, "Atelier de reconditionnement Berriz Lapurdi")
	tech := env.MustUser(t, shop.ID, "Ane Tech", false)
	var lines []donation.Line
	for i := 1; i <= 3; i++ {
		lines = append(lines, donation.Line{Category: "laptop", Brand: "Hewlett-Packard", Model: "EliteBook 840 G5 long model name",
			Serial: fmt.Sprintf("5CG8123%03d", i), Year: 2019, Quantity: 1, StorageDrives: 1, WeightKg: 1.5})
	}
	d, err := env.DB.CreateDonation(ctx, donorOrg.ID, nil, "Renouvellement du parc informatique des services techniques", "", lines)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, d.ID, shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	devs, _, _ := env.DB.Devices(ctx, postgres.DeviceFilter{DonationID: d.ID})
	full, journey := devs[0].ID, devs[1].ID
	for _, id := range []int64{full, journey} {
		mustReceiveDevice(t, env, id, 1)
		mustSQL(t, env, `UPDATE devices SET battery_health_pct = 74, os = 'Debian 13 (Trixie)' WHERE id = $1`, id)
	}
	// The full device: every test answered with the longest note, then
	// wiped, so its grade page shows the form.
	c, _ := diagnosis.ForCategory("laptop")
	b := env.SignIn(t, tech.Email)
	form := url.Values{"cosmetic": {"B"}, "notes": {string([]rune(strings.Repeat("Rayures légères sur le capot, charnière gauche un peu dure. ", 40))[:2000])}}
	for i, it := range c.Items {
		form.Set("result_"+it.ID, []string{"pass", "fail", "pass"}[i%3])
		if it.MayBeAbsent {
			form.Set("result_"+it.ID, "na")
		}
		if it.Critical {
			form.Set("result_"+it.ID, "pass")
		}
		form.Set("note_"+it.ID, string([]rune(strings.Repeat("Défaut intermittent constaté après chauffe, à surveiller. ", 4))[:200]))
	}
	resp, body := b.PostForm(devicePath(full, "/diagnosis"), form)
	wantStatus(t, "full diagnosis", resp, body, http.StatusSeeOther)
	mustSQL(t, env, `UPDATE devices SET state = 'wiped' WHERE id = $1`, full)

	for _, lang := range []string{"/fr", "/eu"} {
		t.Run("workshop"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, tech.Email)
			for _, p := range []string{devicePath(full, "/diagnosis"), devicePath(full, "/grade"), devicePath(journey, "/diagnosis")} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
			// The largest page: the full checklist, pre-filled; measured.
			tab.Navigate(env.URL + lang + devicePath(full, "/diagnosis"))
			r := tab.Measure()
			t.Logf("%s diagnosis page: %d DOM elements, %d bytes, %d requests", lang, r.DOMElements, r.Bytes, r.Requests)
			if n := tab.Count("main fieldset"); n != len(c.Items)+1 {
				t.Errorf("%d fieldsets, want %d", n, len(c.Items)+1)
			}
			// A refused form: a note on a test left unanswered.
			tab.Navigate(env.URL + lang + devicePath(journey, "/diagnosis"))
			tab.Fill(`#f-note_screen`, "Pixel bloqué en haut à gauche")
			tab.Click(`form[action$="/diagnosis"] button[type=submit]`)
			r = tab.Measure()
			r.CheckBudgets(t)
			tab.CheckAxe()
			if n := tab.Count(".error-summary a"); n != 1 {
				t.Errorf("error summary: %d links, want 1", n)
			}
			// The grade page refusing a grade without its reason.
			tab.Navigate(env.URL + lang + devicePath(full, "/grade"))
			tab.Click(`#f-grade`)
			tab.Click(`form[action$="/grade"] button[type=submit]`)
			tab.Measure().CheckBudgets(t)
			tab.CheckAxe()
			if n := tab.Count(".error-summary a"); n != 1 {
				t.Errorf("grade error summary: %d links, want 1", n)
			}
		})
		t.Run("donor"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, donor.Email)
			for _, p := range []string{devicePath(full, "/diagnosis"), devicePath(full, "/grade")} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
			if n := tab.Count(`input[type=radio]`); n != 0 {
				t.Errorf("the donor gets %d radios", n)
			}
		})
	}

	// The journey: received → the checklist clicked through → Mark
	// diagnosed on the device page.
	t.Run("journey", func(t *testing.T) {
		tab := donationSignInTab(t, env, "/fr", tech.Email)
		tab.Navigate(env.URL + devicePath(journey))
		tab.Click(`a[href$="/diagnosis"]`)
		for _, it := range c.Items {
			if it.ID == "camera" {
				tab.Click("#f-result_camera-fail")
				tab.Fill("#f-note_camera", "Objectif rayé")
				continue
			}
			tab.Click("#f-result_" + it.ID)
		}
		tab.Click("#f-cosmetic")
		tab.Click(`form[action$="/diagnosis"] button[type=submit]`)
		tab.CheckCurrentPage()
		if got := tab.Text(".flash"); got != "Diagnostic enregistré." {
			t.Fatalf("flash %q", got)
		}
		tab.Click(`form[action$="/state"] input[value="diagnosed"] ~ button`)
		tab.CheckCurrentPage()
		if st, _ := deviceVersion(t, env, journey); st != "diagnosed" {
			t.Fatalf("state %s after Mark diagnosed", st)
		}
		// One minor failure and a battery at 74 %: B at best; cosmetic A.
		rec, err := env.DB.LatestDiagnosis(ctx, journey, 1)
		if err != nil || !rec.Complete || rec.SuggestedGrade != "B" || rec.CreatedByName != "Ane Tech" {
			t.Fatalf("recorded %+v %v", rec, err)
		}
	})
}
