package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The donations of the JSON API: the same scoping (donationScope), the
// same validation (package donation) and the same store calls as the
// donation pages.

// apiDonationLine is a device line as a client sends it: quantity and
// weight may be left out (one device, the category's typical weight), as
// on the form.
type apiDonationLine struct {
	Category      string   `json:"category"`
	Brand         string   `json:"brand"`
	Model         string   `json:"model"`
	Serial        string   `json:"serial"`
	Year          int      `json:"year"`
	Quantity      *int     `json:"quantity"`
	StorageDrives int      `json:"storage_drives"`
	WeightKg      *float64 `json:"weight_kg"`
	Notes         string   `json:"notes"`
}

// apiDonationInput is the body of POST /donations.
type apiDonationInput struct {
	DonorOrgID int64             `json:"donor_organisation_id"`
	Title      string            `json:"title"`
	Notes      string            `json:"notes"`
	Lines      []apiDonationLine `json:"lines"`
}

func (l apiDonationLine) line() donation.Line {
	out := donation.Line{Category: l.Category, Brand: l.Brand, Model: l.Model, Serial: l.Serial, Year: l.Year,
		Quantity: 1, StorageDrives: l.StorageDrives, Notes: l.Notes}
	if l.Quantity != nil {
		out.Quantity = *l.Quantity
	}
	if l.WeightKg != nil {
		out.WeightKg = *l.WeightKg
	} else if c, ok := co2.CategoryByID(l.Category); ok {
		out.WeightKg = c.TypicalWeightKg
	}
	return out
}

// apiDonorOrg is the organisation a donation is declared for: the caller's
// own, or the one an operator names. A non-operator naming another
// organisation is refused, never silently redirected to its own.
func apiDonorOrg(c *echo.Context, named int64, f berriz.FieldErrors) int64 {
	p := principalOf(c)
	if p.IsOperator() {
		if named <= 0 {
			f.Add("donor_organisation_id", "donation.error.donor_invalid")
		}
		return named
	}
	if named != 0 && named != p.OrgID {
		f.Add("donor_organisation_id", "donation.error.donor_invalid")
	}
	return p.OrgID
}

// apiDonorFields renames the store's form field "donor" to the API's.
func apiDonorFields(err error, renames map[string]string) error {
	var be *berriz.Error
	if !errors.As(err, &be) || len(be.Fields) == 0 {
		return err
	}
	c := *be
	c.Fields = make(map[string]string, len(be.Fields))
	for k, v := range be.Fields {
		if n, ok := renames[k]; ok {
			k = n
		}
		c.Fields[k] = v
	}
	return &c
}

var donorRename = map[string]string{"donor": "donor_organisation_id"}

func donationLocation(c *echo.Context, id int64) {
	c.Response().Header().Set("Location", "/api/v1/donations/"+strconv.FormatInt(id, 10))
}

// apiDonations lists the donations the caller may see, newest first.
func (s *Server) apiDonations(c *echo.Context) error {
	sc, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	st := donation.State(c.QueryParam("state"))
	if st != "" && !st.Valid() {
		fe := berriz.FieldErrors{}
		fe.Add("state", "donation.error.state_unknown")
		return fe.Err()
	}
	list, page, err := s.store.Donations(c.Request().Context(), postgres.DonationFilter{Scope: sc, State: st, Page: pageParam(c)})
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(list, page))
}

