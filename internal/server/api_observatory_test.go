package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// obsSeed: a commune donates three laptops, all received; one is delivered
// to a school of commune 64445 (a confirmed handover) with an emission
// result of the active set. Written in SQL: the triggers under test see
// what the store would write.
func obsSeed(t *testing.T, env *servertest.Env) (devices []int64) {
	t.Helper()
	ctx := context.Background()
	donor := env.MustOrg(t, account.KindCommune, "Mairie")
	school := env.MustOrg(t, account.KindSchool, "École")
	shop := env.MustOrg(t, account.KindWorkshop, "Atelier")
	d, err := env.DB.CreateDonation(ctx, donor.ID, nil, "Lot", "", []donation.Line{{Category: "laptop", Quantity: 3, WeightKg: 2}})
	if err != nil {
		t.Fatal(err)
	}
	devs, _, err := env.DB.Devices(ctx, postgres.DeviceFilter{DonationID: d.ID})
	if err != nil || len(devs) != 3 {
		t.Fatalf("devices %v", err)
	}
	for _, v := range devs {
		devices = append(devices, v.ID)
		obsExec(t, env, `INSERT INTO device_events (device_id, seq, kind, from_state, to_state, actor_id, prev_hash, hash)
			VALUES ($1, 1, 'state', 'declared', 'received', 0, decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'))`, v.ID)
	}
	obsExec(t, env, `WITH q AS (INSERT INTO requests (beneficiary_org_id, purpose, delivery_commune) VALUES ($1, 'Classe', '64445') RETURNING id),
		l AS (INSERT INTO request_lines (request_id, line, category, quantity) SELECT id, 1, 'laptop', 1 FROM q RETURNING id),
		h AS (INSERT INTO handovers (request_id, workshop_org_id, number) SELECT id, $2, 'BRZ-H-TEST' FROM q RETURNING id)
		INSERT INTO reservations (device_id, request_line_id, state, handover_id) SELECT $3, l.id, 'delivered', h.id FROM l, h`,
		school.ID, shop.ID, devices[0])
	obsExec(t, env, `UPDATE handovers SET state = 'confirmed', confirmed_at = now() WHERE number = 'BRZ-H-TEST'`)
	obsExec(t, env, `INSERT INTO emission_results (device_id, cycle, handover_id, set_id, method_version, status, delivered_on,
			params, net_kg, low_kg, high_kg, gross_kg, per_year_kg)
		SELECT $1, 1, id, 'fr-ademe-2025', 'm-test', 'estimated', (now() AT TIME ZONE 'Europe/Paris')::date, '{}', 70.5, 40, 150, 170, 23.5
		FROM handovers WHERE number = 'BRZ-H-TEST'`, devices[0])
	return devices
}

