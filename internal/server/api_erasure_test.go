package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/web"
)

func mustUserID(t *testing.T, f deviceFixture, name string) int64 {
	t.Helper()
	var id int64
	if err := f.env.DB.SQL().QueryRowContext(context.Background(), `SELECT id FROM users WHERE name = $1`, name).Scan(&id); err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return id
}

// apiErasureList is the listing as a client reads it.
type apiErasureListBody struct {
	Cycle  int `json:"cycle"`
	Drives []struct {
		Position int    `json:"position"`
		Serial   string `json:"serial"`
		Status   string `json:"status"`
		Latest   int64  `json:"latest_erasure_id"`
	} `json:"drives"`
	ErasureFailed bool `json:"erasure_failed"`
	Certificate   *struct {
		Number   string `json:"number"`
		SHA256   string `json:"sha256"`
		URL      string `json:"url"`
		CheckURL string `json:"check_url"`
	} `json:"certificate"`
	CertificateDue bool `json:"certificate_due"`
	Items          []struct {
		ID     int64                  `json:"id"`
		Drive  struct{ Position int } `json:"drive"`
		Method string                 `json:"method"`
		Log    *struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		} `json:"log"`
		LogURL         string `json:"log_url"`
		TechnicianName string `json:"technician_name"`
	} `json:"items"`
	Total int `json:"total"`
}

