package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

type deviceFixture struct {
	env                             *servertest.Env
	donor, other, op, tech, tech2   *servertest.Browser
	device, otherDevice, unassigned int64 // the donor's device (held by shop), another donor's, one not yet assigned
}

func mustDeviceFixture(t *testing.T, opts servertest.Options) deviceFixture {
	t.Helper()
	env := servertest.MustStart(t, opts)
	ctx := context.Background()
	donorOrg := env.MustOrg(t, account.KindCommune, "Mairie d'Anglet")
	otherOrg := env.MustOrg(t, account.KindCompany, "Entreprise Voisine")
	shop := env.MustOrg(t, account.KindWorkshop, "Atelier Berriz")
	shop2 := env.MustOrg(t, account.KindWorkshop, "Autre Atelier")
	opOrg := env.MustOrg(t, account.KindOperator, "Agence")
	f := deviceFixture{env: env,
		donor: env.SignIn(t, env.MustUser(t, donorOrg.ID, "Amaia Donor", false).Email),
		other: env.SignIn(t, env.MustUser(t, otherOrg.ID, "Other Donor", false).Email),
		op:    env.SignIn(t, env.MustUser(t, opOrg.ID, "Maddi Operator", true).Email),
		tech:  env.SignIn(t, env.MustUser(t, shop.ID, "Ane Tech", false).Email),
		tech2: env.SignIn(t, env.MustUser(t, shop2.ID, "Other Tech", false).Email),
	}
	mk := func(org int64, assign int64, lines ...donation.Line) int64 {
		d, err := env.DB.CreateDonation(ctx, org, nil, "Lot "+strconv.FormatInt(org, 10), "", lines)
		if err != nil {
			t.Fatal(err)
		}
		if assign != 0 {
			if _, err := env.DB.AssignWorkshop(ctx, d.ID, assign, nil); err != nil {
				t.Fatal(err)
			}
		}
		devs, _, err := env.DB.Devices(ctx, postgres.DeviceFilter{DonationID: d.ID})
		if err != nil || len(devs) == 0 {
			t.Fatal(err)
		}
		return devs[len(devs)-1].ID // oldest first: the first line
	}
	f.device = mk(donorOrg.ID, shop.ID, donation.Line{Category: "laptop", Brand: "Lenovo", Model: "T480", Serial: "=cmd|' /C calc'!A0",
		Quantity: 1, StorageDrives: 1, WeightKg: 1.6}, donation.Line{Category: "monitor_24", Quantity: 2, WeightKg: 4.5})
	f.otherDevice = mk(otherOrg.ID, shop2.ID, donation.Line{Category: "tablet", Quantity: 1, WeightKg: 0.5})
	f.unassigned = mk(donorOrg.ID, 0, donation.Line{Category: "smartphone", Quantity: 1, WeightKg: 0.2})
	return f
}

func devicePath(id int64, rest ...string) string {
	return "/devices/" + strconv.FormatInt(id, 10) + strings.Join(rest, "")
}

// upload posts one file in a multipart form, with the remembered CSRF token.
func upload(t *testing.T, b *servertest.Browser, path, field, name string, data []byte) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("csrf", b.CSRF)
	fw, _ := w.CreateFormFile(field, name)
	_, _ = fw.Write(data)
	_ = w.Close()
	return b.Do(http.MethodPost, path, &buf, "Content-Type", w.FormDataContentType())
}

func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 3), 90, 255})
		}
	}
	return img
}

