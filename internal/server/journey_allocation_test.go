package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/internal/tag"
	"github.com/berriz/berriz/web"
	"github.com/chromedp/chromedp"
)

// TestAllocationJourney is the allocation issue's acceptance journey, in a
// real browser, in French and Basque: a school files a request for two
// laptops of at least 8 GB and grade B; the operator approves it from the
// administration hub, runs matching, reviews the proposal (the 4 GB laptop
// is left out) and sends it; the school accepts both laptops; the
// workshop's technician prepares the handover; the school downloads the
// receipt (its text read back with pdftotext), confirms receipt answering
// the "without this donation" question, and sees the laptops delivered and
// its request fulfilled. Every page on the way is within the eco-design
// budgets with zero axe violations, and the devices' event chains verify at
// the end.
func TestAllocationJourney(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("BERRIZ_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("pdftotext (poppler-utils) is missing")
		}
		t.Skip("pdftotext (poppler-utils) is missing")
	}
	cat, err := i18n.Load(web.Catalogs())
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"fr", "eu"} {
		t.Run(lang, func(t *testing.T) {
			env := servertest.MustStart(t, servertest.Options{})
			ctx := context.Background()
			opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique du Pays basque")
			operator := env.MustUser(t, opOrg.ID, "Oihana Operator", true)
			school := env.MustOrg(t, account.KindSchool, "Collège Marracq")
			teacher := env.MustUser(t, school.ID, "Irati Irakaslea", false)
			shop := env.MustOrg(t, account.KindWorkshop, "Atelier Berriztu")
			tech := env.MustUser(t, shop.ID, "Ane Etxeberria", false)
			donor := env.MustOrg(t, account.KindCommune, "Ville de Bayonne")
			laptops := mustAvailableLaptops(t, env, donor.ID, shop.ID, []journeyLaptop{
				{"PF1ALLOC01", 8, "B"}, {"PF1ALLOC02", 16, "A"}, {"PF1ALLOC03", 4, "A"}})
			base := env.URL + "/" + lang
			T := func(key string) string { return cat.T(i18n.Lang(lang), key, nil) }

			check := func(tab *browsertest.Tab, step string) {
				t.Helper()
				r := tab.CheckCurrentPage()
				if r.Status >= 400 {
					t.Fatalf("%s: status %d at %s\n%s", step, r.Status, tab.URL(), tab.Text("main"))
				}
				if got := browsertest.RunValue(tab, chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
					t.Fatalf("%s: page in %q, want %q", step, got, lang)
				}
			}
			// Each person has their own browser tab: they sign in at the
			// address they were given.
			signIn := func(who string, email string) *browsertest.Tab {
				t.Helper()
				tab := browsertest.MustTab(t)
				tab.Navigate(base + "/login")
				check(tab, who+": login page")
				tab.Fill("#f-email", email)
				tab.Fill("#f-password", servertest.Password)
				tab.Click(`main form button[type=submit]`)
				if !strings.HasSuffix(tab.URL(), "/account") {
					t.Fatalf("%s: after signing in at %s", who, tab.URL())
				}
				check(tab, who+": account page")
				return tab
			}
			requestState := func(id int64) allocation.RequestState {
				t.Helper()
				r, err := env.DB.Request(ctx, id, postgres.RequestScope{})
				if err != nil {
					t.Fatal(err)
				}
				return r.State
			}

			// 1. The school files its request through the form.
			schoolTab := signIn("school", teacher.Email)
			schoolTab.Click(`header nav a[href$="/requests"]`)
			check(schoolTab, "school's requests")
			schoolTab.Click(`main a[href$="/requests/new"]`)
			check(schoolTab, "request form")
			schoolTab.Fill("#f-purpose", "Classe mobile pour les élèves de 6e du dispositif ULIS.\nAteliers de programmation le mercredi.")
			schoolTab.Fill("#f-delivery_commune", "64102")
			schoolTab.Click("#f-criterion-rep")
			schoolTab.Click("#f-criterion-qpv")
			for field, v := range map[string]string{"category": "laptop", "quantity": "2", "min_ram_gb": "8", "min_grade": "B",
				"notes": "Avec chargeur"} {
				schoolTab.Fill("#f-line_1_"+field, v)
			}
			schoolTab.Click(`form[action$="/requests"] button[type=submit]`)
			check(schoolTab, "request filed")
			requestID := idAfter(t, schoolTab.URL(), "/requests/")
			if st := requestState(requestID); st != allocation.Submitted {
				t.Fatalf("the request is %s, want submitted", st)
			}
			r, err := env.DB.Request(ctx, requestID, postgres.RequestScope{})
			if err != nil || len(r.Lines) != 1 || r.Lines[0].Quantity != 2 || r.Lines[0].MinRAMGB != 8 ||
				r.Lines[0].MinGrade != "B" || r.Priority != allocation.Priority([]allocation.Criterion{"rep", "qpv"}) ||
				r.DeliveryCommune != "64102" {
				t.Fatalf("the request filed: %+v %v", r, err)
			}
			requestPath := "/requests/" + strconv.FormatInt(requestID, 10)

			// 2. The operator approves it, from the administration hub.
			opTab := signIn("operator", operator.Email)
			opTab.Click(`header nav a[href$="/admin"]`)
			check(opTab, "administration")
			opTab.Click(`main a[href$="/requests"]`)
			check(opTab, "operator's queue")
			opTab.Click(`main a[href$="` + requestPath + `"]`)
			check(opTab, "request to decide")
			opTab.Fill("#f-reason", "Critères REP et QPV vérifiés.")
			opTab.Click(`button[name=decision][value=approve]`)
			check(opTab, "request approved")
			if st := requestState(requestID); st != allocation.Approved {
				t.Fatalf("the request is %s, want approved", st)
			}

			// 3. The operator runs matching, reviews the draft and sends it.
			opTab.Click(`header nav a[href$="/admin"]`)
			check(opTab, "administration again")
			opTab.Click(`main a[href$="/proposals"]`)
			check(opTab, "proposals")
			opTab.Click(`form[action$="/proposals"] button[type=submit]`)
			check(opTab, "draft proposal")
			proposalPath := "/proposals/" + strconv.FormatInt(idAfter(t, opTab.URL(), "/proposals/"), 10)
			opTab.Click(`main a[href*="` + proposalPath + `?line="]`)
			check(opTab, "proposal line")
			if n := opTab.Count(`main tbody tr`); n != 2 {
				t.Fatalf("the draft gives the line %d devices, want 2:\n%s", n, opTab.Text("main"))
			}
			for i, l := range laptops {
				given := opTab.Count(`main tbody a[href$="`+devicePath(l.ID)+`"]`) == 1
				if given != (i < 2) { // the 4 GB laptop meets no minimum of the line
					t.Errorf("laptop %s in the draft: %v", l.Serial, given)
				}
			}
			opTab.Click(`main p a[href$="` + proposalPath + `"]`)
			check(opTab, "back to the proposal")
			opTab.Click(`form[action$="/send"] button:not([formaction])`)
			check(opTab, "proposal sent")
			for _, l := range laptops[:2] {
				if st := deviceState(t, env, l.ID); st != string(lifecycle.Reserved) {
					t.Fatalf("laptop %s is %s after the send, want reserved", l.Serial, st)
				}
			}

			// 4. The school accepts both laptops.
			schoolTab.Click(`header nav a[href$="/catalogue"]`)
			check(schoolTab, "catalogue")
			schoolTab.Click(`main a[href$="/reservations"]`)
			check(schoolTab, "reservations")
			for i := range 2 {
				if n := schoolTab.Count(`button[formaction$="/accept"]`); n != 2-i {
					t.Fatalf("%d devices to answer, want %d:\n%s", n, 2-i, schoolTab.Text("main"))
				}
				schoolTab.Click(`button[formaction$="/accept"]`)
				check(schoolTab, "device accepted")
			}

			// 5. The workshop's technician prepares the handover.
			techTab := signIn("technician", tech.Email)
			techTab.Click(`header nav a[href$="/handovers"]`)
			check(techTab, "handovers of the workshop")
			techTab.Click(`main a[href$="` + requestPath + `/handover/new"]`)
			check(techTab, "handover preparation")
			if n := techTab.Count(`input[name=reservation]:checked`); n != 2 {
				t.Fatalf("%d devices ticked, want 2", n)
			}
			techTab.Click(`form[action$="/handovers"][novalidate] button[type=submit]`)
			check(techTab, "handover prepared")
			handoverID := idAfter(t, techTab.URL(), "/handovers/")
			h, err := env.DB.Handover(ctx, handoverID, postgres.HandoverScope{})
			if err != nil || h.State != allocation.HandoverPrepared || h.Devices != 2 {
				t.Fatalf("handover: %+v %v", h, err)
			}

			// 6. The school downloads the receipt and confirms receipt.
			schoolTab.Click(`header nav a[href$="/handovers"]`)
			check(schoolTab, "school's handovers")
			schoolTab.Click(fmt.Sprintf(`main a[href$="/handovers/%d"]`, handoverID))
			check(schoolTab, "handover to confirm")
			pdf := browsertest.RunValue(schoolTab, chromedp.Evaluate[string](`(async () => {
				const a = document.querySelector('main a[href$="/receipt.pdf"]');
				if (!a) return 'no link';
				const r = await fetch(a.href);
				if (r.status !== 200) return 'status ' + r.status;
				const b = new Uint8Array(await r.arrayBuffer());
				let s = ''; for (const x of b) s += String.fromCharCode(x);
				return btoa(s);
			})()`, chromedp.EvalAwaitPromise))
			raw, err := base64.StdEncoding.DecodeString(pdf)
			if err != nil || !strings.HasPrefix(string(raw), "%PDF-") {
				t.Fatalf("receipt: %.80q", pdf)
			}
			text := pdfText(t, raw)
			want := []string{h.Number, "Collège Marracq", "Atelier Berriztu", "Ville de Bayonne", "/c/"}
			for _, l := range laptops[:2] {
				want = append(want, l.Tag, l.Serial)
			}
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("the receipt does not say %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, laptops[2].Serial) {
				t.Errorf("the receipt names the laptop left out:\n%s", text)
			}
			schoolTab.Click(`input[name=answer][value="` + string(allocation.GoneWithout) + `"]`)
			schoolTab.Click(`form[action$="/confirm"] button[type=submit]`)
			check(schoolTab, "receipt confirmed")

			// 7. The laptops show as delivered, the request as fulfilled.
			delivered := T("donation.device_state.delivered")
			if n := strings.Count(schoolTab.Text("main table"), delivered); n != 2 {
				t.Errorf("%d devices %q on the confirmed handover, want 2:\n%s", n, delivered, schoolTab.Text("main"))
			}
			if got := schoolTab.Text("main"); !strings.Contains(got, T("handover.answer.gone_without")) {
				t.Errorf("the handover does not show the answer:\n%s", got)
			}
			schoolTab.Click(`main a[href$="` + requestPath + `"]`)
			check(schoolTab, "request fulfilled")
			if got := schoolTab.Text("main dl"); !strings.Contains(got, T("request.state.fulfilled")) {
				t.Errorf("the request page does not say fulfilled:\n%s", got)
			}
			for i, l := range laptops {
				want := lifecycle.Delivered
				if i == 2 {
					want = lifecycle.Available
				}
				if st := deviceState(t, env, l.ID); st != string(want) {
					t.Errorf("laptop %s is %s, want %s", l.Serial, st, want)
				}
			}
			if st := requestState(requestID); st != allocation.Fulfilled {
				t.Errorf("the request is %s, want fulfilled", st)
			}
			if h, err = env.DB.Handover(ctx, handoverID, postgres.HandoverScope{}); err != nil ||
				h.State != allocation.HandoverConfirmed || h.Answer != allocation.GoneWithout {
				t.Errorf("handover after the confirmation: %+v %v", h, err)
			}
			rep, err := env.DB.VerifyEventChains(ctx)
			if err != nil || len(rep.Breaks) != 0 {
				t.Fatalf("audit: %+v, %v", rep, err)
			}
		})
	}
}

