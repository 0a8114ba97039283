// Package pdf writes the small PDF documents berriz prints — label sheets,
// erasure certificates, later handover receipts and donor reports — without
// a PDF library. Pages are A4 portrait; text is set in the two standard
// fonts every reader has (Helvetica and Helvetica-Bold, WinAnsi encoding),
// so nothing is embedded and a certificate weighs a few kilobytes; drawing
// is vector (lines, rectangles), and page contents are zlib-compressed.
//
// Two levels: Page draws at absolute positions, in points from the page's
// bottom-left corner as PDF counts them (label sheets place every label
// exactly); Flow lays text out from the top of the page down, wrapping
// words at a width and breaking pages (documents: headings, paragraphs,
// tables). Text is UTF-8 in, converted to WinAnsi; characters outside it
// become a near equivalent or "?", never an error. Standard library only,
// no I/O.
package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strconv"
	"strings"
)

// A4 portrait, in PDF points (1/72 inch).
const (
	PageWidth   = 595.28
	PageHeight  = 841.89
	PointsPerMM = 72 / 25.4
)

// MM converts millimetres to points.
func MM(v float64) float64 { return v * PointsPerMM }

// Font is one of the two standard fonts a document uses.
type Font int

// The fonts.
const (
	Regular Font = iota // Helvetica
	Bold                // Helvetica-Bold
)

// resource is the font's name in the pages' resources.
func (f Font) resource() string {
	if f == Bold {
		return "/F2"
	}
	return "/F1"
}

// Page is one page's content stream. Its zero value is an empty page.
type Page struct{ b strings.Builder }

// Raw appends content-stream operators as they are, for drawing this API
// does not offer; the caller answers for their syntax.
func (p *Page) Raw(format string, args ...any) { fmt.Fprintf(&p.b, format+"\n", args...) }

// FillGray sets the gray of what is filled and of text: 0 black, 1 white.
func (p *Page) FillGray(g float64) { p.Raw("%s g", Num(g)) }

// StrokeGray sets the gray of lines and outlines.
func (p *Page) StrokeGray(g float64) { p.Raw("%s G", Num(g)) }

// LineWidth sets the width of lines, in points.
func (p *Page) LineWidth(w float64) { p.Raw("%s w", Num(w)) }

// Rect adds a rectangle to the current path (bottom-left corner, width,
// height); Fill or Stroke draws the path.
func (p *Page) Rect(x, y, w, h float64) { p.Raw("%s %s %s %s re", Num(x), Num(y), Num(w), Num(h)) }

// Fill fills the current path with the fill gray.
func (p *Page) Fill() { p.Raw("f") }

// Stroke draws the current path's outline.
func (p *Page) Stroke() { p.Raw("S") }

// Line draws a straight line.
func (p *Page) Line(x1, y1, x2, y2 float64) {
	p.Raw("%s %s m %s %s l S", Num(x1), Num(y1), Num(x2), Num(y2))
}

// Text writes s in font f at size points, its baseline starting at (x, y).
func (p *Page) Text(f Font, size, x, y float64, s string) {
	p.Raw("BT %s %s Tf %s %s Td (%s) Tj ET", f.resource(), Num(size), Num(x), Num(y), LiteralString(WinAnsi(s)))
}

// Num writes a coordinate compactly: at most three decimals, no trailing
// zeros.
func Num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// Document is a PDF being assembled: its pages in order, and what its
// catalog says about it.
type Document struct {
	// Title goes to the document information dictionary (readers show it
	// in their title bar); "" writes none.
	Title string
	// Lang is the natural language of the text (fr, eu, en), for screen
	// readers; "" says nothing.
	Lang  string
	pages []*Page
}

// NewPage appends an empty page and returns it.
func (d *Document) NewPage() *Page {
	p := &Page{}
	d.pages = append(d.pages, p)
	return p
}

// AddPage appends a page drawn elsewhere.
func (d *Document) AddPage(p *Page) { d.pages = append(d.pages, p) }

// PageCount returns how many pages the document has so far.
func (d *Document) PageCount() int { return len(d.pages) }

// Stamp calls fn on every page with its number (from 1) and the page
// count, for what can only be drawn once the count is known: "page 2 of 3"
// footers.
func (d *Document) Stamp(fn func(p *Page, n, total int)) {
	for i, p := range d.pages {
		fn(p, i+1, len(d.pages))
	}
}

// Bytes writes the document as a PDF 1.4 file: catalog, page tree, the two
// fonts, a page object and its compressed content stream per page, the
// information dictionary when there is a title, the cross-reference table
// with every object's byte offset, and the trailer. A document without
// pages gets one empty page: a PDF needs one.
func (d *Document) Bytes() ([]byte, error) {
	pages := d.pages
	if len(pages) == 0 {
		pages = []*Page{{}}
	}
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
	catalog := "<< /Type /Catalog /Pages 2 0 R"
	if d.Lang != "" {
		catalog += " /Lang (" + LiteralString(WinAnsi(d.Lang)) + ")"
	}
	obj(catalog + " >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	for i, p := range pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>",
			Num(PageWidth), Num(PageHeight), firstPage+2*i+1))
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
	info := ""
	if d.Title != "" {
		obj("<< /Title " + textString(d.Title) + " /Producer (berriz) >>")
		info = fmt.Sprintf(" /Info %d 0 R", len(offsets)-1)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets))
	for _, off := range offsets[1:] {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), info, xref)
	return out.Bytes(), nil
}

// LiteralString escapes bytes for a PDF literal string (the part between
// parentheses); bytes outside printable ASCII are written as octal escapes.
func LiteralString(b []byte) string {
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

// textString writes s as a PDF text string outside content streams (the
// information dictionary): UTF-16BE with its byte order mark, so any
// character survives.
func textString(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			fmt.Fprintf(&b, "%04X%04X", 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			continue
		}
		fmt.Fprintf(&b, "%04X", r)
	}
	return b.String() + ">"
}
