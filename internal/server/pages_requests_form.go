package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/labstack/echo/v5"
)

// The request form: purpose, delivery commune, priority criteria and up
// to allocation.MaxLines lines. A line is a row of seven inputs without a
// table around them: twenty rows of a table (a cell per input) would not
// fit the 300-element budget; each row is a labelled group, each input
// carries its name, and a hint lists the columns. An operator first
// chooses the beneficiary organisation (request_choose.html), then fills
// the same form for it.

const (
	requestFormRows = 5 // lines shown by default; "more lines" shows allocation.MaxLines
	// maxBeneficiaryChoices bounds the operator's select of beneficiaries.
	maxBeneficiaryChoices = 100
)

// requestLineInputs describes each input of a line: its field, the
// translation keys of its name and of its short placeholder, its width
// and the keyboard phones should show.
var requestLineInputs = []struct {
	field, label, placeholder, mode string
	size                            int
}{
	{allocation.FieldCategory, "request.field.category", "request.placeholder.category", "", 14},
	{allocation.FieldQuantity, "request.field.quantity", "request.placeholder.quantity", "numeric", 5},
	{allocation.FieldMinRAM, "request.field.min_ram_gb", "request.placeholder.min_ram_gb", "numeric", 6},
	{allocation.FieldMinDisk, "request.field.min_storage_gb", "request.placeholder.min_storage_gb", "numeric", 9},
	{allocation.FieldMinScreen, "request.field.min_screen_inches", "request.placeholder.min_screen_inches", "decimal", 6},
	{allocation.FieldMinGrade, "request.field.min_grade", "request.placeholder.min_grade", "", 4},
	{allocation.FieldNotes, "request.field.notes", "request.placeholder.notes", "", 22},
}

// requestLabels are the form's fields outside the lines, for the error
// summary.
func requestLabels() map[string]string {
	return map[string]string{"purpose": "request.field.purpose", "delivery_commune": "request.field.delivery_commune",
		"criteria": "request.field.criteria", "lines": "request.field.lines", "beneficiary": "request.field.beneficiary"}
}

type requestCell struct {
	Name, Value, Label, Placeholder, Mode string
	Size                                  int
	Invalid                               bool
}

type requestRow struct {
	N      int
	Label  string
	Cells  []requestCell
	Errors string // the row's errors, in words
}

type criterionBox struct {
	Value, Key string
	Checked    bool
}

type requestFormPage struct {
	Org         account.Organisation
	ForOperator bool
	Rows        []requestRow
	RowCount    int
	More        string // the form with every line, "" when shown
	Criteria    []criterionBox
	Categories  []categoryOption
	Commune     string
	Purpose     string
}

// requestFormData builds the form for org with rows lines, from what was
// submitted (f may be nil); plain holds the lines' errors without their
// line number, by input name.
func (s *Server) requestFormData(c *echo.Context, f *Form, rows int, org account.Organisation, plain map[string]string) requestFormPage {
	lang := langOf(c)
	t := func(key string, args map[string]string) string { return s.cat.T(lang, key, args) }
	d := requestFormPage{Org: org, ForOperator: principalOf(c).IsOperator(), RowCount: rows, Categories: categoryOptions(),
		Commune: org.Commune, Purpose: f.Value("purpose")}
	if rows < allocation.MaxLines {
		d.More = "/requests/new?lines=" + strconv.Itoa(allocation.MaxLines)
		if d.ForOperator {
			d.More += "&beneficiary=" + strconv.FormatInt(org.ID, 10)
		}
	}
	if f != nil {
		d.Commune = f.Value("delivery_commune")
	}
	for _, c := range allocation.Criteria() {
		d.Criteria = append(d.Criteria, criterionBox{Value: string(c), Key: c.Key(),
			Checked: f != nil && slices.Contains(f.Values["criteria"], string(c))})
	}
	for n := 1; n <= rows; n++ {
		ns := strconv.Itoa(n)
		r := requestRow{N: n, Label: t("request.line_label", map[string]string{"line": ns})}
		var errs []string
		for _, in := range requestLineInputs {
			name := allocation.FormLineField(n, in.field)
			label := t(in.label, nil)
			r.Cells = append(r.Cells, requestCell{Name: name, Value: f.Value(name), Size: in.size, Mode: in.mode,
				Label: t("request.line_field", map[string]string{"line": ns, "field": label}), Placeholder: t(in.placeholder, nil),
				Invalid: f.Error(name) != ""})
			if msg := plain[name]; msg != "" {
				errs = append(errs, t("request.row_field_error", map[string]string{"field": label, "message": msg}))
			}
		}
		r.Errors = strings.Join(errs, " ")
		d.Rows = append(d.Rows, r)
	}
	return d
}

