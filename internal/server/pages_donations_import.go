package server

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/donation"
	"github.com/labstack/echo/v5"
)

// The CSV import: upload, then a preview (or the table of every mistake,
// nothing saved), then confirmation. Between preview and confirmation the
// file travels in the page itself, compressed and signed, so any instance
// can confirm it and none keeps it in memory.

// previewRows is how many lines the preview shows (the totals cover all).
const previewRows = 25

var importLabels = map[string]string{"title": "donation.field.title", "notes": "donation.field.notes",
	"file": "donation.field.file", "donor": "donation.field.donor"}

type importFormPage struct {
	donationFormPage
	MaxKiB   int
	MaxLines int
	Errors   []donation.LineError // the first ones, when the file was refused
	ErrTotal int
}

type importPreviewPage struct {
	Title, Notes string
	Donor        string
	Payload      string
	Signature    string
	Lines        []previewLine
	LineTotal    int
	Devices      int
	WeightKg     float64
}

type previewLine struct {
	N int
	donation.Line
}

func (s *Server) importFormData(c *echo.Context, f *Form) (importFormPage, error) {
	d, err := s.donationFormData(c, f, 0)
	return importFormPage{donationFormPage: d, MaxKiB: donation.MaxCSVBytes >> 10, MaxLines: donation.MaxCSVLines}, err
}

func (s *Server) donationImportForm(c *echo.Context) error {
	d, err := s.importFormData(c, nil)
	if err != nil {
		return err
	}
	return s.renderForm(c, http.StatusOK, "donation_import", "donation.import.title", nil, d)
}

// donationTemplate sends the CSV template in the page's language.
func (s *Server) donationTemplate(c *echo.Context) error {
	lang := string(langOf(c))
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="berriz-donation-`+lang+`.csv"`)
	h.Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", donation.TemplateCSV(lang))
}

// importSignature signs an import payload for a donor organisation, with a
// key derived from the secret every instance shares.
func (s *Server) importSignature(donor int64, payload string) string {
	k := hmac.New(sha256.New, s.csrfKey)
	k.Write([]byte("donation-import"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(strconv.FormatInt(donor, 10) + "\x00" + payload))
	return hex.EncodeToString(m.Sum(nil))
}

func packCSV(raw []byte) string {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	_, _ = z.Write(raw) // writes to memory cannot fail
	_ = z.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func unpackCSV(payload string) ([]byte, error) {
	zipped, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, err
	}
	z, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		return nil, err
	}
	// Signed by us, but bounded all the same.
	return io.ReadAll(io.LimitReader(z, donation.MaxCSVBytes+1))
}

// donationImport reads the uploaded file: the error table when anything is
// wrong, the preview otherwise. Nothing is saved either way.
func (s *Server) donationImport(c *echo.Context) error {
	f := s.newForm(c, importLabels)
	h, fe := donation.ParseHeader(f.Values.Get("title"), f.Values.Get("notes"))
	s.headerErrors(c, f, fe)
	var raw []byte
	fh, err := c.FormFile("file")
	if err == nil {
		var file interface {
			io.Reader
			Close() error
		}
		if file, err = fh.Open(); err == nil {
			raw, err = io.ReadAll(io.LimitReader(file, donation.MaxCSVBytes+1))
			_ = file.Close()
		}
		if err != nil {
			return err
		}
	} else {
		f.Errors["file"] = s.cat.T(langOf(c), "donation.error.file_required", nil)
	}
	var lines []donation.Line
	var lineErrs []donation.LineError
	if raw != nil {
		if lines, lineErrs, err = donation.ParseCSV(bytes.NewReader(raw), s.now()); err != nil {
			return err
		}
	}
	if len(f.Errors) > 0 || len(lineErrs) > 0 {
		return s.importFail(c, f, lineErrs)
	}
	donor := donorOrg(c, f)
	payload := packCSV(raw)
	d := importPreviewPage{Title: h.Title, Notes: h.Notes, Donor: strconv.FormatInt(donor, 10), Payload: payload,
		Signature: s.importSignature(donor, payload), LineTotal: len(lines), Devices: donation.Devices(lines),
		WeightKg: donation.TotalWeightKg(lines)}
	for i, l := range lines[:min(len(lines), previewRows)] {
		d.Lines = append(d.Lines, previewLine{N: i + 1, Line: l})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, "donation_preview", "donation.preview.title", d)
}

// importFail shows the upload form again with the form's errors and the
// first mistakes of the file.
func (s *Server) importFail(c *echo.Context, f *Form, lineErrs []donation.LineError) error {
	d, err := s.importFormData(c, f)
	if err != nil {
		return err
	}
	d.Errors, d.ErrTotal = lineErrs[:min(len(lineErrs), previewRows)], len(lineErrs)
	if len(lineErrs) > 0 && len(f.Errors) == 0 {
		f.Message = s.cat.T(langOf(c), "donation.import.refused", map[string]string{"count": strconv.Itoa(len(lineErrs))})
	}
	return s.renderForm(c, http.StatusBadRequest, "donation_import", "donation.import.title", f, d)
}

// donationImportConfirm saves the previewed file: read again and checked
// again, all its lines in one transaction.
func (s *Server) donationImportConfirm(c *echo.Context) error {
	f := s.newForm(c, importLabels)
	donor := donorOrg(c, f)
	payload := f.Values.Get("payload")
	if !hmac.Equal([]byte(s.importSignature(donor, payload)), []byte(f.Values.Get("signature"))) {
		f.Message = s.cat.T(langOf(c), "donation.error.import_tampered", nil)
		return s.importFail(c, f, nil)
	}
	raw, err := unpackCSV(payload)
	if err != nil {
		return berriz.E(berriz.Invalid, "donation.error.import_tampered").WithCause(err)
	}
	h, fe := donation.ParseHeader(f.Values.Get("title"), f.Values.Get("notes"))
	s.headerErrors(c, f, fe)
	lines, lineErrs, err := donation.ParseCSV(bytes.NewReader(raw), s.now())
	if err != nil {
		return err
	}
	if len(f.Errors) > 0 || len(lineErrs) > 0 {
		return s.importFail(c, f, lineErrs)
	}
	created, err := s.store.CreateDonation(c.Request().Context(), donor, principalOf(c), h.Title, h.Notes, lines)
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		d, derr := s.importFormData(c, f)
		if derr != nil {
			return derr
		}
		return s.renderForm(c, status, "donation_import", "donation.import.title", f, d)
	}
	s.SetFlash(c, "success", "donation.flash.imported")
	return c.Redirect(http.StatusSeeOther, donationURL(c, created.ID))
}
