package allocation

import (
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/pdf"
)

// Receipt is what a handover receipt says: who hands over to whom (the
// organisations by name and commune — no person's contact details), for
// which request, each device with what identifies it (tag, serials of the
// device and its drives), its grade and the erasure certificate that
// vouches no data left with it, and room for both parties to sign. The
// store gathers it under the locks of the preparation; the PDF is kept
// through storage/ with its checksum.
type Receipt struct {
	Number          string
	IssuedAt        time.Time
	Lang            string // of the wording
	RequestID       int64
	Purpose         string
	DeliveryCommune string // INSEE code
	Beneficiary     Party
	Workshop        Party
	Donors          []Party // of the devices' donations, by name
	Devices         []ReceiptDevice
}

// Party is an organisation named on a receipt.
type Party struct {
	Name    string
	Commune string // INSEE code
}

// ReceiptDevice is one device handed over.
type ReceiptDevice struct {
	ID                             int64
	Tag                            string // printed form, "" without one
	Category, Brand, Model, Serial string
	Grade                          string
	Drives                         []string // serials of its recorded drives
	Certificate                    string   // the erasure certificate's number
	CheckToken                     string   // the token of its check URL (/c/<token>)
}

// Wording is what a receipt is written with, in one language.
type Wording = i18n.Wording

// receiptKeys are the receipt's wording keys (it also names the devices
// catalog's "category.*" keys).
var receiptKeys = []string{"handover.receipt.title", "handover.receipt.number", "handover.receipt.parties",
	"handover.receipt.beneficiary", "handover.receipt.workshop", "handover.receipt.donors", "handover.receipt.request",
	"handover.receipt.request_value", "handover.receipt.purpose", "handover.receipt.party_value", "handover.receipt.devices",
	"handover.receipt.col_n", "handover.receipt.col_tag", "handover.receipt.col_device", "handover.receipt.col_serial",
	"handover.receipt.col_drives", "handover.receipt.col_grade", "handover.receipt.col_certificate",
	"handover.receipt.no_drives", "handover.receipt.erasure_title", "handover.receipt.erasure_statement",
	"handover.receipt.col_check", "handover.receipt.signatures", "handover.receipt.acknowledge",
	"handover.receipt.sign_beneficiary", "handover.receipt.sign_workshop", "handover.receipt.sign_name",
	"handover.receipt.sign_date", "handover.receipt.sign_signature", "handover.receipt.footer"}

// PDF renders the receipt; checkURL gives the full address where a
// certificate's token is checked. Every page's footer carries the number
// and the page count.
func (r Receipt) PDF(checkURL func(token string) string, w Wording) ([]byte, error) {
	doc := &pdf.Document{Title: w.Tr("handover.receipt.title") + " " + r.Number, Lang: w.Lang}
	f := pdf.NewFlow(doc)
	f.Text(w.Tr("handover.receipt.title"), pdf.Style{Font: pdf.Bold, Size: 18})
	f.Space(4)
	f.Text(w.Tr("handover.receipt.number", "number", r.Number, "date", w.Time(r.IssuedAt)), pdf.Style{Size: 11})
	heading := func(key string, kv ...string) {
		f.Space(8)
		f.Ensure(40) // a heading never ends a page
		f.Text(w.Tr(key, kv...), pdf.Style{Font: pdf.Bold, Size: 12.5})
		f.Space(3)
	}
	dash := func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	}
	party := func(p Party) string {
		return w.Tr("handover.receipt.party_value", "name", p.Name, "commune", p.Commune)
	}
	donors := make([]string, len(r.Donors))
	for i, d := range r.Donors {
		donors[i] = party(d)
	}
	heading("handover.receipt.parties")
	f.Table(pdf.Table{Columns: []pdf.Column{{Share: 2.5, Font: pdf.Bold}, {Share: 7.5}}, Size: 9.5, Grid: true, Rows: [][]string{
		{w.Tr("handover.receipt.beneficiary"), party(r.Beneficiary)},
		{w.Tr("handover.receipt.workshop"), party(r.Workshop)},
		{w.Tr("handover.receipt.donors"), strings.Join(donors, "\n")},
		{w.Tr("handover.receipt.request"), w.Tr("handover.receipt.request_value", "number", strconv.FormatInt(r.RequestID, 10),
			"commune", r.DeliveryCommune)},
		{w.Tr("handover.receipt.purpose"), r.Purpose},
	}})

	heading("handover.receipt.devices", "count", strconv.Itoa(len(r.Devices)))
	rows := make([][]string, len(r.Devices))
	for i, d := range r.Devices {
		drives := w.Tr("handover.receipt.no_drives")
		if len(d.Drives) > 0 {
			drives = strings.Join(d.Drives, "\n")
		}
		rows[i] = []string{strconv.Itoa(i + 1), dash(d.Tag), strings.TrimSpace(w.Tr("category."+d.Category) + " " + d.Brand + " " + d.Model),
			dash(d.Serial), drives, dash(d.Grade), d.Certificate}
	}
	f.Table(pdf.Table{Columns: []pdf.Column{{Share: 0.5}, {Share: 1.15, Font: pdf.Bold}, {Share: 2.2}, {Share: 1.5}, {Share: 2.0},
		{Share: 0.75}, {Share: 1.9}}, Size: 8, Grid: true, Rows: rows,
		Header: []string{w.Tr("handover.receipt.col_n"), w.Tr("handover.receipt.col_tag"), w.Tr("handover.receipt.col_device"),
			w.Tr("handover.receipt.col_serial"), w.Tr("handover.receipt.col_drives"), w.Tr("handover.receipt.col_grade"),
			w.Tr("handover.receipt.col_certificate")}})

	heading("handover.receipt.erasure_title")
	f.Text(w.Tr("handover.receipt.erasure_statement", "workshop", r.Workshop.Name, "count", strconv.Itoa(len(r.Devices))), pdf.Style{})
	f.Space(4)
	checks := make([][]string, len(r.Devices))
	for i, d := range r.Devices {
		checks[i] = []string{d.Certificate, dash(d.Tag), checkURL(d.CheckToken)}
	}
	f.Table(pdf.Table{Columns: []pdf.Column{{Share: 2.2, Font: pdf.Bold}, {Share: 1.3}, {Share: 6.5}}, Size: 8, Grid: true,
		Rows: checks, Header: []string{w.Tr("handover.receipt.col_certificate"), w.Tr("handover.receipt.col_tag"),
			w.Tr("handover.receipt.col_check")}})

	r.signatures(f, w)
	doc.Stamp(func(p *pdf.Page, n, total int) {
		footer := w.Tr("handover.receipt.footer", "number", r.Number, "n", strconv.Itoa(n), "total", strconv.Itoa(total))
		p.FillGray(0.3)
		p.Text(pdf.Regular, 8, f.Left, pdf.MM(10), footer)
		p.FillGray(0)
	})
	return doc.Bytes()
}

