package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/server/servertest"
)

var erasureZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// typedTime is a time as a datetime-local field sends it, in Paris.
func typedTime(t time.Time) string { return t.In(erasureZone).Format("2006-01-02T15:04") }

// postErasure sends an erasure record as multipart/form-data, with the
// remembered CSRF token of a signed-in browser, and the log when given.
func postErasure(t *testing.T, b *servertest.Browser, path string, fields map[string]string, logName string, log []byte) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if b.CSRF != "" {
		_ = w.WriteField("csrf", b.CSRF)
	}
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if log != nil {
		fw, _ := w.CreateFormFile("log", logName)
		_, _ = fw.Write(log)
	}
	_ = w.Close()
	return b.Do(http.MethodPost, path, &buf, "Content-Type", w.FormDataContentType())
}

// nwipeFields is a valid nwipe run over drive position:serial.
func nwipeFields(drive, verification string) map[string]string {
	now := time.Now()
	return map[string]string{"drive": drive, "method": "clear", "tool": "nwipe", "tool_version": "0.35", "passes": "1",
		"verification": verification, "started_at": typedTime(now.Add(-3 * time.Hour)), "ended_at": typedTime(now.Add(-time.Hour)),
		"notes": "Passe PRNG, vérification de la dernière passe."}
}

