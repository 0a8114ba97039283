package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/server/servertest"
)

// The catalogue, proposal and reservation pages with the longest lists
// they show — a catalogue of 40 devices with two reserve buttons a row,
// 35 live reservations waiting for an answer, a draft of 30 lines and a
// line of 30 devices, a sent proposal with dropped devices, 30 proposals —
// and the refused forms, in French and Basque: within the budgets, zero
// axe violations.
func TestMatchingPagesInBrowser(t *testing.T) {
	f := mustMatchFixture(t, servertest.Options{})
	ctx := context.Background()
	long := func(org account.Organisation, name string) {
		mustSQL(t, f.env, `UPDATE organisations SET name = $1 WHERE id = $2`, name, org.ID)
	}
	long(f.school, "Collège public Marracq — section d'enseignement général et professionnel adapté (SEGPA), Baiona")
	long(f.shop, "Atelier de reconditionnement et de réemploi du Pays basque intérieur — Hazparne")
	laptops := func(n int) []int64 {
		specs := make([]matchSpec, n)
		for i := range specs {
			specs[i] = matchSpec{"laptop", []int{8, 16}[i%2], 256 * (1 + i%3), 14, []string{"A", "B"}[i%2]}
		}
		ids := f.mustAvailable(t, specs...)
		for _, id := range ids {
			mustSQL(t, f.env, `UPDATE devices SET brand = 'Hewlett-Packard', model = 'EliteBook 840 G5 Notebook PC (i5-8350U)' WHERE id = $1`, id)
		}
		f.mustTags(t, ids...)
		return ids
	}
	now := time.Now()

	// A first proposal, sent: 35 reservations of the school wait for its
	// answer; one device went to recycling before the send (dropped).
	first := laptops(36)
	_, schoolLines := f.mustRequest(t, f.school.ID, 40, now.Add(-30*24*time.Hour),
		allocation.Line{Category: "laptop", Quantity: 36, Notes: "Pour la salle informatique du bâtiment B, au deuxième étage"})
	resp, body := f.op.PostForm("/proposals", nil)
	wantStatus(t, "run", resp, body, http.StatusSeeOther)
	sent := resp.Header.Get("Location")
	mustSQL(t, f.env, `INSERT INTO recycling_batches (workshop_org_id) VALUES ($1)`, f.shop.ID)
	mustSQL(t, f.env, `UPDATE devices SET recycling_batch_id = (SELECT max(id) FROM recycling_batches) WHERE id = $1`, first[0])
	resp, body = f.op.PostForm(sent+"/send", nil)
	wantStatus(t, "send", resp, body, http.StatusSeeOther)

	// Then 40 more devices, the school's second request (two lines, so
	// two buttons a row) and the association's 29 lines: a draft of 30
	// lines, one of them given 30 devices.
	laptops(40)
	f.mustRequest(t, f.school.ID, 40, now.Add(-2*24*time.Hour), allocation.Line{Category: "laptop", Quantity: 2},
		allocation.Line{Category: "laptop", Quantity: 2, MinRAMGB: 8, MinStorageGB: 256, MinScreenInches: 13.3, MinGrade: "B"})
	assocLines := []allocation.Line{{Category: "laptop", Quantity: 30}}
	for range 28 {
		assocLines = append(assocLines, allocation.Line{Category: "laptop", Quantity: 1, MinRAMGB: 32, MinGrade: "A"})
	}
	_, assoc := f.mustRequest(t, f.assoc.ID, 10, now, assocLines...)
	for i := range 30 { // older proposals, long gone
		mustSQL(t, f.env, `INSERT INTO proposals (state, created_at) VALUES ('discarded', now() - $1 * interval '1 day')`, 30+i)
	}
	resp, body = f.op.PostForm("/proposals", nil)
	wantStatus(t, "second run", resp, body, http.StatusSeeOther)
	draft := resp.Header.Get("Location")
	big := assoc[0]
	if n := countSQL(t, f.env, `SELECT count(*) FROM reservations WHERE request_line_id = $1 AND state = 'proposed'`, big); n < 26 {
		t.Fatalf("the big line got %d devices", n)
	}

	var teacherEmail, opEmail string
	if err := f.env.DB.SQL().QueryRowContext(ctx, `SELECT email FROM users WHERE id = $1`, f.teacherID).Scan(&teacherEmail); err != nil {
		t.Fatal(err)
	}
	if err := f.env.DB.SQL().QueryRowContext(ctx, `SELECT u.email FROM users u JOIN organisations o ON o.id = u.organisation_id
		WHERE o.kind = 'operator' LIMIT 1`).Scan(&opEmail); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"/fr", "/eu"} {
		t.Run(lang, func(t *testing.T) {
			tab := donationSignInTab(t, f.env, lang, teacherEmail)
			for _, path := range []string{"/catalogue", "/catalogue?page=2", "/catalogue?category=laptop&min_grade=B&min_ram_gb=8",
				"/reservations", "/reservations?page=2"} {
				if r := tab.CheckPage(f.env.URL + lang + path); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", path, r.Status)
				}
			}
			tab.Navigate(f.env.URL + lang + "/catalogue")
			if n := tab.Count(`main button[name=line]`); n != 25 {
				t.Errorf("%d reserve buttons on a full page of the catalogue", n)
			}
			if n := tab.Count(`#f-for option`); n != 4 {
				t.Errorf("%d choices of line", n)
			}
			// Filters out of range: the errors, within the budgets.
			tab.Navigate(f.env.URL + lang + "/catalogue?min_ram_gb=beaucoup&min_screen_inches=grand")
			r := tab.Measure()
			if r.Status != http.StatusBadRequest || tab.Count(`.error-summary li`) != 2 {
				t.Fatalf("bad filters: %d, %d errors", r.Status, tab.Count(`.error-summary li`))
			}
			r.CheckBudgets(t)
			tab.CheckAxe()
			// A device reserved from its row.
			tab.Navigate(f.env.URL + lang + "/catalogue")
			tab.Click(`main button[name=line]`)
			if r := tab.CheckCurrentPage(); r.Status != http.StatusOK || tab.Count(`.flash-success`) != 1 {
				t.Errorf("after reserving: %d, %q", r.Status, tab.Text("main"))
			}

			op := donationSignInTab(t, f.env, lang, opEmail)
			for _, path := range []string{"/proposals", "/proposals?page=2", draft, draft + "?page=2",
				fmt.Sprintf("%s?line=%d", draft, big), fmt.Sprintf("%s?line=%d&page=2", draft, big), sent,
				fmt.Sprintf("%s?line=%d", sent, schoolLines[0]), fmt.Sprintf("%s?line=%d&page=2", sent, schoolLines[0]),
				"/reservations", "/reservations?page=2", "/catalogue"} {
				if r := op.CheckPage(f.env.URL + lang + path); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", path, r.Status)
				}
			}
			// The add form sent empty: the page again with the error.
			op.Navigate(f.env.URL + lang + fmt.Sprintf("%s?line=%d", draft, big))
			op.Click(`form[novalidate] button[type=submit]`)
			r = op.Measure()
			if r.Status != http.StatusBadRequest || op.Count(`.error-summary li`) != 1 {
				t.Fatalf("empty add: %d, %d errors", r.Status, op.Count(`.error-summary li`))
			}
			r.CheckBudgets(t)
			op.CheckAxe()
			// While the draft exists, the list links it instead of running.
			op.Navigate(f.env.URL + lang + "/proposals")
			if op.Count(`main form button`) != 0 || op.Count(`main a[href$="`+draft+`"]`) == 0 {
				t.Errorf("the list offers a run while a draft exists")
			}
		})
	}
}