// signatures draws the acknowledgement and two boxes side by side, the
// beneficiary's and the workshop's, each with lines for a name, a date and
// a signature; the section never splits across pages.
func (r Receipt) signatures(f *pdf.Flow, w Wording) {
	ack := w.Tr("handover.receipt.acknowledge", "count", strconv.Itoa(len(r.Devices)), "number", r.Number)
	ackH := float64(len(pdf.Wrap(ack, pdf.Regular, 10, f.Width()))) * 12.5
	gap := pdf.MM(6)
	boxW := (f.Width() - gap) / 2
	titles := [][]string{
		pdf.Wrap(w.Tr("handover.receipt.sign_beneficiary", "name", r.Beneficiary.Name), pdf.Bold, 9.5, boxW-12),
		pdf.Wrap(w.Tr("handover.receipt.sign_workshop", "name", r.Workshop.Name), pdf.Bold, 9.5, boxW-12),
	}
	// The box: its title, a line for the name, one for the date, then the
	// signature's label and room to sign below it.
	boxH := 14 + float64(max(len(titles[0]), len(titles[1])))*12 + 3*18 + 42
	f.Space(8)
	f.Ensure(22 + ackH + 8 + boxH)
	f.Text(w.Tr("handover.receipt.signatures"), pdf.Style{Font: pdf.Bold, Size: 12.5})
	f.Space(3)
	f.Text(ack, pdf.Style{})
	f.Space(8)
	p, top := f.Page(), f.Y()
	for i, title := range titles {
		x := f.Left + float64(i)*(boxW+gap)
		p.StrokeGray(0.4)
		p.LineWidth(0.7)
		p.Rect(x, top-boxH, boxW, boxH)
		p.Stroke()
		y := top - 14
		for _, line := range title {
			p.Text(pdf.Bold, 9.5, x+6, y, line)
			y -= 12
		}
		for j, key := range []string{"handover.receipt.sign_name", "handover.receipt.sign_date", "handover.receipt.sign_signature"} {
			y -= 18
			label := w.Tr(key)
			p.Text(pdf.Regular, 9, x+6, y, label)
			if j < 2 { // the signature gets the box's bottom instead of a line
				p.StrokeGray(0.7)
				p.LineWidth(0.5)
				p.Line(x+10+pdf.TextWidth(label, 9, pdf.Regular), y-2, x+boxW-8, y-2)
			}
		}
		p.StrokeGray(0)
	}
	f.Space(boxH)
}
