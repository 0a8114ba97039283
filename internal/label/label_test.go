package label

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/tag"
	qrcode "github.com/skip2/go-qrcode"
)

const testURL = "https://berriz.example.org"

// wantModules is the QR code go-qrcode makes for a tag: what every label
// must show.
func wantModules(t *testing.T, code string) [][]bool {
	t.Helper()
	c, err := tag.Parse(code)
	if err != nil {
		t.Fatal(err)
	}
	q, err := qrcode.New(testURL+"/t/"+c.String(), qrcode.High)
	if err != nil {
		t.Fatal(err)
	}
	q.DisableBorder = true
	return q.Bitmap()
}

func testCodes(n int) []string {
	out := make([]string, n)
	for i := range out {
		c, _ := tag.Generate(bytes.NewReader([]byte{byte(i >> 8), byte(i), 0x5a, 0xc3, byte(i * 7)}))
		out[i] = c.String()
	}
	return out
}

// mustTool finds a poppler tool, or skips (fails when services are
// required: deploy/local/poppler.sh installs them).
func mustTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("BERRIZ_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is missing: run deploy/local/poppler.sh", name)
		}
		t.Skipf("%s is missing: run deploy/local/poppler.sh", name)
	}
	return p
}

var (
	startxrefRE = regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`)
	xrefHeadRE  = regexp.MustCompile(`^xref\n0 (\d+)\n`)
)

// checkStructure parses the cross-reference table: startxref points at it
// and every entry at its object.
func checkStructure(t *testing.T, pdf []byte) (objects int) {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.4\n")) {
		t.Fatalf("header: %q", pdf[:min(len(pdf), 12)])
	}
	m := startxrefRE.FindSubmatch(pdf)
	if m == nil {
		t.Fatalf("no startxref at the end: %q", pdf[max(0, len(pdf)-40):])
	}
	xref, _ := strconv.Atoi(string(m[1]))
	h := xrefHeadRE.FindSubmatch(pdf[xref:])
	if h == nil {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	n, _ := strconv.Atoi(string(h[1]))
	entries := pdf[xref+len(h[0]):]
	if !bytes.HasPrefix(entries, []byte("0000000000 65535 f \n")) {
		t.Fatalf("first xref entry: %q", entries[:20])
	}
	for i := 1; i < n; i++ {
		e := string(entries[20*i : 20*i+20])
		if !strings.HasSuffix(e, " 00000 n \n") {
			t.Fatalf("xref entry %d: %q", i, e)
		}
		off, _ := strconv.Atoi(e[:10])
		if want := fmt.Sprintf("%d 0 obj\n", i); !bytes.HasPrefix(pdf[off:], []byte(want)) {
			t.Fatalf("xref entry %d points at %q", i, pdf[off:off+12])
		}
	}
	if !bytes.Contains(pdf[xref:], []byte(fmt.Sprintf("trailer\n<< /Size %d /Root 1 0 R >>", n))) {
		t.Fatal("trailer missing or wrong size")
	}
	return n
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	tool := mustTool(t, "pdftotext")
	f := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

// render rasterises the first page at 150 dpi.
func render(t *testing.T, pdf []byte) image.Image {
	t.Helper()
	tool := mustTool(t, "pdftoppm")
	dir := t.TempDir()
	f := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "-r", "150", "-png", "-gray", "-singlefile", "-f", "1", "-l", "1", f, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func dark(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return (r+g+b)/3 < 0x8000
}

// compareModules samples img at the centre of every module of want (and of
// the quiet zone around it) and reports the mismatches.
func compareModules(t *testing.T, what string, img image.Image, want [][]bool, centre func(row, col int) (x, y int)) {
	t.Helper()
	bad := 0
	for r := -2; r < len(want)+2; r++ {
		for c := -2; c < len(want)+2; c++ {
			w := r >= 0 && c >= 0 && r < len(want) && c < len(want) && want[r][c]
			x, y := centre(r, c)
			if !image.Pt(x, y).In(img.Bounds()) {
				t.Fatalf("%s: module (%d, %d) at (%d, %d) is off the image %v", what, r, c, x, y, img.Bounds())
			}
			if dark(img, x, y) != w {
				bad++
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d modules differ from go-qrcode's bitmap", what, bad)
	}
}

func TestSheet(t *testing.T) {
	for _, f := range Formats {
		t.Run(f.ID, func(t *testing.T) {
			codes := testCodes(f.PerSheet() + 2) // two pages
			for _, off := range [][2]float64{{0, 0}, {3.5, -2.25}} {
				pdf, err := Sheet(f.ID, off[0], off[1], testURL, codes)
				if err != nil {
					t.Fatal(err)
				}
				if n := checkStructure(t, pdf); n != 5+2*2 {
					t.Fatalf("%d objects, want 9 (two pages)", n)
				}
				text := pdfText(t, pdf)
				for _, c := range codes {
					if !strings.Contains(text, c) {
						t.Fatalf("code %s not in the text:\n%s", c, text)
					}
				}
				if strings.Count(text, Name) != len(codes) {
					t.Errorf("%q appears %d times, want %d", Name, strings.Count(text, Name), len(codes))
				}
				img := render(t, pdf)
				scale := 150 / 72.0
				// The first and the last label of the page.
				for _, i := range []int{0, f.PerSheet() - 1} {
					q, err := newQR(testURL, codes[i])
					if err != nil {
						t.Fatal(err)
					}
					x, y := f.slot(i, off[0], off[1])
					left, top, m := qrPlace(q.size(), x, y, mm(f.Width), mm(f.Height))
					compareModules(t, fmt.Sprintf("label %d offset %v", i, off), img, wantModules(t, codes[i]), func(r, c int) (int, int) {
						return int((left + (float64(c)+0.5)*m) * scale), int((pageH - top + (float64(r)+0.5)*m) * scale)
					})
					if i == 0 && off[0] == 0 && m < mm(0.5) {
						t.Errorf("modules of %.2f mm: too small for a phone camera", m/ptPerMM)
					}
				}
			}
		})
	}
}

func TestSheetRefuses(t *testing.T) {
	codes := testCodes(3)
	tests := []struct {
		name    string
		format  string
		dx, dy  float64
		codes   []string
		message string
	}{
		{"unknown format", "2x2-10x10", 0, 0, codes, "error.label_format"},
		{"offset too large", "3x8-70x37", 20.5, 0, codes, "error.label_offset"},
		{"negative offset too large", "3x8-70x37", 0, -21, codes, "error.label_offset"},
		{"no code", "3x8-70x37", 0, 0, nil, "error.label_count"},
		{"too many codes", "3x8-70x37", 0, 0, testCodes(MaxSheetCodes + 1), "error.label_count"},
		{"bad code", "3x8-70x37", 0, 0, []string{"UUUU-UUUU"}, "error.tag_code"},
	}
	for _, tt := range tests {
		_, err := Sheet(tt.format, tt.dx, tt.dy, testURL, tt.codes)
		var be *berriz.Error
		if !errors.As(err, &be) || be.Kind != berriz.Invalid || be.Message != tt.message {
			t.Errorf("%s: %v, want Invalid %s", tt.name, err, tt.message)
		}
	}
	if _, err := Calibration("nope", 0, 0, nil); berriz.As(err).Message != "error.label_format" {
		t.Errorf("calibration, unknown format: %v", err)
	}
}

// A thousand tags, a whole batch, in one PDF: quick and compact.
func TestSheetThousand(t *testing.T) {
	pdf, err := Sheet("4x10-48.5x25.4", 0, 0, testURL, testCodes(1000))
	if err != nil {
		t.Fatal(err)
	}
	if n := checkStructure(t, pdf); n != 5+2*25 {
		t.Fatalf("%d objects, want 55 (25 pages)", n)
	}
	if len(pdf) > 2<<20 {
		t.Errorf("%d bytes for 1,000 labels", len(pdf))
	}
}

func TestCalibration(t *testing.T) {
	text := []string{"Imprimez cette page à 100 % (sans « ajuster à la page »).", "Décalage : mesurez l’écart entre chaque croix et le centre de l’étiquette — puis saisissez-le.", "Zuzendu desplazamendua; € œ ✓"}
	for _, f := range Formats {
		pdf, err := Calibration(f.ID, 1.5, -1, text)
		if err != nil {
			t.Fatal(err)
		}
		if n := checkStructure(t, pdf); n != 7 {
			t.Fatalf("%s: %d objects, want 7", f.ID, n)
		}
		got := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
		for _, want := range []string{"Imprimez cette page à 100 % (sans « ajuster à la page »).", "Décalage", "l’écart", "étiquette — puis", "€ œ ?", "10", "cm"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: %q not in the text: %s", f.ID, want, got)
			}
		}
		// The first label's outline crosses at its centre.
		img := render(t, pdf)
		x, y := f.slot(0, 1.5, -1)
		cx, cy := int((x+mm(f.Width)/2)*150/72), int((pageH-y-mm(f.Height)/2)*150/72)
		if !dark(img, cx, cy) || !dark(img, cx+10, cy) || dark(img, cx+10, cy+10) {
			t.Errorf("%s: no cross at the first label's centre (%d, %d)", f.ID, cx, cy)
		}
	}
}

func TestWinAnsi(t *testing.T) {
	tests := map[string]string{
		"abc":                   "abc",
		"é à ç ñ":               "\xe9 \xe0 \xe7 \xf1",
		"l’été – 5 €":           "l\x92\xe9t\xe9 \x96 5 \x80",
		"a\u202f:":              "a :",
		"✓\xff":                 "??",
		"line\nbreak":           "line break",
		"Œuvre «\u00a0x\u00a0»": "\x8cuvre \xab\xa0x\xa0\xbb",
	}
	for in, want := range tests {
		if got := string(winAnsi(in)); got != want {
			t.Errorf("winAnsi(%q) = %q, want %q", in, got, want)
		}
	}
	if got := pdfString([]byte("a(b)c\\\xe9")); got != `a\(b\)c\\\351` {
		t.Errorf("pdfString = %q", got)
	}
}

func TestPNG(t *testing.T) {
	code := "7KQ2-M9XD"
	for _, px := range []int{MinPNGWidth, 696, 1200} {
		data, err := PNG(testURL, code, px)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		want := wantModules(t, code)
		n := len(want)
		u := max(1, px/(2*(n+2*quiet)))
		if b := img.Bounds(); b.Dx() != px || b.Dy() != (n+2*quiet)*u {
			t.Fatalf("px %d: bounds %v", px, b)
		}
		compareModules(t, fmt.Sprintf("PNG %d", px), img, want, func(r, c int) (int, int) {
			return (quiet+c)*u + u/2, (quiet+r)*u + u/2
		})
		// The text is there: dark pixels right of the QR code.
		textDark := 0
		for y := 0; y < img.Bounds().Dy(); y++ {
			for x := (n + 2*quiet) * u; x < px; x++ {
				if dark(img, x, y) {
					textDark++
				}
			}
		}
		if textDark < 100 {
			t.Errorf("px %d: %d dark pixels of text", px, textDark)
		}
	}
	for _, px := range []int{MinPNGWidth - 1, MaxPNGWidth + 1} {
		if _, err := PNG(testURL, code, px); berriz.As(err).Message != "error.label_width" {
			t.Errorf("px %d: %v", px, err)
		}
	}
	if _, err := PNG(testURL, "7KQ2-M9XU", 300); berriz.As(err).Message != "error.tag_code" {
		t.Errorf("bad code: %v", err)
	}
}

var pathRunRE = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

func TestSVG(t *testing.T) {
	code := "ab12-cd34"
	data, err := SVG(testURL+"/", code)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
		Texts []string `xml:"text"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, data)
	}
	want := wantModules(t, code)
	n := len(want)
	if doc.ViewBox != fmt.Sprintf("0 0 %d %d", 2*(n+2*quiet), n+2*quiet) {
		t.Errorf("viewBox %q", doc.ViewBox)
	}
	if len(doc.Texts) != 2 || doc.Texts[0] != "AB12-CD34" || doc.Texts[1] != Name {
		t.Errorf("texts %q", doc.Texts)
	}
	got := make([][]bool, n)
	for i := range got {
		got[i] = make([]bool, n)
	}
	runs := pathRunRE.FindAllStringSubmatch(doc.Path.D, -1)
	if strings.Join(pathRunRE.FindAllString(doc.Path.D, -1), "") != doc.Path.D {
		t.Fatalf("path holds more than runs: %.200s", doc.Path.D)
	}
	for _, r := range runs {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		l, _ := strconv.Atoi(r[3])
		for i := 0; i < l; i++ {
			got[y-quiet][x-quiet+i] = true
		}
	}
	for r := range want {
		for c := range want[r] {
			if got[r][c] != want[r][c] {
				t.Fatalf("module (%d, %d) differs", r, c)
			}
		}
	}
}
