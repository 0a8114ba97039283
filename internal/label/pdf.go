package label

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A4 portrait, in PDF points (1/72 inch).
const (
	pageW = 595.28
	pageH = 841.89
)

const ptPerMM = 72 / 25.4

func mm(v float64) float64 { return v * ptPerMM }

// The two standard fonts the pages use: every PDF reader has them, so
// nothing is embedded.
const (
	fontRegular = "/F1"
	fontBold    = "/F2"
)

// canvas is one page's content stream, in points from the bottom-left
// corner as PDF wants them.
type canvas struct{ b strings.Builder }

func (c *canvas) op(format string, args ...any) { fmt.Fprintf(&c.b, format+"\n", args...) }

// rect adds a rectangle to the current path; fill or stroke draws it.
func (c *canvas) rect(x, y, w, h float64) { c.op("%s %s %s %s re", num(x), num(y), num(w), num(h)) }

func (c *canvas) fill()   { c.op("f") }
func (c *canvas) stroke() { c.op("S") }

func (c *canvas) line(x1, y1, x2, y2 float64) {
	c.op("%s %s m %s %s l S", num(x1), num(y1), num(x2), num(y2))
}

// text writes s (converted to WinAnsi) with its baseline starting at (x, y).
func (c *canvas) text(font string, size, x, y float64, s string) {
	c.op("BT %s %s Tf %s %s Td (%s) Tj ET", font, num(size), num(x), num(y), pdfString(winAnsi(s)))
}

// writePDF assembles a PDF 1.4 file of A4 pages: catalog, page tree, the
// two fonts, then a page object and its compressed content stream per
// page, the cross-reference table with every object's byte offset, and the
// trailer.
func writePDF(pages []*canvas) ([]byte, error) {
	const firstPage = 5 // 1 catalog, 2 page tree, 3 and 4 fonts
	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := []int{0} // object 0 is the free list's head
	obj := func(body string) {
		offsets = append(offsets, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", len(offsets)-1, body)
	}
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", firstPage+2*i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	for i, p := range pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << %s 3 0 R %s 4 0 R >> >> /Contents %d 0 R >>",
			num(pageW), num(pageH), fontRegular, fontBold, firstPage+2*i+1))
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		if _, err := zw.Write([]byte(p.b.String())); err != nil {
			return nil, fmt.Errorf("compress page %d: %w", i+1, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("compress page %d: %w", i+1, err)
		}
		offsets = append(offsets, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", len(offsets)-1, z.Len())
		out.Write(z.Bytes())
		out.WriteString("\nendstream\nendobj\n")
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets))
	for _, off := range offsets[1:] {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), xref)
	return out.Bytes(), nil
}

// pdfString escapes bytes for a PDF literal string; bytes outside printable
// ASCII are written as octal escapes.
func pdfString(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		switch {
		case c == '(' || c == ')' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&s, "\\%03o", c)
		default:
			s.WriteByte(c)
		}
	}
	return s.String()
}

// winAnsiExtra maps the characters of Windows-1252's 0x80–0x9F range; from
// 0xA0 up it agrees with Latin-1.
var winAnsiExtra = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88, '‰': 0x89,
	'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95,
	'–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// winAnsiNear stands in for characters WinAnsi lacks but a translation may
// hold: the narrow spaces of French typography, non-breaking hyphens, and
// a few symbols.
var winAnsiNear = map[rune]string{
	'\u202f': " ", '\u2009': " ", '\u2007': " ", '\u2002': " ", '\u2003': " ", '\u2011': "-", '\u2010': "-",
	'\u2212': "-", '\u2192': "->", '\u2190': "<-", '\u2264': "<=", '\u2265': ">=", '\u2248': "~", '\u2032': "'",
	'\u2033': "\"",
}

// winAnsi converts text to the encoding of the standard fonts. What it
// cannot represent becomes a near equivalent, or "?".
func winAnsi(s string) []byte {
	out := make([]byte, 0, len(s))
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		s = s[n:]
		switch {
		case r == utf8.RuneError && n <= 1:
			out = append(out, '?')
		case r < 0x20 || r == 0x7f:
			out = append(out, ' ')
		case r < 0x80, r >= 0xA0 && r <= 0xFF:
			out = append(out, byte(r))
		default:
			if b, ok := winAnsiExtra[r]; ok {
				out = append(out, b)
			} else if t, ok := winAnsiNear[r]; ok {
				out = append(out, t...)
			} else {
				out = append(out, '?')
			}
		}
	}
	return out
}

// helvetica holds the advance widths of Helvetica's printable ASCII
// characters (32–126), in thousandths of the font size, from Adobe's AFM.
var helvetica = [95]int{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
	278, 278, 584, 584, 584, 556, 1015, // : to @
	667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A-M
	722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N-Z
	278, 278, 278, 469, 556, 333, // [ to `
	556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a-m
	556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n-z
	334, 260, 334, 584, // { to ~
}

// boldUpper holds Helvetica-Bold's widths of A-Z; its digits and hyphen
// are as wide as Helvetica's.
var boldUpper = [26]int{722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611}

// textWidth returns the width of s at size points: exact for ASCII, close
// enough for the rest (Latin letters are about as wide as their base).
func textWidth(s string, size float64, bold bool) float64 {
	total := 0
	for _, c := range winAnsi(s) {
		switch {
		case bold && c >= 'A' && c <= 'Z':
			total += boldUpper[c-'A']
		case c >= 32 && c <= 126:
			w := helvetica[c-32]
			if bold && c >= 'a' && c <= 'z' {
				w += 50
			}
			total += w
		default:
			total += 556
		}
	}
	return float64(total) * size / 1000
}
