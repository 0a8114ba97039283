package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/internal/tag"
)

type intakeAnswer struct {
	Tag    string `json:"tag"`
	Device struct {
		ID         int64  `json:"id"`
		DonationID int64  `json:"donation_id"`
		Line       int    `json:"line"`
		Serial     string `json:"serial"`
		State      string `json:"state"`
	} `json:"device"`
	Donation struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	} `json:"donation"`
}

func tagPath(code tag.Code, rest string) string { return "/api/v1/tags/" + code.String() + rest }

// Intake through the API: a blank tag linked to a declared device or to a
// device found in the box, with the scan station's rules and conflicts.
func TestAPIIntake(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	c := f.shopCodes
	path := "/api/v1/tags/" + strings.ToLower(c[0].Compact()) + "/intake"
	resp, body := f.call(t, f.tech, http.MethodPost, path, map[string]any{"device_id": f.devs[0].ID})
	f.want(t, "intake", http.StatusCreated, "IntakeResult", resp, body)
	var got intakeAnswer
	mustDecodeJSON(t, body, &got)
	if got.Tag != c[0].String() || got.Device.ID != f.devs[0].ID || got.Device.State != "received" ||
		got.Donation.ID != f.don.ID || got.Donation.State != "collected" || resp.Header.Get("Location") != devicesAPIPath(f.devs[0].ID) {
		t.Errorf("intake: %s", body)
	}
	resp, body = f.call(t, f.donor, http.MethodGet, tagPath(c[0], ""), nil)
	f.want(t, "the donor follows it", http.StatusOK, "TagLookup", resp, body)

	for _, tc := range []struct {
		name, token string
		code        tag.Code
		body        any
		want        int
		fields      []string
	}{
		{"a linked tag", f.tech, c[0], map[string]any{"device_id": f.devs[1].ID}, 409, nil},
		{"a tagged device", f.tech, c[1], map[string]any{"device_id": f.devs[0].ID}, 409, nil},
		{"another workshop's tag", f.tech2, c[1], map[string]any{"device_id": f.devs[1].ID}, 404, nil},
		{"another workshop's device", f.tech2, f.shop2Codes[0], map[string]any{"device_id": f.devs[1].ID}, 404, nil},
		{"a linked tag of another workshop", f.tech2, c[0], map[string]any{"device_id": f.devB}, 404, nil},
		{"both ways at once", f.tech, c[1], map[string]any{"device_id": f.devs[1].ID, "donation_id": f.don.ID, "brand": "HP"}, 400,
			[]string{"donation_id", "brand"}},
		{"nothing", f.tech, c[1], `{}`, 400, []string{"category", "donation_id"}},
		{"found device, unknown category", f.tech, c[1], map[string]any{"donation_id": f.don.ID, "category": "toaster",
			"serial": strings.Repeat("x", 101)}, 400, []string{"category", "serial"}},
		{"found device, another's donation", f.tech, c[1], map[string]any{"donation_id": f.donB.ID, "category": "laptop"}, 404, nil},
		{"malformed code", f.tech, tag.Code("nope"), map[string]any{"device_id": f.devs[1].ID}, 404, nil},
		{"unknown code", f.tech, tag.Code("ZZZZZZZZ"), map[string]any{"device_id": f.devs[1].ID}, 404, nil},
		{"wrong type", f.tech, c[1], `{"device_id":"12"}`, 400, []string{"device_id"}},
		{"text/plain", f.tech, c[1], nil, 415, nil},
		{"donor", f.donor, c[1], map[string]any{"device_id": f.devs[1].ID}, 403, nil},
		{"read token", f.techRead, c[1], map[string]any{"device_id": f.devs[1].ID}, 403, nil},
	} {
		var resp *http.Response
		var body string
		if tc.want == 415 {
			resp, body = f.call(t, tc.token, http.MethodPost, tagPath(tc.code, "/intake"), "device_id=1", "Content-Type", "text/plain")
		} else {
			resp, body = f.call(t, tc.token, http.MethodPost, tagPath(tc.code, "/intake"), tc.body, "Accept-Language", "en")
		}
		f.want(t, tc.name, tc.want, "", resp, body)
		if tc.fields != nil {
			wantFields(t, tc.name, body, tc.fields...)
		}
		if tc.want == 404 && tc.token != f.tech2 && !strings.Contains(tc.name, "donation") {
			if e := decodeError(t, body); e.Error.Message != "No tag has this code." {
				t.Errorf("%s: %s", tc.name, body)
			}
		}
	}

	// A device found in the box joins the donation, received.
	resp, body = f.call(t, f.tech, http.MethodPost, tagPath(c[1], "/intake"),
		map[string]any{"donation_id": f.don.ID, "category": "laptop", "brand": " HP ", "model": "EliteBook 840", "serial": "SN-1"})
	f.want(t, "found device", http.StatusCreated, "IntakeResult", resp, body)
	mustDecodeJSON(t, body, &got)
	if got.Device.DonationID != f.don.ID || got.Device.Line != 3 || got.Device.Serial != "SN-1" || got.Device.State != "received" {
		t.Errorf("found device: %s", body)
	}
	// The operator's blank tags are the workshop's too; the last declared
	// device in makes the donation received.
	for i, tc := range []struct {
		token string
		code  tag.Code
	}{{f.tech, f.opTag[0]}, {f.op, f.opTag[1]}} {
		resp, body = f.call(t, tc.token, http.MethodPost, tagPath(tc.code, "/intake"), map[string]any{"device_id": f.devs[i+1].ID})
		f.want(t, "operator's tag", http.StatusCreated, "IntakeResult", resp, body)
	}
	mustDecodeJSON(t, body, &got)
	if got.Donation.State != "received" {
		t.Errorf("after the last declared device: %s", body)
	}
	// A closed donation takes no more devices.
	if _, err := f.env.DB.SetDonationState(context.Background(), f.don.ID, postgres.DonationScope{}, donation.Received, donation.Closed, nil); err != nil {
		t.Fatal(err)
	}
	resp, body = f.call(t, f.tech, http.MethodPost, tagPath(c[2], "/intake"), map[string]any{"donation_id": f.don.ID, "category": "laptop"})
	f.want(t, "closed donation", http.StatusConflict, "", resp, body)
}

