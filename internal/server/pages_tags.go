package server

import (
	"crypto/rand"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/label"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// The tag screens: workshops and the operator generate batches of blank QR
// tags and print them, as A4 label sheets (with a calibration page for the
// printer's offset) or one label at a time for label printers. Workshops
// see the batches they generated; operators see every batch.

// tagRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) tagRoutes() []Route {
	return []Route{
		{http.MethodGet, "/tags", "tags", Workshop, s.tagsList},
		{http.MethodPost, "/tags", "tags_create", Workshop, s.tagsCreate},
		{http.MethodGet, "/tags/calibration.pdf", "tags_calibration", Workshop, s.tagsCalibration},
		{http.MethodGet, "/tags/:id", "tags_batch", Workshop, s.tagsBatch},
		{http.MethodGet, "/tags/:id/sheet.pdf", "tags_sheet", Workshop, s.tagsSheet},
		{http.MethodGet, "/tags/code/:code/label.png", "tags_label_png", Workshop, s.tagLabelPNG},
		{http.MethodGet, "/tags/code/:code/label.svg", "tags_label_svg", Workshop, s.tagLabelSVG},
	}
}

var tagLabels = map[string]string{"count": "tags.count"}

// tagFormatKeys names each sheet format in words, in the catalogs.
var tagFormatKeys = map[string]string{
	"3x8-70x37":      "tags.format.a4_3x8",
	"4x10-48.5x25.4": "tags.format.a4_4x10",
	"3x7-63.5x38.1":  "tags.format.a4_3x7",
}

// tagPNGWidth is the default width of a PNG label: 696 pixels is the
// printable width of the common 62 mm label-printer tape at 300 dpi.
const tagPNGWidth = 696

type tagOption struct{ Value, Label string }

func tagFormatOptions() []tagOption {
	out := make([]tagOption, len(label.Formats))
	for i, f := range label.Formats {
		out[i] = tagOption{f.ID, tagFormatKeys[f.ID]}
	}
	return out
}

type tagsPage struct {
	Batches  []postgres.TagBatch
	Total    int
	Pager    Pager
	Operator bool
	Max      int
	Formats  []tagOption
	Offset   float64
}

// tagsList shows the batches, newest first, the form that generates one
// and the calibration page's download.
func (s *Server) tagsList(c *echo.Context) error { return s.tagsRender(c, http.StatusOK, nil) }

func (s *Server) tagsRender(c *echo.Context, status int, f *Form) error {
	p := principalOf(c)
	batches, page, err := s.store.TagBatches(c.Request().Context(), scope(p), pageParam(c))
	if err != nil {
		return err
	}
	d := tagsPage{Batches: batches, Total: page.Total, Pager: s.pager(c, page), Operator: p.IsOperator(),
		Max: postgres.MaxTagBatch, Formats: tagFormatOptions(), Offset: label.MaxOffset}
	return s.renderForm(c, status, "tags", "tags.title", f, d)
}

// tagsCreate generates a batch of blank tags for the principal's
// organisation and shows it.
func (s *Server) tagsCreate(c *echo.Context) error {
	p := principalOf(c)
	f := s.newForm(c, tagLabels)
	count, err := strconv.Atoi(strings.TrimSpace(f.Values.Get("count")))
	if err != nil || count < 1 || count > postgres.MaxTagBatch {
		fe := berriz.FieldErrors{}
		fe.Add("count", "error.tag_count")
		err = fe.Err()
	}
	var b postgres.TagBatch
	if err == nil {
		b, _, err = s.store.CreateTagBatch(c.Request().Context(), p.OrgID, p.UserID, count,
			func() (tag.Code, error) { return tag.Generate(rand.Reader) })
	}
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		return s.tagsRender(c, status, f)
	}
	s.SetFlash(c, "success", "tags.flash.created")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/tags/"+strconv.FormatInt(b.ID, 10)))
}

type tagsBatchPage struct {
	Batch    postgres.TagBatch
	Tags     []postgres.Tag
	Pager    Pager
	Formats  []tagOption
	Offset   float64
	PNGWidth int
}

// tagsBatch shows one batch: its codes, a page at a time, with their
// single labels, and the sheet download.
func (s *Server) tagsBatch(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principalOf(c)
	b, err := s.store.TagBatch(ctx, id, scope(p))
	if err != nil {
		return err
	}
	tags, page, err := s.store.BatchTags(ctx, id, scope(p), pageParam(c))
	if err != nil {
		return err
	}
	d := tagsBatchPage{Batch: b, Tags: tags, Pager: s.pager(c, page), Formats: tagFormatOptions(),
		Offset: label.MaxOffset, PNGWidth: tagPNGWidth}
	pg := s.newPage(c, "tags.title", d)
	pg.Title = s.cat.T(pg.Lang, "tags.batch.title", map[string]string{"id": strconv.FormatInt(b.ID, 10)}) + " · " + pg.Title
	return s.renderPage(c, http.StatusOK, "tags_batch", pg)
}

