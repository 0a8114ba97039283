package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/server/servertest"
)

// apiCall sends a JSON body (or none) and decodes the answer into out
// (when not nil).
func matchAPI(t *testing.T, b *servertest.Browser, method, path, body string, out any) (*http.Response, string) {
	t.Helper()
	var resp *http.Response
	var got string
	if body == "" {
		resp, got = b.Do(method, path, nil, "Accept", "application/json")
	} else {
		resp, got = b.Do(method, path, strings.NewReader(body), "Content-Type", "application/json")
	}
	if out != nil && resp.StatusCode < 300 {
		mustDecodeJSON(t, got, out)
	}
	return resp, got
}

// apiError decodes an error body.
func matchAPIError(t *testing.T, body string) (code, message string, fields map[string]string, details map[string]any) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string
			Message string
			Fields  map[string]string
			Details map[string]any
		}
	}
	mustDecodeJSON(t, body, &e)
	return e.Error.Code, e.Error.Message, e.Error.Fields, e.Error.Details
}

type apiMatchFixture struct {
	*matchFixture
	op, teacher, helper, teacherRead *servertest.Browser
}

func mustAPIMatchFixture(t *testing.T) apiMatchFixture {
	t.Helper()
	f := mustMatchFixture(t, servertest.Options{})
	token := func(org account.Organisation, name, scope string) *servertest.Browser {
		u := f.env.MustUser(t, org.ID, name, false)
		return f.env.API(t, f.env.MustToken(t, org.ID, u.ID, scope))
	}
	opOrg := f.env.MustOrg(t, account.KindOperator, "Opérateur API")
	return apiMatchFixture{matchFixture: f, op: token(opOrg, "Robot", "write"), teacher: token(f.school, "Prof API", "write"),
		helper: token(f.assoc, "Aide API", "write"), teacherRead: token(f.school, "Prof lecture", "read")}
}

type apiReservation struct {
	ID            int64  `json:"id"`
	State         string `json:"state"`
	RequestLineID int64  `json:"request_line_id"`
	DroppedReason string `json:"dropped_reason"`
	Device        struct {
		ID        int64  `json:"id"`
		RAMGB     int    `json:"ram_gb"`
		StorageGB int    `json:"storage_gb"`
		Grade     string `json:"grade"`
	} `json:"device"`
}

