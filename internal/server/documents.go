package server

import (
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/web"
)

// Documents writes the PDFs berriz issues and keeps — erasure certificates
// and handover receipts — exactly as the pages do: the same wording, dates
// in the territory's zone, check URLs under the public URL, storage keys
// named alike. It is for commands that act without a request: berriz demo
// issues the certificates and receipts of its deliveries with it, so that
// what it stores is what the server would have stored.
type Documents struct {
	// s holds only what documents use: the configuration and the catalogs.
	s *Server
}

// NewDocuments loads the translation catalogs; cfg gives the public URL.
func NewDocuments(cfg config.Config) (*Documents, error) {
	cat, err := i18n.Load(web.Catalogs())
	if err != nil {
		return nil, err
	}
	return &Documents{s: &Server{cfg: cfg, cat: cat}}, nil
}

// docLang reads a language code, the default for an unknown one.
func docLang(lang string) i18n.Lang {
	if l, ok := i18n.Parse(lang); ok {
		return l
	}
	return i18n.Default
}

// ErasureCertificatePDF writes a device's erasure certificate in lang, as
// issueCertificate does.
func (d *Documents) ErasureCertificatePDF(c erasure.Certificate, token, lang string) ([]byte, error) {
	return c.PDF(d.s.checkURL(token), d.s.certificateWording(docLang(lang)))
}

// CertificateKey is a new storage key for a device's certificate.
func (d *Documents) CertificateKey(deviceID int64) string {
	return newFileKey(deviceID, "certificate") + ".pdf"
}

// HandoverReceiptPDF writes a handover's receipt in lang, as
// prepareHandover does.
func (d *Documents) HandoverReceiptPDF(r allocation.Receipt, lang string) ([]byte, error) {
	return r.PDF(d.s.checkURL, d.s.receiptWording(docLang(lang)))
}

// ReceiptKey is a new storage key for the receipt of a request's handover.
func (d *Documents) ReceiptKey(requestID int64) string {
	return newReceiptKey(requestID)
}