// apiCreateDonation declares a donation from a JSON body: every line is
// checked as the form checks it, and a mistake anywhere saves nothing.
func (s *Server) apiCreateDonation(c *echo.Context) error {
	var in apiDonationInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	h, fe := donation.ParseHeader(in.Title, in.Notes)
	if fe == nil {
		fe = berriz.FieldErrors{}
	}
	donor := apiDonorOrg(c, in.DonorOrgID, fe)
	if len(in.Lines) == 0 {
		fe.Add("lines", "donation.error.no_lines")
	}
	if len(in.Lines) > donation.MaxCSVLines {
		fe.Add("lines", "donation.error.csv_too_many_lines")
	}
	now := s.now()
	lines := make([]donation.Line, 0, len(in.Lines))
	for i, al := range in.Lines {
		l := al.line()
		if err := l.Validate(now); err != nil {
			for field, key := range berriz.As(err).Fields {
				fe.Add("lines["+strconv.Itoa(i)+"]."+field, key)
			}
		}
		lines = append(lines, l)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	d, err := s.store.CreateDonation(c.Request().Context(), donor, principalOf(c), h.Title, h.Notes, lines)
	if err != nil {
		return apiDonorFields(err, donorRename)
	}
	donationLocation(c, d.ID)
	return apiJSON(c, http.StatusCreated, d)
}

// apiLineError is one mistake of an imported file, translated.
type apiLineError struct {
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint"`
	Value   string `json:"value,omitempty"`
}

// apiImportError is the Error object with the mistakes of the file.
type apiImportError struct {
	Error struct {
		jsonErrorBody
		Lines []apiLineError `json:"lines"`
	} `json:"error"`
}

// apiImportDonation declares a donation from a CSV body (the template's
// columns): every line or none. A faulty file answers 400 with each
// mistake in error.lines.
func (s *Server) apiImportDonation(c *echo.Context) error {
	r := c.Request()
	if err := requireMediaType(c, "text/csv"); err != nil {
		return err
	}
	fe := berriz.FieldErrors{}
	named, err := queryID(c, "donor_organisation_id")
	if err != nil {
		return err
	}
	h, hfe := donation.ParseHeader(c.QueryParam("title"), c.QueryParam("notes"))
	for k, v := range hfe {
		fe.Add(k, v)
	}
	donor := apiDonorOrg(c, named, fe)
	lines, lineErrs, err := donation.ParseCSV(http.MaxBytesReader(c.Response(), r.Body, donation.MaxCSVBytes), s.now())
	if err != nil {
		return err // a body too large answers 413
	}
	if len(lineErrs) > 0 {
		return s.importErrors(c, fe, lineErrs)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	d, err := s.store.CreateDonation(r.Context(), donor, principalOf(c), h.Title, h.Notes, lines)
	if err != nil {
		return apiDonorFields(err, donorRename)
	}
	donationLocation(c, d.ID)
	return apiJSON(c, http.StatusCreated, d)
}

// importErrors answers 400 with the Error object extended by the file's
// mistakes, each translated, and the query's field errors if any.
func (s *Server) importErrors(c *echo.Context, fe berriz.FieldErrors, lineErrs []donation.LineError) error {
	lang := langOf(c)
	var body apiImportError
	body.Error.Code = "invalid"
	body.Error.Message = s.cat.T(lang, "donation.import.refused", map[string]string{"count": strconv.Itoa(len(lineErrs))})
	body.Error.RequestID = requestIDOf(c)
	if len(fe) > 0 {
		body.Error.Fields = make(map[string]string, len(fe))
		for k, v := range fe {
			body.Error.Fields[k] = s.cat.T(lang, v, nil)
		}
	}
	body.Error.Lines = make([]apiLineError, len(lineErrs))
	for i, le := range lineErrs {
		body.Error.Lines[i] = apiLineError{Line: le.Line, Column: le.Column, Message: s.cat.T(lang, le.Message, nil),
			Hint: s.cat.T(lang, le.Hint, nil), Value: le.Value}
	}
	return apiJSON(c, http.StatusBadRequest, body)
}

// apiDonation answers one donation the caller may see; any other is not found.
func (s *Server) apiDonation(c *echo.Context) error {
	d, _, err := s.donationLoad(c)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, d)
}

// apiDonationDevices lists one page of a donation's devices.
func (s *Server) apiDonationDevices(c *echo.Context) error {
	d, sc, err := s.donationLoad(c)
	if err != nil {
		return err
	}
	devs, page, err := s.store.DonationDevices(c.Request().Context(), d.ID, sc, pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(devs, page))
}

type apiAssignInput struct {
	WorkshopID int64 `json:"workshop_id"`
}

// apiAssignDonation gives a donation to a workshop (operators).
func (s *Server) apiAssignDonation(c *echo.Context) error {
	var in apiAssignInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	d, err := s.store.AssignWorkshop(c.Request().Context(), id, in.WorkshopID, principalOf(c))
	if err != nil {
		return apiDonorFields(err, map[string]string{"workshop": "workshop_id"})
	}
	return apiJSON(c, http.StatusOK, d)
}

type apiStateInput struct {
	State string `json:"state"`
	From  string `json:"from"`
}

// apiDonationState moves a donation one step forward (its workshop, or the
// operator); from, when given, is the state the client saw.
func (s *Server) apiDonationState(c *echo.Context) error {
	var in apiStateInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	sc, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	fe := berriz.FieldErrors{}
	if to := donation.State(in.State); !to.Valid() {
		fe.Add("state", "donation.error.state_unknown")
	}
	if from := donation.State(in.From); from != "" && !from.Valid() {
		fe.Add("from", "donation.error.state_unknown")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	d, err := s.store.SetDonationState(c.Request().Context(), id, sc, donation.State(in.From), donation.State(in.State), principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, d)
}
