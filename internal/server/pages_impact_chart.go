package server

import (
	"fmt"
	"html/template"
	"strings"
)

// barChart draws pairs of bars (devices delivered, devices recycled or
// dismantled) per group, as the workshop dashboard's throughputChart does.
// Unlike that one it is an image with a name and a description (role img,
// aria-labelledby its title and desc), so that a screen reader announces
// what it shows and points to the table after it, which carries the same
// figures. Only numbers, fixed strings and escaped labels go into it.
func barChart(id, title, desc string, labels []string, rows []impactRow, series [2]string) template.HTML {
	const (
		w, h, left, bottom = 640, 200, 40, 34
		top                = 22
	)
	esc := template.HTMLEscapeString
	top1 := 1.0
	for _, r := range rows {
		top1 = max(top1, r.delivered, r.recycled)
	}
	scale := float64(h-bottom-top) / top1
	slot := float64(w-left) / float64(max(len(rows), 1))
	bar := slot * 0.35
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-t %s-d" class="chart">`,
		w, h, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555"/>`, left, h-bottom, w, h-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#333">%g</text>`, left-4, top+8, top1)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#333">0</text>`, left-4, h-bottom)
	colours := [2]string{"#1f5f8b", "#8a4b08"}
	for i, r := range rows {
		x := float64(left) + float64(i)*slot + slot*0.15
		for j, n := range []float64{r.delivered, r.recycled} {
			bh := n * scale
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`,
				x+float64(j)*bar, float64(h-bottom)-bh, bar, bh, colours[j])
		}
		label := ""
		if i < len(labels) {
			label = labels[i]
		}
		if len([]rune(label)) > 12 {
			label = string([]rune(label)[:11]) + "…"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#333">%s</text>`,
			x+bar, h-bottom+14, esc(label))
	}
	for j, l := range series {
		x := left + j*220
		fmt.Fprintf(&b, `<rect x="%d" y="4" width="10" height="10" fill="%s"/><text x="%d" y="13" font-size="11" fill="#333">%s</text>`,
			x, colours[j], x+14, esc(l))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