func TestCatalogueAPI(t *testing.T) {
	f := mustAPIMatchFixture(t)
	ids := f.mustAvailable(t, laptop8, matchSpec{"laptop", 16, 512, 15.6, "A"}, matchSpec{"tablet", 4, 64, 10.1, "C"})
	resp, body := matchAPI(t, f.teacher, http.MethodGet, "/api/v1/catalogue", "", nil)
	if code, _, _, _ := matchAPIError(t, body); resp.StatusCode != http.StatusForbidden || code != "catalogue_closed" {
		t.Fatalf("closed: %d %s", resp.StatusCode, body)
	}
	_, lines := f.mustRequest(t, f.school.ID, 30, time.Now(), allocation.Line{Category: "laptop", Quantity: 1, MinGrade: "A"})
	var page struct {
		Items []struct {
			ID    int64  `json:"id"`
			Grade string `json:"grade"`
			RAMGB int    `json:"ram_gb"`
		}
		Total int
	}
	resp, body = matchAPI(t, f.teacher, http.MethodGet, "/api/v1/catalogue?category=laptop&min_grade=a", "", &page)
	if resp.StatusCode != http.StatusOK || page.Total != 1 || page.Items[0].ID != ids[1] || page.Items[0].RAMGB != 16 {
		t.Fatalf("filtered: %d %s", resp.StatusCode, body)
	}
	resp, body = matchAPI(t, f.teacher, http.MethodGet, "/api/v1/catalogue?min_ram_gb=-1&min_screen_inches=x", "", nil)
	if _, _, fields, _ := matchAPIError(t, body); resp.StatusCode != http.StatusBadRequest || len(fields) != 2 {
		t.Fatalf("bad filters: %d %s", resp.StatusCode, body)
	}
	var open struct {
		Items []struct {
			ID   int64 `json:"id"`
			Need int   `json:"need"`
		}
	}
	if resp, body = matchAPI(t, f.teacher, http.MethodGet, "/api/v1/catalogue/lines", "", &open); resp.StatusCode != http.StatusOK ||
		len(open.Items) != 1 || open.Items[0].ID != lines[0] || open.Items[0].Need != 1 {
		t.Fatalf("lines: %d %s", resp.StatusCode, body)
	}
	reserve := func(b *servertest.Browser, device int64, body string) (*http.Response, string) {
		return matchAPI(t, b, http.MethodPost, fmt.Sprintf("/api/v1/catalogue/%d/reserve", device), body, nil)
	}
	resp, body = reserve(f.teacher, ids[0], fmt.Sprintf(`{"request_line_id": %d}`, lines[0]))
	if _, msg, _, _ := matchAPIError(t, body); resp.StatusCode != http.StatusConflict || !strings.Contains(msg, "ne satisfait pas") {
		t.Fatalf("unfit: %d %s", resp.StatusCode, body)
	}
	resp, body = reserve(f.teacher, ids[1], `{}`)
	if _, _, fields, _ := matchAPIError(t, body); resp.StatusCode != http.StatusBadRequest || fields["request_line_id"] == "" {
		t.Fatalf("no line: %d %s", resp.StatusCode, body)
	}
	resp, body = reserve(f.teacher, ids[1], `{"request_line_id": 1, "extra": true}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown field: %d %s", resp.StatusCode, body)
	}
	resp, body = reserve(f.teacherRead, ids[1], fmt.Sprintf(`{"request_line_id": %d}`, lines[0]))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("read token: %d %s", resp.StatusCode, body)
	}
	var r apiReservation
	resp, body = reserve(f.teacher, ids[1], fmt.Sprintf(`{"request_line_id": %d}`, lines[0]))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("reserve: %d %s", resp.StatusCode, body)
	}
	mustDecodeJSON(t, body, &r)
	if r.State != "accepted" || r.Device.ID != ids[1] || r.Device.StorageGB != 512 || r.Device.Grade != "A" {
		t.Fatalf("reservation %+v", r)
	}
	resp, body = matchAPI(t, f.helper, http.MethodGet, fmt.Sprintf("/api/v1/reservations/%d", r.ID), "", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another organisation's reservation: %d %s", resp.StatusCode, body)
	}
	var list struct {
		Items []apiReservation
		Total int
	}
	if resp, body = matchAPI(t, f.teacher, http.MethodGet, "/api/v1/reservations", "", &list); resp.StatusCode != http.StatusOK ||
		list.Total != 1 || list.Items[0].ID != r.ID {
		t.Fatalf("reservations: %d %s", resp.StatusCode, body)
	}
	resp, body = matchAPI(t, f.teacher, http.MethodPost, fmt.Sprintf("/api/v1/reservations/%d/release", r.ID), "", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("release as beneficiary: %d %s", resp.StatusCode, body)
	}
	if resp, body = matchAPI(t, f.op, http.MethodPost, fmt.Sprintf("/api/v1/reservations/%d/release", r.ID), "", &r); resp.StatusCode != http.StatusOK ||
		r.State != "released" {
		t.Fatalf("release: %d %s", resp.StatusCode, body)
	}
}

// Item 7 of issue 6: 100 concurrent attempts to reserve the same device,
// from four organisations' members, give exactly one success and 99 clear
// conflicts (409, the message naming the device).
func TestReserveSameDevice100Concurrent(t *testing.T) {
	f := mustAPIMatchFixture(t)
	ids := f.mustAvailable(t, laptop8)
	f.mustTags(t, ids[0])
	var callers []*servertest.Browser
	var lines []int64
	for i, kind := range []account.OrgKind{account.KindSchool, account.KindSchool, account.KindAssociation, account.KindSocialStructure} {
		org := f.env.MustOrg(t, kind, fmt.Sprintf("Bénéficiaire %d", i))
		_, ls := f.mustRequest(t, org.ID, 10*i, time.Now(), allocation.Line{Category: "laptop", Quantity: 5})
		u := f.env.MustUser(t, org.ID, fmt.Sprintf("Membre %d", i), false)
		callers, lines = append(callers, f.env.API(t, f.env.MustToken(t, org.ID, u.ID, "write"))), append(lines, ls[0])
	}
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		statuses = make([]int, 100)
		bodies   = make([]string, 100)
	)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, body := callers[i%4].Do(http.MethodPost, fmt.Sprintf("/api/v1/catalogue/%d/reserve", ids[0]),
				strings.NewReader(fmt.Sprintf(`{"request_line_id": %d}`, lines[i%4])), "Content-Type", "application/json")
			statuses[i], bodies[i] = resp.StatusCode, body
		}()
	}
	close(start)
	wg.Wait()
	created, conflicts := 0, 0
	for i, st := range statuses {
		switch st {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			conflicts++
			code, msg, _, details := matchAPIError(t, bodies[i])
			if code != "conflict" || !strings.Contains(msg, "n'est plus disponible") || !strings.Contains(msg, "ThinkPad T480") ||
				details["device_id"] != float64(ids[0]) {
				t.Errorf("attempt %d: %s", i, bodies[i])
			}
		default:
			t.Errorf("attempt %d: %d %s", i, st, bodies[i])
		}
	}
	if created != 1 || conflicts != 99 {
		t.Fatalf("%d created, %d conflicts", created, conflicts)
	}
	if n := countSQL(t, f.env, `SELECT count(*) FROM reservations WHERE device_id = $1`, ids[0]); n != 1 {
		t.Fatalf("%d reservations", n)
	}
	if n := countSQL(t, f.env, `SELECT count(*) FROM device_events WHERE device_id = $1 AND to_state = 'reserved'`, ids[0]); n != 1 {
		t.Fatalf("%d reservation events", n)
	}
}

func TestProposalsAPI(t *testing.T) {
	f := mustAPIMatchFixture(t)
	ids := f.mustAvailable(t, laptop8, laptop8, matchSpec{"laptop", 4, 128, 13.3, "C"})
	codes := f.mustTags(t, ids[2])
	_, school := f.mustRequest(t, f.school.ID, 40, time.Now(), allocation.Line{Category: "laptop", Quantity: 3})
	type proposal struct {
		ID      int64  `json:"id"`
		State   string `json:"state"`
		Devices int    `json:"devices"`
		Dropped int    `json:"dropped"`
		Waiting int    `json:"waiting"`
	}
	resp, body := matchAPI(t, f.teacher, http.MethodPost, "/api/v1/proposals", "", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("beneficiary runs matching: %d", resp.StatusCode)
	}
	var p proposal
	if resp, body = matchAPI(t, f.op, http.MethodPost, "/api/v1/proposals", "", &p); resp.StatusCode != http.StatusCreated ||
		p.State != "draft" || p.Devices != 3 {
		t.Fatalf("run: %d %s", resp.StatusCode, body)
	}
	resp, body = matchAPI(t, f.op, http.MethodPost, "/api/v1/proposals", "", nil)
	if _, _, _, details := matchAPIError(t, body); resp.StatusCode != http.StatusConflict || details["proposal_id"] != float64(p.ID) {
		t.Fatalf("second run: %d %s", resp.StatusCode, body)
	}
	base := fmt.Sprintf("/api/v1/proposals/%d", p.ID)
	var lines struct {
		Items []struct {
			ID         int64 `json:"id"`
			InProposal int   `json:"in_proposal"`
			Need       int   `json:"need"`
		}
	}
	if resp, body = matchAPI(t, f.op, http.MethodGet, base+"/lines", "", &lines); resp.StatusCode != http.StatusOK ||
		len(lines.Items) != 1 || lines.Items[0].InProposal != 3 || lines.Items[0].Need != 3 {
		t.Fatalf("lines: %d %s", resp.StatusCode, body)
	}
	devices := fmt.Sprintf("%s/lines/%d/devices", base, school[0])
	var rs struct{ Items []apiReservation }
	if resp, body = matchAPI(t, f.op, http.MethodGet, devices, "", &rs); resp.StatusCode != http.StatusOK || len(rs.Items) != 3 ||
		rs.Items[0].Device.ID != ids[2] || rs.Items[0].State != "proposed" {
		t.Fatalf("devices (least powerful first): %d %s", resp.StatusCode, body)
	}
	// Off, then back by its tag; both ways of naming it refused.
	resp, _ = matchAPI(t, f.op, http.MethodDelete, fmt.Sprintf("%s/reservations/%d", base, rs.Items[0].ID), "", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("remove: %d", resp.StatusCode)
	}
	resp, body = matchAPI(t, f.op, http.MethodPost, devices, fmt.Sprintf(`{"device_id": %d, "tag": "%s"}`, ids[2], codes[0]), nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("both: %d %s", resp.StatusCode, body)
	}
	var added apiReservation
	if resp, body = matchAPI(t, f.op, http.MethodPost, devices, fmt.Sprintf(`{"tag": "%s"}`, codes[0].String()), &added); resp.StatusCode != http.StatusCreated ||
		added.Device.ID != ids[2] {
		t.Fatalf("add by tag: %d %s", resp.StatusCode, body)
	}
	resp, body = matchAPI(t, f.op, http.MethodPost, devices, fmt.Sprintf(`{"device_id": %d}`, ids[2]), nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("added twice: %d %s", resp.StatusCode, body)
	}
	// One device goes to recycling before the send: dropped, reported.
	mustSQL(t, f.env, `INSERT INTO recycling_batches (workshop_org_id) VALUES ($1)`, f.shop.ID)
	mustSQL(t, f.env, `UPDATE devices SET recycling_batch_id = (SELECT max(id) FROM recycling_batches) WHERE id = $1`, ids[0])
	var sent struct {
		Proposal proposal
		Dropped  []struct {
			DeviceID int64  `json:"device_id"`
			Reason   string `json:"reason"`
			Device   string `json:"device"`
		}
	}
	if resp, body = matchAPI(t, f.op, http.MethodPost, base+"/send", "", &sent); resp.StatusCode != http.StatusOK ||
		sent.Proposal.State != "sent" || sent.Proposal.Waiting != 2 || sent.Proposal.Dropped != 1 || len(sent.Dropped) != 1 ||
		sent.Dropped[0].DeviceID != ids[0] || sent.Dropped[0].Reason != "device_taken" {
		t.Fatalf("send: %d %s", resp.StatusCode, body)
	}
	resp, body = matchAPI(t, f.op, http.MethodPost, base+"/discard", "", nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("discard a sent proposal: %d %s", resp.StatusCode, body)
	}
	// The school answers.
	var mine struct{ Items []apiReservation }
	matchAPI(t, f.teacher, http.MethodGet, "/api/v1/reservations", "", &mine)
	if len(mine.Items) != 2 {
		t.Fatalf("the school's reservations: %+v", mine)
	}
	var r apiReservation
	if resp, body = matchAPI(t, f.teacher, http.MethodPost, fmt.Sprintf("/api/v1/reservations/%d/accept", mine.Items[0].ID), "", &r); resp.StatusCode != http.StatusOK ||
		r.State != "accepted" {
		t.Fatalf("accept: %d %s", resp.StatusCode, body)
	}
	if resp, body = matchAPI(t, f.teacher, http.MethodPost, fmt.Sprintf("/api/v1/reservations/%d/decline", mine.Items[1].ID), "", &r); resp.StatusCode != http.StatusOK ||
		r.State != "declined" {
		t.Fatalf("decline: %d %s", resp.StatusCode, body)
	}
	resp, body = matchAPI(t, f.teacher, http.MethodPost, fmt.Sprintf("/api/v1/reservations/%d/accept", mine.Items[1].ID), "", nil)
	if _, _, _, details := matchAPIError(t, body); resp.StatusCode != http.StatusConflict || details["state"] != "declined" {
		t.Fatalf("answer twice: %d %s", resp.StatusCode, body)
	}
	// A new draft, discarded.
	matchAPI(t, f.op, http.MethodPost, "/api/v1/proposals", "", &p)
	if resp, body = matchAPI(t, f.op, http.MethodPost, fmt.Sprintf("/api/v1/proposals/%d/discard", p.ID), "", &p); resp.StatusCode != http.StatusOK ||
		p.State != "discarded" {
		t.Fatalf("discard: %d %s", resp.StatusCode, body)
	}
	var all struct{ Total int }
	if matchAPI(t, f.op, http.MethodGet, "/api/v1/proposals", "", &all); all.Total != 2 {
		t.Fatalf("proposals: %d", all.Total)
	}
	resp, _ = matchAPI(t, f.op, http.MethodGet, "/api/v1/proposals/999999/lines", "", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing: %d", resp.StatusCode)
	}
}
