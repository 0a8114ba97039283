package server_test

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/server/servertest"
)

func devicesAPIPath(id int64, rest ...string) string {
	return "/api/v1/devices/" + idStr(id) + strings.Join(rest, "")
}

// wantFields checks a 400's fields are exactly want.
func wantFields(t *testing.T, name, body string, want ...string) {
	t.Helper()
	e := decodeError(t, body)
	var got []string
	for k, msg := range e.Error.Fields {
		got = append(got, k)
		if msg == "" || strings.HasPrefix(msg, "device.") || strings.HasPrefix(msg, "error.") {
			t.Errorf("%s: untranslated message for %s: %q", name, k, msg)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: fields %v, want %v\n%s", name, got, want, body)
	}
}

// The inventory answers each caller its scope, with the page's filters;
// a bad filter value is refused, naming it.
func TestAPIDevicesList(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	f.mustLink(t, f.shopCodes[0], f.devs[0].ID)
	for _, tc := range []struct {
		name, token, query string
		total              int
	}{
		{"donor", f.donor, "", 3}, {"workshop", f.tech, "", 3}, {"other workshop", f.tech2, "", 1},
		{"other donor", f.dB, "", 1}, {"operator", f.op, "", 4},
		{"state", f.donor, "?state=declared", 2}, {"category", f.tech, "?category=monitor_24", 1},
		{"donation", f.op, "?donation_id=" + idStr(f.donB.ID), 1}, {"workshop filter", f.op, "?workshop_id=" + idStr(f.shop2.ID), 1},
		{"workshop filter stays in scope", f.donor, "?workshop_id=" + idStr(f.shop2.ID), 0},
		{"another's donation", f.donor, "?donation_id=" + idStr(f.donB.ID), 0},
		{"everything at once", f.op, "?state=received&category=laptop&donation_id=" + idStr(f.don.ID) + "&workshop_id=" + idStr(f.shop.ID), 1},
	} {
		resp, body := f.call(t, tc.token, http.MethodGet, "/api/v1/devices"+tc.query, nil)
		f.want(t, tc.name, http.StatusOK, "DeviceSummaryPage", resp, body)
		wantPageTotal(tc.total)(t, resp, body)
	}
	// The linked device shows its tag, printed.
	_, body := f.call(t, f.donor, http.MethodGet, "/api/v1/devices?state=received", nil)
	if !strings.Contains(body, `"tag":"`+f.shopCodes[0].String()+`"`) || !strings.Contains(body, `"workshop_name":"Atelier Berriz"`) {
		t.Errorf("received device: %s", body)
	}

	resp, body := f.call(t, f.op, http.MethodGet, "/api/v1/devices?state=lost&category=toaster&donation_id=abc&workshop_id=-1", nil, "Accept-Language", "en")
	f.want(t, "bad filters", http.StatusBadRequest, "", resp, body)
	wantFields(t, "bad filters", body, "state", "category", "donation_id", "workshop_id")
	resp, body = f.call(t, f.obs, http.MethodGet, "/api/v1/devices", nil)
	f.want(t, "observatory", http.StatusForbidden, "", resp, body)
}

// One device, in full, to whoever may see it; 404 for anyone else.
func TestAPIDeviceDetail(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	for _, tc := range []struct {
		name, token string
		id          int64
		want        int
	}{
		{"donor", f.donor, f.devs[0].ID, 200}, {"workshop", f.techRead, f.devs[1].ID, 200}, {"operator", f.op, f.devB, 200},
		{"other donor", f.dB, f.devs[0].ID, 404}, {"other workshop", f.tech2, f.devs[0].ID, 404},
		{"workshop, another's device", f.tech, f.devB, 404}, {"missing", f.op, 999999, 404},
	} {
		resp, body := f.call(t, tc.token, http.MethodGet, devicesAPIPath(tc.id), nil)
		f.want(t, tc.name, tc.want, "DeviceDetail", resp, body)
		if tc.want == 200 && (!strings.Contains(body, `"files":[]`) || !strings.Contains(body, `"drives":[]`) ||
			!strings.Contains(body, `"id":`+idStr(tc.id)+`,`)) {
			t.Errorf("%s: %s", tc.name, body)
		}
	}
	for _, p := range []string{"/api/v1/devices/abc", "/api/v1/devices/0", "/api/v1/devices/-3"} {
		resp, body := f.call(t, f.op, http.MethodGet, p, nil)
		f.want(t, p, http.StatusNotFound, "", resp, body)
	}
}

var goodSpecs = map[string]any{
	"cpu": "  Intel Core i5-8350U ", "ram_gb": 16, "screen_inches": 14.1, "battery_health_pct": 0, "os": "Debian 13",
	"condition_notes": "Rayure sur le capot\nClavier FR",
	"drives": []map[string]any{
		{"type": "nvme", "capacity_gb": 256, "serial": "S4EV", "position": 7},
		{"type": "hdd", "capacity_gb": 500},
	},
}

// PUT /devices/{id}/specs applies the specs form's rules and names each
// mistake by its JSON path.
func TestAPIDeviceSpecs(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	path := devicesAPIPath(f.devs[0].ID, "/specs")
	resp, body := f.call(t, f.tech, http.MethodPut, path, goodSpecs)
	f.want(t, "specs", http.StatusOK, "DeviceDetail", resp, body)
	var got struct {
		StorageDrives int `json:"storage_drives"`
		Specs         struct {
			CPU     string   `json:"cpu"`
			Screen  *float64 `json:"screen_inches"`
			Battery *int     `json:"battery_health_pct"`
			Notes   string   `json:"condition_notes"`
			Drives  []struct {
				Position   int    `json:"position"`
				Type       string `json:"type"`
				CapacityGB int    `json:"capacity_gb"`
				Serial     string `json:"serial"`
			} `json:"drives"`
		} `json:"specs"`
		Files []any `json:"files"`
	}
	mustDecodeJSON(t, body, &got)
	s := got.Specs
	if s.CPU != "Intel Core i5-8350U" || s.Screen == nil || *s.Screen != 14.1 || s.Battery == nil || *s.Battery != 0 ||
		s.Notes != "Rayure sur le capot\nClavier FR" || len(s.Drives) != 2 || s.Drives[0].Position != 1 ||
		s.Drives[1].Position != 2 || s.Drives[1].Type != "hdd" || got.StorageDrives != 2 || got.Files == nil {
		t.Errorf("saved specs: %s", body)
	}
	// The page shows what the API recorded.
	_, page := f.env.SignIn(t, f.techUser.Email).Get("/devices/" + idStr(f.devs[0].ID))
	mustContain(t, "page", page, "Intel Core i5-8350U", "S4EV")

	for _, tc := range []struct {
		name   string
		body   any
		fields []string
	}{
		{"ranges", map[string]any{"ram_gb": 0, "battery_health_pct": 101, "screen_inches": 13.33, "cpu": "i5\x00",
			"drives": []map[string]any{{"type": "ssd", "capacity_gb": 128}, {"type": "floppy", "capacity_gb": 0}}},
			[]string{"ram_gb", "battery_health_pct", "screen_inches", "cpu", "drives[1].type", "drives[1].capacity_gb"}},
		{"long texts", map[string]any{"os": strings.Repeat("x", 101), "condition_notes": strings.Repeat("é", 2001),
			"drives": []map[string]any{{"type": "ssd", "capacity_gb": 1, "serial": "a\tb"}}},
			[]string{"os", "condition_notes", "drives[0].serial"}},
		{"a drive without its type", map[string]any{"drives": []map[string]any{{"capacity_gb": 64}}}, []string{"drives[0].type"}},
		{"nine drives", map[string]any{"drives": slices.Repeat([]map[string]any{{"type": "ssd", "capacity_gb": 1}}, 9)}, []string{"drives"}},
		{"wrong type", `{"ram_gb":"16"}`, []string{"ram_gb"}},
		{"unknown field", `{"ram":16}`, []string{"ram"}},
	} {
		resp, body := f.call(t, f.tech, http.MethodPut, path, tc.body, "Accept-Language", "en")
		f.want(t, tc.name, http.StatusBadRequest, "", resp, body)
		wantFields(t, tc.name, body, tc.fields...)
	}
	for _, tc := range []struct {
		name, token string
		body        any
		headers     []string
		want        int
	}{
		{"text/plain", f.tech, "cpu=x", []string{"Content-Type", "text/plain"}, 415},
		{"too large", f.tech, `{"cpu":"` + strings.Repeat("x", 1<<20) + `"}`, nil, 413},
		{"not JSON", f.tech, `{"cpu":`, nil, 400},
		{"other workshop", f.tech2, goodSpecs, nil, 404},
		{"donor", f.donor, goodSpecs, nil, 403},
		{"read token", f.techRead, goodSpecs, nil, 403},
	} {
		resp, body := f.call(t, tc.token, http.MethodPut, path, tc.body, tc.headers...)
		f.want(t, tc.name, tc.want, "", resp, body)
	}
	// Nothing refused changed the specs.
	_, after := f.call(t, f.op, http.MethodGet, devicesAPIPath(f.devs[0].ID), nil)
	mustDecodeJSON(t, after, &got)
	if got.Specs.CPU != "Intel Core i5-8350U" || len(got.Specs.Drives) != 2 {
		t.Errorf("after refusals: %s", after)
	}
	// Sending nothing clears them: every spec unknown, no drive.
	resp, body = f.call(t, f.op, http.MethodPut, path, `{}`)
	f.want(t, "clear", http.StatusOK, "DeviceDetail", resp, body)
	if !strings.Contains(body, `"ram_gb":null`) || !strings.Contains(body, `"drives":[]`) || !strings.Contains(body, `"storage_drives":0`) {
		t.Errorf("cleared: %s", body)
	}
}
