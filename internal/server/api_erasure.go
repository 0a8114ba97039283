package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The erasures of the JSON API: the same reads, checks and store calls as
// the erasure page. A record is sent as multipart/form-data with the
// page's own fields (drive, method, tool, tool_version, passes,
// verification, started_at, ended_at, notes) and the log file in "log":
// one parser for both faces, and the log travels as a file, not base64.

// apiErasure is a record with the URL of its log.
type apiErasure struct {
	postgres.Erasure
	LogURL string `json:"log_url,omitempty"`
}

// apiCertificate is an issued certificate with where to get and check it.
type apiCertificate struct {
	postgres.ErasureCertificate
	URL      string `json:"url"`
	CheckURL string `json:"check_url"`
}

// apiErasureList is a device's erasure state: its drives, the current
// cycle's records (a page of them), and the certificate.
type apiErasureList struct {
	Cycle  int                     `json:"cycle"`
	Drives []postgres.DriveErasure `json:"drives"`
	// ErasureFailed flags a device held back by a failed verification.
	ErasureFailed bool `json:"erasure_failed"`
	// Certificate is the current cycle's, once issued; CertificateDue:
	// due but not issued yet (GET certificate.pdf issues it).
	Certificate    *apiCertificate `json:"certificate"`
	CertificateDue bool            `json:"certificate_due"`
	apiPage[apiErasure]
}

func apiErasureOf(e postgres.Erasure) apiErasure {
	out := apiErasure{Erasure: e}
	if e.Log != nil {
		out.LogURL = deviceAPIPath(e.DeviceID) + "/erasures/" + strconv.FormatInt(e.ID, 10) + "/log"
	}
	return out
}

// apiErasures is GET /devices/{id}/erasures.
func (s *Server) apiErasures(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	drives, err := s.store.DriveErasures(ctx, d.ID)
	if err != nil {
		return err
	}
	records, page, err := s.store.DeviceErasures(ctx, d.ID, pageParam(c), postgres.PageSize)
	if err != nil {
		return err
	}
	certs, err := s.store.DeviceCertificates(ctx, d.ID)
	if err != nil {
		return err
	}
	st, facts, err := s.store.DeviceFacts(ctx, d.ID, scope)
	if err != nil {
		return err
	}
	out := apiErasureList{Cycle: d.Cycle, Drives: drives, ErasureFailed: d.ErasureFailed}
	if out.Drives == nil {
		out.Drives = []postgres.DriveErasure{}
	}
	items := make([]apiErasure, len(records))
	for i, e := range records {
		items[i] = apiErasureOf(e)
	}
	out.apiPage = pageOf(items, page)
	if len(certs) > 0 && certs[0].Cycle == d.Cycle {
		out.Certificate = &apiCertificate{ErasureCertificate: certs[0], URL: deviceAPIPath(d.ID) + "/certificate.pdf",
			CheckURL: s.checkURL(certs[0].Token)}
	}
	out.CertificateDue = out.Certificate == nil && postgres.CertificateDue(st.State, facts)
	return apiJSON(c, http.StatusOK, out)
}

// apiRecordErasure is POST /devices/{id}/erasures, multipart/form-data.
func (s *Server) apiRecordErasure(c *echo.Context) error {
	if err := requireMediaType(c, "multipart/form-data"); err != nil {
		return err
	}
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	in, log, name, err := readErasure(c)
	if err != nil {
		return err
	}
	e, err := s.addErasure(c, d.ID, scope, in, log, name)
	if err != nil {
		return withFreshState(c, s, d.ID, scope, err)
	}
	return apiJSON(c, http.StatusCreated, apiErasureOf(e))
}
