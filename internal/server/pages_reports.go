package server

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/report"
	"github.com/labstack/echo/v5"
)

// The donor report (docs/donor-report.md): a donor organisation's devices
// of one year, their fate, certificates and avoided emissions, berriz's
// reuse rate and the indicator of décret 2023-266, as an HTML summary, a
// PDF and a CSV, generated on demand from the current data (never stored). A donor
// reaches its own organisation's reports; the operator picks any donor
// organisation; anyone else, or another donor's organisation, gets not
// found.

// reportRoutes lists the routes of this area; routes() appends them to the
// table.
func (s *Server) reportRoutes() []Route {
	return []Route{
		{http.MethodGet, "/reports/donor", "donor_reports", Donor, s.donorReports},
		{http.MethodGet, "/reports/donor/:org/:year", "donor_report", Donor, s.donorReportPage},
		{http.MethodGet, "/reports/donor/:org/:year/report.pdf", "donor_report_pdf", Donor, s.donorReportPDF},
		{http.MethodGet, "/reports/donor/:org/:year/report.csv", "donor_report_csv", Donor, s.donorReportCSV},
		{http.MethodGet, "/api/v1/reports/donor/:org", "api_donor_report_years", Donor, s.apiDonorReportYears},
		{http.MethodGet, "/api/v1/reports/donor/:org/:year", "api_donor_report", Donor, s.apiDonorReport},
		{http.MethodGet, "/api/v1/reports/donor/:org/:year/report.pdf", "api_donor_report_pdf", Donor, s.donorReportPDF},
		{http.MethodGet, "/api/v1/reports/donor/:org/:year/report.csv", "api_donor_report_csv", Donor, s.donorReportCSV},
	}
}

// reportDevicesShown bounds the devices the HTML summary lists (the page's
// DOM budget); the PDF and the CSV list them all.
const reportDevicesShown = 20

type reportYear struct {
	Year           int
	Page, PDF, CSV string
}

type donorReportsPage struct {
	Orgs    []workshopOption // operators only
	Org     string           // the operator's choice
	OrgName string
	Years   []reportYear
}

// donorReports lists the years of the donor's reports; an operator first
// picks the organisation.
func (s *Server) donorReports(c *echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	scope, err := donationScope(p)
	if err != nil {
		return err
	}
	d := donorReportsPage{}
	org := p.OrgID
	if p.IsOperator() {
		if org, err = queryID(c, "org"); err != nil {
			return err
		}
		orgs, err := s.store.ActiveOrganisations(ctx, account.RoleDonor, maxWorkshopChoices)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			d.Orgs = append(d.Orgs, workshopOption{strconv.FormatInt(o.ID, 10), o.Name})
		}
		if org != 0 {
			d.Org = strconv.FormatInt(org, 10)
		}
	}
	if org != 0 {
		o, err := s.store.Organisation(ctx, org)
		if err != nil {
			return err
		}
		d.OrgName = o.Name
		years, err := s.store.DonorReportYears(ctx, org, scope)
		if err != nil {
			return err
		}
		for _, y := range years {
			base := reportPath(org, y)
			lang := langOf(c)
			d.Years = append(d.Years, reportYear{Year: y, Page: localURL(lang, base), PDF: localURL(lang, base+"/report.pdf"),
				CSV: localURL(lang, base+"/report.csv")})
		}
	}
	return s.render(c, http.StatusOK, "donor_reports", "reports.list.title", d)
}

func reportPath(org int64, year int) string {
	return "/reports/donor/" + strconv.FormatInt(org, 10) + "/" + strconv.Itoa(year)
}

// loadDonorReport reads the report the path names, within the caller's
// scope.
func (s *Server) loadDonorReport(c *echo.Context) (report.DonorReport, error) {
	org, err := idParam(c, "org")
	if err != nil {
		return report.DonorReport{}, err
	}
	year, err := strconv.Atoi(c.Param("year"))
	if err != nil {
		return report.DonorReport{}, berriz.E(berriz.NotFound, "reports.error.not_found").WithCause(err)
	}
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return report.DonorReport{}, err
	}
	return s.store.DonorReport(c.Request().Context(), org, year, scope, s.now(), s.checkURL)
}

// applyStock reads B, the donor's stock of reformed equipment on 1
// January (query "stock", never stored), into the report's décret
// indicator; absent, the report says up to which stock the objective is
// reached.
func applyStock(c *echo.Context, r *report.DonorReport) error {
	v := strings.TrimSpace(c.QueryParam("stock"))
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > report.MaxStock {
		f := berriz.FieldErrors{}
		f.Add("stock", "reports.decret.error.stock")
		return f.Err()
	}
	r.WithStock(n)
	return nil
}

