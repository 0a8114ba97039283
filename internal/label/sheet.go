package label

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/berriz/berriz/internal/berriz"
)

// Format is an A4 sheet of self-adhesive labels, in millimetres from the
// sheet's top-left corner.
type Format struct {
	ID             string
	Cols, Rows     int
	Width, Height  float64 // one label
	Left, Top      float64 // page margins to the first label
	HPitch, VPitch float64 // from one label's left (top) edge to the next one's
}

// PerSheet returns how many labels a sheet holds.
func (f Format) PerSheet() int { return f.Cols * f.Rows }

// Formats lists the sheets berriz prints on, the most common ones sold in
// France, in the order forms offer them.
var Formats = []Format{
	// 3 × 8 of 70 × 37 mm, edge to edge (e.g. Avery 3490, Herma 4453):
	// 8 × 37 = 296 mm, the last millimetre of the sheet is left over.
	{ID: "3x8-70x37", Cols: 3, Rows: 8, Width: 70, Height: 37, Left: 0, Top: 0, HPitch: 70, VPitch: 37},
	// 4 × 10 of 48.5 × 25.4 mm (e.g. Avery L4778, Herma 4610): 8 mm side
	// and 21.5 mm top and bottom margins, no gaps.
	{ID: "4x10-48.5x25.4", Cols: 4, Rows: 10, Width: 48.5, Height: 25.4, Left: 8, Top: 21.5, HPitch: 48.5, VPitch: 25.4},
	// 3 × 7 of 63.5 × 38.1 mm (Avery L7160 and its equivalents): 2.5 mm
	// between columns, 7.25 mm side and 15.15 mm top margins.
	{ID: "3x7-63.5x38.1", Cols: 3, Rows: 7, Width: 63.5, Height: 38.1, Left: 7.25, Top: 15.15, HPitch: 66, VPitch: 38.1},
}

// FormatByID returns the format with the given ID.
func FormatByID(id string) (Format, bool) {
	for _, f := range Formats {
		if f.ID == id {
			return f, true
		}
	}
	return Format{}, false
}

// MaxOffset bounds the calibration offsets, in millimetres: a printer that
// shifts more than 2 cm needs fixing, not calibrating.
const MaxOffset = 20.0

// MaxSheetCodes bounds the codes of one PDF (a batch holds at most 1,000).
const MaxSheetCodes = 1000

func checkLayout(format string, dx, dy float64) (Format, error) {
	f, ok := FormatByID(format)
	if !ok {
		return Format{}, berriz.E(berriz.Invalid, "error.label_format")
	}
	for _, v := range []float64{dx, dy} {
		if math.IsNaN(v) || math.Abs(v) > MaxOffset {
			return Format{}, berriz.E(berriz.Invalid, "error.label_offset")
		}
	}
	return f, nil
}

// slot returns the bottom-left corner of label i of a page, in points,
// shifted by the offsets (positive dx moves right, positive dy down, as
// measured on the printed sheet).
func (f Format) slot(i int, dx, dy float64) (x, y float64) {
	col, row := i%f.Cols, i/f.Cols
	x = mm(f.Left + float64(col)*f.HPitch + dx)
	y = pageH - mm(f.Top+float64(row)*f.VPitch+dy+f.Height)
	return x, y
}

// Sheet draws the labels of codes on as many A4 pages of the format as they
// need, shifted by the offsets found with the calibration page.
func Sheet(format string, offsetXmm, offsetYmm float64, baseURL string, codes []string) ([]byte, error) {
	f, err := checkLayout(format, offsetXmm, offsetYmm)
	if err != nil {
		return nil, err
	}
	if len(codes) == 0 || len(codes) > MaxSheetCodes {
		return nil, berriz.E(berriz.Invalid, "error.label_count")
	}
	// Pages are independent: each is encoded (QR codes, most of the work)
	// and drawn by one of as many workers as there are cores, so a batch
	// of 1,000 labels takes its CPU time divided by the cores, not summed
	// (BenchmarkSheet, docs/benchmarks.md). Each page is drawn whole by
	// one worker, in label order: the PDF is the same, byte for byte.
	per := f.PerSheet()
	pages := make([]*canvas, (len(codes)+per-1)/per)
	errs := make([]error, len(pages))
	next := make(chan int, len(pages))
	for p := range pages {
		next <- p
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(pages)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				pages[p], errs[p] = drawPage(f, offsetXmm, offsetYmm, baseURL, codes[p*per:min(len(codes), (p+1)*per)])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first in label order, as a single worker would
		}
	}
	return writePDF(pages)
}

