package server_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// mustErasedDrives records a verified erasure of every drive of a device
// in its current cycle.
func mustErasedDrives(t *testing.T, env *servertest.Env, id int64) {
	t.Helper()
	mustSQL(t, env, `INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb, drive_serial, method,
		tool, passes, verification, started_at, ended_at, technician_name)
		SELECT v.id, v.cycle, dd.position, dd.type, dd.capacity_gb, dd.serial, 'purge_overwrite', 'nwipe', 1, 'passed', now(), now(), 'Ane Tech'
		FROM devices v JOIN device_drives dd ON dd.device_id = v.id WHERE v.id = $1`, id)
}

func mustMoveDevice(t *testing.T, env *servertest.Env, id int64, to lifecycle.State) {
	t.Helper()
	if _, err := env.DB.TransitionDevice(context.Background(), id, postgres.DonationScope{}, postgres.Transition{To: to}, nil); err != nil {
		t.Fatalf("device %d to %s: %v", id, to, err)
	}
}

// mustWipedDevice takes a declared device to wiped with its drives.
func mustWipedDevice(t *testing.T, env *servertest.Env, id int64, drives int) {
	t.Helper()
	mustReceiveDevice(t, env, id, drives)
	mustDiagnosed(t, env, id)
	mustMoveDevice(t, env, id, lifecycle.Diagnosed)
	mustErasedDrives(t, env, id)
	mustMoveDevice(t, env, id, lifecycle.Wiped)
}

