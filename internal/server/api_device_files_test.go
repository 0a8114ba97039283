package server_test

import (
	"bytes"
	"encoding/binary"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/server/servertest"
)

// multipartBody is one file in a multipart/form-data body.
func multipartBody(t *testing.T, field, name string, data []byte) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = w.Close()
	return buf.String(), w.FormDataContentType()
}

// (f *deviceAPIFixture) upload posts one file to a device's photos or
// documents with a token.
func (f *deviceAPIFixture) upload(t *testing.T, token string, id int64, what, field, name string, data []byte) (*http.Response, string) {
	t.Helper()
	body, ct := multipartBody(t, field, name, data)
	return f.call(t, token, http.MethodPost, devicesAPIPath(id, "/"+what), body, "Content-Type", ct, "Accept-Language", "en")
}

// jpegWithGPS is a camera JPEG: an APP1 Exif segment with a GPS position
// right after the SOI marker.
func jpegWithGPS(t *testing.T, w, h int) []byte {
	t.Helper()
	j := testJPEG(t, w, h)
	payload := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), "GPSLatitude 43.48N GPSLongitude 1.47W"...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append(append(append([]byte{}, j[:2]...), seg...), payload...)
	return append(out, j[2:]...)
}

type apiFile struct {
	ID       int64  `json:"id"`
	Kind     string `json:"kind"`
	Size     int64  `json:"size"`
	Name     string `json:"original_name"`
	URL      string `json:"url"`
	ThumbURL string `json:"thumb_url"`
}

// Photos through the API: by content, re-encoded without metadata (no
// EXIF, no GPS), thumbnailed, at most five, served with the page's
// headers; refusals answer 400, 413 or 415 with the JSON error, never 500.
func TestAPIDevicePhotos(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	id := f.devs[0].ID
	in := jpegWithGPS(t, 2400, 1200)
	if !bytes.Contains(in, []byte("GPS")) || !bytes.Contains(in, []byte("Exif")) {
		t.Fatal("the fixture carries no EXIF")
	}
	resp, body := f.upload(t, f.tech, id, "photos", "photo", "IMG_0001.jpg", in)
	f.want(t, "upload", http.StatusCreated, "DeviceFile", resp, body)
	var photo apiFile
	mustDecodeJSON(t, body, &photo)
	if photo.Kind != "photo" || photo.Name != "IMG_0001.jpg" || photo.ThumbURL != photo.URL+"/thumb" ||
		photo.URL != devicesAPIPath(id, "/files/", idStr(photo.ID)) || resp.Header.Get("Location") != photo.URL {
		t.Fatalf("uploaded: %s (Location %q)", body, resp.Header.Get("Location"))
	}
	for _, p := range []string{photo.URL, photo.ThumbURL} {
		resp, raw := f.call(t, f.donor, http.MethodGet, p, nil)
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Content-Type") != "image/jpeg" || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(h.Get("Content-Disposition"), "inline") || !strings.HasPrefix(h.Get("Cache-Control"), "private") {
			t.Errorf("%s: %d %v", p, resp.StatusCode, h)
		}
		cfg, err := jpeg.DecodeConfig(strings.NewReader(raw))
		if err != nil || cfg.Width > 1600 || strings.Contains(raw, "GPS") || strings.Contains(raw, "Exif") ||
			strings.Contains(raw, "\xFF\xE1") {
			t.Errorf("%s: %dx%d %v, or metadata kept", p, cfg.Width, cfg.Height, err)
		}
		if p == photo.URL && (cfg.Width != 1600 || int64(len(raw)) != photo.Size) {
			t.Errorf("photo %dx%d, %d bytes (recorded %d)", cfg.Width, cfg.Height, len(raw), photo.Size)
		}
	}
	resp, body = f.call(t, f.dB, http.MethodGet, photo.URL, nil)
	f.want(t, "other donor's download", http.StatusNotFound, "", resp, body)
	resp, body = f.call(t, f.op, http.MethodGet, devicesAPIPath(f.devB, "/files/", idStr(photo.ID)), nil)
	f.want(t, "file under another device", http.StatusNotFound, "", resp, body)

	j := testJPEG(t, 64, 64)
	for _, tc := range []struct {
		name, token, field, file string
		data                     []byte
		want                     int
	}{
		{"png with text", f.tech, "photo", "scan.png", testPNGWithText(t, 300, 200), 201},
		{"truncated jpeg", f.tech, "photo", "a.jpg", j[:len(j)/2], 400},
		{"bomb header", f.tech, "photo", "bomb.png", pngBombHeader(t), 400},
		{"text named .jpg", f.tech, "photo", "notes.jpg", []byte("not an image\n"), 400},
		{"zero bytes", f.tech, "photo", "empty.jpg", nil, 400},
		{"wrong field", f.tech, "file", "a.jpg", j, 400},
		{"too large", f.tech, "photo", "huge.jpg", append(append([]byte{}, j...), make([]byte, 8_000_001)...), 413},
		{"other workshop", f.tech2, "photo", "a.jpg", j, 404},
		{"donor", f.donor, "photo", "a.jpg", j, 403},
	} {
		resp, body := f.upload(t, tc.token, id, "photos", tc.field, tc.file, tc.data)
		f.want(t, tc.name, tc.want, "", resp, body)
		if tc.want == 400 {
			wantFields(t, tc.name, body, "photo")
		}
		if tc.want == 413 && !strings.Contains(body, "8 MB") {
			t.Errorf("%s: limits not said: %s", tc.name, body)
		}
	}
	resp, body = f.call(t, f.tech, http.MethodPost, devicesAPIPath(id, "/photos"), `{"photo":"x"}`)
	f.want(t, "JSON body", http.StatusUnsupportedMediaType, "", resp, body)

	// Two so far; three more, then the sixth is refused.
	for i := 0; i < 3; i++ {
		resp, body := f.upload(t, f.op, id, "photos", "photo", "p.jpg", testJPEG(t, 40, 30))
		f.want(t, "photo", http.StatusCreated, "DeviceFile", resp, body)
	}
	resp, body = f.upload(t, f.tech, id, "photos", "photo", "p.jpg", testJPEG(t, 40, 30))
	f.want(t, "sixth photo", http.StatusBadRequest, "", resp, body)
	wantFields(t, "sixth photo", body, "photo")
	resp, body = f.call(t, f.donor, http.MethodGet, devicesAPIPath(id, "/files"), nil)
	f.want(t, "list", http.StatusOK, "DeviceFileList", resp, body)
	if n := strings.Count(body, `"kind":"photo"`); n != 5 {
		t.Errorf("%d photos listed: %s", n, body)
	}
	resp, body = f.call(t, f.dB, http.MethodGet, devicesAPIPath(id, "/files"), nil)
	f.want(t, "other donor's list", http.StatusNotFound, "", resp, body)

	// Deleting: the workshop or the operator; the bytes go with it.
	for _, tc := range []struct {
		name, token string
		want        int
	}{{"donor", f.donor, 403}, {"read token", f.techRead, 403}, {"other workshop", f.tech2, 404}, {"workshop", f.tech, 204}, {"again", f.tech, 404}} {
		resp, body := f.call(t, tc.token, http.MethodDelete, photo.URL, nil)
		f.want(t, "delete: "+tc.name, tc.want, "", resp, body)
	}
	for _, p := range []string{photo.URL, photo.ThumbURL} {
		resp, body := f.call(t, f.op, http.MethodGet, p, nil)
		f.want(t, "deleted "+p, http.StatusNotFound, "", resp, body)
	}
	resp, body = f.upload(t, f.tech, id, "photos", "photo", "p.jpg", testJPEG(t, 40, 30))
	f.want(t, "a fifth again", http.StatusCreated, "DeviceFile", resp, body)
}

