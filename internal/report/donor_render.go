package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/pdf"
)

// CSVHeader is the donor report's CSV header: stable machine names (the
// file is read by programs and spreadsheets alike), one row per device.
var CSVHeader = []string{"donation_id", "device_id", "tag", "category", "brand", "model", "serial", "weight_kg",
	"state", "fate", "reused", "beneficiary_kind", "delivery_commune", "delivered_on", "erasure_certificate",
	"erasure_check_url", "recycling_certificate", "recycler", "net_kg_co2e", "low_kg_co2e", "high_kg_co2e",
	"emissions_status", "factor_set", "method_version", "year", "weee_category", "decret_exclusion"}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func yearText(y *int) string {
	if y == nil {
		return ""
	}
	return strconv.Itoa(*y)
}

func kg(v float64) string { return strconv.FormatFloat(round1(v), 'f', 1, 64) }

// WriteCSV writes the report, UTF-8 and comma-separated, dates ISO.
func (r DonorReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, d := range r.Devices {
		delivered, net, low, high, status := "", "", "", "", ""
		if d.DeliveredOn != nil {
			delivered = d.DeliveredOn.Format(time.DateOnly)
		}
		if e := d.Emissions; e != nil {
			net, low, high, status = kg(e.NetKg), kg(e.LowKg), kg(e.HighKg), e.Status
		}
		if err := cw.Write([]string{strconv.FormatInt(d.Donation, 10), strconv.FormatInt(d.ID, 10), d.Tag, d.Category,
			csvSafe(d.Brand), csvSafe(d.Model), csvSafe(d.Serial), strconv.FormatFloat(d.WeightKg, 'f', -1, 64),
			d.State, string(d.Fate), strconv.FormatBool(d.Fate.Reused()), d.BeneficiaryKind, d.Commune, delivered,
			d.ErasureCertificate, d.ErasureCheckURL, csvSafe(d.RecyclingCertificate), csvSafe(d.Recycler),
			net, low, high, status, r.FactorSet, r.MethodVersion, yearText(d.Year), d.WEEECategory,
			d.DecretExclusion}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// fateKeys and statusKeys name the catalog keys of fates and result
// statuses (literals, so the catalog test sees them used).
var (
	fateKeys = map[Fate]string{Delivered: "reports.fate.delivered", Prepared: "reports.fate.prepared",
		Recycled: "reports.fate.recycled", Dismantled: "reports.fate.dismantled", InProgress: "reports.fate.in_progress",
		Declared: "reports.fate.declared"}
	statusKeys = map[string]string{"estimated": "reports.status.estimated", "consolidated": "reports.status.consolidated"}
)

// FateKey is the catalog key of a fate's name.
func FateKey(f Fate) string { return fateKeys[f] }

// StatusKey is the catalog key of a result's status (estimated,
// consolidated).
func StatusKey(status string) string { return statusKeys[status] }

// Wording is what a report is written with, in one language.
type Wording = i18n.Wording

// FateText says a device's fate in words: whom it went to, or which
// certificate covers its recycling.
func FateText(w Wording, d Device) string {
	switch d.Fate {
	case Delivered:
		day := ""
		if d.DeliveredOn != nil {
			day = w.Time(*d.DeliveredOn)
		}
		return w.Tr("reports.fate_text.delivered", "kind", w.Tr("admin.kind."+d.BeneficiaryKind), "commune", d.Commune, "date", day)
	case Recycled:
		if d.RecyclingCertificate != "" {
			return w.Tr("reports.fate_text.recycled", "certificate", d.RecyclingCertificate, "recycler", d.Recycler)
		}
		return w.Tr("reports.fate_text.recycled_pending")
	}
	return w.Tr(FateKey(d.Fate))
}

// PDF renders the report: the donor and the year, the reuse rate with its
// definition, the counts by fate, the avoided emissions with their range
// and method, then one row per device.
func (r DonorReport) PDF(w Wording) ([]byte, error) {
	year := strconv.Itoa(r.Year)
	doc := &pdf.Document{Title: w.Tr("reports.pdf.title", "org", r.Org.Name, "year", year), Lang: w.Lang}
	f := pdf.NewFlow(doc)
	f.Text(w.Tr("reports.pdf.title", "org", r.Org.Name, "year", year), pdf.Style{Font: pdf.Bold, Size: 16})
	f.Space(4)
	f.Text(w.Tr("reports.pdf.generated", "date", w.Time(r.GeneratedAt), "commune", r.Org.Commune), pdf.Style{Size: 10})
	heading := func(key string) {
		f.Space(8)
		f.Ensure(40)
		f.Text(w.Tr(key), pdf.Style{Font: pdf.Bold, Size: 12.5})
		f.Space(3)
	}
	s := r.Summary
	heading("reports.reuse.title")
	rate := w.Tr("reports.reuse.none")
	if s.ReuseRatePct != nil {
		rate = w.Tr("reports.reuse.value", "pct", w.Number(*s.ReuseRatePct), "reused", strconv.Itoa(s.Reused),
			"settled", strconv.Itoa(s.Settled))
	}
	f.Text(rate, pdf.Style{Font: pdf.Bold, Size: 11})
	f.Space(2)
	f.Text(w.Tr("reports.reuse.definition"), pdf.Style{Size: 9})

	heading("reports.decret.title")
	for i, line := range DecretLines(w, r) {
		st := pdf.Style{Size: 10}
		if i == 0 {
			st.Font = pdf.Bold
		}
		f.Text(line, st)
		f.Space(2)
	}
	f.Text(w.Tr("reports.decret.definition"), pdf.Style{Size: 9})

	heading("reports.fates.title")
	counts := map[Fate]int{Delivered: s.Delivered, Prepared: s.Prepared, Recycled: s.Recycled, Dismantled: s.Dismantled,
		InProgress: s.InProgress, Declared: s.Declared}
	rows := [][]string{{w.Tr("reports.fates.given"), strconv.Itoa(s.Given)}}
	for _, fa := range Fates {
		rows = append(rows, []string{w.Tr(FateKey(fa)), strconv.Itoa(counts[fa])})
	}
	f.Table(pdf.Table{Columns: []pdf.Column{{Share: 7, Font: pdf.Bold}, {Share: 3}}, Size: 9.5, Grid: true, Rows: rows})

	heading("reports.emissions.title")
	f.Text(w.Tr("reports.emissions.value", "net", w.Number(s.NetKg), "low", w.Number(s.LowKg), "high", w.Number(s.HighKg),
		"count", strconv.Itoa(s.WithResult), "consolidated", strconv.Itoa(s.Consolidated)), pdf.Style{Size: 10})
	f.Space(2)
	f.Text(w.Tr("reports.emissions.method", "set", r.FactorSet, "version", r.FactorVersion, "method", r.MethodVersion),
		pdf.Style{Size: 9})

	heading("reports.devices.title")
	dash := func(v string) string {
		if v == "" {
			return "—"
		}
		return v
	}
	devs := make([][]string, len(r.Devices))
	for i, d := range r.Devices {
		certs := []string{}
		if d.ErasureCertificate != "" {
			certs = append(certs, w.Tr("reports.col.erasure_short", "number", d.ErasureCertificate))
		}
		if d.RecyclingCertificate != "" {
			certs = append(certs, w.Tr("reports.col.recycling_short", "ref", d.RecyclingCertificate))
		}
		em := "—"
		if e := d.Emissions; e != nil {
			em = w.Tr("reports.emissions.device", "net", w.Number(e.NetKg), "low", w.Number(e.LowKg), "high", w.Number(e.HighKg),
				"status", w.Tr(StatusKey(e.Status)))
		}
		devs[i] = []string{dash(d.Tag), strings.TrimSpace(w.Tr("category."+d.Category) + " " + d.Brand + " " + d.Model),
			dash(d.Serial), FateText(w, d), dash(strings.Join(certs, "\n")), em}
	}
	f.Table(pdf.Table{Columns: []pdf.Column{{Share: 1.2, Font: pdf.Bold}, {Share: 2.2}, {Share: 1.5}, {Share: 2.4},
		{Share: 1.9}, {Share: 1.8}}, Size: 7.5, Grid: true, Rows: devs,
		Header: []string{w.Tr("reports.col.tag"), w.Tr("reports.col.device"), w.Tr("reports.col.serial"), w.Tr("reports.col.fate"),
			w.Tr("reports.col.certificates"), w.Tr("reports.col.emissions")}})

	doc.Stamp(func(p *pdf.Page, n, total int) {
		footer := w.Tr("reports.pdf.footer", "org", r.Org.Name, "year", year, "n", strconv.Itoa(n), "total", strconv.Itoa(total))
		p.FillGray(0.3)
		p.Text(pdf.Regular, 8, f.Left, pdf.MM(10), footer)
		p.FillGray(0)
	})
	return doc.Bytes()
}