// requestRowCount reads how many lines a form shows: def unless asked for more,
// never more than allocation.MaxLines.
func requestRowCount(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < def {
		return def
	}
	return min(n, allocation.MaxLines)
}

// requestBeneficiary returns the organisation a request is filed for: the
// caller's own, or the one an operator chose (raw is its id). Anything but
// an active beneficiary organisation is a field error under "beneficiary".
func (s *Server) requestBeneficiary(c *echo.Context, raw string) (account.Organisation, error) {
	p := principalOf(c)
	id := p.OrgID
	if p.IsOperator() {
		id, _ = strconv.ParseInt(raw, 10, 64)
	}
	invalid := berriz.FieldErrors{"beneficiary": "request.error.beneficiary_invalid"}.Err()
	if id <= 0 {
		return account.Organisation{}, invalid
	}
	o, err := s.store.Organisation(c.Request().Context(), id)
	switch {
	case berriz.KindOf(err) == berriz.NotFound:
		return account.Organisation{}, invalid
	case err != nil:
		return account.Organisation{}, err
	case !o.Active || o.Role() != account.RoleBeneficiary:
		return account.Organisation{}, invalid
	}
	return o, nil
}

type requestChoosePage struct {
	Orgs   []account.Organisation
	Choice string
}

// requestChoose asks an operator for whom the request is filed.
func (s *Server) requestChoose(c *echo.Context, status int, f *Form) error {
	orgs, err := s.store.ActiveOrganisations(c.Request().Context(), account.RoleBeneficiary, maxBeneficiaryChoices)
	if err != nil {
		return err
	}
	return s.renderForm(c, status, "request_choose", "request.new.title", f, requestChoosePage{Orgs: orgs, Choice: f.Value("beneficiary")})
}

// requestNew shows the request form: for the caller's organisation, or
// for the beneficiary an operator chose (first the choice).
func (s *Server) requestNew(c *echo.Context) error {
	p := principalOf(c)
	if p.IsOperator() && c.QueryParam("beneficiary") == "" {
		return s.requestChoose(c, http.StatusOK, nil)
	}
	org, err := s.requestBeneficiary(c, c.QueryParam("beneficiary"))
	if err != nil {
		f := s.newForm(c, requestLabels())
		status, ok := s.failForm(c, f, err)
		if !ok || !p.IsOperator() {
			return err
		}
		return s.requestChoose(c, status, f)
	}
	d := s.requestFormData(c, nil, requestRowCount(c.QueryParam("lines"), requestFormRows), org, nil)
	return s.renderForm(c, http.StatusOK, "request_new", "request.new.title", nil, d)
}

// requestCreate files a request typed in the form; any mistake shows the
// form again with every error and what was typed.
func (s *Server) requestCreate(c *echo.Context) error {
	lang := langOf(c)
	p := principalOf(c)
	labels := requestLabels()
	f := s.newForm(c, labels)
	org, err := s.requestBeneficiary(c, f.Values.Get("beneficiary"))
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok || !p.IsOperator() {
			return err
		}
		return s.requestChoose(c, status, f)
	}
	rows := max(1, min(requestRowCount(f.Values.Get("rows"), 1), allocation.MaxLines))
	in := allocation.RequestInput{Purpose: f.Values.Get("purpose"), DeliveryCommune: f.Values.Get("delivery_commune"),
		Criteria: f.Values["criteria"]}
	for n := 1; n <= rows; n++ {
		var li allocation.LineInput
		for _, field := range allocation.LineFields {
			li.Set(field, f.Values.Get(allocation.FormLineField(n, field)))
		}
		in.Lines = append(in.Lines, li)
	}
	req, fe := in.Parse()
	plain := map[string]string{}
	if fe == nil {
		created, cerr := s.store.CreateRequest(c.Request().Context(), org.ID, p, req)
		if cerr == nil {
			s.SetFlash(c, "success", "request.flash.created")
			return c.Redirect(http.StatusSeeOther, requestURL(c, created.ID))
		}
		err = cerr
	} else {
		for n := 1; n <= rows; n++ {
			for _, li := range requestLineInputs {
				name := allocation.FormLineField(n, li.field)
				if key, ok := fe[name]; ok {
					delete(fe, name)
					plain[name] = s.cat.T(lang, key, nil)
					labels[name] = li.label
					f.Errors[name] = s.cat.T(lang, "request.row_error", map[string]string{"row": strconv.Itoa(n), "message": plain[name]})
				}
			}
		}
		for field, key := range fe {
			f.Errors[field] = s.cat.T(lang, key, nil)
		}
		err = berriz.E(berriz.Invalid, "error.invalid_fields")
	}
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	if len(f.Errors) > 0 {
		f.Message = "" // the summary lists them
	}
	return s.renderForm(c, status, "request_new", "request.new.title", f, s.requestFormData(c, f, rows, org, plain))
}
