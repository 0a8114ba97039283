package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

func postJSONBody(t *testing.T, b *servertest.Browser, path, body string) (*http.Response, string) {
	t.Helper()
	return b.Do(http.MethodPost, path, strings.NewReader(body), "Content-Type", "application/json")
}

func decodeRequest(t *testing.T, body string) postgres.Request {
	t.Helper()
	var r postgres.Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return r
}

const apiRequestBody = `{"purpose": "Salle informatique du collège", "delivery_commune": "64102", "criteria": ["rep", "social"],
	"lines": [{"category": "desktop", "quantity": 6, "min_ram_gb": 8, "min_grade": "B"}, {"category": "monitor_24", "quantity": 6, "notes": "HDMI"}]}`

func TestRequestAPI(t *testing.T) {
	f := mustRequestFixture(t)
	env := f.env
	school := env.API(t, env.MustToken(t, f.school.ID, f.teacherUser.ID, "write"))
	schoolRead := env.API(t, env.MustToken(t, f.school.ID, f.teacherUser.ID, "read"))
	assoc := env.API(t, env.MustToken(t, f.assoc.ID, env.MustUser(t, f.assoc.ID, "Peio", false).ID, "write"))
	op := env.API(t, env.MustToken(t, f.opUser.OrgID, f.opUser.ID, "write"))
	tech := env.API(t, env.MustToken(t, f.shop.ID, env.MustUser(t, f.shop.ID, "Ane", false).ID, "write"))

	// Filing.
	resp, body := postJSONBody(t, school, "/api/v1/requests", apiRequestBody)
	wantStatus(t, "create", resp, body, http.StatusCreated)
	r := decodeRequest(t, body)
	if resp.Header.Get("Location") != fmt.Sprintf("/api/v1/requests/%d", r.ID) || r.State != allocation.Submitted || r.Priority != 50 ||
		r.Devices != 12 || len(r.Lines) != 2 || r.Lines[0].MinGrade != "B" || r.Lines[1].Notes != "HDMI" || r.Version != 1 ||
		r.BeneficiaryOrgID != f.school.ID || len(r.History) != 1 {
		t.Fatalf("created %s", body)
	}
	mustContain(t, "JSON names", body, `"min_ram_gb":8`, `"proposed":0`, `"delivered":0`, `"criteria":["rep","social"]`, `"to":"submitted"`)
	for name, c := range map[string]struct {
		b    *servertest.Browser
		body string
		want []string
	}{
		"other organisation": {school, strings.Replace(apiRequestBody, `{"purpose"`, fmt.Sprintf(`{"beneficiary_organisation_id": %d, "purpose"`, f.assoc.ID), 1),
			[]string{`"beneficiary_organisation_id":"Choisissez une école`}},
		"operator without organisation": {op, apiRequestBody, []string{`"beneficiary_organisation_id"`}},
		"operator for a workshop": {op, strings.Replace(apiRequestBody, `{"purpose"`, fmt.Sprintf(`{"beneficiary_organisation_id": %d, "purpose"`, f.shop.ID), 1),
			[]string{`"beneficiary_organisation_id":"Choisissez une école`}},
		"bad lines": {school, `{"purpose": "x", "delivery_commune": "64102", "lines": [{"category": "laptop", "quantity": 1},
			{"category": "toaster", "quantity": 501, "min_screen_inches": 15.66}]}`,
			[]string{`"lines[1].category"`, `"lines[1].quantity"`, `"lines[1].min_screen_inches"`}},
		"no lines":      {school, `{"purpose": "x", "delivery_commune": "64102", "lines": []}`, []string{`"lines":"Ajoutez au moins une ligne`}},
		"unknown field": {school, `{"purpose": "x", "delivery_commune": "64102", "lines": [], "urgent": true}`, []string{`"code":"invalid"`}},
		"unknown criterion": {school, `{"purpose": "x", "delivery_commune": "64102", "criteria": ["rich"], "lines": [{"category": "laptop", "quantity": 1}]}`,
			[]string{`"criteria":"Critère de priorité inconnu."`}},
	} {
		resp, body := postJSONBody(t, c.b, "/api/v1/requests", c.body)
		wantStatus(t, name, resp, body, http.StatusBadRequest)
		mustContain(t, name, body, c.want...)
	}
	resp, body = postJSONBody(t, op, "/api/v1/requests",
		strings.Replace(apiRequestBody, `{"purpose"`, fmt.Sprintf(`{"beneficiary_organisation_id": %d, "purpose"`, f.assoc.ID), 1))
	wantStatus(t, "operator files", resp, body, http.StatusCreated)
	other := decodeRequest(t, body)
	resp, body = postJSONBody(t, schoolRead, "/api/v1/requests", apiRequestBody)
	wantStatus(t, "read token", resp, body, http.StatusForbidden)
	resp, body = postJSONBody(t, tech, "/api/v1/requests", apiRequestBody)
	wantStatus(t, "technician", resp, body, http.StatusForbidden)

	// Reading, in scope.
	resp, body = school.Get("/api/v1/requests")
	wantStatus(t, "list", resp, body, http.StatusOK)
	mustContain(t, "list", body, `"total":1`, fmt.Sprintf(`"id":%d`, r.ID))
	resp, body = op.Get("/api/v1/requests?state=submitted")
	wantStatus(t, "queue", resp, body, http.StatusOK)
	mustContain(t, "queue", body, `"total":2`)
	resp, body = op.Get("/api/v1/requests?state=lost")
	wantStatus(t, "unknown state", resp, body, http.StatusBadRequest)
	mustContain(t, "unknown state", body, `"state":"État de demande inconnu."`)
	resp, body = schoolRead.Get(fmt.Sprintf("/api/v1/requests/%d", r.ID))
	wantStatus(t, "detail", resp, body, http.StatusOK)
	resp, body = school.Get(fmt.Sprintf("/api/v1/requests/%d", other.ID))
	wantStatus(t, "another's request", resp, body, http.StatusNotFound)
	resp, body = tech.Get(fmt.Sprintf("/api/v1/requests/%d", r.ID))
	wantStatus(t, "technician reads", resp, body, http.StatusForbidden)

	// The decision.
	decide := fmt.Sprintf("/api/v1/requests/%d/decision", r.ID)
	resp, body = postJSONBody(t, school, decide, `{"decision": "approve", "version": 1}`)
	wantStatus(t, "beneficiary decides", resp, body, http.StatusForbidden)
	resp, body = postJSONBody(t, op, decide, `{"decision": "approve"}`)
	wantStatus(t, "no version", resp, body, http.StatusBadRequest)
	mustContain(t, "no version", body, `"version":"Indiquez la version`)
	resp, body = postJSONBody(t, op, decide, `{"decision": "decline", "version": 1}`)
	wantStatus(t, "decline without reason", resp, body, http.StatusBadRequest)
	mustContain(t, "decline without reason", body, `"reason":"Indiquez le motif du refus`)
	resp, body = postJSONBody(t, op, decide, `{"decision": "approve", "version": 3}`)
	wantStatus(t, "stale", resp, body, http.StatusConflict)
	mustContain(t, "stale", body, `"details":{"state":"submitted","version":1}`)
	resp, body = postJSONBody(t, op, decide, `{"decision": "approve", "reason": "", "version": 1}`)
	wantStatus(t, "approve", resp, body, http.StatusOK)
	if got := decodeRequest(t, body); got.State != allocation.Approved || got.Version != 2 || got.DecidedByName != f.opUser.Name {
		t.Fatalf("approved %s", body)
	}
	resp, body = postJSONBody(t, op, decide, `{"decision": "decline", "reason": "Trop tard", "version": 2}`)
	wantStatus(t, "decided twice", resp, body, http.StatusConflict)
	resp, body = postJSONBody(t, op, "/api/v1/requests/999999/decision", `{"decision": "approve", "version": 1}`)
	wantStatus(t, "unknown request", resp, body, http.StatusNotFound)

	// The cancellation.
	cancel := fmt.Sprintf("/api/v1/requests/%d/cancel", r.ID)
	resp, body = postJSONBody(t, assoc, cancel, `{"version": 2}`)
	wantStatus(t, "other beneficiary cancels", resp, body, http.StatusNotFound)
	resp, body = postJSONBody(t, school, cancel, `{}`)
	wantStatus(t, "cancel without version", resp, body, http.StatusBadRequest)
	resp, body = postJSONBody(t, school, cancel, `{"version": 2, "reason": "no"}`)
	wantStatus(t, "short reason", resp, body, http.StatusBadRequest)
	mustContain(t, "short reason", body, `"reason":"Le motif doit compter`)
	resp, body = postJSONBody(t, schoolRead, cancel, `{"version": 2}`)
	wantStatus(t, "read token cancels", resp, body, http.StatusForbidden)
	resp, body = postJSONBody(t, school, cancel, `{"version": 2, "reason": "Budget trouvé"}`)
	wantStatus(t, "cancel", resp, body, http.StatusOK)
	if got := decodeRequest(t, body); got.State != allocation.Cancelled || got.History[len(got.History)-1].Reason != "Budget trouvé" {
		t.Fatalf("cancelled %s", body)
	}
	resp, body = postJSONBody(t, school, cancel, `{"version": 3}`)
	wantStatus(t, "cancelled twice", resp, body, http.StatusConflict)
	mustContain(t, "cancelled twice", body, `"details":{"state":"cancelled"}`)
	resp, body = school.Do(http.MethodPost, cancel, strings.NewReader("version=3"), "Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, "not JSON", resp, body, http.StatusUnsupportedMediaType)
}
