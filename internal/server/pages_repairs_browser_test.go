package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// The repairs, dismantling and stock pages with the longest lists they
// allow — a full page of records and a pager, the stock select full with
// parts left over, eight drives and every part row of the dismantling
// form, a full page of stock — as the workshop and the operator, in French
// and Basque: within the budgets, zero axe violations, refused forms too.
func TestPartsPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	donorOrg := env.MustOrg(t, account.KindIntercommunality, "Communauté d'agglomération Pays basque — direction du numérique")
	donor := env.MustUser(t, donorOrg.ID, "Amaia Etxeberria", false)
	shop := env.MustOrg(t, account.KindWorkshop, "Atelier de reconditionnement Berriz Lapurdi — insertion")
	tech := env.MustUser(t, shop.ID, "Ane Etxegarai-Bidegain", false)
	opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique du Pays basque")
	operator := env.MustUser(t, opOrg.ID, "Maddi Etxart", true)
	var lines []donation.Line
	for i := 1; i <= 2; i++ {
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
	repaired, stripped := devs[1].ID, devs[0].ID
	actor := &account.Principal{UserID: tech.ID, OrgID: shop.ID, OrgKind: shop.Kind, Name: tech.Name}
	scope := postgres.DonationScope{WorkshopOrgID: shop.ID}

	// The stock: 40 parts of every kind, long descriptions.
	kinds := parts.Kinds()
	for i := range 40 {
		k := kinds[i%len(kinds)]
		np := parts.NewPart{Kind: k, Description: fmt.Sprintf("Pièce de rechange reconditionnée, lot %03d, fournisseur régional", i)}
		if k == "hdd" || k == "other" {
			np.DriveType, np.CapacityGB = device.HDD, 2000
			if k == "other" {
				np.DriveType = device.Other
			}
		}
		if parts.DriveKind(k) || np.DriveType != "" {
			np.Serial = fmt.Sprintf("WD-WCC4N%07d", i)
		}
		if _, err := env.DB.AddStockPart(ctx, shop.ID, np, actor); err != nil {
			t.Fatalf("stock part %d (%s): %v", i, k, err)
		}
	}
	// A device with 14 records: a page and a half.
	mustWipedDevice(t, env, repaired, 2)
	for i := range 12 {
		w := parts.Work{Kind: parts.RecordedKinds[i%3], Minutes: 5 + i,
			Description: "Remplacement de la charnière gauche, nettoyage du ventilateur et de la pâte thermique, contrôle " + strconv.Itoa(i)}
		if _, err := env.DB.AddRepair(ctx, repaired, scope, w, actor); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"ssd_512gb", "laptop_battery"} {
		if _, err := env.DB.FitPart(ctx, repaired, scope, parts.Fit{NewPart: parts.NewPart{Kind: k, Description: "Pièce neuve du fournisseur régional"}, Minutes: 15}, actor); err != nil {
			t.Fatal(err)
		}
	}
	// A device with eight drives, seven erased and one destroyed.
	mustReceiveDevice(t, env, stripped, 8)
	mustErasedDrives(t, env, stripped)
	mustSQL(t, env, `INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb, drive_serial, method, tool,
		passes, verification, started_at, ended_at, technician_name) VALUES ($1, 1, 8, 'ssd', 256, 'SN-8', 'destroy', 'shredder', 0, 'passed',
		now(), now(), 'Ane')`, stripped)
	list, _, err := env.DB.StockParts(ctx, postgres.StockFilter{WorkshopOrgID: shop.ID, State: parts.InStock})
	if err != nil || len(list) == 0 {
		t.Fatal(err)
	}
	inStock := strconv.FormatInt(list[0].ID, 10)
	if _, err := env.DB.DiscardStockPart(ctx, list[1].ID, shop.ID, "Batterie gonflée, à recycler avec la filière DEEE", actor); err != nil {
		t.Fatal(err)
	}
	// Other workshops, for the operator's filters.
	for i := range 6 {
		w := env.MustOrg(t, account.KindWorkshop, fmt.Sprintf("Atelier solidaire de reconditionnement numéro %d", i+1))
		if _, err := env.DB.AddStockPart(ctx, w.ID, parts.NewPart{Kind: "keyboard"}, nil); err != nil {
			t.Fatal(err)
		}
	}

	repairs, dismantle := devicePath(repaired, "/repairs"), devicePath(stripped, "/dismantle")
	for _, lang := range []string{"/fr", "/eu"} {
		t.Run("workshop"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, tech.Email)
			for _, p := range []string{repairs, repairs + "?page=2", dismantle + "?rows=10", "/stock", "/stock?state=",
				"/stock?add=1", "/stock?discard=" + inStock} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
			tab.Navigate(env.URL + lang + repairs)
			if n := tab.Count("tbody tr"); n != 10 {
				t.Errorf("repairs: %d rows, want 10", n)
			}
			if n := tab.Count("#f-stock_part_id option"); n != 30 {
				t.Errorf("stock select: %d options, want 30", n)
			}
			// Refused forms: the error summary and field errors pass too.
			tab.Fill("#f-minutes", "beaucoup")
			tab.Click(`form[action$="/repairs"] button[type=submit]`)
			tab.Measure().CheckBudgets(t)
			tab.CheckAxe()
			if n := tab.Count(".error-summary a"); n != 2 {
				t.Errorf("repairs error summary: %d links, want 2", n)
			}
			tab.Navigate(env.URL + lang + dismantle + "?rows=10")
			tab.Fill("#f-part_description_10", "Une pièce sans type")
			tab.Click(`#dismantle button[type=submit]`)
			tab.Measure().CheckBudgets(t)
			tab.CheckAxe()
			tab.Navigate(env.URL + lang + "/stock?add=1")
			tab.Fill("#f-capacity_gb", "deux")
			tab.Click(`main form[method=post] button[type=submit]`)
			tab.Measure().CheckBudgets(t)
			tab.CheckAxe()
			tab.Navigate(env.URL + lang + "/stock")
			if n := tab.Count("tbody tr"); n != 25 {
				t.Errorf("stock: %d rows, want 25", n)
			}
		})
		// The operator's menu and filters are the longest; the donor reads.
		viewer, email := "operator", operator.Email
		if lang == "/eu" {
			viewer, email = "donor", donor.Email
		}
		t.Run(viewer+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, email)
			if viewer == "donor" {
				if r := tab.CheckPage(env.URL + lang + repairs); r.Status != http.StatusOK {
					t.Errorf("repairs: status %d", r.Status)
				}
				return
			}
			for _, p := range []string{"/stock", "/stock?state=", "/stock?add=1", repairs, dismantle + "?rows=10"} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
		})
	}
	// The page's dismantling really works from the browser.
	t.Run("dismantle", func(t *testing.T) {
		tab := donationSignInTab(t, env, "/fr", tech.Email)
		tab.Navigate(env.URL + "/fr" + dismantle)
		tab.Click("#f-keep_drive_1")
		tab.Click("#dismantle button[type=submit]")
		tab.CheckCurrentPage()
		if st, _ := deviceVersion(t, env, stripped); st != string(lifecycle.Dismantled) {
			t.Fatalf("state %s", st)
		}
	})
}
