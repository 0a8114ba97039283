package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// Dismantling from its page: refused (and no form) while a drive is not
// erased; a destroyed drive cannot be ticked; field errors stay on their
// row; with erased drives the device is dismantled and the parts kept are
// in the stock.
func TestDismantlePage(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	ctx := context.Background()
	mustReceiveDevice(t, f.env, f.device, 3)
	path := devicePath(f.device, "/dismantle")

	resp, body := f.tech.Get(path)
	wantStatus(t, "unerased", resp, body, http.StatusOK)
	mustContain(t, "unerased", html.UnescapeString(body), "3 disque(s) sans effacement vérifié", devicePath(f.device, "/erasure"), "Pas encore effacé")
	if strings.Contains(body, `action="`+path+`"`) {
		t.Fatal("a dismantling form for an unerased device")
	}
	resp, body = f.tech.PostForm(path, url.Values{"note": {"x"}})
	wantStatus(t, "unerased post", resp, body, http.StatusConflict)
	if resp, _ := f.donor.Get(path); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor: %d", resp.StatusCode)
	}
	if resp, _ := f.tech2.Get(path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop: %d", resp.StatusCode)
	}

	// Drive 1 erased, 2 destroyed, 3 erased.
	mustSQL(t, f.env, `INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb, drive_serial, method, tool,
		passes, verification, started_at, ended_at, technician_name) VALUES ($1, 1, 2, 'ssd', 256, 'SN-2', 'destroy', 'shredder', 0, 'passed',
		now(), now(), 'Ane Tech'), ($1, 1, 1, 'ssd', 256, 'SN-1', 'purge_crypto_erase', 'nvme_format', 1, 'passed', now(), now(), 'Ane Tech'),
		($1, 1, 3, 'ssd', 256, 'SN-3', 'purge_overwrite', 'nwipe', 1, 'passed', now(), now(), 'Ane Tech')`, f.device)
	_, body = f.tech.Get(path)
	text := html.UnescapeString(body)
	mustContain(t, "erased", text, `action="`+path+`"`, `id="f-keep_drive_1"`, `id="f-keep_drive_3"`, "Détruit : ne se garde pas",
		"Garder : SSD SATA 256 Go · n° de série SN-1", `id="f-part_kind_3"`, `href="`+path+`?rows=4#dismantle"`)
	if strings.Contains(body, `id="f-keep_drive_2"`) || strings.Contains(body, `id="f-part_kind_4"`) || strings.Contains(body, `value="ssd_256gb"`) {
		t.Fatal("a destroyed drive to keep, a fourth row, or a drive kind among the rows")
	}
	_, body = f.tech.Get(path + "?rows=50")
	if !strings.Contains(body, `id="f-part_kind_10"`) || strings.Contains(body, `id="f-part_kind_11"`) || strings.Contains(body, "?rows=11") {
		t.Fatal("rows beyond the limit")
	}

	// Refusals: each on its row, the rows and ticks kept.
	resp, body = f.tech.PostForm(path, url.Values{"keep_drive_1": {"on"}, "part_kind_1": {"gpu"}, "part_description_5": {"une pièce sans type"}})
	wantStatus(t, "bad rows", resp, body, http.StatusBadRequest)
	mustContain(t, "bad rows", body, `href="#f-part_kind_1"`, `href="#f-part_kind_5"`, `id="f-part_kind_5"`, `value="une pièce sans type"`,
		`id="f-keep_drive_1" name="keep_drive_1" form="dismantle" checked`)
	resp, body = f.tech.PostForm(path, url.Values{"keep_drive_2": {"on"}})
	wantStatus(t, "destroyed ticked by hand", resp, body, http.StatusBadRequest)
	mustContain(t, "destroyed ticked by hand", html.UnescapeString(body), "Ce disque a été détruit")

	resp, body = f.tech.PostForm(path, url.Values{"keep_drive_1": {"on"}, "keep_drive_3": {"on"}, "part_kind_1": {"laptop_battery"},
		"part_description_1": {"Batterie 6 cellules, 80 %"}, "part_kind_2": {"ram_8gb"}, "note": {"Carte mère grillée"}})
	wantStatus(t, "dismantle", resp, body, http.StatusSeeOther)
	if st, _ := deviceVersion(t, f.env, f.device); st != "dismantled" {
		t.Fatalf("state %s", st)
	}
	list, page, err := f.env.DB.StockParts(ctx, postgres.StockFilter{WorkshopOrgID: deviceWorkshop(t, f.env, f.device)})
	if err != nil || page.Total != 4 {
		t.Fatalf("stock: %+v %v", list, err)
	}
	drives := 0
	for _, sp := range list {
		if sp.Condition != parts.SecondHand || sp.SourceDeviceID != f.device {
			t.Errorf("kept part %+v", sp)
		}
		if sp.DriveType != "" {
			drives++
			if sp.ErasureID == 0 || sp.Kind != "ssd_256gb" {
				t.Errorf("kept drive %+v", sp)
			}
		}
	}
	if drives != 2 {
		t.Fatalf("%d drives kept", drives)
	}
	_, body = f.tech.Get("/stock")
	mustContain(t, "stock", html.UnescapeString(body), "4 pièce(s)", "Batterie d'ordinateur portable — Batterie 6 cellules, 80 %", "d'occasion, de l'appareil n° ")
	// Once dismantled, the page says so and offers nothing.
	_, body = f.tech.Get(path)
	if strings.Contains(body, `action="`+path+`"`) {
		t.Fatal("a form for a dismantled device")
	}
}