// journeyLaptop is a laptop of the journey's stock: its serial, memory and
// grade.
type journeyLaptop struct {
	Serial string
	RAMGB  int
	Grade  string
}

// availableLaptop is a laptop published for allocation, with its tag.
type availableLaptop struct {
	ID          int64
	Serial, Tag string // Tag in its printed form
}

// mustAvailableLaptops declares the laptops as one donation of donorOrg to
// the workshop and takes each to available through the lifecycle:
// received with a tag, diagnosed, its drive erased, graded, refurbished
// and published. Their erasure certificates are left for the handover to
// issue.
func mustAvailableLaptops(t *testing.T, env *servertest.Env, donorOrg, workshop int64, ls []journeyLaptop) []availableLaptop {
	t.Helper()
	ctx := context.Background()
	lines := make([]donation.Line, len(ls))
	for i, l := range ls {
		lines[i] = donation.Line{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T480", Serial: l.Serial, Year: 2018,
			Quantity: 1, StorageDrives: 1, WeightKg: 1.6}
	}
	d, err := env.DB.CreateDonation(ctx, donorOrg, nil, "Portables des écoles", "", lines)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, d.ID, workshop, nil); err != nil {
		t.Fatal(err)
	}
	devs, err := allDonationDevices(ctx, env, d.ID)
	if err != nil || len(devs) != len(ls) {
		t.Fatalf("devices: %d, %v", len(devs), err)
	}
	var out []availableLaptop
	for _, dev := range devs {
		mustWipedDevice(t, env, dev.ID, 1)
		full, err := env.DB.Device(ctx, dev.ID, postgres.DonationScope{})
		if err != nil {
			t.Fatal(err)
		}
		var l journeyLaptop
		for _, x := range ls {
			if x.Serial == full.Serial {
				l = x
			}
		}
		mustSQL(t, env, `UPDATE devices SET ram_gb = $2, grade = $3, os = 'Debian 13' WHERE id = $1`, dev.ID, l.RAMGB, l.Grade)
		mustMoveDevice(t, env, dev.ID, lifecycle.Refurbished)
		mustMoveDevice(t, env, dev.ID, lifecycle.Available)
		out = append(out, availableLaptop{ID: dev.ID, Serial: l.Serial, Tag: tag.Code(full.Tag).String()})
	}
	// In the order the journey names them.
	byOrder := make([]availableLaptop, 0, len(ls))
	for _, l := range ls {
		for _, a := range out {
			if a.Serial == l.Serial {
				byOrder = append(byOrder, a)
			}
		}
	}
	return byOrder
}

// idAfter reads the number that follows prefix in a URL.
func idAfter(t *testing.T, u, prefix string) int64 {
	t.Helper()
	i := strings.LastIndex(u, prefix)
	if i < 0 {
		t.Fatalf("no %s in %s", prefix, u)
	}
	s := u[i+len(prefix):]
	if j := strings.IndexAny(s, "/?#"); j >= 0 {
		s = s[:j]
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("no id after %s in %s", prefix, u)
	}
	return id
}
