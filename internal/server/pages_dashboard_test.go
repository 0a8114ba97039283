package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// The dashboard shows a technician its own workshop only, an operator every
// workshop or the one chosen; the API says the same.
func TestWorkshopDashboardPage(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	mustReceiveDevice(t, f.env, f.device, 0)
	resp, body := f.tech.Get("/workshop")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, devicePath(f.device)) || !strings.Contains(body, "<svg") {
		t.Fatalf("technician: %d\n%s", resp.StatusCode, body)
	}
	if _, body := f.tech2.Get("/workshop"); strings.Contains(body, devicePath(f.device)) {
		t.Fatal("another workshop sees the device waiting")
	}
	if resp, _ := f.donor.Get("/workshop"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("donor: %d", resp.StatusCode)
	}
	d, err := f.env.DB.Device(t.Context(), f.device, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	_, body = f.op.Get(fmt.Sprintf("/workshop?workshop=%d", d.WorkshopOrgID))
	if !strings.Contains(body, devicePath(f.device)) || !strings.Contains(body, fmt.Sprintf(`<option value="%d" selected>`, d.WorkshopOrgID)) {
		t.Fatalf("operator, filtered:\n%s", body)
	}
	if resp, _ := f.op.Get(fmt.Sprintf("/workshop?workshop=%d", d.DonorOrgID)); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("operator naming a donor: %d", resp.StatusCode)
	}
	if resp, _ := f.op.Get("/workshop?workshop=x"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("operator, bad filter: %d", resp.StatusCode)
	}

	org := f.env.MustOrg(t, account.KindWorkshop, "Atelier API")
	u := f.env.MustUser(t, org.ID, "Api Tech", false)
	api := f.env.API(t, f.env.MustToken(t, org.ID, u.ID, "read"))
	resp, raw := api.Get("/api/v1/workshop/dashboard")
	var dash postgres.Dashboard
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(raw), &dash) != nil || len(dash.Weeks) != 8 || len(dash.States) != 11 ||
		dash.Waiting == nil || len(dash.Waiting) != 0 {
		t.Fatalf("API: %d %s", resp.StatusCode, raw)
	}
}

// The dashboard with a full list of waiting devices, for the operator of
// every workshop, in French and Basque: within the budgets, zero axe
// violations.
func TestWorkshopDashboardInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique du Pays basque")
	op := env.MustUser(t, opOrg.ID, "Maddi Operator", true)
	for i := 2; i <= 50; i++ { // the most workshops the operator's filter lists
		env.MustOrg(t, account.KindWorkshop, fmt.Sprintf("Atelier de reconditionnement n° %d du Pays basque", i))
	}
	for i := range 12 {
		g := mustAPIDevice(t, env)
		mustReceiveDevice(t, env, g.device, i%2)
	}
	for _, lang := range []string{"/fr", "/eu"} {
		tab := donationSignInTab(t, env, lang, op.Email)
		r := tab.CheckPage(env.URL + lang + "/workshop")
		if r.Status != http.StatusOK {
			t.Fatalf("%s: status %d", lang, r.Status)
		}
		if n := tab.Count("main table:nth-of-type(1) tbody tr"); n != 10 {
			t.Errorf("%s: %d waiting devices listed, want 10", lang, n)
		}
	}
}
