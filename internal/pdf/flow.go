package pdf

// Flow lays a document out from the top of its first page down: text
// wrapped at the width between the margins, rules, spaces and tables, with
// a new page whenever the next line or row does not fit above the bottom
// margin (a table's header row is repeated there). Documents whose length
// depends on their data — a certificate with eight drives, a donor report
// with a hundred devices — are written with it; the margins leave room for
// footers drawn with Document.Stamp.
type Flow struct {
	Doc *Document
	// Margins, in points. NewFlow sets 20 mm on every side.
	Left, Right, Top, Bottom float64
	page                     *Page
	y                        float64 // top of the free space on page
}

// NewFlow starts laying out d, after its existing pages.
func NewFlow(d *Document) *Flow {
	m := MM(20)
	return &Flow{Doc: d, Left: m, Right: m, Top: m, Bottom: m}
}

// Style is how a run of text is set.
type Style struct {
	Font Font
	// Size in points; 0 is 10.
	Size float64
	// Leading is the distance from one baseline to the next; 0 is 1.25 ×
	// Size.
	Leading float64
	// Gray of the text: 0 is black, 1 white.
	Gray float64
}

func (s Style) size() float64 {
	if s.Size <= 0 {
		return 10
	}
	return s.Size
}

func (s Style) leading() float64 {
	if s.Leading <= 0 {
		return 1.25 * s.size()
	}
	return s.Leading
}

// Width returns the width between the margins.
func (f *Flow) Width() float64 { return PageWidth - f.Left - f.Right }

// Page returns the page being filled, starting the first one if needed.
func (f *Flow) Page() *Page {
	if f.page == nil {
		f.NewPage()
	}
	return f.page
}

// Y returns the top of the free space on the current page, in points from
// the bottom of the page.
func (f *Flow) Y() float64 {
	f.Page()
	return f.y
}

// NewPage starts a new page; what follows goes to its top.
func (f *Flow) NewPage() {
	f.page = f.Doc.NewPage()
	f.y = PageHeight - f.Top
}

// fresh reports whether nothing was laid out on the current page yet.
func (f *Flow) fresh() bool { return f.page != nil && f.y == PageHeight-f.Top }

// Ensure starts a new page unless h points fit above the bottom margin (or
// the page is still empty: nothing would fit better on the next one). It
// reports whether it started one.
func (f *Flow) Ensure(h float64) bool {
	f.Page()
	if f.y-h >= f.Bottom || f.fresh() {
		return false
	}
	f.NewPage()
	return true
}

// Space leaves h points of vertical space (none at the top of a page).
func (f *Flow) Space(h float64) {
	f.Page()
	if f.fresh() {
		return
	}
	f.y -= h
	if f.y < f.Bottom {
		f.NewPage()
	}
}

// Text lays out s as a paragraph, wrapped at the flow's width.
func (f *Flow) Text(s string, st Style) {
	f.TextAt(s, st, 0)
}

// TextAt lays out s as a paragraph indented by indent points.
func (f *Flow) TextAt(s string, st Style, indent float64) {
	size, lead := st.size(), st.leading()
	for _, line := range Wrap(s, st.Font, size, f.Width()-indent) {
		f.Ensure(lead)
		p := f.page
		if st.Gray != 0 {
			p.FillGray(st.Gray)
		}
		p.Text(st.Font, size, f.Left+indent, f.y-baseline(size, lead), line)
		if st.Gray != 0 {
			p.FillGray(0)
		}
		f.y -= lead
	}
}

// baseline is how far below the top of a line its baseline lies: the
// ascent of Helvetica (about 0.75 of the size) below half the spare
// leading.
func baseline(size, lead float64) float64 { return (lead-size)/2 + 0.78*size }

// Rule draws a horizontal line across the flow's width, in gray g, and
// leaves a little space around it.
func (f *Flow) Rule(g float64) {
	f.Ensure(6)
	p := f.page
	p.StrokeGray(g)
	p.LineWidth(0.5)
	p.Line(f.Left, f.y-3, PageWidth-f.Right, f.y-3)
	p.StrokeGray(0)
	f.y -= 6
}

