package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"path"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// A device's certified erasure: the page listing its drives with where
// each one's erasure stands, the records of the current cycle with their
// tools' logs, the certificate, and for the workshop the form recording an
// erasure; the same operations for the JSON API (api_erasure.go); the
// certificate itself in pages_erasure_certificate.go. Logs and
// certificates are served through the server under the device's scope,
// never by a direct storage URL.

// erasureRoutes lists the routes of this area; routes() appends them to
// the table.
func (s *Server) erasureRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodGet, "/devices/:id/erasure", "device_erasure", Inventory, s.erasurePage},
		{http.MethodPost, "/devices/:id/erasures", "device_erasure_record", Workshop, s.erasureRecord},
		{http.MethodGet, "/devices/:id/erasures/:erasure/log", "device_erasure_log", Inventory, s.erasureLog},
		{http.MethodGet, "/devices/:id/certificate.pdf", "device_certificate", Inventory, s.certificatePDF},
		{http.MethodGet, "/c/:token", "certificate_check", Public, s.certificateCheck},
		{http.MethodGet, v1 + "/devices/:id/erasures", "api_device_erasures", Inventory, s.apiErasures},
		{http.MethodPost, v1 + "/devices/:id/erasures", "api_device_erasure_record", Workshop, s.apiRecordErasure},
		{http.MethodGet, v1 + "/devices/:id/erasures/:erasure/log", "api_device_erasure_log", Inventory, s.erasureLog},
		{http.MethodGet, v1 + "/devices/:id/certificate.pdf", "api_device_certificate", Inventory, s.certificatePDF},
	}
}

// erasuresPerPage keeps the page within its DOM budget next to eight
// drives and the form with its error summary.
const erasuresPerPage = 8

// erasureLabels name the form's fields for the error summary.
var erasureLabels = map[string]string{
	erasure.FieldDrive: "erasure.field.drive", erasure.FieldMethod: "erasure.field.method", erasure.FieldTool: "erasure.field.tool",
	erasure.FieldToolVersion: "erasure.field.tool_version", erasure.FieldPasses: "erasure.field.passes",
	erasure.FieldVerification: "erasure.field.verification", erasure.FieldStartedAt: "erasure.field.started_at",
	erasure.FieldEndedAt: "erasure.field.ended_at", erasure.FieldNotes: "erasure.field.notes", erasure.FieldLog: "erasure.field.log",
}

// readErasure reads a record sent as a form (the page's, or the API's
// multipart body): its fields, and the log file when one is attached.
func readErasure(c *echo.Context) (erasure.Input, []byte, string, error) {
	in := erasure.Input{}
	for field := range erasureLabels {
		if field != erasure.FieldLog {
			in[field] = c.FormValue(field)
		}
	}
	fh, err := c.FormFile(erasure.FieldLog)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return in, nil, "", erasure.LogTooLarge()
	case errors.Is(err, http.ErrMissingFile), errors.Is(err, http.ErrNotMultipart):
		return in, nil, "", nil // no log attached
	case err != nil:
		return in, nil, "", berriz.FieldErrors{erasure.FieldLog: "erasure.error.log_type"}.Err()
	case fh.Size > erasure.MaxLogBytes:
		return in, nil, "", erasure.LogTooLarge()
	}
	f, err := fh.Open()
	if err != nil {
		return in, nil, "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, erasure.MaxLogBytes+1))
	if err != nil {
		return in, nil, "", err
	}
	if len(data) > erasure.MaxLogBytes {
		return in, nil, "", erasure.LogTooLarge()
	}
	return in, data, cleanName(fh.Filename), nil
}

// addErasure checks a record and its log, stores the log under a random
// key, and records the erasure; the log's blob is deleted when the record
// is refused. Every field error is reported at once, before any upload.
func (s *Server) addErasure(c *echo.Context, deviceID int64, scope postgres.DonationScope, in erasure.Input, log []byte,
	logName string) (postgres.Erasure, error) {
	ref, rec, fe := in.Parse(accountZone())
	for field, key := range rec.Validate(s.now()) {
		fe.Add(field, key)
	}
	var l *postgres.ErasureLog
	ext := ""
	if log != nil {
		ct, e, err := erasure.CheckLog(log)
		if berriz.KindOf(err) == berriz.TooLarge {
			return postgres.Erasure{}, err
		}
		if err != nil {
			for field, key := range berriz.As(err).Fields {
				fe.Add(field, key)
			}
		}
		l, ext = &postgres.ErasureLog{Name: logName, ContentType: ct, Size: int64(len(log)), SHA256: sha256Hex(log)}, e
	} else if rec.Tool.LogRequired() {
		fe.Add(erasure.FieldLog, "erasure.error.log_required")
	}
	if err := fe.Err(); err != nil {
		return postgres.Erasure{}, err
	}
	ctx := c.Request().Context()
	if l != nil {
		l.Key = newFileKey(deviceID, "erasure-log") + ext
		if _, err := s.files.Put(ctx, l.Key, bytes.NewReader(log), l.Size, l.ContentType); err != nil {
			return postgres.Erasure{}, err
		}
	}
	e, err := s.store.RecordErasure(ctx, deviceID, scope, postgres.NewErasure{Drive: ref, Record: rec, Log: l, Now: s.now()},
		principalOf(c))
	if err != nil {
		if l != nil {
			s.dropBlobs(c, l.Key)
		}
		return postgres.Erasure{}, err
	}
	return e, nil
}

// erasureRecord records an erasure from the page's form; a refused form
// shows the page again with its errors and what was typed.
func (s *Server) erasureRecord(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, erasureLabels)
	in, log, name, err := readErasure(c)
	var e postgres.Erasure
	if err == nil {
		e, err = s.addErasure(c, d.ID, scope, in, log, name)
	}
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		return s.erasureRender(c, status, d, scope, f)
	}
	if e.Verification == erasure.Failed {
		s.SetFlash(c, "warning", "erasure.flash.failed")
	} else {
		s.SetFlash(c, "success", "erasure.flash.recorded")
	}
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID)+"/erasure")
}

// erasureLog sends a record's log through the server, under the device's
// scope, as an attachment: a text log is never rendered as a page.
func (s *Server) erasureLog(c *echo.Context) error {
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	eid, err := idParam(c, "erasure")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	e, err := s.store.DeviceErasure(ctx, id, eid, scope)
	if err != nil {
		return err
	}
	if e.Log == nil {
		return berriz.E(berriz.NotFound, "erasure.error.no_log")
	}
	name := e.Log.Name
	if name == "" {
		name = "erasure-" + strconv.FormatInt(e.ID, 10) + path.Ext(e.Log.Key)
	}
	// A record never changes; a text log is never rendered as a page.
	return s.sendBlob(c, blob{Key: e.Log.Key, ContentType: e.Log.ContentType, Name: name})
}

// mayRecordErasure reports whether the viewer records erasures: the
// workshop's staff and operators (the store checks the device's state).
func mayRecordErasure(c *echo.Context) bool {
	return account.Authorize(Workshop, principalOf(c), true) == nil
}
