package server_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/internal/tag"
)

// deviceAPIFixture: a donor's donation of two laptops and a monitor held
// by a workshop, another donor's tablet held by another workshop, blank
// tags of both workshops and of the operator, and write tokens for an
// operator, both technicians and both donors.
type deviceAPIFixture struct {
	env                          *servertest.Env
	doc                          map[string]any
	shop, shop2, donorA, opOrg   account.Organisation
	op, tech, tech2, donor, dB   string // write tokens
	techRead, obs                string
	don, donB                    postgres.Donation
	devs                         []postgres.Device // of don, in declaration order
	devB                         int64             // the other donor's tablet
	shopCodes, shop2Codes, opTag []tag.Code
	techUser                     account.User
}

func mustDeviceAPIFixture(t *testing.T, opts servertest.Options) *deviceAPIFixture {
	t.Helper()
	ctx := context.Background()
	env := servertest.MustStart(t, opts)
	f := &deviceAPIFixture{env: env, doc: mustOpenAPI(t, env)}
	f.opOrg = env.MustOrg(t, account.KindOperator, "Agence numérique")
	f.shop = env.MustOrg(t, account.KindWorkshop, "Atelier Berriz")
	f.shop2 = env.MustOrg(t, account.KindWorkshop, "Atelier Voisin")
	f.donorA = env.MustOrg(t, account.KindCommune, "Mairie d'Anglet")
	donorB := env.MustOrg(t, account.KindCompany, "Itsasoa Conseil")
	obsOrg := env.MustOrg(t, account.KindObservatory, "Observatoire")
	opUser := env.MustUser(t, f.opOrg.ID, "Maite Operator", true)
	f.techUser = env.MustUser(t, f.shop.ID, "Ane Tech", false)
	tech2User := env.MustUser(t, f.shop2.ID, "Jon Voisin", false)
	donorUser := env.MustUser(t, f.donorA.ID, "Amaia Donor", false)
	donorBUser := env.MustUser(t, donorB.ID, "Marc Donor", false)
	f.op = env.MustToken(t, f.opOrg.ID, opUser.ID, "write")
	f.tech = env.MustToken(t, f.shop.ID, f.techUser.ID, "write")
	f.techRead = env.MustToken(t, f.shop.ID, f.techUser.ID, "read")
	f.tech2 = env.MustToken(t, f.shop2.ID, tech2User.ID, "write")
	f.donor = env.MustToken(t, f.donorA.ID, donorUser.ID, "write")
	f.dB = env.MustToken(t, donorB.ID, donorBUser.ID, "write")
	f.obs = env.MustToken(t, obsOrg.ID, 0, "read")
	mk := func(org, shop int64, lines ...donation.Line) postgres.Donation {
		d, err := env.DB.CreateDonation(ctx, org, nil, "Lot "+idStr(org), "", lines)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.DB.AssignWorkshop(ctx, d.ID, shop, nil); err != nil {
			t.Fatal(err)
		}
		return d
	}
	f.don = mk(f.donorA.ID, f.shop.ID,
		donation.Line{Category: "laptop", Brand: "Lenovo", Model: "T480", Quantity: 2, StorageDrives: 1, WeightKg: 1.6},
		donation.Line{Category: "monitor_24", Brand: "Dell", Quantity: 1, WeightKg: 4.5})
	f.donB = mk(donorB.ID, f.shop2.ID, donation.Line{Category: "tablet", Quantity: 1, WeightKg: 0.5})
	var err error
	if f.devs, _, err = env.DB.DonationDevices(ctx, f.don.ID, postgres.DonationScope{}, 1); err != nil || len(f.devs) != 3 {
		t.Fatalf("devices: %v", err)
	}
	devsB, _, err := env.DB.DonationDevices(ctx, f.donB.ID, postgres.DonationScope{}, 1)
	if err != nil || len(devsB) != 1 {
		t.Fatalf("devices B: %v", err)
	}
	f.devB = devsB[0].ID
	_, f.shopCodes = mustServerBatch(t, env.DB, f.shop.ID, f.techUser.ID, 6)
	_, f.shop2Codes = mustServerBatch(t, env.DB, f.shop2.ID, tech2User.ID, 2)
	_, f.opTag = mustServerBatch(t, env.DB, f.opOrg.ID, opUser.ID, 2)
	return f
}

