package server

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// pairChart is the layout of a bar chart drawn on the server (no script,
// no request): two bars per group, a baseline, the top and zero of the
// scale, a label under each group and a legend. The workshop dashboard and
// the impact page draw theirs with it; each is followed by a table with
// the same figures.
type pairChart struct {
	// ID, when set, makes the chart an image named by Title and described
	// by Desc (role img, aria-labelledby); without one it is decorative
	// (aria-hidden).
	ID, Title, Desc string
	W, H            int     // viewBox
	Left, Bottom    int     // room for the scale and for the group labels
	Top             int     // room above the tallest bar
	Inset           float64 // where a group's first bar starts, as a share of its slot
	LabelY          int     // baseline of the group labels
	MaxLabel        int     // runes a group label keeps (longer ones end in …); 0 keeps all
	Colours, Series [2]string
	// The legend's first swatch is at (LegendX, LegendY), the next one
	// LegendStep further right.
	LegendX, LegendStep, LegendY int
}

// draw returns the chart of pairs (one per group, labelled by labels) and
// the top of its scale. Only numbers, fixed strings and escaped labels go
// into it.
func (p pairChart) draw(labels []string, pairs [][2]float64) (template.HTML, float64) {
	esc := template.HTMLEscapeString
	top1 := 1.0
	for _, v := range pairs {
		top1 = max(top1, v[0], v[1])
	}
	scale := float64(p.H-p.Bottom-p.Top) / top1
	slot := float64(p.W-p.Left) / float64(max(len(pairs), 1))
	bar := slot * 0.35
	var b strings.Builder
	if p.ID != "" {
		fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-t %s-d" class="chart">`,
			p.W, p.H, p.ID, p.ID)
		fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, p.ID, esc(p.Title), p.ID, esc(p.Desc))
	} else {
		fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" aria-hidden="true" focusable="false" class="chart">`, p.W, p.H)
	}
	base := p.H - p.Bottom
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555"/>`, p.Left, base, p.W, base)
	// 'f' and not %g: a scale of a million reads 1000000, not 1e+06.
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#333">%s</text>`,
		p.Left-4, p.Top+8, strconv.FormatFloat(top1, 'f', -1, 64))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#333">0</text>`, p.Left-4, base)
	for i, v := range pairs {
		x := float64(p.Left) + float64(i)*slot + slot*p.Inset
		for j, n := range v {
			bh := n * scale
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`,
				x+float64(j)*bar, float64(base)-bh, bar, bh, p.Colours[j])
		}
		label := ""
		if i < len(labels) {
			label = labels[i]
		}
		if r := []rune(label); p.MaxLabel > 0 && len(r) > p.MaxLabel {
			label = string(r[:p.MaxLabel-1]) + "…"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#333">%s</text>`,
			x+bar, p.LabelY, esc(label))
	}
	for j, l := range p.Series {
		x := p.LegendX + j*p.LegendStep
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11" fill="#333">%s</text>`,
			x, p.LegendY, p.Colours[j], x+14, p.LegendY+9, esc(l))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), top1
}
