package erasure

import (
	"fmt"
	"strconv"
	"time"

	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/pdf"
)

// Certificate is what an erasure certificate says: which device (its tag,
// model and serial, whose donation, which workshop) and, for each of its
// drives, the verified erasure that makes it safe to reuse. It is kept as
// issued, with the PDF, so the check page shows what was certified even
// after the device changed.
type Certificate struct {
	Number   string            `json:"number"`
	IssuedAt time.Time         `json:"issued_at"`
	Lang     string            `json:"lang"` // of the PDF's wording
	Cycle    int               `json:"cycle"`
	Tag      string            `json:"tag"` // printed code, "" without one
	Device   CertifiedDevice   `json:"device"`
	Donor    string            `json:"donor"` // the donor organisation's name
	Donation CertifiedDonation `json:"donation"`
	Workshop string            `json:"workshop"`
	Drives   []CertifiedDrive  `json:"drives"`
}

// CertifiedDevice is the device a certificate covers.
type CertifiedDevice struct {
	ID       int64  `json:"id"`
	Category string `json:"category"`
	Brand    string `json:"brand"`
	Model    string `json:"model"`
	Serial   string `json:"serial"`
}

// CertifiedDonation is the donation the device came with.
type CertifiedDonation struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
}

// CertifiedDrive is one drive and the erasure that certifies it.
type CertifiedDrive struct {
	Drive        Drive        `json:"drive"`
	ErasureID    int64        `json:"erasure_id"`
	Method       Method       `json:"method"`
	Tool         Tool         `json:"tool"`
	ToolVersion  string       `json:"tool_version"`
	Passes       int          `json:"passes"`
	Verification Verification `json:"verification"`
	StartedAt    time.Time    `json:"started_at"`
	EndedAt      time.Time    `json:"ended_at"`
	Technician   string       `json:"technician"`
	LogSHA256    string       `json:"log_sha256"` // "" when no log was attached
}

// Number writes a certificate number: BRZ-E, the year of issue and the
// certificate's sequence number, e.g. BRZ-E-2026-000123.
func Number(year int, seq int64) string { return fmt.Sprintf("BRZ-E-%d-%06d", year, seq) }

// Wording is what a certificate is written with, in one language.
type Wording = i18n.Wording