// Column is one column of a table.
type Column struct {
	// Share of the table's width: the widths of all columns are in
	// proportion to their shares.
	Share float64
	Font  Font
}

// Table is a grid of text: every cell wraps within its column, a row is
// as tall as its tallest cell, rows that do not fit go to the next page
// (after the header row again), and a row taller than a whole page is
// split between pages.
type Table struct {
	Columns []Column
	// Header is the first row, in bold on a light background, repeated
	// on each page the table spans; nil for none.
	Header []string
	Rows   [][]string
	// Size of the text in points; 0 is 9.
	Size float64
	// Padding inside each cell, in points; 0 is 3.
	Padding float64
	// Grid draws a light line under every row.
	Grid bool
}

// Table lays out t across the flow's width.
func (f *Flow) Table(t Table) {
	size := t.Size
	if size <= 0 {
		size = 9
	}
	pad := t.Padding
	if pad <= 0 {
		pad = 3
	}
	lead := 1.25 * size
	total := 0.0
	for _, c := range t.Columns {
		total += c.Share
	}
	widths := make([]float64, len(t.Columns))
	for i, c := range t.Columns {
		widths[i] = f.Width() * c.Share / total
	}
	wrapRow := func(cells []string, header bool) [][]string {
		out := make([][]string, len(t.Columns))
		for i := range t.Columns {
			cell, font := "", t.Columns[i].Font
			if i < len(cells) {
				cell = cells[i]
			}
			if header {
				font = Bold
			}
			out[i] = Wrap(cell, font, size, widths[i]-2*pad)
		}
		return out
	}
	height := func(lines int) float64 { return 2*pad + size + float64(max(lines, 1)-1)*lead }
	var header [][]string
	if t.Header != nil {
		header = wrapRow(t.Header, true)
	}
	drawHeader := func() {
		if header != nil {
			f.tableRow(t, header, 0, rowLines(header), widths, size, lead, pad, true)
		}
	}
	f.Ensure(height(1) + height(rowLines(header)))
	drawHeader()
	for _, row := range t.Rows {
		cells := wrapRow(row, false)
		from, n := 0, rowLines(cells)
		for from < n {
			if f.Ensure(height(n - from)) {
				drawHeader()
			}
			// What fits on this page, at least one line.
			fit := max(1, min(n-from, int((f.y-f.Bottom-2*pad-size)/lead)+1))
			f.tableRow(t, cells, from, from+fit, widths, size, lead, pad, false)
			from += fit
			if from < n {
				f.NewPage()
				drawHeader()
			}
		}
	}
}

// rowLines is the line count of a row's tallest cell.
func rowLines(cells [][]string) int {
	n := 0
	for _, c := range cells {
		n = max(n, len(c))
	}
	return n
}

// tableRow draws lines [from, to) of a row's wrapped cells at the top of
// the free space.
func (f *Flow) tableRow(t Table, cells [][]string, from, to int, widths []float64, size, lead, pad float64, header bool) {
	p := f.page
	h := 2*pad + size + float64(max(to-from, 1)-1)*lead
	if header {
		p.FillGray(0.9)
		p.Rect(f.Left, f.y-h, f.Width(), h)
		p.Fill()
		p.FillGray(0)
	}
	x := f.Left
	for i, lines := range cells {
		font := t.Columns[i].Font
		if header {
			font = Bold
		}
		for j := from; j < to && j < len(lines); j++ {
			p.Text(font, size, x+pad, f.y-pad-0.78*size-float64(j-from)*lead, lines[j])
		}
		x += widths[i]
	}
	f.y -= h
	if t.Grid || header {
		p.StrokeGray(0.75)
		p.LineWidth(0.5)
		p.Line(f.Left, f.y, PageWidth-f.Right, f.y)
		p.StrokeGray(0)
	}
}