// call sends an API request with a token; see apiFixture.send.
func (f *deviceAPIFixture) call(t *testing.T, token, method, path string, body any, headers ...string) (*http.Response, string) {
	t.Helper()
	return (&apiFixture{env: f.env}).call(t, token, method, path, body, headers...)
}

// want checks the status, the JSON error code of a failure and, when a
// schema is named, that the body conforms to it.
func (f *deviceAPIFixture) want(t *testing.T, name string, status int, schema string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: %d, want %d\n%s", name, resp.StatusCode, status, body)
	}
	if status >= 400 {
		wantErrorCode(t, name, body, map[int]string{400: "invalid", 404: "not_found", 409: "conflict", 413: "too_large",
			415: "unsupported_media_type", 403: "forbidden"}[status])
		schema = "Error"
	}
	if schema != "" {
		var v any
		mustDecodeJSON(t, body, &v)
		conformsTo(t, f.doc, name, schemaRef(schema), v)
	}
}

// mustLink links a blank tag of the workshop to a declared device, as
// intake does.
func (f *deviceAPIFixture) mustLink(t *testing.T, code tag.Code, deviceID int64) {
	t.Helper()
	p := &account.Principal{UserID: f.techUser.ID, OrgID: f.shop.ID, OrgKind: account.KindWorkshop}
	if _, err := f.env.DB.IntakeDevice(context.Background(), code, deviceID, f.shop.ID, p, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// mustLinkWithSpecs links code to the first device and gives it specs
// with two drives; it returns the specs.
func (f *deviceAPIFixture) mustLinkWithSpecs(t *testing.T, code tag.Code) device.Specs {
	t.Helper()
	f.mustLink(t, code, f.devs[0].ID)
	ram := 16
	specs := device.Specs{CPU: "Intel Core i5-8350U", RAMGB: &ram, Drives: []device.Drive{
		{Position: 1, Type: device.NVMe, CapacityGB: 256, Serial: "S4EV"}, {Position: 2, Type: device.HDD, CapacityGB: 500}}}
	if err := f.env.DB.SetDeviceSpecs(context.Background(), f.devs[0].ID, postgres.DonationScope{}, specs); err != nil {
		t.Fatal(err)
	}
	return specs
}

type lookupAnswer struct {
	Tag struct {
		Code     string     `json:"code"`
		BatchID  int64      `json:"batch_id"`
		LinkedAt *time.Time `json:"linked_at"`
	} `json:"tag"`
	Device *struct {
		ID         int64  `json:"id"`
		DonationID int64  `json:"donation_id"`
		Tag        string `json:"tag"`
		State      string `json:"state"`
		WorkshopID int64  `json:"workshop_organisation_id"`
		DonorID    int64  `json:"donor_organisation_id"`
		Specs      struct {
			RAMGB  *int `json:"ram_gb"`
			Drives []struct {
				Position   int    `json:"position"`
				Type       string `json:"type"`
				CapacityGB int    `json:"capacity_gb"`
			} `json:"drives"`
		} `json:"specs"`
	} `json:"device"`
}

// GET /tags/{code} sees exactly what /t/<code> shows the staff: the
// device for its workshop, its donor and the operator; a blank tag for
// who may link it; a 404 indistinguishable from an unknown code for
// everyone else.
func TestAPITagLookup(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	linked, blank := f.shopCodes[0], f.shopCodes[1]
	f.mustLinkWithSpecs(t, linked)

	forms := []string{linked.String(), linked.Compact(), strings.ToLower(linked.Compact()), strings.ToLower(linked.String())}
	for i, who := range []struct{ name, token string }{{"workshop", f.tech}, {"workshop read token", f.techRead},
		{"donor", f.donor}, {"operator", f.op}} {
		resp, body := f.call(t, who.token, http.MethodGet, "/api/v1/tags/"+forms[i], nil)
		f.want(t, who.name, http.StatusOK, "TagLookup", resp, body)
		var got lookupAnswer
		mustDecodeJSON(t, body, &got)
		if got.Tag.Code != linked.String() || got.Tag.LinkedAt == nil || got.Tag.BatchID == 0 || got.Device == nil ||
			got.Device.ID != f.devs[0].ID || got.Device.Tag != linked.String() || got.Device.State != "received" ||
			got.Device.WorkshopID != f.shop.ID || got.Device.DonorID != f.donorA.ID || got.Device.Specs.RAMGB == nil ||
			len(got.Device.Specs.Drives) != 2 || got.Device.Specs.Drives[1].Position != 2 || got.Device.Specs.Drives[1].CapacityGB != 500 {
			t.Errorf("%s: %s", who.name, body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", who.name, cc)
		}
	}

	// The lookup's one query answers the device exactly as GET
	// /devices/{id} does (but its files).
	_, body := f.call(t, f.op, http.MethodGet, "/api/v1/tags/"+linked.String(), nil)
	var fromTag struct {
		Device map[string]any `json:"device"`
	}
	mustDecodeJSON(t, body, &fromTag)
	_, body = f.call(t, f.op, http.MethodGet, "/api/v1/devices/"+idStr(f.devs[0].ID), nil)
	var fromID map[string]any
	mustDecodeJSON(t, body, &fromID)
	delete(fromID, "files")
	if !reflect.DeepEqual(fromTag.Device, fromID) {
		t.Errorf("the lookup and the device differ:\n%v\n%v", fromTag.Device, fromID)
	}

	// Blank tags: the workshop's own and the operator's are the
	// workshop's to link; nobody else learns they exist.
	for _, tc := range []struct {
		name  string
		token string
		code  tag.Code
		want  int
	}{
		{"own blank", f.tech, blank, 200}, {"operator's blank, workshop", f.tech, f.opTag[0], 200},
		{"operator's blank, other workshop", f.tech2, f.opTag[0], 200}, {"operator, any blank", f.op, f.shop2Codes[0], 200},
		{"other workshop's blank", f.tech2, blank, 404}, {"donor, blank", f.donor, blank, 404},
		{"other workshop, linked", f.tech2, linked, 404}, {"other donor, linked", f.dB, linked, 404},
		{"unknown code", f.op, tag.Code("ZZZZZZZZ"), 404}, {"malformed", f.op, tag.Code("7KQ2-M9X"), 404},
		{"letters a scanner swaps", f.op, tag.Code("UUUUUUUU"), 404},
	} {
		resp, body := f.call(t, tc.token, http.MethodGet, "/api/v1/tags/"+string(tc.code), nil, "Accept-Language", "en")
		if tc.want == 200 {
			f.want(t, tc.name, 200, "TagLookup", resp, body)
			if !strings.Contains(body, `"device":null`) || !strings.Contains(body, `"linked_at":null`) {
				t.Errorf("%s: %s", tc.name, body)
			}
			continue
		}
		f.want(t, tc.name, tc.want, "", resp, body)
		// The same answer as an unknown code, whatever the reason.
		if e := decodeError(t, body); e.Error.Message != "No tag has this code." {
			t.Errorf("%s: %s", tc.name, body)
		}
	}
	// Roles outside the inventory are refused by the policy.
	resp, body := f.call(t, f.obs, http.MethodGet, "/api/v1/tags/"+linked.String(), nil)
	f.want(t, "observatory", http.StatusForbidden, "", resp, body)

	// The token is read with the tag (auth_joined.go): an unknown or
	// revoked token is refused before anything of the code is told,
	// whether the code is linked, blank, unknown or malformed.
	if _, err := f.env.DB.SQL().Exec(`UPDATE api_tokens SET revoked_at = now() WHERE prefix = $1`, f.techRead[:12]); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"brz_" + strings.Repeat("A", 43), f.techRead} {
		for _, code := range []string{linked.String(), blank.String(), "ZZZZZZZZ", "7KQ2-M9X"} {
			resp, body := f.call(t, token, http.MethodGet, "/api/v1/tags/"+code, nil)
			if e := decodeError(t, body); resp.StatusCode != http.StatusUnauthorized || e.Error.Code != "unauthorized" {
				t.Errorf("token %s…, code %s: %d %s", token[:8], code, resp.StatusCode, body)
			}
		}
	}
	// Through a browser session (no token to join), the same rules.
	b := f.env.SignIn(t, f.techUser.Email)
	if resp, body := b.Get("/api/v1/tags/" + linked.String()); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"device":{`) {
		t.Errorf("session, own device: %d %s", resp.StatusCode, body)
	}
	if resp, body := b.Get("/api/v1/tags/" + f.shop2Codes[0].String()); resp.StatusCode != http.StatusNotFound {
		t.Errorf("session, another workshop's blank: %d %s", resp.StatusCode, body)
	}
}