// tagLayout reads the sheet format and the printer offsets (millimetres,
// a comma or a point for decimals; empty is 0) of a PDF request.
func tagLayout(c *echo.Context) (format string, dx, dy float64, err error) {
	format = c.QueryParam("format")
	if format == "" {
		format = label.Formats[0].ID
	}
	if _, ok := label.FormatByID(format); !ok {
		return "", 0, 0, berriz.E(berriz.Invalid, "error.label_format")
	}
	parse := func(name string) (float64, error) {
		v := strings.ReplaceAll(strings.TrimSpace(c.QueryParam(name)), ",", ".")
		if v == "" {
			return 0, nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.Abs(f) > label.MaxOffset {
			return 0, berriz.E(berriz.Invalid, "error.label_offset")
		}
		return f, nil
	}
	if dx, err = parse("offset_x"); err != nil {
		return "", 0, 0, err
	}
	if dy, err = parse("offset_y"); err != nil {
		return "", 0, 0, err
	}
	return format, dx, dy, nil
}

// tagsSheet answers a batch's labels as a PDF of A4 sheets, for the tag
// pages and for the API (errors under /api/ come out as JSON).
func (s *Server) tagsSheet(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	format, dx, dy, err := tagLayout(c)
	if err != nil {
		return err
	}
	codes, err := s.store.BatchCodes(c.Request().Context(), id, scope(principalOf(c)))
	if err != nil {
		return err
	}
	pdf, err := label.Sheet(format, dx, dy, s.cfg.PublicURL.String(), printedCodes(codes))
	if err != nil {
		return err
	}
	return tagFile(c, "application/pdf", fmt.Sprintf("berriz-tags-%d-%s.pdf", id, format), pdf)
}

// tagsCalibration answers the calibration page of a sheet format, its
// explanation in the page's language.
func (s *Server) tagsCalibration(c *echo.Context) error {
	format, dx, dy, err := tagLayout(c)
	if err != nil {
		return err
	}
	lang := langOf(c)
	args := map[string]string{
		"format":   s.cat.T(lang, tagFormatKeys[format], nil),
		"offset_x": strconv.FormatFloat(dx, 'f', -1, 64),
		"offset_y": strconv.FormatFloat(dy, 'f', -1, 64),
	}
	var text []string
	for _, k := range []string{"tags.calibration.pdf_title", "tags.calibration.pdf_print", "tags.calibration.pdf_measure", "tags.calibration.pdf_enter", "tags.calibration.pdf_offsets"} {
		text = append(text, s.cat.T(lang, k, args))
	}
	pdf, err := label.Calibration(format, dx, dy, text)
	if err != nil {
		return err
	}
	return tagFile(c, "application/pdf", "berriz-calibration-"+format+".pdf", pdf)
}

// tagOfParam returns the tag named by the :code parameter if the
// principal's organisation generated it (operators: any tag); otherwise it
// is unknown.
func (s *Server) tagOfParam(c *echo.Context) (postgres.Tag, error) {
	code, err := tag.Parse(c.Param("code"))
	if err != nil {
		return postgres.Tag{}, berriz.E(berriz.NotFound, "error.tag_unknown").WithCause(err)
	}
	t, err := s.store.Tag(c.Request().Context(), code)
	if err != nil {
		return postgres.Tag{}, err
	}
	if sc := scope(principalOf(c)); sc != 0 && t.OrgID != sc {
		return postgres.Tag{}, berriz.E(berriz.NotFound, "error.tag_unknown")
	}
	return t, nil
}

// tagLabelPNG answers one label as a PNG, ?width= pixels wide.
func (s *Server) tagLabelPNG(c *echo.Context) error {
	t, err := s.tagOfParam(c)
	if err != nil {
		return err
	}
	width := tagPNGWidth
	if v := c.QueryParam("width"); v != "" {
		if width, err = strconv.Atoi(v); err != nil {
			width = -1 // refused below with the limits
		}
	}
	img, err := label.PNG(s.cfg.PublicURL.String(), t.Code.String(), width)
	if err != nil {
		return err
	}
	return tagFile(c, "image/png", "berriz-"+t.Code.String()+".png", img)
}

// tagLabelSVG answers one label as an SVG image.
func (s *Server) tagLabelSVG(c *echo.Context) error {
	t, err := s.tagOfParam(c)
	if err != nil {
		return err
	}
	img, err := label.SVG(s.cfg.PublicURL.String(), t.Code.String())
	if err != nil {
		return err
	}
	return tagFile(c, "image/svg+xml", "berriz-"+t.Code.String()+".svg", img)
}

// tagFile answers a generated file as a download. Files are made again on
// every request (they are quick to draw), so nothing is cached in between.
func tagFile(c *echo.Context, contentType, name string, data []byte) error {
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, contentType, data)
}
