package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/internal/tag"
)

// matchFixture: a workshop with a donor's devices, two beneficiaries (a
// school and an association, each with a signed-in member), an operator
// and a technician, all signed in.
type matchFixture struct {
	env                        *servertest.Env
	shop, donor, school, assoc account.Organisation
	op, teacher, helper, tech  *servertest.Browser
	teacherID                  int64
	donations                  int
}

func mustMatchFixture(t *testing.T, opts servertest.Options) *matchFixture {
	t.Helper()
	env := servertest.MustStart(t, opts)
	f := &matchFixture{env: env, shop: env.MustOrg(t, account.KindWorkshop, "Atelier Hazparne"),
		donor: env.MustOrg(t, account.KindCommune, "Mairie de Bayonne"), school: env.MustOrg(t, account.KindSchool, "Collège Marracq"),
		assoc: env.MustOrg(t, account.KindAssociation, "Emmaüs Lescar")}
	opOrg := env.MustOrg(t, account.KindOperator, "Opérateur")
	signIn := func(org account.Organisation, name string) (*servertest.Browser, int64) {
		u := env.MustUser(t, org.ID, name, false)
		return env.SignIn(t, u.Email), u.ID
	}
	f.op, _ = signIn(opOrg, "Opé Rateur")
	f.teacher, f.teacherID = signIn(f.school, "Maite Prof")
	f.helper, _ = signIn(f.assoc, "Aide Bénévole")
	f.tech, _ = signIn(f.shop, "Ane Tech")
	return f
}

// matchSpec is a test device: its category and specs.
type matchSpec struct {
	category string
	ram, gb  int // RAM, and one drive of gb (0: none)
	screen   float64
	grade    string
}

var laptop8 = matchSpec{"laptop", 8, 256, 14, "B"}

