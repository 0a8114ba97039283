package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/web"
	"github.com/labstack/echo/v5"
)

// The public impact dashboard: the territory's totals (devices received,
// refurbished, delivered, recycled; avoided emissions with their range;
// weight diverted from waste) and two charts, by month over the last
// impactMonths months and by category, each drawn on the server as SVG
// and followed by the same figures as a table. Figures come from the
// observatory's maintained totals (postgres.ObservatoryTotals), never from
// an aggregation of our own. The page is public and the same for every
// anonymous visitor, so its ETag is derived from the totals' version
// before any aggregation: a revisit costs a 304 and no query but one.

// impactMonths is how many months the monthly chart covers.
const impactMonths = 12

// impactCategories is how many categories the category chart names; the
// others are summed in one row (the page's DOM budget).
const impactCategories = 10

func (s *Server) impactRoutes() []Route {
	return []Route{
		{http.MethodGet, "/impact", "impact", Public, s.impact},
		{http.MethodGet, "/impact/method", "impact_method", Public, s.impactMethod},
	}
}

// impactBuild fingerprints the templates and catalogs built in: a deploy
// that changes the page's wording changes its ETag. It is computed at the
// first visit, not at every start of the binary (migrate, demo, version).
var impactBuild = sync.OnceValue(func() string {
	h := sha256.New()
	for _, fsys := range []fs.FS{web.Templates(), web.Catalogs()} {
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, p)
			h.Write([]byte(p))
			h.Write(b)
			return err
		})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
})

// impactRow is one row of a chart's table, formatted for the language.
type impactRow struct {
	Label                                 string // month (YYYY-MM) or category id
	Key                                   string // category's catalog key; "" for a month
	Received, Delivered, Recycled, Refurb int64
	Net, Diverted                         string
	delivered, recycled                   float64
}

type impactPage struct {
	Total                       postgres.TotalsRow
	Net, Low, High, Diverted    string
	FactorSet, FactorSetVersion string
	MethodVersions              []string
	Months, Categories          []impactRow
	MonthChart, CategoryChart   template.HTML
	From, To                    string
}

// impactETag names the page for a language, a month and the totals'
// version.
func impactETag(version, lang, month string) string {
	sum := sha256.Sum256([]byte(version + "|" + lang + "|" + month + "|" + impactBuild()))
	return `W/"impact-` + hex.EncodeToString(sum[:12]) + `"`
}