// PDF renders the certificate: the device, each drive with its erasure,
// the statement, and where to check it (checkURL, printed in full). Every
// page's footer carries the number and the page count.
func (c Certificate) PDF(checkURL string, w Wording) ([]byte, error) {
	doc := &pdf.Document{Title: w.Tr("erasure.certificate.title") + " " + c.Number, Lang: w.Lang}
	f := pdf.NewFlow(doc)
	f.Text(w.Tr("erasure.certificate.title"), pdf.Style{Font: pdf.Bold, Size: 18})
	f.Space(4)
	f.Text(w.Tr("erasure.certificate.number", "number", c.Number)+" — "+w.Tr("erasure.certificate.issued", "date", w.Time(c.IssuedAt)),
		pdf.Style{Size: 11})
	heading := func(key string, kv ...string) {
		f.Space(8)
		f.Ensure(40) // a heading never ends a page
		f.Text(w.Tr(key, kv...), pdf.Style{Font: pdf.Bold, Size: 12.5})
		f.Space(3)
	}
	facts := func(rows [][]string) {
		// The values' column holds a SHA-256 (64 digits) on one line.
		f.Table(pdf.Table{Columns: []pdf.Column{{Share: 2.5, Font: pdf.Bold}, {Share: 7.5}}, Rows: rows, Size: 9.5, Grid: true})
	}
	dash := func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	}
	heading("erasure.certificate.device")
	facts([][]string{
		{w.Tr("erasure.certificate.tag"), dash(c.Tag)},
		{w.Tr("erasure.certificate.model"), w.Tr("category."+c.Device.Category) + " " + c.Device.Brand + " " + c.Device.Model},
		{w.Tr("erasure.certificate.serial"), dash(c.Device.Serial)},
		{w.Tr("erasure.certificate.donor"), dash(c.Donor)},
		{w.Tr("erasure.certificate.donation"), w.Tr("erasure.certificate.donation_value", "number", strconv.FormatInt(c.Donation.ID, 10),
			"title", c.Donation.Title)},
		{w.Tr("erasure.certificate.workshop"), dash(c.Workshop)},
	})
	heading("erasure.certificate.drives")
	if len(c.Drives) == 0 {
		f.Text(w.Tr("erasure.certificate.no_drives"), pdf.Style{})
	}
	for _, d := range c.Drives {
		f.Space(4)
		f.Ensure(60)
		f.Text(w.Tr("erasure.certificate.drive", "n", strconv.Itoa(d.Drive.Position)), pdf.Style{Font: pdf.Bold, Size: 11})
		f.Space(2)
		tool := w.Tr(d.Tool.Key())
		if d.ToolVersion != "" {
			tool += " " + d.ToolVersion
		}
		tool += " · " + w.Tr("erasure.certificate.passes_value", "count", strconv.Itoa(d.Passes))
		log := d.LogSHA256
		if log == "" {
			log = w.Tr("erasure.certificate.no_log")
		}
		facts([][]string{
			{w.Tr("erasure.certificate.drive_type"), w.Tr("device.drive."+d.Drive.Type) + ", " +
				w.Tr("erasure.certificate.capacity_value", "gb", strconv.Itoa(d.Drive.CapacityGB))},
			{w.Tr("erasure.certificate.drive_serial"), dash(d.Drive.Serial)},
			{w.Tr("erasure.certificate.method"), w.Tr(d.Method.Key())},
			{w.Tr("erasure.certificate.tool"), tool},
			{w.Tr("erasure.certificate.verification"), w.Tr(d.Verification.Key())},
			{w.Tr("erasure.certificate.period"), w.Time(d.StartedAt) + " – " + w.Time(d.EndedAt)},
			{w.Tr("erasure.certificate.technician"), d.Technician},
			{w.Tr("erasure.certificate.log"), log},
		})
	}
	heading("erasure.certificate.statement_title")
	if len(c.Drives) == 0 {
		f.Text(w.Tr("erasure.certificate.statement_none", "workshop", c.Workshop), pdf.Style{})
	} else {
		f.Text(w.Tr("erasure.certificate.statement", "workshop", c.Workshop, "count", strconv.Itoa(len(c.Drives))), pdf.Style{})
	}
	heading("erasure.certificate.check_title")
	f.Text(w.Tr("erasure.certificate.check"), pdf.Style{})
	f.Space(3)
	f.Text(checkURL, pdf.Style{Font: pdf.Bold})
	f.Space(3)
	f.Text(w.Tr("erasure.certificate.check_hash"), pdf.Style{Size: 9, Gray: 0.3})
	doc.Stamp(func(p *pdf.Page, n, total int) {
		footer := w.Tr("erasure.certificate.footer", "number", c.Number, "n", strconv.Itoa(n), "total", strconv.Itoa(total))
		p.FillGray(0.3)
		p.Text(pdf.Regular, 8, f.Left, pdf.MM(10), footer)
		p.FillGray(0)
	})
	return doc.Bytes()
}

// Keys lists every translation key this package names (methods, tools,
// results, statuses, validation errors and the certificate's wording), so
// a test holds the catalogs to them. The certificate also names the
// device catalogs' "category.*" and "device.drive.*" keys.
func Keys() []string {
	keys := []string{"erasure.verification.passed", "erasure.verification.failed", "erasure.status.erased",
		"erasure.status.failed", "erasure.status.missing"}
	for _, k := range methodKeys {
		keys = append(keys, k)
	}
	for _, k := range toolKeys {
		keys = append(keys, k)
	}
	for _, k := range []string{"method", "tool", "tool_method", "passes", "passes_overwrite", "passes_none", "verification",
		"text", "too_long", "time", "time_old", "time_future", "time_order", "duration_long", "duration_short", "method_flash",
		"drive", "log_empty", "log_type", "log_too_large", "log_required"} {
		keys = append(keys, "erasure.error."+k)
	}
	for _, k := range []string{"title", "number", "issued", "device", "tag", "model", "serial", "donor", "donation",
		"donation_value", "workshop", "drives", "no_drives", "drive", "no_log", "drive_type", "capacity_value",
		"drive_serial", "method", "tool", "passes_value", "verification", "period", "technician", "log", "statement_title",
		"statement", "statement_none", "check_title", "check", "check_hash", "footer"} {
		keys = append(keys, "erasure.certificate."+k)
	}
	return keys
}