// mustAvailable creates available devices (graded, with an OS and their
// drive erased), tagged when tags is true, of a new donation.
func (f *matchFixture) mustAvailable(t *testing.T, specs ...matchSpec) []int64 {
	t.Helper()
	ctx := context.Background()
	f.donations++
	var lines []donation.Line
	for _, s := range specs {
		lines = append(lines, donation.Line{Category: s.category, Brand: "Lenovo", Model: "ThinkPad T480", Quantity: 1, WeightKg: 1.6})
	}
	d, err := f.env.DB.CreateDonation(ctx, f.donor.ID, nil, fmt.Sprintf("Parc %d", f.donations), "", lines)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.DB.AssignWorkshop(ctx, d.ID, f.shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i, s := range specs {
		var id int64
		if err := f.env.DB.SQL().QueryRowContext(ctx, `UPDATE devices SET state = 'available', grade = $3, os = 'Debian 12',
			ram_gb = nullif($4, 0), screen_inches = nullif($5::numeric, 0), storage_drives = CASE WHEN $6 > 0 THEN 1 ELSE 0 END
			WHERE donation_id = $1 AND line = $2 RETURNING id`, d.ID, i+1, s.grade, s.ram, s.screen, s.gb).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if s.gb > 0 {
			mustSQL(t, f.env, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, 1, 'ssd', $2, $3)`,
				id, s.gb, fmt.Sprintf("SSD-%d", id))
			mustErasureSQL(t, f.env, id, fmt.Sprintf("SSD-%d", id))
		}
		ids = append(ids, id)
	}
	return ids
}

// mustRequest files an approved request of org with its lines; it returns
// the request's id and its lines' ids.
func (f *matchFixture) mustRequest(t *testing.T, org int64, priority int, at time.Time, lines ...allocation.Line) (int64, []int64) {
	t.Helper()
	ctx := context.Background()
	var id int64
	if err := f.env.DB.SQL().QueryRowContext(ctx, `INSERT INTO requests (beneficiary_org_id, state, purpose, delivery_commune, priority,
		submitted_at, decided_at) VALUES ($1, 'approved', 'Équiper la salle informatique', '64102', $2, $3, $3) RETURNING id`,
		org, priority, at).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var out []int64
	for i, l := range lines {
		var lid int64
		if err := f.env.DB.SQL().QueryRowContext(ctx, `INSERT INTO request_lines (request_id, line, category, quantity, min_ram_gb,
			min_storage_gb, min_screen_inches, min_grade, notes) VALUES ($1, $2, $3, $4, nullif($5, 0), nullif($6, 0),
			nullif($7::numeric, 0), nullif($8, ''), $9) RETURNING id`, id, i+1, l.Category, l.Quantity, l.MinRAMGB, l.MinStorageGB,
			l.MinScreenInches, string(l.MinGrade), l.Notes).Scan(&lid); err != nil {
			t.Fatal(err)
		}
		out = append(out, lid)
	}
	return id, out
}

// mustTags links a new tag of the workshop to each device.
func (f *matchFixture) mustTags(t *testing.T, ids ...int64) []tag.Code {
	t.Helper()
	_, codes := mustServerBatch(t, f.env.DB, f.shop.ID, 0, len(ids))
	for i, id := range ids {
		mustSQL(t, f.env, `UPDATE tags SET device_id = $1, linked_at = now() WHERE code = $2`, id, string(codes[i]))
	}
	return codes
}

func (f *matchFixture) deviceState(t *testing.T, id int64) string {
	t.Helper()
	var st string
	if err := f.env.DB.SQL().QueryRowContext(context.Background(), `SELECT state FROM devices WHERE id = $1`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

var reserveButtonRE = regexp.MustCompile(`name="line" value="(\d+)" formaction="(/[^"]*catalogue/(\d+)/reserve[^"]*)"`)

// The catalogue through the pages: closed to a beneficiary without an
// open request, filtered, a device reserved with its row's button, the
// refusals shown on the page with the filters kept.
func TestCataloguePages(t *testing.T) {
	f := mustMatchFixture(t, servertest.Options{})
	ids := f.mustAvailable(t, laptop8, matchSpec{"laptop", 16, 512, 15.6, "A"}, matchSpec{"tablet", 4, 64, 10.1, "A"})

	resp, body := f.teacher.Get("/catalogue")
	wantStatus(t, "closed", resp, body, http.StatusOK)
	mustContain(t, "closed", body, "Le catalogue s&#39;ouvre à votre organisation", `href="/requests"`)
	resp, body = f.teacher.PostForm(fmt.Sprintf("/catalogue/%d/reserve", ids[0]), url.Values{"line": {"1"}})
	wantStatus(t, "reserve while closed", resp, body, http.StatusForbidden)
	resp, body = f.tech.Get("/catalogue")
	wantStatus(t, "technician", resp, body, http.StatusForbidden)

	_, lines := f.mustRequest(t, f.school.ID, 30, time.Now(), allocation.Line{Category: "laptop", Quantity: 1, MinRAMGB: 16},
		allocation.Line{Category: "laptop", Quantity: 2})
	resp, body = f.teacher.Get("/catalogue?category=laptop")
	wantStatus(t, "open", resp, body, http.StatusOK)
	mustContain(t, "open", body, "Appareils disponibles : 2", "8 Go de mémoire · 256 Go de stockage · écran 14 po · grade B",
		"Réserver pour la demande n°", "Atelier Hazparne")
	if strings.Contains(body, "Tablette Lenovo") {
		t.Fatal("the filter let a tablet through")
	}
	buttons := reserveButtonRE.FindAllStringSubmatch(body, -1)
	// The 8 GB laptop meets the second line only; the 16 GB one both,
	// and goes to the more demanding first line.
	if len(buttons) != 2 || buttons[1][1] != fmt.Sprint(lines[0]) || buttons[1][3] != fmt.Sprint(ids[1]) {
		t.Fatalf("reserve buttons %v\n%s", buttons, body)
	}
	if buttons[0][1] != fmt.Sprint(lines[1]) || buttons[0][3] != fmt.Sprint(ids[0]) || !strings.Contains(buttons[0][2], "?category=laptop") {
		t.Fatalf("first button %v", buttons[0])
	}
	// A line chosen: what it may take, each button for it.
	_, body = f.teacher.Get(fmt.Sprintf("/catalogue?for=%d", lines[1]))
	mustContain(t, "for a line", body, "Appareils disponibles : 2", fmt.Sprintf(`<option value="%d" selected>`, lines[1]),
		"Demande n° ", "ligne 1 : Ordinateur portable · mémoire ≥ 16 Go (1 encore attendu(s))")
	for _, b := range reserveButtonRE.FindAllStringSubmatch(body, -1) {
		if b[1] != fmt.Sprint(lines[1]) {
			t.Fatalf("button for another line: %v", b)
		}
	}
	_, body = f.teacher.Get(fmt.Sprintf("/catalogue?for=%d", lines[0]))
	mustContain(t, "for the 16 GB line", body, "Appareils disponibles : 1")
	_, body = f.teacher.Get(fmt.Sprintf("/catalogue?for=%d&category=tablet", lines[0]))
	mustContain(t, "a line and another category", body, "Aucun appareil disponible ne correspond")
	resp, body = f.teacher.Get("/catalogue?for=999999")
	wantStatus(t, "unknown line", resp, body, http.StatusBadRequest)
	mustContain(t, "unknown line", body, `href="#f-for"`)
	// Filters out of range: the page again with the errors.
	resp, body = f.teacher.Get("/catalogue?min_ram_gb=beaucoup&min_grade=Z")
	wantStatus(t, "bad filters", resp, body, http.StatusBadRequest)
	mustContain(t, "bad filters", body, `href="#f-min_ram_gb"`, `href="#f-min_grade"`, `value="beaucoup"`)

	// Reserved: back to the same filtered page, the device gone from it.
	resp, body = f.teacher.PostForm(buttons[0][2], url.Values{"line": {buttons[0][1]}})
	wantStatus(t, "reserve", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/catalogue?category=laptop" {
		t.Fatalf("redirect to %s", loc)
	}
	_, body = f.teacher.Get("/catalogue?category=laptop")
	mustContain(t, "after", body, "Appareil réservé", "Appareils disponibles : 1")
	if f.deviceState(t, ids[0]) != "reserved" {
		t.Fatal("device not reserved")
	}
	// The same device again: the conflict, on the catalogue page.
	resp, body = f.teacher.PostForm(fmt.Sprintf("/catalogue/%d/reserve?category=laptop", ids[0]), url.Values{"line": {fmt.Sprint(lines[1])}})
	wantStatus(t, "taken", resp, body, http.StatusConflict)
	mustContain(t, "taken", body, "n&#39;est plus disponible", `value="laptop" selected`)
	// No line chosen; another organisation's line.
	resp, body = f.teacher.PostForm(fmt.Sprintf("/catalogue/%d/reserve", ids[1]), url.Values{})
	wantStatus(t, "no line", resp, body, http.StatusBadRequest)
	mustContain(t, "no line", body, "Choisissez la ligne de demande")
	_, other := f.mustRequest(t, f.assoc.ID, 10, time.Now(), allocation.Line{Category: "laptop", Quantity: 1})
	resp, body = f.teacher.PostForm(fmt.Sprintf("/catalogue/%d/reserve", ids[1]), url.Values{"line": {fmt.Sprint(other[0])}})
	wantStatus(t, "other's line", resp, body, http.StatusNotFound)
	if f.deviceState(t, ids[1]) != "available" {
		t.Fatal("device reserved by a refused attempt")
	}
	// Operators see the catalogue without reserve buttons.
	resp, body = f.op.Get("/catalogue")
	wantStatus(t, "operator", resp, body, http.StatusOK)
	mustContain(t, "operator", body, `href="/proposals"`, "Appareils disponibles : 2")
	if reserveButtonRE.MatchString(body) {
		t.Fatal("reserve buttons for the operator")
	}
	// The navigation leads there.
	mustContain(t, "navigation", body, `href="/catalogue" aria-current="page"`)
}
