package server

import (
	"net/http"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The erasure certificate: issued when a device enters wiped
// (afterTransition), or on its first download when that failed; served to
// whoever sees the device (its donor too); checked by anyone holding its
// URL at /c/<token>, a public page that confirms it is genuine without the
// technicians' names or the donor's details.

// checkURL is where a certificate is checked, as printed on it.
func (s *Server) checkURL(token string) string {
	base := ""
	if s.cfg.PublicURL != nil {
		base = strings.TrimSuffix(s.cfg.PublicURL.String(), "/")
	}
	return base + "/c/" + token
}

// issueCertificate returns the certificate of a device's current cycle,
// issuing it (in the request's language) when it is due and not issued
// yet: its PDF is rendered and stored under a random key by the store's
// callback, under the device's lock; a blob stored for a certificate that
// was then not recorded is deleted.
func (s *Server) issueCertificate(c *echo.Context, deviceID int64, scope postgres.DonationScope) (postgres.ErasureCertificate, error) {
	lang := langOf(c)
	ctx := c.Request().Context()
	stored := ""
	cert, _, err := s.store.IssueErasureCertificate(ctx, deviceID, scope, string(lang), principalOf(c),
		certificateWriter(ctx, s.files, deviceID, s.writeCertificatePDF(lang), &stored))
	if err != nil && stored != "" {
		s.dropBlobs(c, stored)
	}
	return cert, err
}

// issueCertificateAfter issues the certificate of a device that entered
// wiped. The step is committed whatever happens here: a failure is
// logged, and the first download issues the certificate instead.
func (s *Server) issueCertificateAfter(c *echo.Context, deviceID int64) {
	if _, err := s.issueCertificate(c, deviceID, postgres.DonationScope{}); err != nil {
		s.logFor(c).Warn("erasure certificate not issued; the first download will issue it", "device", deviceID,
			"error", err.Error())
	}
}

// deviceCertificate finds the certificate a device's download serves: its
// current cycle's (issued now if due and not issued yet), or else the
// latest of an earlier cycle.
func (s *Server) deviceCertificate(c *echo.Context, d postgres.DeviceDetail, scope postgres.DonationScope) (postgres.ErasureCertificate, error) {
	ctx := c.Request().Context()
	certs, err := s.store.DeviceCertificates(ctx, d.ID)
	if err != nil {
		return postgres.ErasureCertificate{}, err
	}
	if len(certs) > 0 && certs[0].Cycle == d.Cycle {
		return certs[0], nil
	}
	st, facts, err := s.store.DeviceFacts(ctx, d.ID, scope)
	if err != nil {
		return postgres.ErasureCertificate{}, err
	}
	if postgres.CertificateDue(st.State, facts) {
		return s.issueCertificate(c, d.ID, scope)
	}
	if len(certs) > 0 {
		return certs[0], nil
	}
	return postgres.ErasureCertificate{}, berriz.E(berriz.NotFound, "erasure.error.no_certificate")
}

// certificatePDF sends a device's certificate, kept as issued.
func (s *Server) certificatePDF(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	cert, err := s.deviceCertificate(c, d, scope)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	etag := `"` + cert.SHA256 + `"`
	h.Set("ETag", etag)
	// The URL serves the current cycle's certificate: revalidate.
	h.Set("Cache-Control", "private, no-cache")
	if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return s.sendBlob(c, blob{Key: cert.Key, ContentType: "application/pdf", Name: cert.Number + ".pdf", Cache: "private, no-cache"})
}

// certificateCheckPage is what the public check page shows: the facts as
// certified, without people's names.
type certificateCheckPage struct {
	Number, Issued, SHA256, Category, Brand, Model, Serial, Tag, Workshop string
	KB                                                                    int64 // the PDF's size, rounded up
	Drives                                                                []checkedDrive
}

// checkedDrive is one certified drive on the check page.
type checkedDrive struct {
	erasure.CertifiedDrive
	TypeKey, MethodKey, ToolKey, VerificationKey string
	Started, Ended                               string
}

// certificateCheck is the public page a certificate's URL leads to.
func (s *Server) certificateCheck(c *echo.Context) error {
	cert, err := s.store.CertificateByToken(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	lang := langOf(c)
	k := cert.Content
	data := certificateCheckPage{Number: cert.Number, Issued: accountDate(lang, cert.IssuedAt), SHA256: cert.SHA256, KB: (cert.Size + 999) / 1000,
		Category: categoryKey(k.Device.Category), Brand: k.Device.Brand, Model: k.Device.Model, Serial: k.Device.Serial,
		Tag: k.Tag, Workshop: k.Workshop}
	for _, d := range k.Drives {
		data.Drives = append(data.Drives, checkedDrive{CertifiedDrive: d, TypeKey: "device.drive." + d.Drive.Type,
			MethodKey: d.Method.Key(), ToolKey: d.Tool.Key(), VerificationKey: d.Verification.Key(),
			Started: accountDate(lang, d.StartedAt), Ended: accountDate(lang, d.EndedAt)})
	}
	// Anyone holding the URL may look; no search engine should.
	c.Response().Header().Set("X-Robots-Tag", "noindex")
	return s.render(c, http.StatusOK, "certificate_check", "erasure.check.title", data)
}
