package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// certificateText extracts a PDF's text with pdftotext (poppler-utils,
// deploy/local/poppler.sh), words joined by single spaces.
func certificateText(t *testing.T, pdf string) string {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("BERRIZ_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("pdftotext is missing: run deploy/local/poppler.sh")
		}
		t.Skip("pdftotext is missing: run deploy/local/poppler.sh")
	}
	f := filepath.Join(t.TempDir(), "certificate.pdf")
	if err := os.WriteFile(f, []byte(pdf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// erasedTimes are the start and end of the fixture's erasures.
type erasedTimes struct{ start, end time.Time }

// mustErasedDevice records a verified erasure of both drives of a received
// device through the page (nwipe with its log, then nvme sanitize), and
// its diagnosis, and moves it to diagnosed.
func mustErasedDevice(t *testing.T, f deviceFixture) erasedTimes {
	t.Helper()
	mustReceiveDevice(t, f.env, f.device, 2)
	post := devicePath(f.device, "/erasures")
	f.tech.Get(devicePath(f.device, "/erasure"))
	first := nwipeFields("1:SN-1", "passed")
	resp, body := postErasure(t, f.tech, post, first, "nwipe-sda.log", []byte(nwipeLog))
	wantStatus(t, "drive 1", resp, body, http.StatusSeeOther)
	second := nwipeFields("2:SN-2", "passed")
	second["method"], second["tool"], second["tool_version"], second["passes"] = "purge_block_erase", "nvme_sanitize", "2.8", "0"
	f.tech.Get(devicePath(f.device, "/erasure"))
	resp, body = postErasure(t, f.tech, post, second, "", nil)
	wantStatus(t, "drive 2", resp, body, http.StatusSeeOther)
	mustDiagnosed(t, f.env, f.device)
	start, _ := time.ParseInLocation("2006-01-02T15:04", first["started_at"], erasureZone)
	end, _ := time.ParseInLocation("2006-01-02T15:04", first["ended_at"], erasureZone)
	step(t, f, "diagnosed")
	return erasedTimes{start, end}
}

// step takes a lifecycle step from the device page.
func step(t *testing.T, f deviceFixture, to string) {
	t.Helper()
	_, v := deviceVersion(t, f.env, f.device)
	f.tech.Get(devicePath(f.device))
	resp, body := f.tech.PostForm(devicePath(f.device, "/state"), url.Values{"to": {to}, "version": {strconv.Itoa(v)}})
	wantStatus(t, "step to "+to, resp, body, http.StatusSeeOther)
}

var checkURLRE = regexp.MustCompile(`http://[^ ]+/c/[A-Za-z0-9_-]{32}`)

// Entering wiped issues the certificate: its text (pdftotext) holds the
// device and drive serials, methods, tools, verification, technician,
// dates, the logs' checksums and the URL of its check page, which confirms
// it to anyone without naming the technician or the donor.
func TestErasureCertificateIssuedWhenWiped(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	times := mustErasedDevice(t, f)
	step(t, f, "wiped")
	ctx := context.Background()
	certs, err := f.env.DB.DeviceCertificates(ctx, f.device)
	if err != nil || len(certs) != 1 {
		t.Fatalf("certificates after wiped: %+v %v", certs, err)
	}
	cert := certs[0]
	resp, pdf := f.donor.Get(devicePath(f.device, "/certificate.pdf"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf, "%PDF-1.4") ||
		hexSHA256([]byte(pdf)) != cert.SHA256 || resp.Header.Get("ETag") != `"`+cert.SHA256+`"` ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), cert.Number+".pdf") {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}
	text := certificateText(t, pdf)
	logSum := hexSHA256([]byte(nwipeLog))
	for _, want := range []string{"Certificat d'effacement des données", "N° " + cert.Number, "Ordinateur portable Lenovo T480",
		"=cmd|' /C calc'!A0", "Mairie d'Anglet", "Atelier Berriz", "Disque 1", "SN-1", "SN-2", "SSD SATA", "256 Go",
		"Effacement simple (clear) : réécriture", "Purge : effacement par blocs", "nwipe 0.35", "nvme sanitize 2.8", "Réussie",
		"Ane Tech", times.start.Format("02/01/2006 15:04"), times.end.Format("02/01/2006 15:04"), logSum, "aucun journal joint",
		"NIST SP 800-88", "Atelier Berriz certifie que les 2 support(s) de stockage", "page 1/"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q not in the certificate:\n%s", want, text)
		}
	}
	check := checkURLRE.FindString(text)
	if check == "" || !strings.HasPrefix(check, f.env.Config.PublicURL.String()) || !strings.HasSuffix(check, "/c/"+cert.Token) {
		t.Fatalf("check URL %q (token %s) in:\n%s", check, cert.Token, text)
	}
	if resp, _ := f.donor.Get(devicePath(f.device, "/certificate.pdf"), "If-None-Match", `"`+cert.SHA256+`"`); resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", resp.StatusCode)
	}

	// The check page, for anyone holding the URL.
	resp, body := f.env.Anonymous(t).Get("/c/" + cert.Token)
	page := html.UnescapeString(body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Robots-Tag") != "noindex" {
		t.Fatalf("check page: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{cert.Number, "Ce certificat est authentique", "Lenovo T480", "SN-1", "SN-2", "Purge : effacement par blocs",
		"Réussie", "Atelier Berriz", cert.SHA256, times.end.Format("02/01/2006 15:04")} {
		if !strings.Contains(page, want) {
			t.Errorf("%q not on the check page", want)
		}
	}
	for _, secret := range []string{"Ane Tech", "Mairie d'Anglet", "Amaia"} {
		if strings.Contains(page, secret) {
			t.Errorf("the public check page shows %q", secret)
		}
	}
	for _, bad := range []string{"/c/" + strings.Repeat("A", 32), "/c/x", "/c/" + cert.Token + "x"} {
		if resp, _ := f.env.Anonymous(t).Get(bad); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
	// The erasure page links it; the device's log says it was issued.
	_, body = f.donor.Get(devicePath(f.device, "/erasure"))
	if !strings.Contains(body, "Télécharger le certificat "+cert.Number) || !strings.Contains(body, "/c/"+cert.Token) {
		t.Fatalf("erasure page:\n%s", body)
	}
	events, _, _ := f.env.DB.DeviceEvents(ctx, f.device, 1)
	if e := events[0]; e.Kind != postgres.EventCertified || !strings.Contains(e.Detail, cert.SHA256) || e.Note != cert.Number {
		t.Fatalf("last event %+v", e)
	}
	// Another workshop and another donor see nothing of it.
	for name, b := range map[string]*servertest.Browser{"other workshop": f.tech2, "other donor": f.other} {
		if resp, _ := b.Get(devicePath(f.device, "/certificate.pdf")); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
}

// When issuing failed at the step (here: the step taken by the store
// alone), the first download issues the certificate; downloads at once
// issue one certificate, all get its bytes.
func TestErasureCertificateIssuedOnFirstDownload(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	mustErasedDevice(t, f)
	ctx := context.Background()
	if resp, _ := f.donor.Get(devicePath(f.device, "/certificate.pdf")); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("before wiped: %d", resp.StatusCode)
	}
	if _, err := f.env.DB.TransitionDevice(ctx, f.device, postgres.DonationScope{}, postgres.Transition{To: lifecycle.Wiped}, nil); err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		bodies = map[string]int{}
	)
	for _, b := range []*servertest.Browser{f.donor, f.tech, f.op} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, pdf := b.Get(devicePath(f.device, "/certificate.pdf"))
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("download: %d", resp.StatusCode)
			}
			bodies[pdf]++
		}()
	}
	wg.Wait()
	certs, err := f.env.DB.DeviceCertificates(ctx, f.device)
	if err != nil || len(certs) != 1 || len(bodies) != 1 {
		t.Fatalf("%d certificates, %d different bodies, %v", len(certs), len(bodies), err)
	}
	for pdf := range bodies {
		if hexSHA256([]byte(pdf)) != certs[0].SHA256 {
			t.Fatal("the bytes served are not the certificate's")
		}
	}
}