func deviceWorkshop(t *testing.T, env *servertest.Env, id int64) int64 {
	t.Helper()
	d, err := env.DB.Device(context.Background(), id, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	return d.WorkshopOrgID
}

// The repairs page: the list for whoever sees the device, the forms for
// its workshop; every form records and refuses with field errors, in the
// right form; other workshops and donors cannot write.
func TestRepairsPage(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	mustWipedDevice(t, f.env, f.device, 1)
	path := devicePath(f.device, "/repairs")
	ctx := context.Background()

	resp, body := f.tech.Get(path)
	wantStatus(t, "page", resp, body, http.StatusOK)
	mustContain(t, "page", html.UnescapeString(body), "Réparations et pièces", "Aucune opération enregistrée", `action="`+path+`"`,
		`action="`+devicePath(f.device, "/parts")+`"`, "Aucune pièce en stock dans l'atelier.", `name="part_kind"`, `value="ssd_256gb"`)
	_, donorBody := f.donor.Get(path)
	if strings.Contains(donorBody, `action="`+path+`"`) || !strings.Contains(donorBody, "Réparations et pièces") {
		t.Fatalf("the donor's view:\n%s", donorBody)
	}
	for name, b := range map[string]*servertest.Browser{"other donor": f.other, "other workshop": f.tech2} {
		if resp, _ := b.Get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}

	// Work: refused with the fields of its own form, then recorded.
	resp, body = f.tech.PostForm(path, url.Values{"kind": {"repair"}, "description": {" "}, "minutes": {"beaucoup"}})
	wantStatus(t, "bad work", resp, body, http.StatusBadRequest)
	mustContain(t, "bad work", body, `class="error-summary"`, `href="#f-description"`, `href="#f-minutes"`, `id="f-minutes-error"`, `value="beaucoup"`)
	if strings.Contains(body, `id="f-os_minutes-error"`) {
		t.Error("the error shows on the OS form too")
	}
	resp, body = f.tech.PostForm(path, url.Values{"kind": {"repair"}, "description": {"Charnière gauche remplacée"}, "minutes": {"25"}})
	wantStatus(t, "work", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != path {
		t.Fatalf("redirect to %s", loc)
	}
	// The OS form: its own fields.
	resp, body = f.tech.PostForm(path, url.Values{"kind": {"os_install"}, "os": {""}, "os_minutes": {"-4"}})
	wantStatus(t, "bad OS", resp, body, http.StatusBadRequest)
	mustContain(t, "bad OS", body, `href="#f-os"`, `href="#f-os_minutes"`)
	resp, body = f.tech.PostForm(path, url.Values{"kind": {"os_install"}, "os": {"Debian 13 (Trixie)"}, "os_minutes": {"40"}})
	wantStatus(t, "OS", resp, body, http.StatusSeeOther)
	if d, _ := f.env.DB.Device(ctx, f.device, postgres.DonationScope{}); d.Specs.OS != "Debian 13 (Trixie)" {
		t.Fatalf("OS %q", d.Specs.OS)
	}

	// A new part: a drive joins the device, erased (new_blank).
	parts := devicePath(f.device, "/parts")
	resp, body = f.tech.PostForm(parts, url.Values{"part_kind": {"laptop_battery"}, "capacity_gb": {"12"}, "part_minutes": {"5"}})
	wantStatus(t, "battery with a capacity", resp, body, http.StatusBadRequest)
	mustContain(t, "battery with a capacity", html.UnescapeString(body), `href="#f-capacity_gb"`, "Seul un disque a un type")
	resp, body = f.tech.PostForm(parts, url.Values{"part_kind": {""}, "part_minutes": {"5"}})
	wantStatus(t, "no kind", resp, body, http.StatusBadRequest)
	mustContain(t, "no kind", body, `href="#f-part_kind"`)
	resp, body = f.tech.PostForm(parts, url.Values{"part_kind": {"ssd_256gb"}, "part_description": {"Samsung 870 EVO"}, "serial": {"S6PT1"}, "part_minutes": {"10"}})
	wantStatus(t, "new SSD", resp, body, http.StatusSeeOther)
	_, facts, _ := f.env.DB.DeviceFacts(ctx, f.device, postgres.DonationScope{})
	if facts.Drives != 2 || facts.DrivesErased != 2 {
		t.Fatalf("facts after a new SSD: %+v", facts)
	}

	// A part of the stock: fitted once, then gone; another workshop's is not found.
	shop := deviceWorkshop(t, f.env, f.device)
	sp, err := f.env.DB.AddStockPart(ctx, shop, partsNew("ram_8gb", "DDR4 2666"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, body = f.tech.Get(path)
	mustContain(t, "stock select", html.UnescapeString(body), `<optgroup label="Barrette de mémoire 8 Go">`, "n° "+strconv.FormatInt(sp.ID, 10)+" (neuve) · DDR4 2666")
	resp, body = f.tech.PostForm(parts, url.Values{"stock_part_id": {strconv.FormatInt(sp.ID, 10)}, "stock_minutes": {"3"}})
	wantStatus(t, "stock part", resp, body, http.StatusSeeOther)
	resp, body = f.tech.PostForm(parts, url.Values{"stock_part_id": {strconv.FormatInt(sp.ID, 10)}})
	wantStatus(t, "stock part again", resp, body, http.StatusConflict)
	mustContain(t, "stock part again", html.UnescapeString(body), "Cette pièce n'est plus en stock (état : « Montée »)")
	resp, _ = f.tech.PostForm(parts, url.Values{"stock_part_id": {"abc"}})
	wantStatus(t, "bad stock id", resp, "", http.StatusBadRequest)
	otherShop := deviceWorkshop(t, f.env, f.otherDevice)
	foreign, err := f.env.DB.AddStockPart(ctx, otherShop, partsNew("keyboard", ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = f.tech.PostForm(parts, url.Values{"stock_part_id": {strconv.FormatInt(foreign.ID, 10)}})
	wantStatus(t, "foreign stock part", resp, body, http.StatusNotFound)

	// The list: newest first, the part fitted with its condition and stock number.
	_, body = f.tech.Get(path)
	text := html.UnescapeString(body)
	mustContain(t, "list", text, "Cycle 1 : 4 opération(s), 78 minutes en tout", "Pièce montée — Barrette de mémoire 8 Go (neuve) : DDR4 2666 · stock n° "+strconv.FormatInt(sp.ID, 10),
		"Pièce montée — SSD 256 Go (neuve) : Samsung 870 EVO · disque 2", "Installation du système — Debian 13 (Trixie)", "Réparation — Charnière gauche remplacée", "Ane Tech")
	if i, j := strings.Index(text, "Barrette de mémoire 8 Go (neuve)"), strings.Index(text, "Charnière gauche"); i > j {
		t.Error("not newest first")
	}

	// Nobody else writes.
	if resp, _ := f.donor.PostForm(path, url.Values{"kind": {"repair"}, "description": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor: %d", resp.StatusCode)
	}
	f.tech2.Get("/devices")
	if resp, _ := f.tech2.PostForm(path, url.Values{"kind": {"repair"}, "description": {"x"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop: %d", resp.StatusCode)
	}
	if resp, _ := f.tech2.PostForm(parts, url.Values{"part_kind": {"keyboard"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop fits: %d", resp.StatusCode)
	}

	// Published: no more work, and the page says why.
	mustSQL(t, f.env, `UPDATE devices SET state = 'available' WHERE id = $1`, f.device)
	_, body = f.tech.Get(path)
	if strings.Contains(body, `action="`+parts+`"`) || !strings.Contains(html.UnescapeString(body), "entre la réception et la publication") {
		t.Fatalf("published device:\n%s", body)
	}
	resp, body = f.tech.PostForm(path, url.Values{"kind": {"cleaning"}, "description": {"x"}})
	wantStatus(t, "published device", resp, body, http.StatusConflict)
}

func partsNew(kind, description string) parts.NewPart {
	return parts.NewPart{Kind: kind, Description: description}
}

// From wiped on, the specs form keeps the drives: changing them is a 409
// that says how drives change now; the rest of the specs still saves.
func TestSpecsKeepErasedDrives(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	mustWipedDevice(t, f.env, f.device, 1)
	path := devicePath(f.device, "/specs")
	f.tech.Get(devicePath(f.device))
	same := url.Values{"cpu": {"Intel Core i5-8350U"}, "drive_type_1": {"ssd"}, "drive_capacity_1": {"256"}, "drive_serial_1": {"SN-1"}}
	resp, body := f.tech.PostForm(path, same)
	wantStatus(t, "same drives", resp, body, http.StatusSeeOther)
	changed := url.Values{"cpu": {"Intel Core i7"}, "drive_type_1": {"ssd"}, "drive_capacity_1": {"512"}, "drive_serial_1": {"SN-1"}}
	resp, body = f.tech.PostForm(path, changed)
	wantStatus(t, "changed drive", resp, body, http.StatusConflict)
	mustContain(t, "changed drive", html.UnescapeString(body), "Cet appareil est « Effacé » : ses disques ont été effacés")
	d, _ := f.env.DB.Device(context.Background(), f.device, postgres.DonationScope{})
	if d.Specs.CPU != "Intel Core i5-8350U" || d.Specs.Drives[0].CapacityGB != 256 {
		t.Fatalf("specs: %+v", d.Specs)
	}
	raw := `{"cpu":"x","drives":[]}`
	api := f.env.API(t, f.env.MustToken(t, deviceWorkshop(t, f.env, f.device), f.env.MustUser(t, deviceWorkshop(t, f.env, f.device), "Jon", false).ID, "write"))
	resp, body = api.Do(http.MethodPut, "/api/v1"+devicePath(f.device, "/specs"), strings.NewReader(raw), "Content-Type", "application/json")
	var e apiErrorBody
	if resp.StatusCode != http.StatusConflict || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "conflict" ||
		e.Error.Details["state"] != "wiped" || !strings.Contains(e.Error.Message, "ses disques ont été effacés") {
		t.Fatalf("API: %d %s", resp.StatusCode, body)
	}
}
