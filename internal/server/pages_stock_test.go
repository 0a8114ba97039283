package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// The stock page: a workshop adds a part bought, lists and filters its
// own stock, discards a part with a reason; another workshop sees none of
// it; operators see every workshop's and name the workshop of a part they
// add; donors have no stock.
func TestStockPages(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	ctx := context.Background()
	shop, otherShop := deviceWorkshop(t, f.env, f.device), deviceWorkshop(t, f.env, f.otherDevice)

	resp, body := f.tech.Get("/stock")
	wantStatus(t, "empty", resp, body, http.StatusOK)
	mustContain(t, "empty", html.UnescapeString(body), "<h1>Stock de pièces détachées</h1>", "Aucune pièce ne correspond.", `href="/stock?add=1"`)
	resp, body = f.tech.Get("/stock?add=1")
	wantStatus(t, "add form", resp, body, http.StatusOK)
	mustContain(t, "add form", body, `action="/stock"`, `id="f-part_kind"`, `id="f-drive_type"`)
	if strings.Contains(body, `id="f-workshop"`) {
		t.Fatal("a workshop choice for a technician")
	}

	resp, body = f.tech.PostForm("/stock", url.Values{"part_kind": {"hdd"}, "capacity_gb": {"beaucoup"}})
	wantStatus(t, "bad part", resp, body, http.StatusBadRequest)
	mustContain(t, "bad part", body, `class="error-summary"`, `href="#f-capacity_gb"`, `value="beaucoup"`, `action="/stock"`)
	resp, body = f.tech.PostForm("/stock", url.Values{"part_kind": {"ssd_512gb"}, "part_description": {"Crucial MX500"}, "serial": {"CT500"}})
	wantStatus(t, "add", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/stock?kind=ssd_512gb" {
		t.Fatalf("redirect %s", loc)
	}
	resp, body = f.tech.PostForm("/eu/stock", url.Values{"part_kind": {"laptop_battery"}})
	wantStatus(t, "add in Basque", resp, body, http.StatusSeeOther)
	f.tech.Get("/fr/stock") // back to French
	list, _, err := f.env.DB.StockParts(ctx, postgres.StockFilter{WorkshopOrgID: shop})
	if err != nil || len(list) != 2 || list[1].CapacityGB != 512 || list[1].Condition != parts.New {
		t.Fatalf("stock: %+v %v", list, err)
	}
	battery, ssd := list[0], list[1]
	if _, err := f.env.DB.AddStockPart(ctx, otherShop, partsNew("keyboard", "AZERTY"), nil); err != nil {
		t.Fatal(err)
	}

	_, body = f.tech.Get("/stock")
	text := html.UnescapeString(body)
	mustContain(t, "list", text, "2 pièce(s)", "SSD 512 Go — Crucial MX500 · SSD SATA 512 Go · n° de série CT500", "neuve",
		`href="/stock?discard=`+strconv.FormatInt(ssd.ID, 10)+`"`)
	if strings.Contains(text, "AZERTY") {
		t.Fatal("another workshop's part in the list")
	}
	_, body = f.tech.Get("/stock?kind=laptop_battery&state=in_stock")
	if !strings.Contains(body, "1 pièce(s)") {
		t.Fatalf("kind filter:\n%s", body)
	}

	// Discarding: the confirmation, a reason required, then gone for good.
	discard := "/stock/" + strconv.FormatInt(battery.ID, 10) + "/discard"
	resp, body = f.tech.Get("/stock?discard=" + strconv.FormatInt(battery.ID, 10))
	wantStatus(t, "confirmation", resp, body, http.StatusOK)
	mustContain(t, "confirmation", html.UnescapeString(body), "Retirer du stock la pièce n° "+strconv.FormatInt(battery.ID, 10)+", Batterie d'ordinateur portable", `action="`+discard+`"`)
	resp, body = f.tech.PostForm(discard, url.Values{"reason": {"  "}})
	wantStatus(t, "no reason", resp, body, http.StatusBadRequest)
	mustContain(t, "no reason", body, `href="#f-reason"`, `action="`+discard+`"`)
	for name, b := range map[string]*servertest.Browser{"other workshop": f.tech2} {
		b.Get("/stock")
		if resp, _ := b.PostForm(discard, url.Values{"reason": {"x"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s discards: %d", name, resp.StatusCode)
		}
		if resp, _ := b.Get("/stock?discard=" + strconv.FormatInt(battery.ID, 10)); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s confirmation: %d", name, resp.StatusCode)
		}
	}
	resp, body = f.tech.PostForm(discard, url.Values{"reason": {"Batterie gonflée"}})
	wantStatus(t, "discard", resp, body, http.StatusSeeOther)
	resp, body = f.tech.PostForm(discard, url.Values{"reason": {"encore"}})
	wantStatus(t, "discard twice", resp, body, http.StatusConflict)
	mustContain(t, "discard twice", html.UnescapeString(body), "Cette pièce n'est plus en stock (état : « Jetée »)")
	_, body = f.tech.Get("/stock?state=discarded")
	mustContain(t, "discarded", html.UnescapeString(body), "jetée : Batterie gonflée", "1 pièce(s)")
	if strings.Contains(body, "?discard=") {
		t.Fatal("a discard link on a discarded part")
	}
	_, body = f.tech.Get("/stock?state=")
	mustContain(t, "all states", body, "2 pièce(s)")

	// Operators: every workshop, a filter, and the workshop of a part added.
	_, body = f.op.Get("/stock")
	mustContain(t, "operator list", html.UnescapeString(body), "AZERTY", "Atelier Berriz · neuve", `id="filter-workshop"`, "Autre Atelier")
	_, body = f.op.Get("/stock?workshop=" + strconv.FormatInt(otherShop, 10))
	if strings.Contains(body, "Crucial") || !strings.Contains(body, "AZERTY") {
		t.Fatal("workshop filter")
	}
	_, body = f.op.Get("/stock?add=1")
	mustContain(t, "operator add form", body, `id="f-workshop"`, "Autre Atelier")
	resp, body = f.op.PostForm("/stock", url.Values{"part_kind": {"keyboard"}})
	wantStatus(t, "operator without workshop", resp, body, http.StatusBadRequest)
	mustContain(t, "operator without workshop", body, `href="#f-workshop"`)
	resp, body = f.op.PostForm("/stock", url.Values{"workshop": {strconv.FormatInt(otherShop, 10)}, "part_kind": {"keyboard"}})
	wantStatus(t, "operator add", resp, body, http.StatusSeeOther)
	if _, page, _ := f.env.DB.StockParts(ctx, postgres.StockFilter{WorkshopOrgID: otherShop}); page.Total != 2 {
		t.Fatalf("other workshop's stock: %d", page.Total)
	}

	if resp, _ := f.donor.Get("/stock"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor: %d", resp.StatusCode)
	}
	if resp, _ := f.donor.PostForm("/stock", url.Values{"part_kind": {"keyboard"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor adds: %d", resp.StatusCode)
	}
	// The stock is linked from the inventory for staff only.
	_, body = f.tech.Get("/devices")
	mustContain(t, "inventory link", body, `href="/stock"`)
	if _, body = f.donor.Get("/devices"); strings.Contains(body, `href="/stock"`) {
		t.Error("a stock link for a donor")
	}
}
