package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Recycling through the JSON API: a device's standing, joining and
// leaving the open batch, the batch and its devices, the handover with its
// certificate, and the scope of each.
func TestRecyclingAPI(t *testing.T) {
	f, ids := mustRecyclingFixture(t)
	api := f.env.API(t, f.env.MustToken(t, f.shop.ID, techID(t, f), "write"))
	dev := func(id int64) string { return fmt.Sprintf("/api/v1/devices/%d/recycling", id) }

	resp, body := api.Get(dev(ids[0]))
	adminWantStatus(t, "standing", resp, body, http.StatusOK)
	mustContain(t, "standing", body, `"can_join":true`, `"state":"received"`)
	resp, body = api.Get(dev(ids[2]))
	mustContain(t, "unerased standing", body, `"can_join":false`, `"reason":"1 disque(s) sans effacement vérifié`)

	resp, body = api.Do(http.MethodPost, dev(ids[2]), nil)
	adminWantStatus(t, "refused", resp, body, http.StatusConflict)
	mustContain(t, "refused", body, "sans effacement vérifié", `"state":"received"`, `"version":`)
	var joined struct {
		BatchID int64 `json:"batch_id"`
		Version int
	}
	for _, id := range ids[:2] {
		resp, body = api.Do(http.MethodPost, dev(id), nil)
		adminWantStatus(t, "join", resp, body, http.StatusOK)
		if err := json.Unmarshal([]byte(body), &joined); err != nil || joined.BatchID == 0 {
			t.Fatalf("join: %s", body)
		}
	}
	resp, body = api.Do(http.MethodDelete, dev(ids[1]), nil)
	adminWantStatus(t, "leave", resp, body, http.StatusOK)
	resp, body = api.Do(http.MethodDelete, dev(ids[1]), nil)
	adminWantStatus(t, "leave twice", resp, body, http.StatusConflict)
	mustContain(t, "leave twice", body, "aucun lot de recyclage ouvert")
	resp, body = api.Do(http.MethodPost, dev(ids[1]), nil)
	adminWantStatus(t, "join again", resp, body, http.StatusOK)

	batch := fmt.Sprintf("/api/v1/recycling/%d", joined.BatchID)
	resp, body = api.Get("/api/v1/recycling")
	adminWantStatus(t, "list", resp, body, http.StatusOK)
	mustContain(t, "list", body, `"total":1`, `"state":"open"`, `"devices":2`, `"devices_weight_kg":3.8`)
	resp, body = api.Get(batch)
	adminWantStatus(t, "batch", resp, body, http.StatusOK)
	resp, body = api.Get(batch + "/devices")
	adminWantStatus(t, "devices", resp, body, http.StatusOK)
	mustContain(t, "devices", body, `"total":2`, "Latitude 5490")
	resp, body = api.Get(batch + "/certificate")
	adminWantStatus(t, "no certificate yet", resp, body, http.StatusNotFound)

	// Another workshop reaches none of it.
	var jon int64
	if err := f.env.DB.SQL().QueryRow(`SELECT id FROM users WHERE name = 'Jon Voisin'`).Scan(&jon); err != nil {
		t.Fatal(err)
	}
	other := f.env.API(t, f.env.MustToken(t, f.otherShopID(t), jon, "write"))
	for _, p := range []string{batch, batch + "/devices", batch + "/certificate", dev(ids[0])} {
		resp, body := other.Get(p)
		adminWantStatus(t, "other "+p, resp, body, http.StatusNotFound)
	}
	resp, body = other.Do(http.MethodDelete, dev(ids[0]), nil)
	adminWantStatus(t, "other leave", resp, body, http.StatusNotFound)
	resp, body = handoverForm(t, other, batch+"/handover", validHandover(), testCertPDF)
	adminWantStatus(t, "other handover", resp, body, http.StatusNotFound)
	if _, body := other.Get("/api/v1/recycling"); !strings.Contains(body, `"total":0`) {
		t.Fatalf("another workshop lists: %s", body)
	}

	// The handover: fields checked, then done.
	resp, body = api.Do(http.MethodPost, batch+"/handover", strings.NewReader(`{}`), "Content-Type", "application/json")
	adminWantStatus(t, "json handover", resp, body, http.StatusUnsupportedMediaType)
	resp, body = handoverForm(t, api, batch+"/handover", url.Values{"total_weight_kg": {"lourd"}}, []byte("GIF89a"))
	adminWantStatus(t, "bad handover", resp, body, http.StatusBadRequest)
	for _, field := range []string{"recycler", "handed_over_on", "total_weight_kg", "certificate_ref", "certificate"} {
		mustContain(t, "bad handover", body, `"`+field+`":`)
	}
	resp, body = handoverForm(t, api, batch+"/handover", validHandover(), append([]byte("%PDF-1.4\n"), make([]byte, 10_000_001)...))
	adminWantStatus(t, "too large", resp, body, http.StatusRequestEntityTooLarge)
	resp, body = handoverForm(t, api, batch+"/handover", validHandover(), testCertPDF)
	adminWantStatus(t, "handover", resp, body, http.StatusOK)
	mustContain(t, "handover", body, `"state":"handed_over"`, `"recycler":"Ecologic Sud-Ouest"`, `"total_weight_kg":5.7`,
		`"certificate_ref":"BSD-2026-42"`, `"certificate_sha256":"`)
	if strings.Contains(body, "certificate_key") || strings.Contains(body, "recycling/") {
		t.Fatalf("the storage key leaks: %s", body)
	}
	resp, pdf := api.Get(batch + "/certificate")
	if resp.StatusCode != http.StatusOK || pdf != string(testCertPDF) {
		t.Fatalf("certificate: %d", resp.StatusCode)
	}
	resp, body = api.Get(dev(ids[0]))
	mustContain(t, "recycled standing", body, `"state":"recycled"`, fmt.Sprintf(`"batch_id":%d`, joined.BatchID), `"can_join":false`)
	resp, body = api.Do(http.MethodDelete, dev(ids[0]), nil)
	adminWantStatus(t, "leave a handed-over batch", resp, body, http.StatusConflict)
	for _, p := range []string{"/api/v1/recycling/999999", "/api/v1/recycling/abc", dev(999999)} {
		resp, body := api.Get(p)
		adminWantStatus(t, p, resp, body, http.StatusNotFound)
	}
}