// reportWording writes reports in lang.
func (s *Server) reportWording(lang i18n.Lang) report.Wording {
	w := s.documentWording(lang)
	w.Time = func(t time.Time) string { return strings.Fields(accountDate(lang, t))[0] } // the day only
	w.Number = func(v float64) string { return decimalText(lang, v) }
	return w
}

type reportDeviceRow struct {
	report.Device
	FateText, Emissions string
}

type donorReportPage struct {
	report.DonorReport
	Rate, Net, Low, High, Weight string
	Rows                         []reportDeviceRow
	More                         int
	PDF, CSV, Method             string
	// The décret's indicator in words, and the stock form's value and
	// error.
	Decret            []string
	Stock, StockError string
}

func (s *Server) donorReportPage(c *echo.Context) error {
	r, err := s.loadDonorReport(c)
	if err != nil {
		return err
	}
	lang := langOf(c)
	w := s.reportWording(lang)
	stock := strings.TrimSpace(c.QueryParam("stock"))
	stockErr := ""
	if err := applyStock(c, &r); err != nil {
		stockErr = s.cat.T(lang, berriz.As(err).Fields["stock"], nil)
	}
	d := donorReportPage{DonorReport: r, Decret: report.DecretLines(w, r), Stock: stock, StockError: stockErr, Net: decimalText(lang, r.Summary.NetKg), Low: decimalText(lang, r.Summary.LowKg),
		High: decimalText(lang, r.Summary.HighKg), Weight: decimalText(lang, r.Summary.WeightKg)}
	if r.Summary.ReuseRatePct != nil {
		d.Rate = decimalText(lang, *r.Summary.ReuseRatePct)
	}
	for i, dev := range r.Devices {
		if i == reportDevicesShown {
			d.More = len(r.Devices) - i
			break
		}
		row := reportDeviceRow{Device: dev, FateText: report.FateText(w, dev)}
		if e := dev.Emissions; e != nil {
			row.Emissions = s.cat.T(lang, "reports.emissions.device", map[string]string{"net": decimalText(lang, e.NetKg),
				"low": decimalText(lang, e.LowKg), "high": decimalText(lang, e.HighKg),
				"status": s.cat.T(lang, report.StatusKey(e.Status), nil)})
		}
		d.Rows = append(d.Rows, row)
	}
	base := reportPath(r.Org.ID, r.Year)
	d.PDF, d.CSV = localURL(lang, base+"/report.pdf"), localURL(lang, base+"/report.csv")
	if r.Summary.Decret.Stock != nil { // the PDF states the same B
		d.PDF += "?stock=" + strconv.Itoa(*r.Summary.Decret.Stock)
	}
	return s.render(c, http.StatusOK, "donor_report", "reports.show.title", d)
}

func reportFileName(r report.DonorReport, ext string) string {
	return "berriz-donor-report-" + strconv.FormatInt(r.Org.ID, 10) + "-" + strconv.Itoa(r.Year) + "." + ext
}

// donorReportPDF renders the PDF on demand, in the caller's language.
func (s *Server) donorReportPDF(c *echo.Context) error {
	r, err := s.loadDonorReport(c)
	if err != nil {
		return err
	}
	if err := applyStock(c, &r); err != nil {
		return err
	}
	doc, err := r.PDF(s.reportWording(langOf(c)))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+reportFileName(r, "pdf")+`"`)
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "application/pdf", doc)
}

// donorReportCSV writes the CSV (UTF-8, comma, ISO dates, machine column
// names).
func (s *Server) donorReportCSV(c *echo.Context) error {
	r, err := s.loadDonorReport(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+reportFileName(r, "csv")+`"`)
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

func (s *Server) apiDonorReport(c *echo.Context) error {
	r, err := s.loadDonorReport(c)
	if err != nil {
		return err
	}
	if err := applyStock(c, &r); err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, r)
}

func (s *Server) apiDonorReportYears(c *echo.Context) error {
	org, err := idParam(c, "org")
	if err != nil {
		return err
	}
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	years, err := s.store.DonorReportYears(c.Request().Context(), org, scope)
	if err != nil {
		return err
	}
	if years == nil {
		years = []int{}
	}
	return apiJSON(c, http.StatusOK, map[string]any{"organisation_id": org, "years": years})
}
