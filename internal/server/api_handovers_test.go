package server_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/server/servertest"
)

// hoCall sends a JSON body (or none) with a token's client.
func hoCall(t *testing.T, b *servertest.Browser, method, path, body string) (*http.Response, string) {
	t.Helper()
	if body == "" {
		return b.Do(method, path, nil, "Accept", "application/json")
	}
	return b.Do(method, path, strings.NewReader(body), "Content-Type", "application/json", "Accept", "application/json")
}

func hoWant(t *testing.T, what string, resp *http.Response, body string, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: %d, want %d\n%s", what, resp.StatusCode, status, body)
	}
	if code != "" && !strings.Contains(body, `"code":"`+code+`"`) {
		t.Fatalf("%s: want code %s\n%s", what, code, body)
	}
}

// The handover through the JSON API: what is ready, the candidates, the
// preparation (and its refusals), each party's view, the receipt, the
// confirmation with its answer, a return request and the return.
func TestHandoverAPI(t *testing.T) {
	f := mustHandoverFix(t, 3)
	tech, teacher := f.env.API(t, f.techToken), f.env.API(t, f.teacherToken)
	other, otherTech := f.env.API(t, f.otherToken), f.env.API(t, f.otherTechToken)
	req := strconv.FormatInt(f.request, 10)

	resp, body := hoCall(t, tech, http.MethodGet, "/api/v1/handovers/ready", "")
	hoWant(t, "ready", resp, body, http.StatusOK, "")
	var ready struct {
		Items []struct {
			RequestID int64 `json:"request_id"`
			Devices   int   `json:"devices"`
		} `json:"items"`
		Total int `json:"total"`
	}
	mustDecodeJSON(t, body, &ready)
	if ready.Total != 1 || ready.Items[0].RequestID != f.request || ready.Items[0].Devices != 3 {
		t.Fatalf("ready %+v", ready)
	}
	resp, body = hoCall(t, tech, http.MethodGet, "/api/v1/requests/"+req+"/handover/candidates", "")
	hoWant(t, "candidates", resp, body, http.StatusOK, "")
	var cands struct {
		Request struct {
			BeneficiaryName string `json:"beneficiary_name"`
		} `json:"request"`
		Items []struct {
			ReservationID int64  `json:"reservation_id"`
			Tag           string `json:"tag"`
		} `json:"items"`
		Total, Pages int
	}
	mustDecodeJSON(t, body, &cands)
	if cands.Request.BeneficiaryName != "École Jules Ferry" || cands.Total != 3 || cands.Pages != 1 || cands.Items[0].Tag != f.tags[0] {
		t.Fatalf("candidates %+v", cands)
	}
	resp, body = hoCall(t, otherTech, http.MethodGet, "/api/v1/requests/"+req+"/handover/candidates", "")
	hoWant(t, "other workshop's candidates", resp, body, http.StatusNotFound, "not_found")
	resp, body = hoCall(t, f.env.API(t, f.env.MustToken(t, f.opP.OrgID, f.opP.UserID, "write")), http.MethodGet,
		"/api/v1/requests/"+req+"/handover/candidates?workshop_id=abc", "")
	hoWant(t, "bad workshop_id", resp, body, http.StatusBadRequest, "invalid")

	resp, body = tech.Do(http.MethodPost, "/api/v1/handovers", strings.NewReader("x"), "Content-Type", "text/plain")
	hoWant(t, "text", resp, body, http.StatusUnsupportedMediaType, "")
	resp, body = hoCall(t, tech, http.MethodPost, "/api/v1/handovers", `{"request_id":`+req+`,"reservation_ids":[]}`)
	hoWant(t, "none", resp, body, http.StatusBadRequest, "invalid")
	mustContain(t, "none", body, `"reservations":`)
	resp, body = hoCall(t, otherTech, http.MethodPost, "/api/v1/handovers",
		fmt.Sprintf(`{"request_id":%s,"reservation_ids":[%d]}`, req, f.reservations[0]))
	hoWant(t, "other workshop", resp, body, http.StatusNotFound, "not_found")
	resp, body = hoCall(t, tech, http.MethodPost, "/api/v1/handovers",
		fmt.Sprintf(`{"request_id":%s,"reservation_ids":[%d,%d]}`, req, f.reservations[0], f.reservations[1]))
	hoWant(t, "prepare", resp, body, http.StatusCreated, "")
	var h struct {
		ID      int64  `json:"id"`
		Number  string `json:"number"`
		State   string `json:"state"`
		Devices int    `json:"devices"`
		Answer  string `json:"answer"`
		SHA     string `json:"receipt_sha256"`
	}
	mustDecodeJSON(t, body, &h)
	if h.State != "prepared" || h.Devices != 2 || !strings.HasPrefix(h.Number, "BRZ-H-") || len(h.SHA) != 64 {
		t.Fatalf("prepared %+v", h)
	}
	resp, body = hoCall(t, tech, http.MethodPost, "/api/v1/handovers",
		fmt.Sprintf(`{"request_id":%s,"reservation_ids":[%d]}`, req, f.reservations[0]))
	hoWant(t, "again", resp, body, http.StatusConflict, "conflict")
	mustContain(t, "again", body, f.tags[0], `"reservation_id":`)

	hp := "/api/v1/handovers/" + strconv.FormatInt(h.ID, 10)
	for name, b := range map[string]*servertest.Browser{"other school": other, "other workshop": otherTech} {
		resp, body = hoCall(t, b, http.MethodGet, hp, "")
		hoWant(t, name, resp, body, http.StatusNotFound, "not_found")
	}
	resp, body = hoCall(t, teacher, http.MethodGet, "/api/v1/handovers", "")
	hoWant(t, "school's list", resp, body, http.StatusOK, "")
	mustContain(t, "school's list", body, h.Number, `"pages":1`)
	resp, body = hoCall(t, teacher, http.MethodGet, hp+"/devices", "")
	hoWant(t, "devices", resp, body, http.StatusOK, "")
	mustContain(t, "devices", body, f.tags[0], f.tags[1], `"certificate":"BRZ-E-`, `"certificate_check_path":"/c/`)
	resp, body = teacher.Get(hp + "/receipt.pdf")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "%PDF-") {
		t.Fatalf("receipt: %d", resp.StatusCode)
	}

	resp, body = hoCall(t, f.env.API(t, f.readToken), http.MethodPost, hp+"/confirm", `{}`)
	hoWant(t, "read token", resp, body, http.StatusForbidden, "")
	resp, body = hoCall(t, tech, http.MethodPost, hp+"/confirm", `{}`)
	hoWant(t, "workshop confirms", resp, body, http.StatusForbidden, "forbidden")
	resp, body = hoCall(t, other, http.MethodPost, hp+"/confirm", `{}`)
	hoWant(t, "other school confirms", resp, body, http.StatusNotFound, "not_found")
	resp, body = hoCall(t, teacher, http.MethodPost, hp+"/confirm", `{"answer":"maybe"}`)
	hoWant(t, "bad answer", resp, body, http.StatusBadRequest, "invalid")
	mustContain(t, "bad answer", body, `"answer":`)
	resp, body = hoCall(t, teacher, http.MethodPost, hp+"/confirm", `{"answer":"gone_without"}`)
	hoWant(t, "confirm", resp, body, http.StatusOK, "")
	mustDecodeJSON(t, body, &h)
	if h.State != "confirmed" || h.Answer != "gone_without" {
		t.Fatalf("confirmed %+v", h)
	}
	resp, body = hoCall(t, teacher, http.MethodPost, hp+"/confirm", `{}`)
	hoWant(t, "twice", resp, body, http.StatusConflict, "conflict")
	resp, body = hoCall(t, tech, http.MethodPost, hp+"/cancel", "")
	hoWant(t, "cancel confirmed", resp, body, http.StatusConflict, "conflict")

	// A return, asked by id, recorded with the device's version.
	resp, body = hoCall(t, teacher, http.MethodPost, hp+"/returns", fmt.Sprintf(`{"device_id":%d,"reason":"Clavier HS"}`, f.devices[2]))
	hoWant(t, "not in the handover", resp, body, http.StatusBadRequest, "invalid")
	mustContain(t, "not in the handover", body, `"device_id":`)
	resp, body = hoCall(t, teacher, http.MethodPost, hp+"/returns", fmt.Sprintf(`{"device_id":%d,"reason":"Clavier HS"}`, f.devices[1]))
	hoWant(t, "ask", resp, body, http.StatusCreated, "")
	mustContain(t, "ask", body, `"reason":"Clavier HS"`, f.tags[1])
	ret := "/api/v1/devices/" + strconv.FormatInt(f.devices[1], 10) + "/return"
	resp, body = hoCall(t, otherTech, http.MethodPost, ret, `{"reason":"x"}`)
	hoWant(t, "other workshop returns", resp, body, http.StatusNotFound, "not_found")
	resp, body = hoCall(t, tech, http.MethodPost, ret, `{"reason":""}`)
	hoWant(t, "no reason", resp, body, http.StatusBadRequest, "invalid")
	_, version := deviceVersion(t, f.env, f.devices[1])
	resp, body = hoCall(t, tech, http.MethodPost, ret, fmt.Sprintf(`{"reason":"Clavier HS","version":%d}`, version-1))
	hoWant(t, "stale", resp, body, http.StatusConflict, "conflict")
	mustContain(t, "stale", body, `"state":"delivered"`, fmt.Sprintf(`"version":%d`, version))
	resp, body = hoCall(t, tech, http.MethodPost, ret, fmt.Sprintf(`{"reason":"Clavier HS","version":%d}`, version))
	hoWant(t, "return", resp, body, http.StatusOK, "")
	mustContain(t, "return", body, `"state":"returned"`, `"cycle":2`)
	if st := handoverDeviceState(t, f.env, f.devices[1]); st != lifecycle.Returned {
		t.Fatalf("device %s", st)
	}
	resp, body = hoCall(t, tech, http.MethodPost, ret, `{"reason":"Encore"}`)
	hoWant(t, "twice", resp, body, http.StatusConflict, "conflict")
	mustContain(t, "twice", body, `"state":"returned"`)

	// The last device, prepared then cancelled by the API.
	resp, body = hoCall(t, tech, http.MethodPost, "/api/v1/handovers",
		fmt.Sprintf(`{"request_id":%s,"reservation_ids":[%d]}`, req, f.reservations[2]))
	hoWant(t, "prepare the last", resp, body, http.StatusCreated, "")
	mustDecodeJSON(t, body, &h)
	last := "/api/v1/handovers/" + strconv.FormatInt(h.ID, 10)
	resp, body = hoCall(t, teacher, http.MethodPost, last+"/cancel", "")
	hoWant(t, "school cancels", resp, body, http.StatusForbidden, "forbidden")
	resp, body = hoCall(t, tech, http.MethodPost, last+"/cancel", "")
	hoWant(t, "cancel", resp, body, http.StatusOK, "")
	mustContain(t, "cancel", body, `"state":"cancelled"`, `"devices":0`, `"cancelled_at":`)
}