// Tags printed for chosen devices, then received with them.
func TestAPIDeviceTagsAndReceive(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	path := "/api/v1/donations/" + idStr(f.don.ID) + "/tags"
	ids := []int64{f.devs[2].ID, f.devs[1].ID}
	resp, body := f.call(t, f.tech, http.MethodPost, path, map[string]any{"device_ids": ids})
	f.want(t, "tags", http.StatusCreated, "DeviceTags", resp, body)
	var out struct {
		Batch struct {
			ID     int64 `json:"id"`
			OrgID  int64 `json:"organisation_id"`
			Count  int   `json:"count"`
			Linked int   `json:"linked"`
		} `json:"batch"`
		Tags []struct {
			Code     string `json:"code"`
			DeviceID int64  `json:"device_id"`
		} `json:"tags"`
	}
	mustDecodeJSON(t, body, &out)
	if out.Batch.OrgID != f.shop.ID || out.Batch.Count != 2 || out.Batch.Linked != 2 || len(out.Tags) != 2 ||
		out.Tags[0].DeviceID != ids[0] || out.Tags[1].DeviceID != ids[1] ||
		resp.Header.Get("Location") != "/api/v1/tags/batches/"+idStr(out.Batch.ID) {
		t.Fatalf("tags: %s", body)
	}
	resp, body = f.call(t, f.tech, http.MethodGet, "/api/v1/tags/batches/"+idStr(out.Batch.ID)+"/sheet.pdf", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "%PDF-") {
		t.Errorf("sheet: %d", resp.StatusCode)
	}
	code, err := tag.Parse(out.Tags[0].Code)
	if err != nil {
		t.Fatal(err)
	}
	var look lookupAnswer
	_, body = f.call(t, f.tech, http.MethodGet, tagPath(code, ""), nil)
	mustDecodeJSON(t, body, &look)
	if look.Device == nil || look.Device.ID != ids[0] || look.Device.State != "declared" {
		t.Errorf("pre-linked tag: %s", body)
	}

	for _, tc := range []struct {
		name, token string
		body        any
		want        int
		fields      []string
	}{
		{"no device", f.tech, map[string]any{"device_ids": []int64{}}, 400, []string{"device_ids"}},
		{"null", f.tech, `{"device_ids":null}`, 400, []string{"device_ids"}},
		{"twice the same", f.tech, map[string]any{"device_ids": []int64{f.devs[0].ID, f.devs[0].ID}}, 400, []string{"device_ids[1]"}},
		{"another donation's", f.op, map[string]any{"device_ids": []int64{f.devs[0].ID, f.devB, 999999}}, 400,
			[]string{"device_ids[1]", "device_ids[2]"}},
		{"already tagged", f.tech, map[string]any{"device_ids": []int64{f.devs[0].ID, ids[1]}}, 409, nil},
		{"another workshop", f.tech2, map[string]any{"device_ids": []int64{f.devs[0].ID}}, 404, nil},
		{"donor", f.donor, map[string]any{"device_ids": []int64{f.devs[0].ID}}, 403, nil},
		{"unknown field", f.tech, `{"devices":[1]}`, 400, []string{"devices"}},
	} {
		resp, body := f.call(t, tc.token, http.MethodPost, path, tc.body, "Accept-Language", "en")
		f.want(t, tc.name, tc.want, "", resp, body)
		if tc.fields != nil {
			wantFields(t, tc.name, body, tc.fields...)
		}
	}
	resp, body = f.call(t, f.tech, http.MethodPost, path, "device_ids=1", "Content-Type", "text/plain")
	f.want(t, "text/plain", http.StatusUnsupportedMediaType, "", resp, body)

	// Receiving by a pre-linked tag: once, by the workshop holding it.
	for _, tc := range []struct {
		name, token string
		code        tag.Code
		want        int
	}{
		{"donor", f.donor, code, 403}, {"other workshop", f.tech2, code, 404}, {"blank tag", f.tech, f.shopCodes[0], 409},
		{"receive", f.tech, code, 200}, {"again", f.tech, code, 409}, {"unknown", f.tech, tag.Code("ZZZZZZZZ"), 404},
	} {
		resp, body := f.call(t, tc.token, http.MethodPost, tagPath(tc.code, "/receive"), nil)
		schema := ""
		if tc.want == 200 {
			schema = "IntakeResult"
		}
		f.want(t, "receive: "+tc.name, tc.want, schema, resp, body)
		if tc.want == 200 {
			var got intakeAnswer
			mustDecodeJSON(t, body, &got)
			if got.Device.ID != ids[0] || got.Device.State != "received" || got.Donation.State != "collected" {
				t.Errorf("received: %s", body)
			}
		}
	}
	// A pre-linked tag is no blank tag for intake.
	resp, body = f.call(t, f.tech, http.MethodPost, tagPath(code, "/intake"), map[string]any{"device_id": f.devs[0].ID})
	f.want(t, "intake with a pre-linked tag", http.StatusConflict, "", resp, body)

	// A closed donation gets no more tags.
	ctx := context.Background()
	for _, st := range []donation.State{donation.Received, donation.Closed} {
		if _, err := f.env.DB.SetDonationState(ctx, f.don.ID, postgres.DonationScope{}, "", st, nil); err != nil {
			t.Fatal(err)
		}
	}
	resp, body = f.call(t, f.tech, http.MethodPost, path, map[string]any{"device_ids": []int64{f.devs[0].ID}})
	f.want(t, "closed donation", http.StatusConflict, "", resp, body)
}

// One tag's label, as the tag pages print it.
func TestAPITagLabels(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	code := f.shopCodes[0]
	for _, tc := range []struct {
		name, token, path, ctype string
		want                     int
	}{
		{"png", f.tech, tagPath(code, "/label.png"), "image/png", 200},
		{"png, compact code, width", f.op, "/api/v1/tags/" + code.Compact() + "/label.png?width=300", "image/png", 200},
		{"svg", f.tech, tagPath(code, "/label.svg"), "image/svg+xml", 200},
		{"bad width", f.tech, tagPath(code, "/label.png?width=10"), "", 400},
		{"other workshop", f.tech2, tagPath(code, "/label.svg"), "", 404},
		{"donor", f.donor, tagPath(code, "/label.png"), "", 403},
		{"unknown", f.tech, "/api/v1/tags/ZZZZZZZZ/label.png", "", 404},
	} {
		resp, body := f.call(t, tc.token, http.MethodGet, tc.path, nil)
		if tc.want != 200 {
			f.want(t, tc.name, tc.want, "", resp, body)
			continue
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || len(body) < 100 {
			t.Errorf("%s: %d %v", tc.name, resp.StatusCode, resp.Header)
		}
	}
}
