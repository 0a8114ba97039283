package server

import "html/template"

// barChart draws pairs of bars (devices delivered, devices recycled or
// dismantled) per group. Unlike the workshop dashboard's chart it is an
// image with a name and a description (role img, aria-labelledby its title
// and desc), so that a screen reader announces what it shows and points to
// the table after it, which carries the same figures.
func barChart(id, title, desc string, labels []string, rows []impactRow, series [2]string) template.HTML {
	pairs := make([][2]float64, len(rows))
	for i, r := range rows {
		pairs[i] = [2]float64{r.delivered, r.recycled}
	}
	const w, h, left, bottom = 640, 200, 40, 34
	chart, _ := pairChart{ID: id, Title: title, Desc: desc, W: w, H: h, Left: left, Bottom: bottom, Top: 22,
		Inset: 0.15, LabelY: h - bottom + 14, MaxLabel: 12, Colours: [2]string{"#1f5f8b", "#8a4b08"}, Series: series,
		LegendX: left, LegendStep: 220, LegendY: 4}.draw(labels, pairs)
	return chart
}
