package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// monitorAnswers is a complete answer to display/v1 in JSON, every test
// passing except the failed ones.
func monitorAnswers(cosmetic string, failed ...string) string {
	results := map[string]map[string]string{}
	for _, id := range []string{"power", "screen", "dead_pixels", "video_in", "buttons", "audio", "remote", "stand"} {
		results[id] = map[string]string{"result": "pass"}
	}
	for _, id := range []string{"audio", "remote", "stand"} {
		results[id] = map[string]string{"result": "na"}
	}
	for _, id := range failed {
		results[id] = map[string]string{"result": "fail", "note": "HS"}
	}
	b, _ := json.Marshal(map[string]any{"results": results, "cosmetic": cosmetic, "notes": "Écran 24 pouces, pied réglable"})
	return string(b)
}

// The checklists, the diagnoses and the grade through the JSON API: field
// errors named as in the body, scope, conflicts with the fresh state.
func TestDiagnosisAPI(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	f := mustAPIDevice(t, env) // a monitor_24 of the workshop's
	mustReceiveDevice(t, env, f.device, 0)
	do := func(b *servertest.Browser, method, path, body string) (*http.Response, apiErrorBody, string) {
		t.Helper()
		var resp *http.Response
		var raw string
		if body == "" {
			resp, raw = b.Get(path)
		} else {
			resp, raw = b.Do(method, path, strings.NewReader(body), "Content-Type", "application/json")
		}
		var e apiErrorBody
		_ = json.Unmarshal([]byte(raw), &e)
		return resp, e, raw
	}

	// The checklist, for any signed-in client, in its language.
	resp, _, raw := do(f.donor, http.MethodGet, "/api/v1/checklists/monitor_24", "")
	var list struct {
		ID    string `json:"id"`
		Items []struct {
			ID          string `json:"id"`
			Label       string `json:"label"`
			Critical    bool   `json:"critical"`
			MayBeAbsent bool   `json:"may_be_absent"`
		} `json:"items"`
		Results []string `json:"results"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(raw), &list) != nil || list.ID != "display/v1" || len(list.Items) != 8 ||
		list.Items[1].Label != "Écran (affichage, rétroéclairage)" || !list.Items[1].Critical || !list.Items[7].MayBeAbsent || len(list.Results) != 3 {
		t.Fatalf("checklist: %d %s", resp.StatusCode, raw)
	}
	if resp, _ := f.donor.Get("/api/v1/checklists/toaster"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown category: %d", resp.StatusCode)
	}
	if resp, _ := env.Anonymous(t).Get("/api/v1/checklists/laptop"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", resp.StatusCode)
	}

	path := fmt.Sprintf("/api/v1/devices/%d/diagnoses", f.device)
	for body, field := range map[string]string{
		`{"results":{"screen":{"result":"na"}}}`:                                             "results.screen.result",
		`{"results":{"screen":{"result":"maybe"}}}`:                                          "results.screen.result",
		`{"results":{"screen":{"note":"rayé"}}}`:                                             "results.screen.result",
		`{"results":{"keyboard":{"result":"pass"}}}`:                                         "results.keyboard",
		`{"results":{"screen":{"result":"pass","note":"` + strings.Repeat("x", 201) + `"}}}`: "results.screen.note",
		`{"results":{}}`:                               "results",
		`{"cosmetic":"E"}`:                             "cosmetic",
		`{"cosmetic":"A","grade":"A"}`:                 "grade",
		`{"cosmetic":"A","results":{"screen":"pass"}}`: "results",
	} {
		if resp, e, _ := do(f.tech, http.MethodPost, path, body); resp.StatusCode != http.StatusBadRequest || e.Error.Fields[field] == "" {
			t.Errorf("%s: %d %+v", body, resp.StatusCode, e)
		}
	}
	if resp, _ := f.tech.Do(http.MethodPost, path, strings.NewReader(`{}`), "Content-Type", "text/plain"); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", resp.StatusCode)
	}
	if resp, _, _ := do(f.donor, http.MethodPost, path, monitorAnswers("A")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor: %d", resp.StatusCode)
	}
	if resp, _, _ := do(f.otherTech, http.MethodPost, path, monitorAnswers("A")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop: %d", resp.StatusCode)
	}

	resp, _, raw = do(f.tech, http.MethodPost, path, monitorAnswers("B", "dead_pixels"))
	var rec struct {
		postgres.DiagnosisRecord
		Reasons []string `json:"reasons"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(raw), &rec) != nil || !rec.Complete || rec.SuggestedGrade != "B" ||
		rec.Checklist != "display/v1" || len(rec.Answers) != 8 || len(rec.Reasons) != 2 || rec.Answers[2].Note != "HS" {
		t.Fatalf("record: %d %s", resp.StatusCode, raw)
	}
	if resp, _, raw := do(f.tech, http.MethodPost, path, monitorAnswers("A", "video_in")); resp.StatusCode != http.StatusCreated ||
		!strings.Contains(raw, `"suggested_grade":""`) || !strings.Contains(raw, "Entrées vidéo") {
		t.Fatalf("critical: %d %s", resp.StatusCode, raw)
	}
	resp, _, raw = do(f.donor, http.MethodGet, path, "")
	var page struct {
		Items []struct {
			ID             int64  `json:"id"`
			SuggestedGrade string `json:"suggested_grade"`
		} `json:"items"`
		Total int `json:"total"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(raw), &page) != nil || page.Total != 2 || page.Items[1].ID != rec.ID || page.Items[0].SuggestedGrade != "" {
		t.Fatalf("list: %d %s", resp.StatusCode, raw)
	}
	if resp, _ := f.otherTech.Get(path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop list: %d", resp.StatusCode)
	}

	// The grade: not before erasure, never with a stale version.
	grade := fmt.Sprintf("/api/v1/devices/%d/grade", f.device)
	_, v := deviceVersion(t, env, f.device)
	resp, e, _ := do(f.tech, http.MethodPut, grade, fmt.Sprintf(`{"grade":"B","version":%d}`, v))
	if resp.StatusCode != http.StatusConflict || e.Error.Details["state"] != "received" || e.Error.Details["version"] != float64(v) {
		t.Fatalf("grade when received: %d %+v", resp.StatusCode, e)
	}
	for body, field := range map[string]string{`{"grade":"B"}`: "version", `{"grade":"Z","version":1}`: "grade", `{"version":1}`: "grade",
		`{"grade":"B","version":1,"reason":"` + strings.Repeat("x", 501) + `"}`: "reason"} {
		if resp, e, _ := do(f.tech, http.MethodPut, grade, body); resp.StatusCode != http.StatusBadRequest || e.Error.Fields[field] == "" {
			t.Errorf("%s: %d %+v", body, resp.StatusCode, e)
		}
	}
	if resp, _, raw := do(f.tech, http.MethodPost, path, monitorAnswers("B", "dead_pixels")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("diagnosis again: %s", raw)
	}
	for _, to := range []string{"diagnosed", "wiped"} {
		if resp, _, raw := do(f.tech, http.MethodPost, fmt.Sprintf("/api/v1/devices/%d/transitions", f.device), `{"to":"`+to+`"}`); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", to, raw)
		}
	}
	_, v = deviceVersion(t, env, f.device)
	if resp, e, _ := do(f.tech, http.MethodPut, grade, fmt.Sprintf(`{"grade":"A","version":%d}`, v)); resp.StatusCode != http.StatusBadRequest || e.Error.Fields["reason"] == "" {
		t.Errorf("another grade without reason: %d %+v", resp.StatusCode, e)
	}
	if resp, _, _ := do(f.donor, http.MethodPut, grade, fmt.Sprintf(`{"grade":"B","version":%d}`, v)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor grade: %d", resp.StatusCode)
	}
	if resp, _, _ := do(f.otherTech, http.MethodPut, grade, fmt.Sprintf(`{"grade":"B","version":%d}`, v)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop grade: %d", resp.StatusCode)
	}

	// Two clients grade from the same version at once: one wins, the other
	// gets 409 with the fresh version.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers = map[int]int{}
		fresh   int
	)
	for _, body := range []string{`{"grade":"B","version":%d}`, `{"grade":"C","reason":"Pied cassé au transport","version":%d}`} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, raw := f.tech.Do(http.MethodPut, grade, strings.NewReader(fmt.Sprintf(body, v)), "Content-Type", "application/json")
			var e apiErrorBody
			_ = json.Unmarshal([]byte(raw), &e)
			mu.Lock()
			defer mu.Unlock()
			answers[resp.StatusCode]++
			if resp.StatusCode == http.StatusConflict && e.Error.Details["version"] == float64(v+1) && e.Error.Details["state"] == "wiped" {
				fresh++
			}
		}()
	}
	wg.Wait()
	if answers[http.StatusOK] != 1 || answers[http.StatusConflict] != 1 || fresh != 1 {
		t.Fatalf("answers %v, %d conflict(s) with the fresh version", answers, fresh)
	}
	resp, _, raw = do(f.tech, http.MethodPut, grade, fmt.Sprintf(`{"grade":"B","reason":"","version":%d}`, v+1))
	var g postgres.GradeResult
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(raw), &g) != nil || g.Grade != "B" || g.GradeSuggested != "B" ||
		g.Version != v+2 || g.State != "wiped" {
		t.Fatalf("grade: %d %s", resp.StatusCode, raw)
	}
}
