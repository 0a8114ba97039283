package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/chromedp/chromedp"
)

// The handover pages with the longest lists they show, long names
// everywhere: a workshop's 40 handovers (two pages) and more requests
// ready than the list shows; a prepared handover of 21 devices (two
// pages) with the school's confirmation form and the workshop's cancel
// form; a confirmed handover of 20 devices with more return requests than
// the page lists (the workshop's view), and the school's return form; the preparation page of a
// request with 21 devices ready (two pages); a device's return page; the
// forms refused with their errors — for the workshop, the school and the
// operator, in French and Basque: within the budgets, zero axe violations.
func TestHandoverPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	ctx := context.Background()
	shop := env.MustOrg(t, account.KindWorkshop, "Atelier de reconditionnement et de réemploi du Pays basque intérieur — Hazparne")
	school := env.MustOrg(t, account.KindSchool, "École élémentaire publique Jules Ferry et Marie Curie — Baiona, quartier Saint-Esprit")
	donorOrg := env.MustOrg(t, account.KindIntercommunality, "Communauté d'agglomération Pays basque — direction du numérique")
	opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique du Pays basque")
	tech := env.MustUser(t, shop.ID, "Ane Etxeberria Goienetxe", false)
	teacher := env.MustUser(t, school.ID, "Maite Larralde Etxegarai", false)
	op := env.MustUser(t, opOrg.ID, "Maddi Etxart", true)
	techP := &account.Principal{UserID: tech.ID, OrgID: shop.ID, OrgKind: shop.Kind}
	teacherP := &account.Principal{UserID: teacher.ID, OrgID: school.ID, OrgKind: school.Kind}
	opP := &account.Principal{UserID: op.ID, OrgID: opOrg.ID, OrgKind: opOrg.Kind}

	const devices = 67
	d, err := env.DB.CreateDonation(ctx, donorOrg.ID, nil, "Renouvellement du parc informatique des services techniques", "",
		[]donation.Line{{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T480s with a rather long model name", Quantity: devices, WeightKg: 1.45}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, d.ID, shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	devs, err := allDonationDevices(ctx, env, d.ID)
	if err != nil || len(devs) != devices {
		t.Fatalf("devices: %v", err)
	}
	var ids []int64
	for i, dev := range devs {
		mustWipedDevice(t, env, dev.ID, 2)
		mustSQL(t, env, `UPDATE devices SET grade = 'B', os = 'Debian 13', serial = $2 WHERE id = $1`, dev.ID, fmt.Sprintf("PF1ABCDEFGH%04d", i))
		mustMoveDevice(t, env, dev.ID, lifecycle.Refurbished)
		mustMoveDevice(t, env, dev.ID, lifecycle.Available)
		if _, _, err := env.DB.IssueErasureCertificate(ctx, dev.ID, postgres.DonationScope{}, "fr", techP,
			func(c erasure.Certificate, token string) (postgres.CertificateBlob, error) {
				return postgres.CertificateBlob{Key: "certificates/" + token + ".pdf", Size: 1000, SHA256: strings.Repeat("c", 64)}, nil
			}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, dev.ID)
	}
	// The school's request takes 62 devices; five other schools one each.
	request := func(org account.Organisation, who *account.Principal, n int, devices []int64) (int64, []int64) {
		r, err := env.DB.CreateRequest(ctx, org.ID, who, allocation.NewRequest{
			Purpose:         strings.Repeat("Classe mobile pour les élèves de CM1 et de CM2, ateliers numériques du mercredi. ", 6),
			DeliveryCommune: "64102", Lines: []allocation.Line{{Category: "laptop", Quantity: n}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.DB.DecideRequest(ctx, r.ID, postgres.RequestDecision{Decision: allocation.Approve, Version: r.Version}, opP); err != nil {
			t.Fatal(err)
		}
		full, err := env.DB.Request(ctx, r.ID, postgres.RequestScope{})
		if err != nil {
			t.Fatal(err)
		}
		var res []int64
		for _, id := range devices {
			rr, err := env.DB.ReserveFromCatalogue(ctx, id, full.Lines[0].ID, org.ID, who)
			if err != nil {
				t.Fatal(err)
			}
			res = append(res, rr.ID)
		}
		return r.ID, res
	}
	main, res := request(school, teacherP, 62, ids[:62])
	for i := range 5 {
		other := env.MustOrg(t, account.KindAssociation, fmt.Sprintf("Association d'inclusion numérique n° %d du Pays basque intérieur", i+1))
		request(other, opP, 1, ids[62+i:63+i])
	}
	prepare := func(reservations []int64) postgres.Handover {
		h, err := env.DB.PrepareHandover(ctx, postgres.NewHandover{RequestID: main, ReservationIDs: reservations}, shop.ID, "fr", techP,
			func(r allocation.Receipt) (postgres.CertificateBlob, error) {
				return postgres.CertificateBlob{Key: "handovers/" + r.Number + ".pdf", Size: 48000, SHA256: strings.Repeat("d", 64)}, nil
			})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	confirmed := prepare(res[:20])
	if _, err := env.DB.ConfirmHandover(ctx, confirmed.ID, postgres.HandoverScope{}, allocation.BoughtSecondHand, teacherP); err != nil {
		t.Fatal(err)
	}
	for i := range 11 {
		if _, err := env.DB.RequestReturn(ctx, confirmed.ID, postgres.HandoverScope{}, postgres.NewReturnRequest{DeviceID: ids[i],
			Reason: strings.Repeat("L'écran clignote au démarrage et le clavier perd des touches. ", 3)}, teacherP); err != nil {
			t.Fatal(err)
		}
	}
	prepared := prepare(res[20:41])
	for i := range 38 { // older handovers, long gone
		mustSQL(t, env, `INSERT INTO handovers (request_id, workshop_org_id, number, state, cancelled_at, created_at)
			VALUES ($1, $2, $3, 'cancelled', now(), now() - interval '30 days')`, main, shop.ID, fmt.Sprintf("BRZ-H-2025-%06d", i+1))
	}
	newPath := "/requests/" + strconv.FormatInt(main, 10) + "/handover/new"
	hPath := func(h postgres.Handover) string { return "/handovers/" + strconv.FormatInt(h.ID, 10) }

	for _, lang := range []string{"/fr", "/eu"} {
		t.Run(lang, func(t *testing.T) {
			tabTech := donationSignInTab(t, env, lang, tech.Email)
			for _, path := range []string{"/handovers", "/handovers?page=2", newPath, newPath + "?page=2", hPath(prepared),
				hPath(prepared) + "?page=2", hPath(confirmed), devicePath(ids[0], "/return"), devicePath(ids[30], "/return")} {
				if r := tabTech.CheckPage(env.URL + lang + path); r.Status != http.StatusOK {
					t.Errorf("workshop %s: status %d", path, r.Status)
				}
			}
			// The preparation refused: nothing ticked.
			tabTech.Navigate(env.URL + lang + newPath)
			tabTech.Run(chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name=reservation]').forEach(c => c.checked = false)`))
			tabTech.Click(`form[novalidate] button[type=submit]`)
			r := tabTech.Measure() // a 400 document: Chromium logs it as a console error
			if r.Status != http.StatusBadRequest || tabTech.Count(`.error-summary li`) != 1 {
				t.Fatalf("refused preparation: %d, %d errors", r.Status, tabTech.Count(`.error-summary li`))
			}
			r.CheckBudgets(t)
			tabTech.CheckAxe()
			// The return refused: no reason.
			tabTech.Navigate(env.URL + lang + devicePath(ids[0], "/return"))
			tabTech.Run(chromedp.Evaluate[chromedp.Void](`document.getElementById('f-reason').value = ''`))
			tabTech.Click(`main form button[type=submit]`)
			if r := tabTech.Measure(); r.Status != http.StatusBadRequest || tabTech.Count(`.error-summary li`) != 1 {
				t.Fatalf("refused return: %d", r.Status)
			} else {
				r.CheckBudgets(t)
				tabTech.CheckAxe()
			}

			tabSchool := donationSignInTab(t, env, lang, teacher.Email)
			for _, path := range []string{"/handovers", "/handovers?page=2", hPath(prepared), hPath(confirmed)} {
				if r := tabSchool.CheckPage(env.URL + lang + path); r.Status != http.StatusOK {
					t.Errorf("school %s: status %d", path, r.Status)
				}
			}
			if tabSchool.Count(`fieldset legend`) != 0 {
				t.Error("a confirmation form on a confirmed handover")
			}
			tabSchool.Navigate(env.URL + lang + hPath(prepared))
			if tabSchool.Count(`fieldset input[type=radio][name=answer]`) != 4 || tabSchool.Count(`fieldset > legend`) != 1 {
				t.Fatal("the confirmation form lacks its question")
			}
			// The return request refused: no tag, no reason.
			tabSchool.Navigate(env.URL + lang + hPath(confirmed))
			tabSchool.Click(`form[action$="/returns"] button[type=submit]`)
			if r := tabSchool.Measure(); r.Status != http.StatusBadRequest || tabSchool.Count(`.error-summary li`) < 1 {
				t.Fatalf("refused return request: %d", r.Status)
			} else {
				r.CheckBudgets(t)
				tabSchool.CheckAxe()
			}

			tabOp := donationSignInTab(t, env, lang, op.Email)
			for _, path := range []string{"/handovers", newPath + "?workshop=" + strconv.FormatInt(shop.ID, 10), hPath(prepared),
				hPath(confirmed)} {
				if r := tabOp.CheckPage(env.URL + lang + path); r.Status != http.StatusOK {
					t.Errorf("operator %s: status %d", path, r.Status)
				}
			}
		})
	}
}
