package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

type scanReply struct {
	Key, Code, Outcome, Result, Message, Action, Banner, Next string
	Device                                                    *struct {
		ID    int64
		Label string
		State string
	}
	Error struct {
		Code    string
		Message string
		Fields  map[string]string
	}
}

func postScan(t *testing.T, b *servertest.Browser, body string, headers ...string) (*http.Response, string, scanReply) {
	t.Helper()
	h := append([]string{"Content-Type", "application/json"}, headers...)
	if b.Bearer == "" {
		h = append(h, "X-CSRF-Token", b.CSRF)
	}
	resp, raw := b.Do(http.MethodPost, "/api/v1/scan", strings.NewReader(body), h...)
	var r scanReply
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("POST /api/v1/scan %s: %d, not JSON: %s", body, resp.StatusCode, raw)
	}
	return resp, raw, r
}

func scanBody(key, code, action string) string {
	b, _ := json.Marshal(map[string]string{"key": key, "code": code, "action": action})
	return string(b)
}

// The replay endpoint: the same key twice has one effect and the same
// answer; a key reused with another request is refused; a new key for the
// same scan is a conflict outcome (the device is already received).
func TestScanAPIReplay(t *testing.T) {
	f := mustScanFixture(t)
	ctx := context.Background()
	pre := f.codes[0]
	mustSQL(t, f.env, `UPDATE tags SET device_id = $1, linked_at = now() WHERE code = $2`, f.devices[0].ID, string(pre))
	f.tech.Get("/scan")

	key := "4b1c7a52-0d5e-4c44-9c2a-2f8e8f0b6a11"
	req := scanBody(key, pre.Compact(), "receive")
	resp, first, r := postScan(t, f.tech, req)
	if resp.StatusCode != http.StatusOK || r.Outcome != "done" || r.Result != "scan.result.received" ||
		r.Message != "appareil réceptionné" || r.Device == nil || r.Device.State != "received" || r.Code != pre.String() {
		t.Fatalf("first: %d %s", resp.StatusCode, first)
	}
	resp, again, _ := postScan(t, f.tech, req)
	if resp.StatusCode != http.StatusOK || again != first || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %q\n%s\n%s", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), again, first)
	}
	events, _, _ := f.env.DB.DeviceEvents(ctx, f.devices[0].ID, 1)
	if len(events) != 1 {
		t.Fatalf("%d events after a replayed receive", len(events))
	}
	resp, raw, r := postScan(t, f.tech, scanBody(key, f.codes[1].String(), "receive"))
	if resp.StatusCode != http.StatusConflict || r.Error.Code != "scan_key_reused" || !strings.Contains(r.Error.Message, "déjà servi") {
		t.Fatalf("reused key: %d %s", resp.StatusCode, raw)
	}
	resp, raw, r = postScan(t, f.tech, scanBody(key, pre.Compact(), "")) // another action is another request
	if resp.StatusCode != http.StatusConflict || r.Error.Code != "scan_key_reused" {
		t.Fatalf("reused key, other action: %d %s", resp.StatusCode, raw)
	}
	resp, raw, r = postScan(t, f.tech, scanBody("second-scan-of-it", pre.String(), "receive"))
	if resp.StatusCode != http.StatusOK || r.Outcome != "refused" || r.Message != "Cet appareil est déjà réceptionné." {
		t.Fatalf("new key: %d %s", resp.StatusCode, raw)
	}
	// The station's last scans show them.
	_, body := f.tech.Get("/scan")
	mustContain(t, "last scans", body, pre.String()+" : appareil réceptionné", pre.String()+" : Cet appareil est déjà réceptionné.")

	// A lookup says where the station shows it; a card sets the action.
	resp, raw, r = postScan(t, f.tech, scanBody("lookup-0001", f.codes[3].String(), ""))
	if r.Outcome != "info" || r.Result != "scan.result.blank" || r.Next != "/scan?code="+f.codes[3].String() {
		t.Fatalf("lookup: %d %s", resp.StatusCode, raw)
	}
	loc, err := f.env.DB.CreateLocation(ctx, f.shop.ID, "Étagère A")
	if err != nil {
		t.Fatal(err)
	}
	resp, raw, r = postScan(t, f.tech, scanBody("card-0001", fmt.Sprintf("%s/a/move/%d", f.env.URL, loc.ID), "receive"))
	if r.Outcome != "info" || r.Action != fmt.Sprintf("move:%d", loc.ID) || r.Banner != "Carte « Ranger sur Étagère A » active." {
		t.Fatalf("card: %d %s", resp.StatusCode, raw)
	}
	_, body = f.tech.Get("/scan")
	mustContain(t, "cookie set by the card", body, "Carte « Ranger sur Étagère A » active.</strong>")
	// Garbage is logged as such, in the station's language.
	f.tech.Get("/en/scan")
	resp, raw, r = postScan(t, f.tech, scanBody("english-0002", "<not a code>", ""))
	f.tech.Get("/fr/scan")
	if r.Outcome != "invalid" || r.Message != "unreadable code" {
		t.Fatalf("garbage: %d %s", resp.StatusCode, raw)
	}

	// A write token works without CSRF; a read token does not write.
	tok := f.env.MustToken(t, f.shop.ID, techID(t, f), "write")
	api := f.env.API(t, tok)
	resp, raw, r = postScan(t, api, scanBody("token-0001", pre.String(), fmt.Sprintf("move:%d", loc.ID)))
	if resp.StatusCode != http.StatusOK || r.Outcome != "done" || r.Message != "rangé sur Étagère A" {
		t.Fatalf("token move: %d %s", resp.StatusCode, raw)
	}
	if cookies := resp.Header.Values("Set-Cookie"); len(cookies) != 0 {
		t.Fatalf("a token client got cookies: %v", cookies)
	}
	read := f.env.API(t, f.env.MustToken(t, f.shop.ID, techID(t, f), "read"))
	resp, raw, _ = postScan(t, read, scanBody("token-0002", pre.String(), ""))
	adminWantStatus(t, "read token", resp, raw, http.StatusForbidden)
	// Another workshop's technician does not reach the device.
	f.other.Get("/scan")
	resp, raw, r = postScan(t, f.other, scanBody("other-0001", pre.String(), fmt.Sprintf("move:%d", loc.ID)))
	if r.Outcome != "not_found" {
		t.Fatalf("other workshop: %d %s", resp.StatusCode, raw)
	}

	// Bad requests are 4xx, never stored.
	for _, tc := range []struct {
		body, field string
	}{
		{scanBody("short", pre.String(), ""), "key"},
		{scanBody("has spaces in it", pre.String(), ""), "key"},
		{scanBody("empty-code-01", "", ""), "code"},
		{scanBody("long-code-001", strings.Repeat("x", 301), ""), "code"},
		{scanBody("bad-action-01", pre.String(), "explode"), "action"},
		{scanBody("bad-action-02", pre.String(), "move:0"), "action"},
		{`{"key":"unknown-field","code":"x","extra":1}`, "extra"},
	} {
		resp, raw, r := postScan(t, f.tech, tc.body)
		if resp.StatusCode != http.StatusBadRequest || r.Error.Fields[tc.field] == "" {
			t.Errorf("%s: %d %s", tc.body, resp.StatusCode, raw)
		}
	}
	resp, raw = f.tech.Do(http.MethodPost, "/api/v1/scan", strings.NewReader(scanBody("no-csrf-0001", pre.String(), "")),
		"Content-Type", "application/json")
	adminWantStatus(t, "no CSRF", resp, raw, http.StatusForbidden)
	resp, raw = f.tech.Do(http.MethodPost, "/api/v1/scan", strings.NewReader("x"), "Content-Type", "text/plain", "X-CSRF-Token", f.tech.CSRF)
	adminWantStatus(t, "text", resp, raw, http.StatusUnsupportedMediaType)
	var keys int
	if err := f.env.DB.SQL().QueryRow(`SELECT count(*) FROM scan_replays WHERE status = 200`).Scan(&keys); err != nil || keys != 7 {
		t.Fatalf("%d answers kept, %v", keys, err)
	}
	if d, _ := f.env.DB.Device(ctx, f.devices[0].ID, postgres.DonationScope{}); d.Location != "Étagère A" {
		t.Fatalf("location %q", d.Location)
	}
}