// drawPage draws one page of labels, codes in slot order.
func drawPage(f Format, offsetXmm, offsetYmm float64, baseURL string, codes []string) (*canvas, error) {
	c := &canvas{}
	for slot, code := range codes {
		q, err := newQR(baseURL, code)
		if err != nil {
			return nil, err
		}
		x, y := f.slot(slot, offsetXmm, offsetYmm)
		drawLabel(c, q, x, y, mm(f.Width), mm(f.Height))
	}
	return c, nil
}

// drawLabel draws one label whose bottom-left corner is (x, y), w × h
// points: the QR code on the left, as large as the height allows with its
// quiet zone, and the code and the platform's name on the right.
func drawLabel(c *canvas, q qr, x, y, w, h float64) {
	n := float64(q.size())
	qrLeft, qrTop, m := qrPlace(q.size(), x, y, w, h)
	c.op("0 g")
	q.runs(func(r, col, l int) {
		c.rect(qrLeft+float64(col)*m, qrTop-float64(r+1)*m, float64(l)*m, m)
	})
	c.fill()
	textX := qrLeft + (n+3)*m
	avail := x + w - mm(2) - textX
	code := q.code.String()
	size := math.Min(mm(5), avail/textWidth(code, 1, true))
	c.text(fontBold, size, textX, y+h/2+size*0.1, code)
	small := size * 0.8
	c.text(fontRegular, small, textX, y+h/2-small*1.3, Name)
}

// qrPlace returns where a label's QR code goes: its top-left corner and
// its module size, in points.
func qrPlace(modules int, x, y, w, h float64) (left, top, m float64) {
	n := float64(modules)
	m = math.Min(h/(n+2*quiet), 0.55*w/(n+quiet+3))
	return x + quiet*m, y + (h+n*m)/2, m
}

// Calibration draws one page of the format: every label's outline with a
// cross at its centre, a 10 cm ruler to check the printer's scale, and the
// given lines of explanation (translated by the caller: measure how far the
// crosses fall from the labels' centres, enter it as the offset). Text is
// printed in the standard fonts' WinAnsi encoding; characters outside it
// are replaced by near equivalents.
func Calibration(format string, offsetXmm, offsetYmm float64, text []string) ([]byte, error) {
	f, err := checkLayout(format, offsetXmm, offsetYmm)
	if err != nil {
		return nil, err
	}
	c := &canvas{}
	c.op("0 G 0.4 w")
	arm := mm(4)
	for i := 0; i < f.PerSheet(); i++ {
		x, y := f.slot(i, offsetXmm, offsetYmm)
		w, h := mm(f.Width), mm(f.Height)
		c.rect(x, y, w, h)
		c.stroke()
		cx, cy := x+w/2, y+h/2
		c.line(cx-arm, cy, cx+arm, cy)
		c.line(cx, cy-arm, cx, cy+arm)
	}
	// The explanation and the ruler sit on a white panel in the middle of
	// the page, over the outlines.
	const size = 10.0
	lead := size * 1.35
	boxW := mm(150)
	var lines []string
	for _, t := range text {
		lines = append(lines, wrap(t, size, boxW-mm(10))...)
	}
	boxH := float64(len(lines))*lead + mm(30)
	bx, by := (pageW-boxW)/2, (pageH-boxH)/2
	c.op("1 g")
	c.rect(bx, by, boxW, boxH)
	c.fill()
	c.op("0 g")
	c.rect(bx, by, boxW, boxH)
	c.stroke()
	ty := by + boxH - mm(5) - size
	for _, l := range lines {
		c.text(fontRegular, size, bx+mm(5), ty, l)
		ty -= lead
	}
	// The ruler: 10 cm with a tick every centimetre and half centimetre.
	rx, ry := bx+mm(5), by+mm(12)
	c.op("0.6 w")
	c.line(rx, ry, rx+mm(100), ry)
	for i := 0; i <= 20; i++ {
		tick := mm(2)
		if i%2 == 0 {
			tick = mm(4)
		}
		x := rx + mm(float64(i)*5)
		c.line(x, ry, x, ry+tick)
		if i%2 == 0 {
			label := fmt.Sprint(i / 2)
			c.text(fontRegular, 8, x-textWidth(label, 8, false)/2, ry-mm(4), label)
		}
	}
	c.text(fontRegular, 8, rx+mm(102), ry-mm(4), "cm")
	return writePDF([]*canvas{c})
}
