package server

import (
	"bytes"
	"context"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/storage"
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

// CertificateWriter is the callback IssueErasureCertificate calls, as
// issueCertificate passes it: the device's certificate written in lang
// and stored in files under a new key, set in *stored once stored (for
// the caller to delete should the store then not record it).
func (d *Documents) CertificateWriter(ctx context.Context, files storage.Store, deviceID int64, lang string,
	stored *string) func(erasure.Certificate, string) (postgres.CertificateBlob, error) {
	return certificateWriter(ctx, files, deviceID, d.s.writeCertificatePDF(docLang(lang)), stored)
}

// ReceiptWriter is the callback PrepareHandover calls, as prepareHandover
// passes it: the handover's receipt written in lang and stored in files
// under a new key, set in *stored once stored.
func (d *Documents) ReceiptWriter(ctx context.Context, files storage.Store, lang string,
	stored *string) func(allocation.Receipt) (postgres.CertificateBlob, error) {
	return receiptWriter(ctx, files, d.s.writeReceiptPDF(docLang(lang)), stored)
}

// documentWording writes the documents in lang (certificates, receipts;
// donor reports change its dates and add numbers), dates as the account
// pages write them.
func (s *Server) documentWording(lang i18n.Lang) i18n.Wording {
	return i18n.Wording{Lang: string(lang),
		T:    func(key string, args map[string]string) string { return s.cat.T(lang, key, args) },
		Time: func(t time.Time) string { return accountDate(lang, t) }}
}

// writeCertificatePDF writes a certificate in lang with its check URL.
func (s *Server) writeCertificatePDF(lang i18n.Lang) func(erasure.Certificate, string) ([]byte, error) {
	return func(c erasure.Certificate, token string) ([]byte, error) {
		return c.PDF(s.checkURL(token), s.documentWording(lang))
	}
}

// writeReceiptPDF writes a handover's receipt in lang with its check URLs.
func (s *Server) writeReceiptPDF(lang i18n.Lang) func(allocation.Receipt) ([]byte, error) {
	return func(r allocation.Receipt) ([]byte, error) { return r.PDF(s.checkURL, s.documentWording(lang)) }
}

// certificateWriter stores the certificate render writes under a new key
// of the device's files.
func certificateWriter(ctx context.Context, files storage.Store, deviceID int64,
	render func(erasure.Certificate, string) ([]byte, error), stored *string) func(erasure.Certificate, string) (postgres.CertificateBlob, error) {
	return func(c erasure.Certificate, token string) (postgres.CertificateBlob, error) {
		data, err := render(c, token)
		if err != nil {
			return postgres.CertificateBlob{}, err
		}
		return storePDF(ctx, files, newFileKey(deviceID, "certificate")+".pdf", data, stored)
	}
}

// receiptWriter stores the receipt render writes under a new key of the
// request's handovers.
func receiptWriter(ctx context.Context, files storage.Store, render func(allocation.Receipt) ([]byte, error),
	stored *string) func(allocation.Receipt) (postgres.CertificateBlob, error) {
	return func(r allocation.Receipt) (postgres.CertificateBlob, error) {
		data, err := render(r)
		if err != nil {
			return postgres.CertificateBlob{}, err
		}
		return storePDF(ctx, files, newReceiptKey(r.RequestID), data, stored)
	}
}

// storePDF stores a document under key, sets *stored to key once stored,
// and returns the blob the store records.
func storePDF(ctx context.Context, files storage.Store, key string, data []byte, stored *string) (postgres.CertificateBlob, error) {
	if _, err := files.Put(ctx, key, bytes.NewReader(data), int64(len(data)), "application/pdf"); err != nil {
		return postgres.CertificateBlob{}, err
	}
	*stored = key
	return postgres.CertificateBlob{Key: key, Size: int64(len(data)), SHA256: sha256Hex(data)}, nil
}