// Locations through the API.
func TestLocationsAPI(t *testing.T) {
	f := mustScanFixture(t)
	api := f.env.API(t, f.env.MustToken(t, f.shop.ID, techID(t, f), "write"))
	resp, body := api.Do(http.MethodPost, "/api/v1/locations", strings.NewReader(`{"name":"Cage DEEE"}`), "Content-Type", "application/json")
	adminWantStatus(t, "create", resp, body, http.StatusCreated)
	mustContain(t, "create", body, `"name":"Cage DEEE"`, fmt.Sprintf(`"workshop_organisation_id":%d`, f.shop.ID))
	resp, body = api.Do(http.MethodPost, "/api/v1/locations", strings.NewReader(`{"name":"Cage DEEE"}`), "Content-Type", "application/json")
	adminWantStatus(t, "twice", resp, body, http.StatusBadRequest)
	mustContain(t, "twice", body, `"name":`)
	resp, body = api.Get("/api/v1/locations")
	adminWantStatus(t, "list", resp, body, http.StatusOK)
	mustContain(t, "list", body, `"total":1`, "Cage DEEE")
	opUser := f.env.MustUser(t, f.opOrgID(t), "Op Two", false)
	opAPI := f.env.API(t, f.env.MustToken(t, f.opOrgID(t), opUser.ID, "write"))
	resp, body = opAPI.Do(http.MethodPost, "/api/v1/locations", strings.NewReader(`{"name":"Quai"}`), "Content-Type", "application/json")
	adminWantStatus(t, "operator without workshop", resp, body, http.StatusBadRequest)
	mustContain(t, "operator without workshop", body, `"workshop_organisation_id"`)
	resp, body = opAPI.Do(http.MethodPost, "/api/v1/locations", strings.NewReader(fmt.Sprintf(`{"name":"Quai","workshop_organisation_id":%d}`,
		f.opOrgID(t))), "Content-Type", "application/json")
	adminWantStatus(t, "operator's own organisation", resp, body, http.StatusBadRequest)
	resp, body = opAPI.Do(http.MethodPost, "/api/v1/locations", strings.NewReader(fmt.Sprintf(`{"name":"Quai","workshop_organisation_id":%d}`,
		f.shop.ID)), "Content-Type", "application/json")
	adminWantStatus(t, "operator", resp, body, http.StatusCreated)
	var jon int64
	if err := f.env.DB.SQL().QueryRow(`SELECT id FROM users WHERE name = 'Jon Voisin'`).Scan(&jon); err != nil {
		t.Fatal(err)
	}
	resp, body = f.env.API(t, f.env.MustToken(t, f.otherShopID(t), jon, "read")).Get("/api/v1/locations")
	adminWantStatus(t, "another workshop's list", resp, body, http.StatusOK)
	mustContain(t, "another workshop's list", body, `"total":0`)
}

func (f scanFixture) opOrgID(t *testing.T) int64 {
	t.Helper()
	var id int64
	if err := f.env.DB.SQL().QueryRow(`SELECT id FROM organisations WHERE kind = 'operator'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
