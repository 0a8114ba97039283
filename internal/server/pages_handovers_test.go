package server_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/web"
)

// handoverFix: a workshop holding n laptops of a commune's donation, each
// with two erased drives, graded and available (their erasure
// certificates not issued: the handover issues them), reserved from the
// catalogue for an approved request of a school and accepted; another
// workshop and another school; signed-in browsers for each.
type handoverFix struct {
	env                                   *servertest.Env
	shop, otherShop, school, otherSchool  account.Organisation
	tech, otherTech, teacher, otherTeach  *servertest.Browser
	op, donor                             *servertest.Browser
	techP, teacherP, opP                  *account.Principal
	request                               int64
	devices, reservations                 []int64
	tags                                  []string // printed
	techEmail, teacherEmail, opEmail      string
	techToken, teacherToken, otherToken   string // write tokens
	otherTechToken, donorToken, readToken string
}

func mustHandoverFix(t *testing.T, n int) handoverFix {
	t.Helper()
	ctx := context.Background()
	env := servertest.MustStart(t, servertest.Options{})
	f := handoverFix{env: env}
	f.shop = env.MustOrg(t, account.KindWorkshop, "Atelier Berriz Lapurdi")
	f.otherShop = env.MustOrg(t, account.KindWorkshop, "Atelier voisin")
	f.school = env.MustOrg(t, account.KindSchool, "École Jules Ferry")
	f.otherSchool = env.MustOrg(t, account.KindSchool, "Collège voisin")
	opOrg := env.MustOrg(t, account.KindOperator, "Agence numérique")
	donorOrg := env.MustOrg(t, account.KindCommune, "Mairie de Bayonne")
	tech := env.MustUser(t, f.shop.ID, "Ane Tech", false)
	otherTech := env.MustUser(t, f.otherShop.ID, "Other Tech", false)
	teacher := env.MustUser(t, f.school.ID, "Maite Prof", false)
	otherTeach := env.MustUser(t, f.otherSchool.ID, "Other Prof", false)
	op := env.MustUser(t, opOrg.ID, "Maddi Op", true)
	donor := env.MustUser(t, donorOrg.ID, "Amaia Donor", false)
	f.techP = &account.Principal{UserID: tech.ID, OrgID: f.shop.ID, OrgKind: f.shop.Kind}
	f.teacherP = &account.Principal{UserID: teacher.ID, OrgID: f.school.ID, OrgKind: f.school.Kind}
	f.opP = &account.Principal{UserID: op.ID, OrgID: opOrg.ID, OrgKind: opOrg.Kind}
	f.techEmail, f.teacherEmail, f.opEmail = tech.Email, teacher.Email, op.Email
	f.techToken, f.teacherToken = env.MustToken(t, f.shop.ID, tech.ID, "write"), env.MustToken(t, f.school.ID, teacher.ID, "write")
	f.otherToken = env.MustToken(t, f.otherSchool.ID, otherTeach.ID, "write")
	f.otherTechToken = env.MustToken(t, f.otherShop.ID, otherTech.ID, "write")
	f.donorToken, f.readToken = env.MustToken(t, donorOrg.ID, donor.ID, "write"), env.MustToken(t, f.school.ID, teacher.ID, "read")

	d, err := env.DB.CreateDonation(ctx, donorOrg.ID, nil, "Renouvellement du parc", "", []donation.Line{
		{Category: "laptop", Brand: "Lenovo", Model: "ThinkPad T480", Quantity: n, WeightKg: 1.6}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.AssignWorkshop(ctx, d.ID, f.shop.ID, nil); err != nil {
		t.Fatal(err)
	}
	devs, err := allDonationDevices(ctx, env, d.ID)
	if err != nil || len(devs) != n {
		t.Fatalf("devices: %v", err)
	}
	for i, dev := range devs {
		mustWipedDevice(t, env, dev.ID, 2)
		mustSQL(t, env, `UPDATE devices SET grade = 'B', os = 'Debian 13', serial = $2 WHERE id = $1`, dev.ID, fmt.Sprintf("PF1ABC%03d", i))
		mustMoveDevice(t, env, dev.ID, lifecycle.Refurbished)
		mustMoveDevice(t, env, dev.ID, lifecycle.Available)
		got, err := env.DB.Device(ctx, dev.ID, postgres.DonationScope{})
		if err != nil {
			t.Fatal(err)
		}
		f.devices = append(f.devices, dev.ID)
		f.tags = append(f.tags, got.Tag[:4]+"-"+got.Tag[4:])
	}
	r, err := env.DB.CreateRequest(ctx, f.school.ID, f.teacherP, allocation.NewRequest{Purpose: "Classe mobile du CM2",
		DeliveryCommune: "64102", Lines: []allocation.Line{{Category: "laptop", Quantity: n}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.DecideRequest(ctx, r.ID, postgres.RequestDecision{Decision: allocation.Approve, Version: r.Version}, f.opP); err != nil {
		t.Fatal(err)
	}
	full, err := env.DB.Request(ctx, r.ID, postgres.RequestScope{})
	if err != nil {
		t.Fatal(err)
	}
	f.request = r.ID
	for _, id := range f.devices {
		res, err := env.DB.ReserveFromCatalogue(ctx, id, full.Lines[0].ID, f.school.ID, f.teacherP)
		if err != nil {
			t.Fatal(err)
		}
		f.reservations = append(f.reservations, res.ID)
	}
	f.tech, f.otherTech = env.SignIn(t, tech.Email), env.SignIn(t, otherTech.Email)
	f.teacher, f.otherTeach = env.SignIn(t, teacher.Email), env.SignIn(t, otherTeach.Email)
	f.op, f.donor = env.SignIn(t, op.Email), env.SignIn(t, donor.Email)
	return f
}

func (f handoverFix) newPath() string {
	return "/requests/" + strconv.FormatInt(f.request, 10) + "/handover/new"
}

var handoverLinkRE = regexp.MustCompile(`^/handovers/(\d+)$`)

// mustPreparePage prepares a handover of the given reservations from the
// preparation page and returns its path.
func (f handoverFix) mustPreparePage(t *testing.T, reservations ...int64) string {
	t.Helper()
	f.tech.Get(f.newPath())
	form := url.Values{"request": {strconv.FormatInt(f.request, 10)}}
	for _, r := range reservations {
		form.Add("reservation", strconv.FormatInt(r, 10))
	}
	resp, body := f.tech.PostForm("/handovers", form)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !handoverLinkRE.MatchString(loc) {
		t.Fatalf("prepare: %d to %q\n%.2000s", resp.StatusCode, loc, body)
	}
	return loc
}

func handoverDeviceState(t *testing.T, env *servertest.Env, id int64) lifecycle.State {
	t.Helper()
	st, _, err := env.DB.DeviceFacts(context.Background(), id, postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	return st.State
}

// The whole handover through the pages: the workshop sees what is ready,
// ticks two of three devices and prepares the handover; its receipt says
// what it must; the school sees the confirmation form, refused with a bad
// answer, then confirms with its answer: the devices are delivered and the
// request partially fulfilled; a second confirmation is a conflict.
func TestHandoverPages(t *testing.T) {
	f := mustHandoverFix(t, 3)
	ctx := context.Background()
	_, body := f.tech.Get("/handovers")
	mustContain(t, "ready", html.UnescapeString(body), "Prêt à remettre", "École Jules Ferry", f.newPath())
	_, body = f.tech.Get(f.newPath())
	body = html.UnescapeString(body)
	mustContain(t, "new page", body, "Classe mobile du CM2", f.tags[0], f.tags[2], `name="reservation"`, "<legend>Appareils remis</legend>")
	if n := strings.Count(body, `name="reservation" value=`); n != 3 || strings.Count(body, " checked>") != 3 {
		t.Fatalf("%d devices offered", n)
	}

	// Nothing ticked: the form again, with the error.
	resp, body := f.tech.PostForm("/handovers", url.Values{"request": {strconv.FormatInt(f.request, 10)}})
	wantStatus(t, "none ticked", resp, body, http.StatusBadRequest)
	mustContain(t, "none ticked", html.UnescapeString(body), `href="#f-reservations"`, "Cochez au moins un appareil", `id="f-reservations"`)
	if strings.Contains(body, " checked>") {
		t.Fatal("the failed form ticks what was not ticked")
	}

	path := f.mustPreparePage(t, f.reservations[0], f.reservations[1])
	_, body = f.tech.Get(path)
	body = html.UnescapeString(body)
	mustContain(t, "prepared", body, "Remise préparée", "BRZ-H-", "En attente de confirmation", f.tags[0], f.tags[1], "BRZ-E-",
		path+"/receipt.pdf", "Annuler la remise", `href="/devices/`)
	if strings.Contains(body, f.tags[2]) || strings.Contains(body, `name="answer"`) {
		t.Fatal("the workshop's page shows the third device or the confirmation form")
	}

	// The receipt, as pdftotext reads it.
	resp, pdf := f.tech.Get(path + "/receipt.pdf")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("receipt: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	text := certificateText(t, pdf)
	certs, err := f.env.DB.DeviceCertificates(ctx, f.devices[0])
	if err != nil || len(certs) != 1 {
		t.Fatalf("certificate issued for the handover: %v", err)
	}
	mustContain(t, "receipt", text, "Bon de remise de matériel", "École Jules Ferry", "Atelier Berriz Lapurdi", "Mairie de Bayonne",
		f.tags[0], f.tags[1], "PF1ABC000", "PF1ABC001", "SN-1", "SN-2", certs[0].Number, "Lenovo ThinkPad T480",
		"Effacement des données", "Pour le bénéficiaire : École Jules Ferry", "Pour l'atelier : Atelier Berriz Lapurdi", "Signature :",
		"Nom :", "Date :", "Classe mobile du CM2")
	if !strings.Contains(strings.ReplaceAll(text, " ", ""), "/c/"+certs[0].Token) {
		t.Error("the receipt lacks the check address of the first certificate")
	}
	if strings.Contains(text, "PF1ABC002") || strings.Contains(text, f.teacherEmail) || strings.Contains(text, f.techEmail) {
		t.Error("the receipt names what it must not")
	}

	// The school confirms.
	_, body = f.teacher.Get(path)
	body = html.UnescapeString(body)
	mustContain(t, "school's page", body, "<legend>Sans ce don, qu'auriez-vous fait ? (facultatif)</legend>", `type="radio"`,
		`value="bought_second_hand"`, "Acheté d'occasion ou reconditionné", `id="f-answer"`)
	if strings.Contains(body, "Annuler la remise") || strings.Contains(body, `href="/devices/`) {
		t.Fatal("the school sees the workshop's links")
	}
	resp, body = f.teacher.PostForm(path+"/confirm", url.Values{"answer": {"bought_twice"}})
	wantStatus(t, "bad answer", resp, body, http.StatusBadRequest)
	mustContain(t, "bad answer", html.UnescapeString(body), "Choisissez l'une des réponses", `field-invalid`, `href="#f-answer"`)
	if handoverDeviceState(t, f.env, f.devices[0]) != lifecycle.Reserved {
		t.Fatal("a refused confirmation delivered")
	}
	resp, body = f.teacher.PostForm(path+"/confirm", url.Values{"answer": {"bought_second_hand"}})
	wantRedirect(t, "confirm", resp, body, path)
	_, body = f.teacher.Get(path)
	mustContain(t, "confirmed", html.UnescapeString(body), "Réception confirmée", "Acheté d'occasion ou reconditionné", "Rendre un appareil")
	for _, id := range f.devices[:2] {
		if st := handoverDeviceState(t, f.env, id); st != lifecycle.Delivered {
			t.Fatalf("device %d: %s", id, st)
		}
	}
	if st := handoverDeviceState(t, f.env, f.devices[2]); st != lifecycle.Reserved {
		t.Fatalf("third device: %s", st)
	}
	req, err := f.env.DB.Request(ctx, f.request, postgres.RequestScope{})
	if err != nil || req.State != allocation.PartiallyFulfilled {
		t.Fatalf("request: %s %v", req.State, err)
	}
	resp, body = f.teacher.PostForm(path+"/confirm", nil)
	wantStatus(t, "twice", resp, body, http.StatusConflict)
	mustContain(t, "twice", html.UnescapeString(body), "est déjà confirmée")
	// The workshop does not see the answer.
	_, body = f.tech.Get(path)
	if strings.Contains(html.UnescapeString(body), "Acheté d'occasion") {
		t.Error("the workshop sees the beneficiary's answer")
	}
}

// Who may see and do what: another school's or another workshop's
// handover is not found; a donor is refused; the workshop may not
// confirm, the school may not cancel.
func TestHandoverPagesScope(t *testing.T) {
	f := mustHandoverFix(t, 2)
	path := f.mustPreparePage(t, f.reservations[0])
	for name, b := range map[string]*servertest.Browser{"other school": f.otherTeach, "other workshop": f.otherTech} {
		for _, p := range []string{path, path + "/receipt.pdf"} {
			resp, body := b.Get(p)
			wantStatus(t, name+" "+p, resp, body, http.StatusNotFound)
		}
		resp, body := b.Get("/handovers")
		wantStatus(t, name+" list", resp, body, http.StatusOK)
		if strings.Contains(body, path) {
			t.Errorf("%s lists the handover", name)
		}
	}
	resp, body := f.otherTech.Get(f.newPath())
	wantStatus(t, "other workshop's new page", resp, body, http.StatusNotFound)
	f.otherTeach.Get("/handovers")
	resp, body = f.otherTeach.PostForm(path+"/confirm", nil)
	wantStatus(t, "other school confirms", resp, body, http.StatusNotFound)
	f.otherTech.Get("/handovers")
	resp, body = f.otherTech.PostForm(path+"/cancel", nil)
	wantStatus(t, "other workshop cancels", resp, body, http.StatusNotFound)
	resp, body = f.donor.Get("/handovers")
	wantStatus(t, "donor", resp, body, http.StatusForbidden)
	resp, body = f.tech.PostForm(path+"/confirm", nil)
	wantStatus(t, "workshop confirms", resp, body, http.StatusForbidden)
	f.teacher.Get(path)
	resp, body = f.teacher.PostForm(path+"/cancel", nil)
	wantStatus(t, "school cancels", resp, body, http.StatusForbidden)
	resp, body = f.teacher.Get(f.newPath())
	wantStatus(t, "school's new page", resp, body, http.StatusForbidden)
	// Operators see and may act on everything.
	resp, body = f.op.Get(path)
	wantStatus(t, "operator", resp, body, http.StatusOK)
	mustContain(t, "operator", html.UnescapeString(body), `name="answer"`, "Annuler la remise")
	resp, body = f.op.Get(f.newPath())
	wantStatus(t, "operator's new page", resp, body, http.StatusOK)
	mustContain(t, "operator's new page", html.UnescapeString(body), "Atelier Berriz Lapurdi", f.tags[1])
	_, body = f.op.Get("/handovers")
	mustContain(t, "operator's list", body, path, "?workshop="+strconv.FormatInt(f.shop.ID, 10))
}

// Cancelling frees the reservations: the page says so, the devices can
// be handed over again, all at once.
func TestHandoverCancelPage(t *testing.T) {
	f := mustHandoverFix(t, 2)
	path := f.mustPreparePage(t, f.reservations...)
	f.tech.Get(path)
	resp, body := f.tech.PostForm(path+"/cancel", nil)
	wantRedirect(t, "cancel", resp, body, path)
	_, body = f.tech.Get(path)
	mustContain(t, "cancelled", html.UnescapeString(body), "Remise annulée", "Annulée le", "libres pour une autre remise")
	resp, body = f.tech.PostForm(path+"/cancel", nil)
	wantStatus(t, "twice", resp, body, http.StatusConflict)
	// Every device ready at once.
	f.tech.Get(f.newPath())
	resp, _ = f.tech.PostForm("/handovers", url.Values{"request": {strconv.FormatInt(f.request, 10)}, "all": {"1"}})
	again := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || again == path {
		t.Fatalf("all at once: %d %s", resp.StatusCode, again)
	}
	_, body = f.tech.Get(again)
	mustContain(t, "all at once", body, f.tags[0], f.tags[1])
}

// Every key this area names from Go is in the catalogs.
func TestHandoverKeysTranslated(t *testing.T) {
	cat, err := i18n.Load(web.Catalogs())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range allocation.HandoverKeys() {
		if !cat.Has(k) {
			t.Errorf("no catalog has %q", k)
		}
	}
}
