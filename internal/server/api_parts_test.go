package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// apiCall sends a JSON body (or none) and decodes the answer into out
// when given, and the error body.
func apiCall(t *testing.T, b *servertest.Browser, method, path, body string, out any) (int, apiErrorBody) {
	t.Helper()
	var resp *http.Response
	var raw string
	if body == "" {
		resp, raw = b.Do(method, path, nil)
	} else {
		resp, raw = b.Do(method, path, strings.NewReader(body), "Content-Type", "application/json")
	}
	var e apiErrorBody
	_ = json.Unmarshal([]byte(raw), &e)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal([]byte(raw), out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
		}
	}
	return resp.StatusCode, e
}

// The JSON face of repairs, parts, the stock and dismantling: the same
// rules as the pages, field errors named as the body names them, scope.
func TestPartsAPI(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	f := mustAPIDevice(t, env)
	mustReceiveDevice(t, env, f.device, 1)
	dev := fmt.Sprintf("/api/v1/devices/%d", f.device)

	var page struct {
		Items        []postgres.Repair `json:"items"`
		Total        int               `json:"total"`
		Cycle        int               `json:"cycle"`
		TotalMinutes int               `json:"total_minutes"`
	}
	if st, _ := apiCall(t, f.donor, http.MethodGet, dev+"/repairs", "", &page); st != http.StatusOK || page.Items == nil || page.Cycle != 1 {
		t.Fatalf("empty list: %d %+v", st, page)
	}
	var r postgres.Repair
	if st, e := apiCall(t, f.tech, http.MethodPost, dev+"/repairs", `{"kind":"cleaning","description":"Dépoussiérage","minutes":15}`, &r); st != http.StatusCreated ||
		r.ID == 0 || r.Kind != "cleaning" {
		t.Fatalf("record: %d %+v %+v", st, r, e)
	}
	for body, field := range map[string]string{`{"kind":"part","description":"x"}`: "kind", `{"kind":"repair"}`: "description",
		`{"kind":"repair","description":"x","minutes":20000}`: "minutes", `{"kind":"os_install"}`: "os", `{"kind":"repair","what":1}`: "what",
		`{"kind":"repair","description":"x","minutes":"5"}`: "minutes"} {
		if st, e := apiCall(t, f.tech, http.MethodPost, dev+"/repairs", body, nil); st != http.StatusBadRequest || e.Error.Fields[field] == "" {
			t.Errorf("%s: %d %+v", body, st, e)
		}
	}
	if resp, _ := f.tech.Do(http.MethodPost, dev+"/repairs", strings.NewReader(`{}`), "Content-Type", "text/plain"); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", resp.StatusCode)
	}
	if st, _ := apiCall(t, f.donor, http.MethodPost, dev+"/repairs", `{"kind":"cleaning","description":"x"}`, nil); st != http.StatusForbidden {
		t.Errorf("donor: %d", st)
	}
	if st, _ := apiCall(t, f.otherTech, http.MethodPost, dev+"/repairs", `{"kind":"cleaning","description":"x"}`, nil); st != http.StatusNotFound {
		t.Errorf("other workshop: %d", st)
	}
	if st, e := apiCall(t, f.tech, http.MethodGet, dev+"/repairs?cycle=2", "", nil); st != http.StatusBadRequest || e.Error.Fields["cycle"] == "" {
		t.Errorf("cycle 2: %d %+v", st, e)
	}

	// The stock: a new SSD, refusals, the other workshop's view.
	var sp postgres.StockPart
	if st, e := apiCall(t, f.tech, http.MethodPost, "/api/v1/stock", `{"kind":"ssd_256gb","description":"Kingston A400","serial":"K1"}`, &sp); st != http.StatusCreated ||
		sp.CapacityGB != 256 || sp.DriveType != "ssd" || sp.State != "in_stock" || sp.WorkshopOrgID != f.shop.ID {
		t.Fatalf("add: %d %+v %+v", st, sp, e)
	}
	for body, want := range map[string]int{`{"kind":"hdd"}`: http.StatusBadRequest, `{"kind":"keyboard","capacity_gb":3}`: http.StatusBadRequest,
		fmt.Sprintf(`{"kind":"keyboard","workshop_organisation_id":%d}`, f.otherShop.ID): http.StatusNotFound} {
		if st, _ := apiCall(t, f.tech, http.MethodPost, "/api/v1/stock", body, nil); st != want {
			t.Errorf("%s: %d, want %d", body, st, want)
		}
	}
	var list struct {
		Items []postgres.StockPart `json:"items"`
		Total int                  `json:"total"`
	}
	if st, _ := apiCall(t, f.tech, http.MethodGet, "/api/v1/stock?state=in_stock&kind=ssd_256gb", "", &list); st != http.StatusOK || list.Total != 1 {
		t.Fatalf("list: %d %+v", st, list)
	}
	if st, _ := apiCall(t, f.otherTech, http.MethodGet, "/api/v1/stock", "", &list); st != http.StatusOK || list.Total != 0 {
		t.Fatalf("other workshop's list: %d %+v", st, list)
	}
	for q, want := range map[string]int{"?state=lost": http.StatusBadRequest, "?kind=gpu": http.StatusBadRequest, "?workshop_id=x": http.StatusBadRequest,
		fmt.Sprintf("?workshop_id=%d", f.otherShop.ID): http.StatusNotFound, fmt.Sprintf("?workshop_id=%d", f.shop.ID): http.StatusOK} {
		if st, _ := apiCall(t, f.tech, http.MethodGet, "/api/v1/stock"+q, "", nil); st != want {
			t.Errorf("%s: %d, want %d", q, st, want)
		}
	}

	// Fitting: both ways at once is refused; the stock SSD becomes drive 2.
	if st, e := apiCall(t, f.tech, http.MethodPost, dev+"/parts", fmt.Sprintf(`{"stock_part_id":%d,"kind":"hdd"}`, sp.ID), nil); st != http.StatusBadRequest ||
		e.Error.Fields["stock_part_id"] == "" {
		t.Errorf("both: %d %+v", st, e)
	}
	if st, _ := apiCall(t, f.otherTech, http.MethodPost, dev+"/parts", fmt.Sprintf(`{"stock_part_id":%d}`, sp.ID), nil); st != http.StatusNotFound {
		t.Errorf("other workshop fits: %d", st)
	}
	if st, e := apiCall(t, f.tech, http.MethodPost, dev+"/parts", fmt.Sprintf(`{"stock_part_id":%d,"minutes":12}`, sp.ID), &r); st != http.StatusCreated ||
		r.Part == nil || r.Part.Drive != 2 || r.Part.Condition != "new" || r.Minutes != 12 {
		t.Fatalf("fit: %d %+v %+v", st, r, e)
	}
	r = postgres.Repair{}
	if st, e := apiCall(t, f.tech, http.MethodPost, dev+"/parts", `{"kind":"laptop_charger","description":"65 W"}`, &r); st != http.StatusCreated || r.Part.Drive != 0 {
		t.Fatalf("charger: %d %+v %+v", st, r, e)
	}
	// A second-hand drive without a verified erasure never goes in.
	mustSQL(t, env, `INSERT INTO stock_parts (workshop_org_id, kind, condition, drive_type, capacity_gb, serial) VALUES ($1, 'hdd', 'second_hand', 'hdd', 500, 'DIRTY')`, f.shop.ID)
	if st, _ := apiCall(t, f.tech, http.MethodGet, "/api/v1/stock?kind=hdd", "", &list); st != http.StatusOK || len(list.Items) != 1 {
		t.Fatalf("dirty drive: %+v", list)
	}
	dirty := list.Items[0].ID
	if st, e := apiCall(t, f.tech, http.MethodPost, dev+"/parts", fmt.Sprintf(`{"stock_part_id":%d}`, dirty), nil); st != http.StatusConflict ||
		!strings.Contains(e.Error.Message, "effacement vérifié") {
		t.Errorf("dirty drive: %d %+v", st, e)
	}

	// Discarding.
	if st, e := apiCall(t, f.tech, http.MethodPost, fmt.Sprintf("/api/v1/stock/%d/discard", dirty), `{"reason":""}`, nil); st != http.StatusBadRequest || e.Error.Fields["reason"] == "" {
		t.Errorf("no reason: %d %+v", st, e)
	}
	if st, _ := apiCall(t, f.otherTech, http.MethodPost, fmt.Sprintf("/api/v1/stock/%d/discard", dirty), `{"reason":"x"}`, nil); st != http.StatusNotFound {
		t.Errorf("other workshop discards: %d", st)
	}
	if st, _ := apiCall(t, f.tech, http.MethodPost, fmt.Sprintf("/api/v1/stock/%d/discard", sp.ID), `{"reason":"x"}`, nil); st != http.StatusConflict {
		t.Errorf("discard a fitted part: %d", st)
	}
	if st, _ := apiCall(t, f.tech, http.MethodPost, fmt.Sprintf("/api/v1/stock/%d/discard", dirty), `{"reason":"Données non effacées"}`, &sp); st != http.StatusOK ||
		sp.State != "discarded" || sp.DiscardReason != "Données non effacées" {
		t.Errorf("discard: %d %+v", st, sp)
	}

	// Dismantling: refused with the fresh state while drive 1 is not
	// erased; then the kept drive enters the stock with its erasure.
	st, v := deviceVersion(t, env, f.device)
	if code, e := apiCall(t, f.tech, http.MethodPost, dev+"/dismantle", `{"parts":[{"kind":"ssd_256gb","drive":1}]}`, nil); code != http.StatusConflict ||
		e.Error.Details["state"] != st || e.Error.Details["version"] != float64(v) {
		t.Fatalf("unerased: %d %+v", code, e)
	}
	mustErasedDrives(t, env, f.device)
	if code, e := apiCall(t, f.tech, http.MethodPost, dev+"/dismantle", `{"parts":[{"kind":"hdd"}]}`, nil); code != http.StatusBadRequest ||
		e.Error.Fields["parts[0].drive"] == "" {
		t.Errorf("no drive: %d %+v", code, e)
	}
	if code, _ := apiCall(t, f.donor, http.MethodPost, dev+"/dismantle", `{}`, nil); code != http.StatusForbidden {
		t.Errorf("donor dismantles: %d", code)
	}
	var out struct {
		Device postgres.DeviceState `json:"device"`
		Parts  []postgres.StockPart `json:"parts"`
	}
	if code, e := apiCall(t, f.tech, http.MethodPost, dev+"/dismantle", `{"parts":[{"kind":"ssd_256gb","drive":1},{"kind":"other","description":"Dalle 24 pouces"}],"note":"Dalle fissurée"}`, &out); code != http.StatusOK ||
		out.Device.State != "dismantled" || len(out.Parts) != 2 || out.Parts[0].ErasureID == 0 || out.Parts[0].Serial != "SN-1" ||
		out.Parts[1].Condition != "second_hand" {
		t.Fatalf("dismantle: %d %+v %+v", code, out, e)
	}

	// Operators see every workshop's stock and name the workshop they add to.
	opOrg := env.MustOrg(t, "operator", "Agence")
	op := env.API(t, env.MustToken(t, opOrg.ID, env.MustUser(t, opOrg.ID, "Maddi", true).ID, "write"))
	if code, e := apiCall(t, op, http.MethodPost, "/api/v1/stock", `{"kind":"keyboard"}`, nil); code != http.StatusBadRequest ||
		e.Error.Fields["workshop_organisation_id"] == "" {
		t.Errorf("operator without workshop: %d %+v", code, e)
	}
	if code, _ := apiCall(t, op, http.MethodPost, "/api/v1/stock", fmt.Sprintf(`{"kind":"keyboard","workshop_organisation_id":%d}`, f.otherShop.ID), nil); code != http.StatusCreated {
		t.Errorf("operator add: %d", code)
	}
	if code, _ := apiCall(t, op, http.MethodGet, "/api/v1/stock?state=", "", &list); code != http.StatusOK || list.Total != 5 {
		t.Errorf("operator list: %d %d", code, list.Total)
	}
}
