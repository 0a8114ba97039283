package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"gorm.io/gorm"
)

// fullRequest is a request as long as the form allows: 20 lines with
// every minimum and long notes, a purpose of many lines, every criterion.
func fullRequest() allocation.NewRequest {
	r := allocation.NewRequest{DeliveryCommune: "64102", Criteria: allocation.Criteria(),
		Purpose: requestCutRunes(strings.Repeat("Équiper les classes de CM1 et CM2 pour les évaluations nationales en ligne et l'atelier de programmation.\n", 20), 1990)}
	cats := []string{"laptop", "desktop", "monitor_24", "tablet", "all_in_one"}
	for i := range allocation.MaxLines {
		r.Lines = append(r.Lines, allocation.Line{Category: cats[i%len(cats)], Quantity: 500 - i, MinRAMGB: 4096, MinStorageGB: 1000000,
			MinScreenInches: 119.9, MinGrade: "B", Notes: requestCutRunes(strings.Repeat("Avec chargeur, sacoche et souris ; ", 15), 490)})
	}
	return r
}

// requestCutRunes keeps the first n characters of s, trimmed at the end.
func requestCutRunes(s string, n int) string {
	r := []rune(s)
	return strings.TrimSpace(string(r[:min(n, len(r))]))
}

// The request pages with the fullest data they show — a list of 25 and
// its next page, a request of 20 lines with every minimum, long notes, a
// long purpose, deliveries and a history; the form with 20 lines, refused
// with errors; the operator's choice among 100 beneficiaries, the decision
// form and a refused decision — as a beneficiary and as an operator, in
// French and Basque: within the budgets, zero axe violations.
func TestRequestPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	long := "Groupe scolaire Jules Ferry et école maternelle Marie Curie — réseau d'éducation prioritaire renforcé de Bayonne Nord"
	school := env.MustOrg(t, account.KindSchool, long)
	teacher := env.MustUser(t, school.ID, "Amaia Etxeberria Goienetxe", false)
	opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique du Pays basque")
	operator := env.MustUser(t, opOrg.ID, "Maddi Etxart Larralde", true)
	op := &account.Principal{UserID: operator.ID, OrgID: opOrg.ID, OrgKind: opOrg.Kind, Name: operator.Name}
	for i := 1; i < 100; i++ { // the operator's choice shows 100 beneficiaries at most
		env.MustOrg(t, account.KindAssociation, fmt.Sprintf("Association d'insertion par le numérique et la solidarité n° %02d", i))
	}
	short := allocation.NewRequest{Purpose: "Salle informatique", DeliveryCommune: "64102", Lines: []allocation.Line{{Category: "laptop", Quantity: 500}}}
	for range 29 {
		if _, err := env.DB.CreateRequest(ctx, school.ID, nil, short); err != nil {
			t.Fatal(err)
		}
	}
	big, err := env.DB.CreateRequest(ctx, school.ID, nil, fullRequest())
	if err != nil {
		t.Fatal(err)
	}
	pending, err := env.DB.CreateRequest(ctx, school.ID, nil, fullRequest())
	if err != nil {
		t.Fatal(err)
	}
	if big, err = env.DB.DecideRequest(ctx, big.ID, postgres.RequestDecision{Decision: allocation.Approve,
		Reason: requestCutRunes(strings.Repeat("Livraison en deux fois, la première avant les vacances de printemps. ", 15), 1000), Version: big.Version}, op); err != nil {
		t.Fatal(err)
	}
	// Deliveries on the first line make it partially fulfilled: one more step in the history.
	dev, err := env.DB.CreateDonation(ctx, env.MustOrg(t, account.KindCommune, "Mairie de Bayonne").ID, nil, "Lot", "",
		[]donation.Line{{Category: "laptop", Quantity: 3, WeightKg: 2}})
	if err != nil {
		t.Fatal(err)
	}
	devs, err := allDonationDevices(ctx, env, dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		mustSQL(t, env, `INSERT INTO reservations (device_id, request_line_id, state) VALUES ($1, $2, 'delivered')`, d.ID, big.Lines[0].ID)
	}
	if err := env.DB.Tx(ctx, func(tx *gorm.DB) error { return postgres.UpdateFulfilment(tx, big.ID) }); err != nil {
		t.Fatal(err)
	}
	bigPath, pendingPath := fmt.Sprintf("/requests/%d", big.ID), fmt.Sprintf("/requests/%d", pending.ID)

	for _, lang := range []string{"/fr", "/eu"} {
		t.Run("beneficiary"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, teacher.Email)
			for _, p := range []string{"/requests", "/requests?page=2", "/requests/new", "/requests/new?lines=20", bigPath, pendingPath} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
			tab.Navigate(env.URL + lang + "/requests")
			if n := tab.Count("tbody tr"); n != 25 {
				t.Errorf("list: %d rows, want 25", n)
			}
			tab.Navigate(env.URL + lang + bigPath)
			if n := tab.Count("tbody tr"); n != 20 {
				t.Errorf("detail: %d lines, want 20", n)
			}
			// The form with 20 lines, refused: a purpose missing, three faulty lines.
			tab.Navigate(env.URL + lang + "/requests/new?lines=20")
			for i := 1; i <= 20; i++ {
				tab.Fill(fmt.Sprintf("#f-line_%d_category", i), "laptop")
				tab.Fill(fmt.Sprintf("#f-line_%d_quantity", i), "10")
				tab.Fill(fmt.Sprintf("#f-line_%d_notes", i), "Avec chargeur et sacoche pour la classe mobile")
			}
			tab.Fill("#f-line_4_quantity", "501")
			tab.Fill("#f-line_9_min_grade", "D")
			tab.Fill("#f-line_20_category", "toaster")
			tab.Click(`main form button[type=submit]`)
			r := tab.Measure() // a 400 document: Chromium logs it as a console error
			if r.Status != http.StatusBadRequest || tab.Count(`.error-summary li`) != 4 {
				t.Fatalf("refused form: %d, %d errors", r.Status, tab.Count(`.error-summary li`))
			}
			t.Log(r)
			r.CheckBudgets(t)
			tab.CheckAxe()
			if n := tab.Count(`input[value="Avec chargeur et sacoche pour la classe mobile"]`); n != 20 {
				t.Errorf("refused form keeps %d notes, want 20", n)
			}
		})
		t.Run("operator"+lang, func(t *testing.T) {
			tab := donationSignInTab(t, env, lang, operator.Email)
			for _, p := range []string{"/requests", "/requests?page=2", "/requests/new", fmt.Sprintf("/requests/new?beneficiary=%d&lines=20", school.ID),
				bigPath, pendingPath} {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
			}
			tab.Navigate(env.URL + lang + "/requests/new")
			if n := tab.Count("#f-beneficiary option"); n != 101 {
				t.Errorf("%d beneficiary options, want 100 and the prompt", n)
			}
			// Declining without a reason is refused, on the page with the decision form.
			tab.Navigate(env.URL + lang + pendingPath)
			tab.Click(`button[value=decline]`)
			r := tab.Measure()
			if r.Status != http.StatusBadRequest || tab.Count(`#f-reason-error`) != 1 {
				t.Fatalf("refused decision: %d", r.Status)
			}
			t.Log(r)
			r.CheckBudgets(t)
			tab.CheckAxe()
		})
	}
}
