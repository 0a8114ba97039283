// Package label draws what berriz prints on QR tags: one label as PNG or
// SVG for label printers, and A4 PDF sheets of labels (with a calibration
// page for the printer's offset) for office printers. A label shows the QR
// code of <public URL>/t/<code>, the code as people read it and the
// platform's name. The PDF writer is a minimal one of our own: vector
// rectangles and the standard Helvetica fonts are all a label needs.
package label

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/tag"
	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Name is the platform's name printed on every label.
const Name = "berriz"

// quiet is the width of the blank margin around a QR code, in modules, that
// the QR standard asks for.
const quiet = 4

// Content returns what a tag's QR code encodes: baseURL/t/CODE-WITH-DASH.
func Content(baseURL string, code tag.Code) string {
	return strings.TrimSuffix(baseURL, "/") + "/t/" + code.String()
}

// qr is a tag's code and QR modules.
type qr struct {
	code    tag.Code
	modules [][]bool // [row][column], true for dark, without quiet zone
}

// newQR encodes a tag's URL with error correction level Q (go-qrcode's
// High, 25 %), which survives a scratched or dirty label.
func newQR(baseURL, code string) (qr, error) {
	c, err := tag.Parse(code)
	if err != nil {
		return qr{}, err
	}
	q, err := qrcode.New(Content(baseURL, c), qrcode.High)
	if err != nil {
		return qr{}, fmt.Errorf("encode QR of %s: %w", c, err)
	}
	q.DisableBorder = true
	return qr{code: c, modules: q.Bitmap()}, nil
}

func (q qr) size() int { return len(q.modules) }

// runs calls fn for every horizontal run of dark modules: one rectangle per
// run keeps files small and leaves no seams between modules of a row.
func (q qr) runs(fn func(row, col, length int)) {
	for r, line := range q.modules {
		for c := 0; c < len(line); {
			if !line[c] {
				c++
				continue
			}
			start := c
			for c < len(line) && line[c] {
				c++
			}
			fn(r, start, c-start)
		}
	}
}

// MinPNGWidth and MaxPNGWidth bound the width asked of PNG.
const (
	MinPNGWidth = 200
	MaxPNGWidth = 4000
)

// PNG draws one label px pixels wide (twice as wide as high): the QR code
// on the left with its quiet zone, the code and the platform's name on the
// right. Modules are whole pixels, so the code stays sharp.
func PNG(baseURL, code string, px int) ([]byte, error) {
	if px < MinPNGWidth || px > MaxPNGWidth {
		return nil, berriz.E(berriz.Invalid, "error.label_width").
			WithArg("min", strconv.Itoa(MinPNGWidth)).WithArg("max", strconv.Itoa(MaxPNGWidth))
	}
	q, err := newQR(baseURL, code)
	if err != nil {
		return nil, err
	}
	n := q.size()
	u := max(1, px/(2*(n+2*quiet)))
	h := (n + 2*quiet) * u
	img := image.NewGray(image.Rect(0, 0, px, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	q.runs(func(r, c, l int) {
		x, y := (quiet+c)*u, (quiet+r)*u
		draw.Draw(img, image.Rect(x, y, x+l*u, y+u), image.Black, image.Point{}, draw.Src)
	})
	textX := (n + quiet + 2) * u
	avail := px - textX - 2*u
	k := max(1, avail/(7*len(q.code.String())))
	k = min(k, h/(3*13))
	drawText(img, q.code.String(), textX, h/2-13*k/4, k)
	drawText(img, Name, textX, h/2+13*k, max(1, k*2/3))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode label PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// drawText writes s with the 7×13 bitmap font scaled k times, its top-left
// corner at (x, y): bitmap glyphs scaled by whole numbers stay crisp on
// thermal printers, where antialiased type turns grey.
func drawText(dst *image.Gray, s string, x, y, k int) {
	face := basicfont.Face7x13
	small := image.NewAlpha(image.Rect(0, 0, 7*len(s), 13))
	d := font.Drawer{Dst: small, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(s)
	b := small.Bounds()
	for sy := b.Min.Y; sy < b.Max.Y; sy++ {
		for sx := b.Min.X; sx < b.Max.X; sx++ {
			if small.AlphaAt(sx, sy).A < 128 {
				continue
			}
			r := image.Rect(x+sx*k, y+sy*k, x+(sx+1)*k, y+(sy+1)*k)
			draw.Draw(dst, r, image.NewUniform(color.Black), image.Point{}, draw.Src)
		}
	}
}

// SVG draws one label as a scalable vector image, in modules: the QR code
// as one path of rectangles, the code and the platform's name as text.
func SVG(baseURL, code string) ([]byte, error) {
	q, err := newQR(baseURL, code)
	if err != nil {
		return nil, err
	}
	n := q.size()
	h := n + 2*quiet
	w := 2 * h
	textX := n + quiet + 2
	textW := w - textX - 2
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s %s">`+"\n",
		w, h, w*8, h*8, Name, q.code.String())
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", w, h)
	b.WriteString(`<path fill="#000" shape-rendering="crispEdges" d="`)
	q.runs(func(r, c, l int) { fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", quiet+c, quiet+r, l, l) })
	b.WriteString(`"/>` + "\n")
	size := float64(h) * 0.16
	fmt.Fprintf(&b, `<text x="%d" y="%s" font-family="Helvetica, Arial, sans-serif" font-weight="bold" font-size="%s" textLength="%d" lengthAdjust="spacingAndGlyphs">%s</text>`+"\n",
		textX, num(float64(h)/2), num(size), textW, q.code.String())
	fmt.Fprintf(&b, `<text x="%d" y="%s" font-family="Helvetica, Arial, sans-serif" font-size="%s">%s</text>`+"\n",
		textX, num(float64(h)/2+size*1.4), num(size*0.75), Name)
	b.WriteString("</svg>\n")
	return []byte(b.String()), nil
}

// num formats a coordinate with at most three decimals.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}