// Documents: PDFs by content, kept as sent, served as attachments.
func TestAPIDeviceDocuments(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	id := f.devs[1].ID
	pdf := []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
	resp, body := f.upload(t, f.tech, id, "documents", "document", "Facture été.pdf", pdf)
	f.want(t, "pdf", http.StatusCreated, "DeviceFile", resp, body)
	var doc apiFile
	mustDecodeJSON(t, body, &doc)
	if doc.Kind != "document" || doc.ThumbURL != "" || doc.Name != "Facture été.pdf" || doc.Size != int64(len(pdf)) {
		t.Errorf("document: %s", body)
	}
	resp, raw := f.call(t, f.donor, http.MethodGet, doc.URL, nil)
	if resp.StatusCode != 200 || raw != string(pdf) || resp.Header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = f.call(t, f.donor, http.MethodGet, doc.URL+"/thumb", nil)
	f.want(t, "a document's thumbnail", http.StatusNotFound, "", resp, body)
	for _, tc := range []struct {
		name, field string
		data        []byte
		want        int
	}{
		{"html", "document", []byte("<html>not a pdf</html>"), 400},
		{"empty", "document", nil, 400},
		{"no document field", "photo", pdf, 400},
		{"too large", "document", append(append([]byte{}, pdf...), make([]byte, 10_000_000)...), 413},
	} {
		resp, body := f.upload(t, f.tech, id, "documents", tc.field, "x.pdf", tc.data)
		f.want(t, tc.name, tc.want, "", resp, body)
		if tc.want == 400 {
			wantFields(t, tc.name, body, "document")
		}
	}
	resp, body = f.upload(t, f.tech2, id, "documents", "document", "x.pdf", pdf)
	f.want(t, "other workshop", http.StatusNotFound, "", resp, body)
	resp, body = f.call(t, f.op, http.MethodDelete, doc.URL, nil)
	f.want(t, "delete", http.StatusNoContent, "", resp, body)
	resp, body = f.call(t, f.op, http.MethodGet, devicesAPIPath(id, "/files"), nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"items":[]`) {
		t.Errorf("after delete: %d %s", resp.StatusCode, body)
	}
}