func obsExec(t *testing.T, env *servertest.Env, q string, args ...any) {
	t.Helper()
	if _, err := env.DB.SQL().ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func obsTotals(t *testing.T, b *servertest.Browser, query string) postgres.Totals {
	t.Helper()
	resp, body := b.Get("/api/v1/observatory/totals?"+query, "Accept", "application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", query, resp.StatusCode, body)
	}
	var out postgres.Totals
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The totals: JSON and CSV both ways, filters, grouping, the ETag's 304,
// 400 for bad parameters; the observatory token and operators may read,
// no one else.
func TestObservatoryTotalsAPI(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	devices := obsSeed(t, env)
	obsOrg := env.MustOrg(t, account.KindObservatory, "Observatoire")
	obs := env.API(t, env.MustToken(t, obsOrg.ID, 0, "read"))

	all := obsTotals(t, obs, "")
	r := all.Rows[0]
	if all.FactorSet != "fr-ademe-2025" || len(all.Rows) != 1 || r.Received != 3 || r.Delivered != 1 || r.NetKg != 70.5 ||
		r.GrossKg != 170 || r.DivertedKg != 2 || r.Results != 1 || !slices.Equal(all.MethodVersions, []string{"m-test"}) {
		t.Fatalf("totals %+v", all)
	}
	byKind := obsTotals(t, obs, "group=beneficiary_kind,commune")
	if len(byKind.Rows) != 2 || byKind.Rows[0].BeneficiaryKind != "" || byKind.Rows[0].Commune != "64102" ||
		byKind.Rows[0].Received != 3 || byKind.Rows[1].BeneficiaryKind != "school" || byKind.Rows[1].Commune != "64445" ||
		byKind.Rows[1].Delivered != 1 {
		t.Fatalf("grouped %+v", byKind.Rows)
	}
	// Page by page: the Link header and "next" lead to the rest.
	resp, body := obs.Get("/api/v1/observatory/totals?group=beneficiary_kind,commune&limit=1", "Accept", "application/json")
	var first struct {
		Rows []postgres.TotalsRow
		Next string
	}
	if err := json.Unmarshal([]byte(body), &first); err != nil || resp.StatusCode != http.StatusOK || len(first.Rows) != 1 ||
		!reflect.DeepEqual(first.Rows[0], byKind.Rows[0]) || first.Next == "" {
		t.Fatalf("first page: %d %s", resp.StatusCode, body)
	}
	link := resp.Header.Get("Link")
	m := regexp.MustCompile(`^<(/api/v1/observatory/totals\?[^>]+)>; rel="next"$`).FindStringSubmatch(link)
	if m == nil || !strings.Contains(m[1], "after="+first.Next) {
		t.Fatalf("link %q (next %q)", link, first.Next)
	}
	resp, body = obs.Get(m[1], "Accept", "application/json")
	var second postgres.Totals
	if err := json.Unmarshal([]byte(body), &second); err != nil || resp.StatusCode != http.StatusOK || len(second.Rows) != 1 ||
		second.Rows[0].Commune != "64445" || second.NextCursor != "" || resp.Header.Get("Link") != "" {
		t.Fatalf("second page: %d %s %q", resp.StatusCode, body, resp.Header.Get("Link"))
	}
	if f := obsTotals(t, obs, "beneficiary_kind=school&commune=64445&category=laptop"); f.Rows[0].Delivered != 1 || f.Rows[0].Received != 0 {
		t.Fatalf("filtered %+v", f.Rows)
	}
	if f := obsTotals(t, obs, "from=2001-01-15&to=2001-02"); f.Rows[0].Received != 0 || f.Rows[0].Delivered != 0 {
		t.Fatalf("long ago %+v", f.Rows)
	}
	if g := obsTotals(t, obs, "group=month,category"); len(g.Rows) != 1 || !regexp.MustCompile(`^20[0-9]{2}-[01][0-9]$`).MatchString(g.Rows[0].Month) ||
		g.Rows[0].Category != "laptop" {
		t.Fatalf("by month %+v", g.Rows)
	}

	// CSV by Accept and by the .csv path: the same document.
	resp, viaAccept := obs.Get("/api/v1/observatory/totals?group=month,category", "Accept", "text/csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	_, viaPath := obs.Get("/api/v1/observatory/totals.csv?group=month,category")
	recs, err := csv.NewReader(strings.NewReader(viaPath)).ReadAll()
	if err != nil || viaAccept != viaPath || len(recs) != 2 || strings.Join(recs[0][:5], ",") != "month,category,factor_set,factor_set_version,method_versions" ||
		recs[1][1] != "laptop" || recs[1][5] != "3" || recs[1][11] != "70.5" {
		t.Fatalf("csv %q %v", recs, err)
	}

	// The ETag: 304 while nothing changes, a new answer after a change.
	resp, _ = obs.Get("/api/v1/observatory/totals?group=month", "Accept", "application/json")
	etag := resp.Header.Get("ETag")
	_ = body
	if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) {
		t.Fatalf("etag %q", etag)
	}
	if resp, body := obs.Get("/api/v1/observatory/totals?group=month", "Accept", "application/json", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("if-none-match: %d %q", resp.StatusCode, body)
	}
	if resp, _ := obs.Get("/api/v1/observatory/totals?group=category", "Accept", "application/json", "If-None-Match", etag); resp.StatusCode != http.StatusOK {
		t.Fatalf("another query, same etag: %d", resp.StatusCode)
	}
	env.Server.RunJobsOnce(context.Background()) // a fold changes nothing
	if resp, _ := obs.Get("/api/v1/observatory/totals?group=month", "Accept", "application/json", "If-None-Match", etag); resp.StatusCode != http.StatusOK {
		// the version moved with the fold: a new (equal) answer, which is allowed
		t.Logf("after the fold: %d", resp.StatusCode)
	}
	resp, _ = obs.Get("/api/v1/observatory/totals?group=month", "Accept", "application/json")
	etag = resp.Header.Get("ETag")
	obsExec(t, env, `INSERT INTO device_events (device_id, seq, kind, from_state, to_state, actor_id, prev_hash, hash)
		VALUES ($1, 2, 'state', 'received', 'recycled', 0, decode(repeat('11', 32), 'hex'), decode(repeat('22', 32), 'hex'))`, devices[2])
	resp, body = obs.Get("/api/v1/observatory/totals?group=month", "Accept", "application/json", "If-None-Match", etag)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag || !strings.Contains(body, `"recycled":1`) {
		t.Fatalf("after a change: %d %s", resp.StatusCode, body)
	}

	// Bad parameters: 400 in the API's error shape.
	for _, q := range []string{"group=color", "group=month,colour", "from=2026-13", "to=yesterday", "category=spaceship",
		"donor_kind=martian", "commune=abc", "from=2026-05&to=2026-01", "factor_set=nope", "limit=0", "limit=10001",
		"limit=ten", "after=not*a*cursor", "after=" + first.Next, "group=month&after=" + first.Next,
		"group=month&after=" + postgres.EncodeTotalsCursor([]string{"2026-13"})} {
		resp, body := obs.Get("/api/v1/observatory/totals?"+q, "Accept", "application/json")
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code == "" {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}

	// Who may read.
	op := env.MustOrg(t, account.KindOperator, "Agence")
	if resp, _ := env.SignIn(t, env.MustUser(t, op.ID, "op", true).Email).Get("/api/v1/observatory/totals", "Accept", "application/json"); resp.StatusCode != http.StatusOK {
		t.Fatalf("operator: %d", resp.StatusCode)
	}
	if resp, _ := env.SignIn(t, env.MustUser(t, obsOrg.ID, "analyst", false).Email).Get("/api/v1/observatory/totals.csv"); resp.StatusCode != http.StatusOK {
		t.Fatalf("observatory user: %d", resp.StatusCode)
	}
	donor := env.MustOrg(t, account.KindCompany, "Entreprise")
	school := env.MustOrg(t, account.KindSchool, "Collège")
	for name, b := range map[string]*servertest.Browser{
		"anonymous":    env.Anonymous(t),
		"donor token":  env.API(t, env.MustToken(t, donor.ID, env.MustUser(t, donor.ID, "donor-api", true).ID, "write")),
		"donor user":   env.SignIn(t, env.MustUser(t, donor.ID, "donor", true).Email),
		"school token": env.API(t, env.MustToken(t, school.ID, env.MustUser(t, school.ID, "prof", true).ID, "read")),
	} {
		for _, p := range []string{"/api/v1/observatory/totals", "/api/v1/observatory/delivered-devices.csv"} {
			if resp, _ := b.Get(p, "Accept", "application/json"); resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s: %d", name, p, resp.StatusCode)
			}
		}
	}
}

// The open-data export: one row per delivery, no identifier, JSON and CSV.
func TestObservatoryDeliveredDevicesAPI(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	obsSeed(t, env)
	obsOrg := env.MustOrg(t, account.KindObservatory, "Observatoire")
	obs := env.API(t, env.MustToken(t, obsOrg.ID, 0, "read"))
	resp, body := obs.Get("/api/v1/observatory/delivered-devices", "Accept", "application/json")
	var doc struct {
		FactorSet  string           `json:"factor_set"`
		Deliveries []map[string]any `json:"deliveries"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &doc) != nil || len(doc.Deliveries) != 1 || doc.FactorSet != "fr-ademe-2025" {
		t.Fatalf("json: %d %s", resp.StatusCode, body)
	}
	var keys []string
	for k := range doc.Deliveries[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"beneficiary_kind", "category", "co2e_high_kg", "co2e_low_kg", "co2e_net_kg", "commune", "donor_kind",
		"factor_set", "grade", "method_version", "month", "weight_kg"}
	if !slices.Equal(keys, want) || doc.Deliveries[0]["co2e_net_kg"] != 70.5 || doc.Deliveries[0]["commune"] != "64445" {
		t.Fatalf("row %v", doc.Deliveries[0])
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := obs.Get("/api/v1/observatory/delivered-devices", "Accept", "application/json", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("304: %d", resp.StatusCode)
	}
	for _, get := range [][]string{{"/api/v1/observatory/delivered-devices.csv"}, {"/api/v1/observatory/delivered-devices", "Accept", "text/csv"}} {
		resp, body := obs.Get(get[0], get[1:]...)
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if resp.StatusCode != http.StatusOK || err != nil || len(recs) != 2 || recs[0][0] != "month" || recs[1][5] != "64445" ||
			recs[1][7] != "70.5" || recs[1][10] != "fr-ademe-2025" {
			t.Fatalf("csv %s: %d %q %v", get[0], resp.StatusCode, recs, err)
		}
	}
	if resp, _ := obs.Get("/api/v1/observatory/delivered-devices?from=2026-99", "Accept", "application/json"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad month: %d", resp.StatusCode)
	}
}

// An observatory organisation token is read-only: every write route of
// the whole route table refuses it, before any handler runs.
func TestObservatoryTokenRefusedOnEveryWrite(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	obsOrg := env.MustOrg(t, account.KindObservatory, "Observatoire")
	obs := env.API(t, env.MustToken(t, obsOrg.ID, 0, "read"))
	param := regexp.MustCompile(`:[a-z_]+|\*`)
	n := 0
	for _, r := range env.Server.Routes() {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Access == account.Public || r.Access == "loopback" {
			continue // reads, and the public forms (sign-in...) anyone may post
		}
		n++
		path := param.ReplaceAllString(r.Path, "1")
		resp, body := obs.Do(r.Method, path, strings.NewReader("{}"), "Accept", "application/json", "Content-Type", "application/json")
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d %s", r.Method, r.Path, resp.StatusCode, body[:min(len(body), 200)])
		}
	}
	if n < 50 {
		t.Fatalf("only %d write routes", n)
	}
	// Nor may it write to the observatory's own paths, with any method.
	for _, p := range []string{"/api/v1/observatory/totals", "/api/v1/observatory/totals.csv",
		"/api/v1/observatory/delivered-devices", "/api/v1/observatory/delivered-devices.csv"} {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			resp, body := obs.Do(m, p, strings.NewReader("{}"), "Accept", "application/json", "Content-Type", "application/json")
			if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s: %d %s", m, p, resp.StatusCode, body)
			}
		}
	}
}