func (s *Server) impact(c *echo.Context) error {
	ctx := c.Request().Context()
	lang := langOf(c)
	now := s.now().In(accountZone())
	month := now.Format("2006-01")
	anonymous := principalOf(c) == nil
	var etag string
	if anonymous {
		version, err := s.store.ObservatoryVersion(ctx)
		if err != nil {
			return err
		}
		etag = impactETag(version, string(lang), month)
		h := c.Response().Header()
		h.Set("ETag", etag)
		h.Set("Cache-Control", "no-cache")
		if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
			return c.NoContent(http.StatusNotModified)
		}
	}
	total, err := s.store.ObservatoryTotals(ctx, postgres.TotalsQuery{})
	if err != nil {
		return err
	}
	first := time.Date(now.Year(), now.Month()-impactMonths+1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	byMonth, err := s.store.ObservatoryTotals(ctx, postgres.TotalsQuery{From: first, To: month,
		GroupBy: []postgres.TotalsDim{postgres.DimMonth}})
	if err != nil {
		return err
	}
	byCat, err := s.store.ObservatoryTotals(ctx, postgres.TotalsQuery{GroupBy: []postgres.TotalsDim{postgres.DimCategory}})
	if err != nil {
		return err
	}
	num := func(v float64) string { return decimalText(lang, co2.Round1(v)) }
	d := impactPage{FactorSet: total.FactorSet, FactorSetVersion: total.FactorSetVersion,
		MethodVersions: total.MethodVersions, From: first, To: month}
	if len(total.Rows) > 0 {
		d.Total = total.Rows[0]
	}
	if len(d.MethodVersions) == 0 {
		d.MethodVersions = []string{co2.MethodVersion}
	}
	d.Net, d.Low, d.High, d.Diverted = num(d.Total.NetKg), num(d.Total.LowKg), num(d.Total.HighKg), num(d.Total.DivertedKg)
	row := func(label, key string, r postgres.TotalsRow) impactRow {
		return impactRow{Label: label, Key: key, Received: r.Received, Delivered: r.Delivered,
			Recycled: r.Recycled + r.Dismantled, Refurb: r.Refurbished, Net: num(r.NetKg), Diverted: num(r.DivertedKg),
			delivered: float64(r.Delivered), recycled: float64(r.Recycled + r.Dismantled)}
	}
	months := map[string]postgres.TotalsRow{}
	for _, r := range byMonth.Rows {
		months[r.Month] = r
	}
	for i := range impactMonths {
		m := time.Date(now.Year(), now.Month()-impactMonths+1+time.Month(i), 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
		d.Months = append(d.Months, row(m, "", months[m]))
	}
	cats := byCat.Rows
	sort.SliceStable(cats, func(i, j int) bool {
		a, b := cats[i].Delivered+cats[i].Recycled+cats[i].Dismantled, cats[j].Delivered+cats[j].Recycled+cats[j].Dismantled
		return a > b || a == b && cats[i].Category < cats[j].Category
	})
	var other postgres.TotalsRow
	for i, r := range cats {
		if i < impactCategories {
			d.Categories = append(d.Categories, row(r.Category, "category."+r.Category, r))
			continue
		}
		other.Received += r.Received
		other.Delivered += r.Delivered
		other.Recycled += r.Recycled
		other.Dismantled += r.Dismantled
		other.Refurbished += r.Refurbished
		other.NetKg += r.NetKg
		other.DivertedKg += r.DivertedKg
	}
	if len(cats) > impactCategories {
		d.Categories = append(d.Categories, row("other", "impact.category.other", other))
	}
	t := func(key string) string { return s.cat.T(lang, key, nil) }
	series := [2]string{t("impact.col.delivered"), t("impact.col.recycled")}
	monthLabels := make([]string, len(d.Months))
	for i, m := range d.Months {
		monthLabels[i] = m.Label[5:] + "/" + m.Label[2:4]
	}
	d.MonthChart = barChart("impact-month", t("impact.months.title"), s.cat.T(lang, "impact.months.desc",
		map[string]string{"from": first, "to": month}), monthLabels, d.Months, series)
	catLabels := make([]string, len(d.Categories))
	for i, r := range d.Categories {
		catLabels[i] = t(r.Key)
	}
	d.CategoryChart = barChart("impact-category", t("impact.categories.title"), t("impact.categories.desc"),
		catLabels, d.Categories, series)
	p := s.newPage(c, "impact.title", d)
	if !anonymous {
		return s.renderPage(c, http.StatusOK, "impact", p)
	}
	return s.renderTagged(c, "impact", p, etag)
}

// renderTagged writes a page under an ETag decided before rendering (the
// one renderPage would compute from the body could not be checked without
// the aggregation it spares).
func (s *Server) renderTagged(c *echo.Context, name string, p *Page, etag string) error {
	tmpl, ok := s.tmpl.page(p.Lang, name)
	if !ok {
		return fmt.Errorf("render: no template %q", name)
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Response().Header().Set("ETag", etag)
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

type impactMethodPage struct {
	FactorSet, FactorSetVersion, Method string
}

// impactMethod explains how the avoided emissions are computed
// (co2/METHOD.md, in short).
func (s *Server) impactMethod(c *echo.Context) error {
	total, err := s.store.ObservatoryTotals(c.Request().Context(), postgres.TotalsQuery{})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "impact_method", "impact.method.title",
		impactMethodPage{FactorSet: total.FactorSet, FactorSetVersion: total.FactorSetVersion, Method: co2.MethodVersion})
}
