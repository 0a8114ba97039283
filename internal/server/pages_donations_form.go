package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/donation"
	"github.com/labstack/echo/v5"
)

// The declaration form: a title, notes and a few device lines typed in a
// table. Larger lots go through the CSV import.

const (
	formRows    = 5  // lines shown by default
	maxFormRows = 10 // lines the form can show
	// maxDonorChoices bounds the operator's donor select.
	maxDonorChoices = 100
)

// donationCell is one input of the lines table.
type donationCell struct {
	Field string // the line field (category, brand…)
	Name  string // the input's name: d<row>_<field>
	Value string
	Error string
}

type donationRow struct {
	N     int
	Cells []donationCell
}

type donationFormPage struct {
	Rows       []donationRow
	RowCount   int
	MoreRows   bool
	Fields     []string
	Categories []categoryOption
	Donors     []account.Organisation // operators declare for a donor
	Donor      string
}

func rowField(n int, field string) string { return "d" + strconv.Itoa(n) + "_" + field }

// donationFormData builds the lines table from what was submitted (f may
// be nil) with rows lines.
func (s *Server) donationFormData(c *echo.Context, f *Form, rows int) (donationFormPage, error) {
	d := donationFormPage{RowCount: rows, MoreRows: rows < maxFormRows, Fields: donation.Fields, Categories: categoryOptions()}
	for n := 1; n <= rows; n++ {
		r := donationRow{N: n}
		for _, field := range donation.Fields {
			name := rowField(n, field)
			r.Cells = append(r.Cells, donationCell{Field: field, Name: name, Value: f.Value(name), Error: f.Error(name)})
		}
		d.Rows = append(d.Rows, r)
	}
	if p := principalOf(c); p.IsOperator() {
		donors, err := s.store.ActiveOrganisations(c.Request().Context(), account.RoleDonor, maxDonorChoices)
		if err != nil {
			return d, err
		}
		d.Donors, d.Donor = donors, f.Value("donor")
	}
	return d, nil
}

func (s *Server) donationNew(c *echo.Context) error {
	rows := formRows
	if n, err := strconv.Atoi(c.QueryParam("lines")); err == nil && n > formRows {
		rows = min(n, maxFormRows)
	}
	d, err := s.donationFormData(c, nil, rows)
	if err != nil {
		return err
	}
	return s.renderForm(c, http.StatusOK, "donation_new", "donation.new.title", nil, d)
}

// donorOrg returns the organisation a donation is declared for: the
// donor's own, or the one an operator chose.
func donorOrg(c *echo.Context, f *Form) int64 {
	p := principalOf(c)
	if !p.IsOperator() {
		return p.OrgID
	}
	id, _ := strconv.ParseInt(f.Values.Get("donor"), 10, 64)
	return id
}

// headerErrors puts a donation's title and notes errors on the form.
func (s *Server) headerErrors(c *echo.Context, f *Form, fe berriz.FieldErrors) {
	for field, key := range fe {
		f.Errors[field] = s.cat.T(langOf(c), key, nil)
	}
}

// donationCreate stores a donation typed in the form; any mistake shows the
// form again with every line's errors and what was typed.
func (s *Server) donationCreate(c *echo.Context) error {
	lang := langOf(c)
	labels := map[string]string{"title": "donation.field.title", "notes": "donation.field.notes", "donor": "donation.field.donor"}
	f := s.newForm(c, labels)
	rows, _ := strconv.Atoi(f.Values.Get("rows"))
	rows = max(1, min(rows, maxFormRows))
	h, fe := donation.ParseHeader(f.Values.Get("title"), f.Values.Get("notes"))
	s.headerErrors(c, f, fe)
	var lines []donation.Line
	for n := 1; n <= rows; n++ {
		var in donation.Input
		for _, field := range donation.Fields {
			in.Set(field, f.Values.Get(rowField(n, field)))
		}
		if in.Empty() {
			continue
		}
		l, fe := in.Parse(s.now())
		for field, key := range fe {
			name := rowField(n, field)
			labels[name] = "donation.field." + field
			f.Errors[name] = s.cat.T(lang, "donation.row_error", map[string]string{"row": strconv.Itoa(n), "message": s.cat.T(lang, key, nil)})
		}
		lines = append(lines, l)
	}
	var err error
	switch {
	case len(f.Errors) > 0:
		err = berriz.E(berriz.Invalid, "error.invalid_fields")
	case len(lines) == 0:
		err = berriz.E(berriz.Invalid, "donation.error.no_lines")
	default:
		created, cerr := s.store.CreateDonation(c.Request().Context(), donorOrg(c, f), principalOf(c), h.Title, h.Notes, lines)
		if cerr == nil {
			s.SetFlash(c, "success", "donation.flash.created")
			return c.Redirect(http.StatusSeeOther, donationURL(c, created.ID))
		}
		err = cerr
	}
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	if len(f.Errors) > 0 {
		f.Message = "" // the summary lists them
	}
	d, derr := s.donationFormData(c, f, rows)
	if derr != nil {
		return derr
	}
	return s.renderForm(c, status, "donation_new", "donation.new.title", f, d)
}
