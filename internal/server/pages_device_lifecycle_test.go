package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// mustReceiveDevice links a fresh tag of the device's workshop to a
// declared device, which becomes received, and records its drives.
func mustReceiveDevice(t *testing.T, env *servertest.Env, id int64, drives int) {
	t.Helper()
	ctx := context.Background()
	d, err := env.DB.Device(ctx, id, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	_, codes := mustServerBatch(t, env.DB, d.WorkshopOrgID, 0, 1)
	if _, err := env.DB.IntakeDevice(ctx, codes[0], id, d.WorkshopOrgID, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= drives; n++ {
		mustSQL(t, env, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, $2, 'ssd', 256, $3)`,
			id, n, fmt.Sprintf("SN-%d", n))
	}
	mustSQL(t, env, `UPDATE devices SET storage_drives = $2 WHERE id = $1`, id, drives)
}

func mustSQL(t *testing.T, env *servertest.Env, q string, args ...any) {
	t.Helper()
	if _, err := env.DB.SQL().ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func mustDiagnosed(t *testing.T, env *servertest.Env, id int64) {
	t.Helper()
	mustSQL(t, env, `INSERT INTO diagnoses (device_id, cycle, checklist, complete) SELECT id, cycle, 'laptop/v1', true FROM devices WHERE id = $1`, id)
}

func deviceVersion(t *testing.T, env *servertest.Env, id int64) (string, int) {
	t.Helper()
	st, _, err := env.DB.DeviceFacts(context.Background(), id, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	return string(st.State), st.Version
}

// The device page shows its workshop the next steps, a button for each
// step the rules allow and what the others still need; a step taken with a
// stale version shows the page again with the fresh state and why.
func TestDeviceStepsOnThePage(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	mustReceiveDevice(t, f.env, f.device, 1)
	path := devicePath(f.device)

	_, body := f.tech.Get(path)
	if strings.Contains(body, `name="to" value="diagnosed"`) {
		t.Fatal("a diagnosed button without a diagnosis")
	}
	if !strings.Contains(html.UnescapeString(body), "Enregistrez d'abord le diagnostic") || !strings.Contains(body, path+"/diagnosis") {
		t.Fatalf("the page does not say a diagnosis is missing:\n%s", body)
	}
	_, donorBody := f.donor.Get(path)
	if strings.Contains(donorBody, `action="/fr`+path+`/state"`) || strings.Contains(donorBody, "diagnosis") {
		t.Fatal("the donor sees the workshop's steps")
	}

	mustDiagnosed(t, f.env, f.device)
	_, body = f.tech.Get(path)
	if !strings.Contains(body, `<input type="hidden" name="to" value="diagnosed">`) {
		t.Fatalf("no diagnosed button:\n%s", body)
	}
	_, version := deviceVersion(t, f.env, f.device)
	resp, _ := f.tech.PostForm(path+"/state", url.Values{"to": {"diagnosed"}, "version": {strconv.Itoa(version)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("diagnosed: %d", resp.StatusCode)
	}
	if st, v := deviceVersion(t, f.env, f.device); st != "diagnosed" || v != version+1 {
		t.Fatalf("after the step: %s v%d", st, v)
	}
	// The same form again, from a tab left open: stale.
	resp, body = f.tech.PostForm(path+"/state", url.Values{"to": {"diagnosed"}, "version": {strconv.Itoa(version)}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(html.UnescapeString(body), "Quelqu'un a modifié cet appareil entre-temps : il est maintenant « Diagnostiqué »") {
		t.Fatalf("stale form: %d\n%s", resp.StatusCode, body)
	}
	// A step the rules refuse, with a fresh version: why, and what to do.
	_, version = deviceVersion(t, f.env, f.device)
	resp, body = f.tech.PostForm(path+"/state", url.Values{"to": {"wiped"}, "version": {strconv.Itoa(version)}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(html.UnescapeString(body), "1 disque(s) sans effacement vérifié") {
		t.Fatalf("wiped without erasure: %d\n%s", resp.StatusCode, body)
	}
	// A form without a version is stale by definition; an unknown state is refused.
	resp, _ = f.tech.PostForm(path+"/state", url.Values{"to": {"wiped"}})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("no version: %d", resp.StatusCode)
	}
	resp, _ = f.tech.PostForm(path+"/state", url.Values{"to": {"lost"}, "version": {strconv.Itoa(version)}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown state: %d", resp.StatusCode)
	}
	// Another workshop, and the donor, cannot touch it.
	resp, _ = f.tech2.PostForm(path+"/state", url.Values{"to": {"wiped"}, "version": {strconv.Itoa(version)}})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("other workshop: %d", resp.StatusCode)
	}
	resp, _ = f.donor.PostForm(path+"/state", url.Values{"to": {"wiped"}, "version": {strconv.Itoa(version)}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("donor: %d", resp.StatusCode)
	}

	// The history, for the donor too: intake then diagnosis, newest first.
	resp, body = f.donor.Get(path + "/history")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("history: %d", resp.StatusCode)
	}
	i, j := strings.Index(body, "Réceptionné → Diagnostiqué"), strings.Index(body, "Déclaré → Réceptionné")
	if i < 0 || j < 0 || i > j || !strings.Contains(body, "Ane Tech") {
		t.Fatalf("history:\n%s", body)
	}
	if resp, _ := f.other.Get(path + "/history"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another donor's history: %d", resp.StatusCode)
	}
}

type apiErrorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
		Details map[string]any    `json:"details"`
	} `json:"error"`
}

// The JSON face of the lifecycle: steps, conflicts with the fresh state,
// bad bodies, scope, and the event log with its hashes.
func TestDeviceTransitionsAPI(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	f := mustAPIDevice(t, env)
	mustReceiveDevice(t, env, f.device, 0)
	path := fmt.Sprintf("/api/v1/devices/%d/transitions", f.device)
	post := func(b *servertest.Browser, body string) (*http.Response, apiErrorBody, string) {
		resp, raw := b.Do(http.MethodPost, path, strings.NewReader(body), "Content-Type", "application/json")
		var e apiErrorBody
		_ = json.Unmarshal([]byte(raw), &e)
		return resp, e, raw
	}
	_, v := deviceVersion(t, env, f.device)
	resp, e, _ := post(f.tech, fmt.Sprintf(`{"to":"diagnosed","version":%d}`, v))
	if resp.StatusCode != http.StatusConflict || e.Error.Details["state"] != "received" || e.Error.Details["version"] != float64(v) ||
		!strings.Contains(e.Error.Message, "diagnostic") {
		t.Fatalf("without a diagnosis: %d %+v", resp.StatusCode, e)
	}
	mustDiagnosed(t, env, f.device)
	resp, _, raw := post(f.tech, fmt.Sprintf(`{"to":"diagnosed","version":%d,"note":"RAS"}`, v))
	var st postgres.DeviceState
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(raw), &st) != nil || st.State != "diagnosed" || st.Version != v+1 {
		t.Fatalf("diagnosed: %d %s", resp.StatusCode, raw)
	}
	resp, e, _ = post(f.tech, fmt.Sprintf(`{"to":"wiped","version":%d}`, v))
	if resp.StatusCode != http.StatusConflict || e.Error.Details["state"] != "diagnosed" || e.Error.Details["version"] != float64(v+1) {
		t.Fatalf("stale: %d %+v", resp.StatusCode, e)
	}
	// No storage: wiped needs no erasure; without a version, no check.
	if resp, _, raw := post(f.tech, `{"to":"wiped"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("wiped: %d %s", resp.StatusCode, raw)
	}
	for body, field := range map[string]string{`{"to":"lost"}`: "to", `{"to":"refurbished","version":-1}`: "version", `{"to":"refurbished","extra":1}`: "extra", `{"to":3}`: "to"} {
		if resp, e, _ := post(f.tech, body); resp.StatusCode != http.StatusBadRequest || e.Error.Fields[field] == "" {
			t.Errorf("%s: %d %+v", body, resp.StatusCode, e)
		}
	}
	if resp, _, _ := post(f.tech, `not json`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("not JSON: %d", resp.StatusCode)
	}
	if resp, _ := f.tech.Do(http.MethodPost, path, strings.NewReader(`{"to":"refurbished"}`), "Content-Type", "text/plain"); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", resp.StatusCode)
	}
	if resp, _, _ := post(f.otherTech, `{"to":"refurbished"}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop: %d", resp.StatusCode)
	}
	if resp, _, _ := post(f.donor, `{"to":"refurbished"}`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor: %d", resp.StatusCode)
	}

	resp, raw = f.donor.Get(fmt.Sprintf("/api/v1/devices/%d/events", f.device))
	var page struct {
		Items []postgres.DeviceEvent `json:"items"`
		Total int                    `json:"total"`
	}
	// Intake, diagnosed, wiped, and the erasure certificate issued on wiped.
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(raw), &page) != nil || page.Total != 4 || len(page.Items) != 4 ||
		page.Items[0].Kind != postgres.EventCertified {
		t.Fatalf("events: %d %s", resp.StatusCode, raw)
	}
	if e := page.Items[2]; e.To != "diagnosed" || e.Note != "RAS" || len(e.Hash) != 64 || e.Seq != 2 {
		t.Fatalf("event %+v", e)
	}
	if rep, err := env.DB.VerifyEventChains(ctx); err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}

// 50 concurrent requests through the API, all with the version they saw:
// one 200, 49 409s carrying the fresh state, and one event more.
func TestConcurrentTransitionRequests(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	f := mustAPIDevice(t, env)
	mustReceiveDevice(t, env, f.device, 0)
	mustDiagnosed(t, env, f.device)
	_, v := deviceVersion(t, env, f.device)
	body := fmt.Sprintf(`{"to":"diagnosed","version":%d}`, v)
	path := fmt.Sprintf("/api/v1/devices/%d/transitions", f.device)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		status = map[int]int{}
		fresh  int
	)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, raw := f.tech.Do(http.MethodPost, path, strings.NewReader(body), "Content-Type", "application/json")
			var e apiErrorBody
			_ = json.Unmarshal([]byte(raw), &e)
			mu.Lock()
			defer mu.Unlock()
			status[resp.StatusCode]++
			if resp.StatusCode == http.StatusConflict && e.Error.Details["state"] == "diagnosed" && e.Error.Details["version"] == float64(v+1) {
				fresh++
			}
		}()
	}
	wg.Wait()
	if status[http.StatusOK] != 1 || status[http.StatusConflict] != 49 || fresh != 49 {
		t.Fatalf("answers %v, %d conflicts with the fresh state", status, fresh)
	}
	if st, nv := deviceVersion(t, env, f.device); st != "diagnosed" || nv != v+1 {
		t.Fatalf("after: %s v%d", st, nv)
	}
	events, _, err := env.DB.DeviceEvents(context.Background(), f.device, 1)
	if err != nil || len(events) != 2 {
		t.Fatalf("%d events, %v", len(events), err)
	}
}

// apiDevice is a device held by a workshop, with API tokens of its
// technician, another workshop's and its donor.
type apiDevice struct {
	device                  int64
	tech, otherTech, donor  *servertest.Browser
	shop, otherShop, donorO account.Organisation
}

func mustAPIDevice(t *testing.T, env *servertest.Env) apiDevice {
	t.Helper()
	var f apiDevice
	f.donorO = env.MustOrg(t, account.KindCommune, "Mairie de Biarritz")
	f.shop = env.MustOrg(t, account.KindWorkshop, "Atelier Lapurdi")
	f.otherShop = env.MustOrg(t, account.KindWorkshop, "Atelier Zuberoa")
	tech := env.MustUser(t, f.shop.ID, "Ane Tech", false)
	other := env.MustUser(t, f.otherShop.ID, "Peio Tech", false)
	donor := env.MustUser(t, f.donorO.ID, "Maite Donor", false)
	f.tech = env.API(t, env.MustToken(t, f.shop.ID, tech.ID, "write"))
	f.otherTech = env.API(t, env.MustToken(t, f.otherShop.ID, other.ID, "write"))
	f.donor = env.API(t, env.MustToken(t, f.donorO.ID, donor.ID, "write"))
	ctx := context.Background()
	d, err := env.DB.CreateDonation(ctx, f.donorO.ID, nil, "Lot", "", []donation.Line{{Category: "monitor_24", Quantity: 1, WeightKg: 4.5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, d.ID, f.shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	devs, _, err := env.DB.Devices(ctx, postgres.DeviceFilter{DonationID: d.ID})
	if err != nil || len(devs) != 1 {
		t.Fatal(err)
	}
	f.device = devs[0].ID
	return f
}