func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testPNGWithText is a PNG carrying a tEXt chunk, metadata that must not
// survive the upload.
func testPNGWithText(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()
	data := []byte("Comment\x00GPS 43.48N 1.47W")
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(append(chunk, "tEXt"...), data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return append(append(append([]byte{}, p[:33]...), chunk...), p[33:]...)
}

// pngBombHeader claims 100000×100000 pixels in a few bytes.
func pngBombHeader(t *testing.T) []byte {
	p := testPNGWithText(t, 2, 2)[:33]
	binary.BigEndian.PutUint32(p[16:], 100000)
	binary.BigEndian.PutUint32(p[20:], 100000)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}

var thumbRE = regexp.MustCompile(`/devices/\d+/files/(\d+)/thumb`)

func TestDeviceScoping(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	for _, tc := range []struct {
		name string
		b    *servertest.Browser
		rows int
	}{{"donor", f.donor, 4}, {"other donor", f.other, 1}, {"workshop", f.tech, 3}, {"other workshop", f.tech2, 1}, {"operator", f.op, 5}} {
		resp, body := tc.b.Get("/devices")
		wantStatus(t, tc.name+" list", resp, body, http.StatusOK)
		if n := strings.Count(body, `<tr><td><a href="/devices/`); n != tc.rows {
			t.Errorf("%s: %d rows, want %d", tc.name, n, tc.rows)
		}
	}
	for _, tc := range []struct {
		name   string
		b      *servertest.Browser
		id     int64
		status int
	}{
		{"donor own", f.donor, f.device, 200}, {"donor not yet assigned", f.donor, f.unassigned, 200},
		{"workshop holding", f.tech, f.device, 200}, {"operator", f.op, f.otherDevice, 200},
		{"other donor", f.other, f.device, 404}, {"other workshop", f.tech2, f.device, 404},
		{"workshop, unassigned", f.tech, f.unassigned, 404}, {"missing", f.op, 999999, 404},
	} {
		resp, body := tc.b.Get(devicePath(tc.id))
		wantStatus(t, tc.name, resp, body, tc.status)
	}
	_, body := f.donor.Get(devicePath(f.device))
	if strings.Contains(body, `action="/devices/`) {
		t.Error("a donor is offered the workshop's forms")
	}
	_, body = f.donor.Get("/devices?category=monitor_24")
	if n := strings.Count(body, `<tr><td><a href="/devices/`); n != 2 {
		t.Errorf("category filter: %d rows", n)
	}
	// A donor cannot change anything; others' devices are not found.
	resp, body := upload(t, f.donor, devicePath(f.device, "/photos"), "photo", "a.jpg", testJPEG(t, 20, 20))
	wantStatus(t, "donor upload", resp, body, http.StatusForbidden)
	resp, body = f.donor.PostForm(devicePath(f.device, "/specs"), url.Values{"cpu": {"x"}})
	wantStatus(t, "donor specs", resp, body, http.StatusForbidden)
	f.tech2.Get("/devices")
	resp, body = upload(t, f.tech2, devicePath(f.device, "/photos"), "photo", "a.jpg", testJPEG(t, 20, 20))
	wantStatus(t, "other workshop upload", resp, body, http.StatusNotFound)
	resp, body = f.tech2.PostForm(devicePath(f.device, "/specs"), url.Values{"cpu": {"x"}})
	wantStatus(t, "other workshop specs", resp, body, http.StatusNotFound)

	// The session is read with the device page (auth_joined.go): once
	// signed out, the page sends to sign in before telling anything of
	// the device, whether it is the workshop's, another's or missing.
	resp, body = f.tech.PostForm("/logout", nil)
	wantStatus(t, "logout", resp, body, http.StatusSeeOther)
	for _, id := range []int64{f.device, f.otherDevice, 999999} {
		resp, body := f.tech.Get(devicePath(id))
		wantStatus(t, "signed out", resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login?next=") {
			t.Errorf("signed out, device %d: sent to %q", id, loc)
		}
	}
}

func TestDeviceCSV(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	resp, body := f.donor.Get("/devices.csv?category=laptop")
	wantStatus(t, "csv", resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "id" || rows[1][2] != "laptop" || rows[1][9] != "Atelier Berriz" {
		t.Fatalf("rows %q", rows)
	}
	if !strings.HasPrefix(rows[1][5], "'=") {
		t.Errorf("formula kept as is: %q", rows[1][5])
	}
	if strings.Contains(body, "Amaia") || strings.Contains(body, "@") {
		t.Error("personal data in the export")
	}
	_, body = f.op.Get("/devices.csv")
	if n := strings.Count(body, "\n"); n != 6 {
		t.Errorf("operator export: %d lines, want 6\n%s", n, body)
	}
	_, body = f.other.Get("/devices.csv")
	if n := strings.Count(body, "\n"); n != 2 {
		t.Errorf("other donor export: %d lines, want 2", n)
	}
}

func TestDeviceSpecsForm(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	path := devicePath(f.device)
	resp, body := f.tech.Get(path + "/specs")
	wantStatus(t, "specs form", resp, body, http.StatusOK)
	mustContain(t, "specs form", body, `action="`+path+`/specs"`, `id="f-drive_type_1"`)
	if _, body := f.tech.Get(path); !strings.Contains(body, `href="`+path+`/specs"`) {
		t.Error("the device page does not link to its specs form")
	}
	if resp, _ := f.donor.Get(path + "/specs"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("donor on the specs form: %d", resp.StatusCode)
	}
	if resp, _ := f.tech2.Get(path + "/specs"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another workshop on the specs form: %d", resp.StatusCode)
	}
	resp, body = f.tech.PostForm(path+"/specs", url.Values{"cpu": {"Intel Core i5-8350U"}, "ram_gb": {"seize"},
		"battery_health_pct": {"120"}, "drive_type_1": {"ssd"}, "drive_capacity_1": {"256"}, "drive_serial_2": {"ORPHAN"}})
	wantStatus(t, "invalid specs", resp, body, http.StatusBadRequest)
	mustContain(t, "invalid specs", body, `class="error-summary"`, `href="#f-ram_gb"`, `href="#f-battery_health_pct"`,
		`href="#f-drive_type_2"`, `value="Intel Core i5-8350U"`, `value="seize"`, `value="ORPHAN"`, `id="f-drive_capacity_2"`)
	resp, body = f.tech.PostForm(path+"/specs", url.Values{"cpu": {"Intel Core i5-8350U"}, "ram_gb": {"16"},
		"screen_inches": {"14"}, "battery_health_pct": {"87"}, "os": {"Debian 13"}, "condition_notes": {"Rayure"},
		"drive_type_1": {"nvme"}, "drive_capacity_1": {"256"}, "drive_serial_1": {"S4EVNX0M"}})
	wantStatus(t, "specs", resp, body, http.StatusSeeOther)
	_, body = f.donor.Get(path)
	mustContain(t, "donor sees specs", body, "Intel Core i5-8350U", "87 %", "S4EVNX0M", "Debian 13")
}

// Photos on the disk backend: metadata stripped, served with safe headers,
// at most five, hostile files refused with a form error (never a 500).
func TestDevicePhotos(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	path := devicePath(f.device)
	_, body := f.tech.Get(path)
	mustContain(t, "limits before upload", body, "JPEG, PNG", "8 Mo", `accept="image/jpeg,image/png,image/webp"`)
	resp, body := upload(t, f.tech, path+"/photos", "photo", "IMG_0001.png", testPNGWithText(t, 2400, 1200))
	wantStatus(t, "upload", resp, body, http.StatusSeeOther)
	_, body = f.donor.Get(path)
	m := thumbRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no thumbnail on the page\n%s", body)
	}
	mustContain(t, "thumbnail", body, `loading="lazy"`, `width="320" height="240"`)
	for _, p := range []string{path + "/files/" + m[1], path + "/files/" + m[1] + "/thumb"} {
		resp, raw := f.donor.Get(p)
		wantStatus(t, p, resp, "", http.StatusOK)
		h := resp.Header
		if h.Get("Content-Type") != "image/jpeg" || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(h.Get("Content-Disposition"), "inline") || !strings.HasPrefix(h.Get("Cache-Control"), "private") {
			t.Errorf("%s: headers %v", p, h)
		}
		cfg, err := jpeg.DecodeConfig(strings.NewReader(raw))
		if err != nil || cfg.Width > 1600 || strings.Contains(raw, "GPS") || strings.Contains(raw, "tEXt") {
			t.Errorf("%s: %dx%d %v, or metadata kept", p, cfg.Width, cfg.Height, err)
		}
	}
	resp, _ = f.other.Get(path + "/files/" + m[1])
	wantStatus(t, "other donor file", resp, "", http.StatusNotFound)
	resp, _ = f.op.Get(devicePath(f.otherDevice, "/files/", m[1]))
	wantStatus(t, "file under another device", resp, "", http.StatusNotFound)

	j := testJPEG(t, 64, 64)
	for _, tc := range []struct {
		name, file string
		data       []byte
		status     int
	}{
		{"truncated jpeg", "a.jpg", j[:len(j)/2], 400},
		{"png bomb header", "bomb.png", pngBombHeader(t), 400},
		{"text named .jpg", "notes.jpg", []byte("just some text, not an image\n"), 400},
		{"svg", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 400},
		{"zero bytes", "empty.jpg", nil, 400},
		{"too large", "huge.jpg", append(append([]byte{}, j...), make([]byte, 8_000_001)...), 413},
	} {
		resp, body := upload(t, f.tech, path+"/photos", "photo", tc.file, tc.data)
		wantStatus(t, tc.name, resp, body, tc.status)
		if tc.status == 400 {
			mustContain(t, tc.name, body, `id="f-photo-error"`, `href="#f-photo"`)
		} else {
			mustContain(t, tc.name, body, "8 Mo", "JPEG, PNG ou WebP")
		}
	}
	for i := 2; i <= 5; i++ {
		resp, body := upload(t, f.tech, path+"/photos", "photo", "p.jpg", testJPEG(t, 40, 30))
		wantStatus(t, "photo "+strconv.Itoa(i), resp, body, http.StatusSeeOther)
	}
	resp, body = upload(t, f.tech, path+"/photos", "photo", "p.jpg", testJPEG(t, 40, 30))
	wantStatus(t, "sixth photo", resp, body, http.StatusBadRequest)
	resp, body = f.tech.PostForm(path+"/photos/"+m[1]+"/delete", url.Values{})
	wantStatus(t, "delete", resp, body, http.StatusSeeOther)
	resp, _ = f.tech.Get(path + "/files/" + m[1])
	wantStatus(t, "deleted file", resp, "", http.StatusNotFound)
}

func TestDeviceDocuments(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{})
	path := devicePath(f.device)
	f.tech.Get(path)
	resp, body := upload(t, f.tech, path+"/documents", "document", "facture.html", []byte("<html>not a pdf</html>"))
	wantStatus(t, "not a pdf", resp, body, http.StatusBadRequest)
	mustContain(t, "not a pdf", body, `id="f-document-error"`)
	pdf := []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
	resp, body = upload(t, f.tech, path+"/documents", "document", "Facture été.pdf", pdf)
	wantStatus(t, "pdf", resp, body, http.StatusSeeOther)
	_, body = f.donor.Get(path)
	m := regexp.MustCompile(`href="(/devices/\d+/files/\d+)">Facture été.pdf`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("document not listed\n%s", body)
	}
	resp, raw := f.donor.Get(m[1])
	if resp.StatusCode != 200 || raw != string(pdf) || resp.Header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = f.donor.Get(m[1] + "/thumb")
	wantStatus(t, "document thumb", resp, "", http.StatusNotFound)
}

// The same upload through the S3 backend (MinIO).
func TestDevicePhotoOnS3(t *testing.T) {
	f := mustDeviceFixture(t, servertest.Options{S3: true})
	path := devicePath(f.device)
	f.tech.Get(path)
	resp, body := upload(t, f.tech, path+"/photos", "photo", "IMG.jpg", testJPEG(t, 800, 600))
	wantStatus(t, "upload", resp, body, http.StatusSeeOther)
	_, body = f.tech.Get(path)
	m := thumbRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no thumbnail")
	}
	resp, raw := f.donor.Get(path + "/files/" + m[1] + "/thumb")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("thumb: %d %v", resp.StatusCode, resp.Header)
	}
	if cfg, err := jpeg.DecodeConfig(strings.NewReader(raw)); err != nil || cfg.Width != 320 || cfg.Height != 240 {
		t.Errorf("thumb %dx%d %v", cfg.Width, cfg.Height, err)
	}
}