const nwipeLog = "[2026/03/14 09:05:01] nwipe: notice: Opened entropy source '/dev/urandom'.\n[2026/03/14 10:12:44] nwipe: info: Verified that '/dev/sda' is empty.\n"

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The erasure page: drives and their status, the form for the workshop
// only, records with their logs, every refusal shown on the form with the
// input kept, and a failed verification flagged on the erasure page, the
// device page and the inventory.
func TestErasurePage(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	mustReceiveDevice(t, f.env, f.device, 2) // ssd 256 GB SN-1 and SN-2
	path := devicePath(f.device, "/erasure")
	post := devicePath(f.device, "/erasures")

	resp, body := f.tech.Get(path)
	wantStatus(t, "page", resp, body, http.StatusOK)
	if strings.Count(body, "Pas encore effacé") != 2 || !strings.Contains(body, `action="`+post+`"`) ||
		!strings.Contains(body, `<option value="1:SN-1" selected>`) || !strings.Contains(html.UnescapeString(body), "10 Mo au plus") {
		t.Fatalf("page before any erasure:\n%s", body)
	}
	resp, body = f.donor.Get(path)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `action="`+post+`"`) || !strings.Contains(body, "SN-2") {
		t.Fatalf("donor: %d\n%s", resp.StatusCode, body)
	}
	for name, b := range map[string]*servertest.Browser{"other workshop": f.tech2, "other donor": f.other} {
		if resp, _ := b.Get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}

	// Refusals: the form again, with the errors and what was typed.
	f.tech.Get(path)
	fields := nwipeFields("1:SN-1", "passed")
	fields["tool_version"] = "0.35-Debian"
	resp, body = postErasure(t, f.tech, post, fields, "nwipe.log", pngBytes(t))
	text := html.UnescapeString(body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "ni un PDF ni un journal texte") ||
		!strings.Contains(body, `value="0.35-Debian"`) || !strings.Contains(body, `href="#f-log"`) {
		t.Fatalf("PNG renamed .log: %d\n%s", resp.StatusCode, body)
	}
	f.tech.Get(path)
	resp, body = postErasure(t, f.tech, post, nwipeFields("1:SN-1", "passed"), "", nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), "Joignez le journal") {
		t.Fatalf("nwipe without its log: %d\n%s", resp.StatusCode, body)
	}
	f.tech.Get(path)
	fields = nwipeFields("1:SN-1", "")
	fields["method"], fields["ended_at"] = "destroy", typedTime(time.Now().Add(2*time.Hour))
	resp, body = postErasure(t, f.tech, post, fields, "nwipe.log", []byte(nwipeLog))
	text = html.UnescapeString(body)
	for _, want := range []string{"Cet outil ne réalise pas cette méthode", "Cette date est dans le futur", "Indiquez si la vérification"} {
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, want) {
			t.Fatalf("%q missing: %d\n%s", want, resp.StatusCode, body)
		}
	}
	f.tech.Get(path)
	resp, body = postErasure(t, f.tech, post, nwipeFields("1:SN-9", "passed"), "nwipe.log", []byte(nwipeLog))
	if resp.StatusCode != http.StatusConflict || !strings.Contains(html.UnescapeString(body), "ce disque porte maintenant le n° de série « SN-1 »") {
		t.Fatalf("drive changed: %d\n%s", resp.StatusCode, body)
	}
	f.tech.Get(path)
	resp, body = postErasure(t, f.tech, post, nwipeFields("1:SN-1", "passed"), "big.log", bytes.Repeat([]byte("x"), 10_000_001))
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(html.UnescapeString(body), "Le journal dépasse 10 Mo") {
		t.Fatalf("log too large: %d\n%.2000s", resp.StatusCode, body)
	}
	var blobs int
	if err := f.env.DB.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM erasures`).Scan(&blobs); err != nil || blobs != 0 {
		t.Fatalf("refused records left %d rows, %v", blobs, err)
	}

	// Recorded: the first drive passes, with its log.
	f.tech.Get(path)
	resp, body = postErasure(t, f.tech, post, nwipeFields("1:SN-1", "passed"), "nwipe-sda.log", []byte(nwipeLog))
	wantStatus(t, "record", resp, body, http.StatusSeeOther)
	_, body = f.tech.Get(path)
	if !strings.Contains(body, "Effacement enregistré.") || !strings.Contains(body, "Effacé et vérifié") || !strings.Contains(body, "Ane Tech") {
		t.Fatalf("after the record:\n%s", body)
	}
	records, _, err := f.env.DB.DeviceErasures(context.Background(), f.device, 1, 10)
	if err != nil || len(records) != 1 || records[0].Log == nil {
		t.Fatalf("records %+v %v", records, err)
	}
	logURL := devicePath(f.device, "/erasures/", idStr(records[0].ID), "/log")
	resp, got := f.donor.Get(logURL)
	if resp.StatusCode != http.StatusOK || got != nwipeLog || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || records[0].Log.SHA256 != hexSHA256([]byte(nwipeLog)) {
		t.Fatalf("log download: %d %v %q", resp.StatusCode, resp.Header, got)
	}
	if resp, _ := f.tech2.Get(logURL); resp.StatusCode != http.StatusNotFound {
		t.Errorf("log, other workshop: %d", resp.StatusCode)
	}

	// The second drive fails its verification: flagged everywhere.
	f.tech.Get(path)
	fields = nwipeFields("2:SN-2", "failed")
	fields["method"], fields["tool"], fields["passes"] = "purge_block_erase", "nvme_sanitize", "0"
	resp, body = postErasure(t, f.tech, post, fields, "", nil)
	wantStatus(t, "failed record", resp, body, http.StatusSeeOther)
	_, body = f.tech.Get(path)
	if !strings.Contains(html.UnescapeString(body), "Vérification d'effacement échouée sur 1 disque(s)") {
		t.Fatalf("no flag on the erasure page:\n%s", body)
	}
	_, body = f.donor.Get(devicePath(f.device))
	if !strings.Contains(html.UnescapeString(body), "Vérification d'effacement échouée : l'appareil est bloqué.") {
		t.Fatalf("no flag on the device page:\n%s", body)
	}
	_, body = f.donor.Get("/devices")
	if strings.Count(html.UnescapeString(body), "Effacement échoué") != 1 {
		t.Fatalf("no flag (or more than one) in the inventory:\n%s", body)
	}

	// Who may not record.
	if resp, _ := postErasure(t, f.donor, post, nwipeFields("1:SN-1", "passed"), "", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor: %d", resp.StatusCode)
	}
	f.tech2.Get("/devices")
	if resp, _ := postErasure(t, f.tech2, post, nwipeFields("1:SN-1", "passed"), "a.log", []byte(nwipeLog)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("other workshop: %d", resp.StatusCode)
	}
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
