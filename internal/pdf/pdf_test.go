package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

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

// pdfText extracts the text of a document with pdftotext, as a reader's
// search or a screen reader would find it; pages are split on form feeds.
func pdfText(t *testing.T, doc []byte) []string {
	t.Helper()
	tool := mustTool(t, "pdftotext")
	f := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return strings.Split(strings.TrimRight(string(out), "\f\n"), "\f")
}

func pdfInfo(t *testing.T, doc []byte) string {
	t.Helper()
	tool := mustTool(t, "pdfinfo")
	f := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, f).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v: %s", err, out)
	}
	return string(out)
}

var xrefRE = regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`)

// checkXref holds the cross-reference table to the objects' offsets.
func checkXref(t *testing.T, doc []byte) int {
	t.Helper()
	m := xrefRE.FindSubmatch(doc)
	if m == nil {
		t.Fatal("no startxref")
	}
	at, _ := strconv.Atoi(string(m[1]))
	var n int
	if _, err := fmt.Sscanf(string(doc[at:]), "xref\n0 %d\n", &n); err != nil {
		t.Fatalf("xref: %v", err)
	}
	entries := doc[bytes.Index(doc[at:], []byte("0000000000 65535 f \n"))+at:]
	for i := 1; i < n; i++ {
		off, _ := strconv.Atoi(string(entries[20*i : 20*i+10]))
		if !bytes.HasPrefix(doc[off:], []byte(fmt.Sprintf("%d 0 obj\n", i))) {
			t.Fatalf("xref entry %d points at %q", i, doc[off:off+10])
		}
	}
	return n
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// A document laid out with Flow: accents and typography come out of
// pdftotext as they went in, long tables go on over pages with their
// header repeated, a word longer than a line is cut, footers know the page
// count, and the title and language reach the reader.
func TestFlowDocument(t *testing.T) {
	d := &Document{Title: "Certificat d’effacement — n° 12", Lang: "fr"}
	f := NewFlow(d)
	f.Text("Certificat d’effacement des données", Style{Font: Bold, Size: 18})
	f.Space(6)
	f.Text("L’atelier « Berriz Lapurdi » certifie qu’aucune donnée n’a été conservée — Œuvre à 100 %.", Style{})
	f.Text("Etxeberria jauna: datuak ezabatu dira. ✓", Style{Gray: 0.4})
	f.Rule(0.5)
	sha := strings.Repeat("0123456789abcdef", 4)
	f.Text(sha+sha, Style{Size: 14})
	var rows [][]string
	for i := 1; i <= 120; i++ {
		rows = append(rows, []string{strconv.Itoa(i), fmt.Sprintf("Disque n° %d, numéro de série WD-WCC4N%07d, effacé par réécriture", i, i), "Réussie"})
	}
	f.Table(Table{Columns: []Column{{Share: 1}, {Share: 6}, {Share: 2, Font: Bold}}, Header: []string{"#", "Disque", "Vérification"},
		Rows: rows, Grid: true})
	d.Stamp(func(p *Page, n, total int) {
		p.Text(Regular, 8, MM(20), MM(10), fmt.Sprintf("page %d/%d", n, total))
	})
	doc, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	pages := d.PageCount()
	if pages < 3 {
		t.Fatalf("%d pages for 120 rows", pages)
	}
	if n := checkXref(t, doc); n != 5+2*pages+1 {
		t.Fatalf("%d objects, want %d", n, 5+2*pages+1)
	}
	text := pdfText(t, doc)
	if len(text) != pages {
		t.Fatalf("pdftotext found %d pages, want %d", len(text), pages)
	}
	all := squash(strings.Join(text, " "))
	for _, want := range []string{"Certificat d’effacement des données", "L’atelier « Berriz Lapurdi » certifie qu’aucune donnée",
		"— Œuvre à 100 %.", "Etxeberria jauna: datuak ezabatu dira. ?", "WD-WCC4N0000120", fmt.Sprintf("page %d/%d", pages, pages)} {
		if !strings.Contains(all, want) {
			t.Errorf("%q not in the text:\n%.2000s", want, all)
		}
	}
	if !strings.Contains(strings.ReplaceAll(all, " ", ""), sha+sha) {
		t.Error("the long checksum is not whole once its cut lines are joined")
	}
	for i, p := range text {
		if !strings.Contains(p, "Vérification") {
			t.Errorf("page %d has no table header", i+1)
		}
		if !strings.Contains(p, fmt.Sprintf("page %d/%d", i+1, pages)) {
			t.Errorf("page %d has no footer", i+1)
		}
	}
	// Every row once, in order.
	last := 0
	for i := 1; i <= 120; i++ {
		at := strings.Index(all, fmt.Sprintf("WD-WCC4N%07d", i))
		if at < last {
			t.Fatalf("row %d missing or out of order", i)
		}
		last = at
	}
	info := pdfInfo(t, doc)
	if !strings.Contains(info, "Certificat d’effacement — n° 12") || !strings.Contains(info, fmt.Sprintf("Pages:           %d", pages)) {
		t.Errorf("pdfinfo:\n%s", info)
	}
}

// A row taller than a page is split between pages, nothing lost.
func TestTableRowTallerThanAPage(t *testing.T) {
	d := &Document{}
	f := NewFlow(d)
	long := strings.TrimSpace(strings.Repeat("ligne ", 900))
	f.Table(Table{Columns: []Column{{Share: 1}, {Share: 1}}, Header: []string{"A", "B"}, Rows: [][]string{{"court", long}, {"suivante", "fin"}}})
	doc, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if d.PageCount() < 2 {
		t.Fatalf("%d page(s)", d.PageCount())
	}
	all := strings.Join(pdfText(t, doc), " ")
	if n := strings.Count(all, "ligne"); n != 900 {
		t.Errorf("%d words of the long cell, want 900", n)
	}
	if !strings.Contains(all, "suivante") {
		t.Error("the next row is lost")
	}
}

// Page content is compressed, and a document without pages still has one.
func TestBytesStructure(t *testing.T) {
	var d Document
	doc, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if n := checkXref(t, doc); n != 7 || bytes.Contains(doc, []byte("/Info")) || bytes.Contains(doc, []byte("/Lang")) {
		t.Fatalf("empty document: %d objects\n%s", n, doc)
	}
	p := d.NewPage()
	p.Text(Bold, 12, 10, 10, "Bonjour (monde)")
	doc, _ = d.Bytes()
	i := bytes.Index(doc, []byte("stream\n")) + len("stream\n")
	zr, err := zlib.NewReader(bytes.NewReader(doc[i:]))
	if err != nil {
		t.Fatal(err)
	}
	content, _ := io.ReadAll(zr)
	if !strings.Contains(string(content), `BT /F2 12 Tf 10 10 Td (Bonjour \(monde\)) Tj ET`) {
		t.Errorf("content stream: %q", content)
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
		"Łukasz Śmigły":         "Lukasz Smigly",
	}
	for in, want := range tests {
		if got := string(WinAnsi(in)); got != want {
			t.Errorf("WinAnsi(%q) = %q, want %q", in, got, want)
		}
	}
	if got := LiteralString([]byte("a(b)c\\\xe9")); got != `a\(b\)c\\\351` {
		t.Errorf("LiteralString = %q", got)
	}
}

func TestTextWidthAndWrap(t *testing.T) {
	// From the AFM files: "Hello" is 2278 thousandths in Helvetica, 2445
	// in Helvetica-Bold; an accented letter is as wide as its base.
	if w := TextWidth("Hello", 10, Regular); w != 22.78 {
		t.Errorf("Helvetica Hello: %v", w)
	}
	if w := TextWidth("Hello", 10, Bold); w != 24.45 {
		t.Errorf("Helvetica-Bold Hello: %v", w)
	}
	if TextWidth("été", 10, Regular) != TextWidth("ete", 10, Regular) {
		t.Error("accented letters differ from their base")
	}
	lines := Wrap("un deux trois quatre", Regular, 10, TextWidth("un deux trois", 10, Regular))
	if strings.Join(lines, "|") != "un deux trois|quatre" {
		t.Errorf("wrap: %q", lines)
	}
	if got := Wrap("a\n\nb", Regular, 10, 100); strings.Join(got, "|") != "a||b" {
		t.Errorf("paragraphs: %q", got)
	}
	if got := Wrap("100\u00a0% x", Regular, 10, TextWidth("100 %", 10, Regular)); len(got) != 2 || got[0] != "100\u00a0%" {
		t.Errorf("no-break space: %q", got)
	}
	long := strings.Repeat("x", 100)
	for _, l := range Wrap(long, Regular, 10, 50) {
		if TextWidth(l, 10, Regular) > 50 || l == "" {
			t.Fatalf("cut line %q", l)
		}
	}
	if got := Wrap("élan", Regular, 10, 1); strings.Join(got, "|") != "é|l|a|n" {
		t.Errorf("narrower than a letter: %q", got)
	}
}