// The JSON face: the same fields and checks as the page in a multipart
// body, the 4xx of every refusal, the listing with statuses and the
// certificate, the log and the PDF.
func TestErasureAPI(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	mustReceiveDevice(t, f.env, f.device, 2)
	ctx := context.Background()
	tech, _ := f.env.DB.Device(ctx, f.device, postgres.DonationScope{})
	techAPI := f.env.API(t, f.env.MustToken(t, tech.WorkshopOrgID, mustUserID(t, f, "Ane Tech"), "write"))
	donorAPI := f.env.API(t, f.env.MustToken(t, tech.DonorOrgID, mustUserID(t, f, "Amaia Donor"), "write"))
	path := "/api/v1" + devicePath(f.device, "/erasures")

	// 415 before anything else; refusals name their fields.
	if resp, _ := techAPI.Do(http.MethodPost, path, strings.NewReader(`{"drive":"1"}`), "Content-Type", "application/json"); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("JSON body: %d", resp.StatusCode)
	}
	fields := nwipeFields("1", "passed")
	fields["passes"], fields["started_at"] = "0", "hier"
	resp, body := postErasure(t, techAPI, path, fields, "nwipe.log", pngBytes(t))
	var e apiErrorBody
	_ = json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != http.StatusBadRequest || e.Error.Fields["passes"] == "" || e.Error.Fields["started_at"] == "" || e.Error.Fields["log"] == "" {
		t.Fatalf("refused: %d %s", resp.StatusCode, body)
	}
	resp, body = postErasure(t, techAPI, path, nwipeFields("2:SN-1", "passed"), "nwipe.log", []byte(nwipeLog))
	_ = json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != http.StatusConflict || e.Error.Code != "conflict" || !strings.Contains(e.Error.Message, "SN-2") {
		t.Fatalf("drive changed: %d %s", resp.StatusCode, body)
	}
	if resp, _ := postErasure(t, donorAPI, path, nwipeFields("1", "passed"), "nwipe.log", []byte(nwipeLog)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor: %d", resp.StatusCode)
	}

	// Recorded with RFC 3339 times and a PDF report.
	fields = nwipeFields("1", "passed")
	fields["started_at"], fields["ended_at"] = time.Now().Add(-3*time.Hour).Format(time.RFC3339), time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	resp, body = postErasure(t, techAPI, path, fields, "rapport.pdf", []byte("%PDF-1.7\nrapport nwipe\n%%EOF\n"))
	var rec struct {
		ID     int64  `json:"id"`
		LogURL string `json:"log_url"`
		Log    struct {
			ContentType string `json:"content_type"`
		} `json:"log"`
		Drive struct {
			Serial     string `json:"serial"`
			CapacityGB int    `json:"capacity_gb"`
		} `json:"drive"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(body), &rec) != nil || rec.Drive.Serial != "SN-1" ||
		rec.Drive.CapacityGB != 256 || rec.Log.ContentType != "application/pdf" || rec.LogURL == "" {
		t.Fatalf("recorded: %d %s", resp.StatusCode, body)
	}
	resp, got := donorAPI.Get(rec.LogURL)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(got, "%PDF-1.7") || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("log: %d %v", resp.StatusCode, resp.Header)
	}
	// The second drive fails: flagged.
	fields = nwipeFields("2", "failed")
	resp, body = postErasure(t, techAPI, path, fields, "nwipe.log", []byte(nwipeLog))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("failed record: %d %s", resp.StatusCode, body)
	}
	var list apiErasureListBody
	resp, body = donorAPI.Get(path)
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || list.Total != 2 || len(list.Drives) != 2 ||
		list.Drives[0].Status != "erased" || list.Drives[1].Status != "failed" || !list.ErasureFailed || list.Certificate != nil ||
		list.CertificateDue || list.Items[0].Drive.Position != 2 || list.Items[1].Log == nil || list.Items[1].TechnicianName != "Ane Tech" {
		t.Fatalf("listing: %d %s", resp.StatusCode, body)
	}
	// The device in the inventory API carries the flag too.
	resp, body = donorAPI.Get("/api/v1" + devicePath(f.device))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"erasure_failed":true`) {
		t.Fatalf("device: %d %s", resp.StatusCode, body)
	}
	// Erased again, wiped: the certificate through the API.
	fields = nwipeFields("2", "passed")
	fields["tool"], fields["method"], fields["passes"] = "nvme_format", "purge_crypto_erase", "0"
	if resp, body := postErasure(t, techAPI, path, fields, "", nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("again: %d %s", resp.StatusCode, body)
	}
	mustDiagnosed(t, f.env, f.device)
	for _, to := range []string{"diagnosed", "wiped"} {
		resp, body := techAPI.Do(http.MethodPost, "/api/v1"+devicePath(f.device, "/transitions"), strings.NewReader(`{"to":"`+to+`"}`),
			"Content-Type", "application/json")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", to, resp.StatusCode, body)
		}
	}
	resp, body = donorAPI.Get(path)
	if json.Unmarshal([]byte(body), &list) != nil || list.Certificate == nil || list.ErasureFailed || !strings.Contains(list.Certificate.CheckURL, "/c/") {
		t.Fatalf("listing after wiped: %s", body)
	}
	resp, pdf := donorAPI.Get(list.Certificate.URL)
	if resp.StatusCode != http.StatusOK || hexSHA256([]byte(pdf)) != list.Certificate.SHA256 {
		t.Fatalf("certificate: %d", resp.StatusCode)
	}
	// Once wiped and past it, erasures are still recorded; once gone, not.
	if _, err := f.env.DB.TransitionDevice(ctx, f.device, postgres.DonationScope{}, postgres.Transition{To: lifecycle.Dismantled,
		Via: lifecycle.Dismantle}, nil); err != nil {
		t.Fatal(err)
	}
	resp, body = postErasure(t, techAPI, path, nwipeFields("1", "passed"), "nwipe.log", []byte(nwipeLog))
	_ = json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != http.StatusConflict || e.Error.Details["state"] != "dismantled" {
		t.Fatalf("dismantled: %d %s", resp.StatusCode, body)
	}
	if resp, _ := techAPI.Get("/api/v1" + devicePath(f.device, "/erasures/999999/log")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown log: %d", resp.StatusCode)
	}
}

// Every key the erasure package names is in the three catalogs.
func TestErasureKeysTranslated(t *testing.T) {
	cat, err := i18n.Load(web.Catalogs())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range erasure.Keys() {
		if !cat.Has(k) {
			t.Errorf("%s is in no catalog", k)
		}
	}
}
