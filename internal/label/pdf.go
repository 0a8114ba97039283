package label

import (
	"github.com/berriz/berriz/internal/pdf"
)

// Label sheets are drawn with internal/pdf at absolute positions: every
// label has its exact place on the sheet. What follows adapts its API to
// the sheet and calibration code's vocabulary.

// A4 portrait, in PDF points (1/72 inch).
const (
	pageW   = pdf.PageWidth
	pageH   = pdf.PageHeight
	ptPerMM = pdf.PointsPerMM
)

func mm(v float64) float64 { return pdf.MM(v) }

// The two standard fonts the sheets use.
const (
	fontRegular = pdf.Regular
	fontBold    = pdf.Bold
)

// canvas is one page of a sheet, in points from the bottom-left corner.
type canvas struct{ pdf.Page }

// op appends raw drawing operators (colours, line widths).
func (c *canvas) op(format string, args ...any) { c.Raw(format, args...) }

// rect adds a rectangle to the current path; fill or stroke draws it.
func (c *canvas) rect(x, y, w, h float64) { c.Rect(x, y, w, h) }

func (c *canvas) fill()   { c.Fill() }
func (c *canvas) stroke() { c.Stroke() }

func (c *canvas) line(x1, y1, x2, y2 float64) { c.Line(x1, y1, x2, y2) }

// text writes s with its baseline starting at (x, y).
func (c *canvas) text(font pdf.Font, size, x, y float64, s string) { c.Text(font, size, x, y, s) }

// writePDF assembles the pages into one PDF file.
func writePDF(pages []*canvas) ([]byte, error) {
	var d pdf.Document
	for _, p := range pages {
		d.AddPage(&p.Page)
	}
	return d.Bytes()
}

func winAnsi(s string) []byte { return pdf.WinAnsi(s) }

func pdfString(b []byte) string { return pdf.LiteralString(b) }

// textWidth returns the width of s at size points.
func textWidth(s string, size float64, bold bool) float64 {
	if bold {
		return pdf.TextWidth(s, size, pdf.Bold)
	}
	return pdf.TextWidth(s, size, pdf.Regular)
}

// wrap splits s into lines no wider than width points at size.
func wrap(s string, size, width float64) []string { return pdf.Wrap(s, pdf.Regular, size, width) }
