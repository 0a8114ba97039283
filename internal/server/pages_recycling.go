package server

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/recycling"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// Recycling batches: the devices a workshop cannot reuse wait in its open
// batch (internal/postgres/recycling.go) until they are handed to a WEEE
// channel with the recycler's certificate; then they are recycled, all in
// one go. The batch pages list a workshop's batches (operators: every
// workshop's), show a batch's devices and, while it is open, the handover
// form; the device's own recycling page (pages_recycling_device.go) adds
// or takes out one device. The JSON API (api_recycling.go) makes the same
// calls.

// recyclingRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) recyclingRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodGet, "/recycling", "recycling", Workshop, s.recyclingList},
		{http.MethodGet, "/recycling/:id", "recycling_batch", Workshop, s.recyclingBatch},
		{http.MethodPost, "/recycling/:id/handover", "recycling_handover", Workshop, s.recyclingHandover},
		{http.MethodGet, "/recycling/:id/certificate", "recycling_certificate", Workshop, s.recyclingCertificate},
		{http.MethodGet, "/devices/:id/recycling", "device_recycling", Workshop, s.deviceRecycling},
		{http.MethodPost, "/devices/:id/recycling", "device_recycling_add", Workshop, s.deviceRecyclingAdd},
		{http.MethodPost, "/devices/:id/recycling/remove", "device_recycling_remove", Workshop, s.deviceRecyclingRemove},
		{http.MethodGet, v1 + "/recycling", "api_recycling_batches", Workshop, s.apiRecyclingBatches},
		{http.MethodGet, v1 + "/recycling/:id", "api_recycling_batch", Workshop, s.apiRecyclingBatch},
		{http.MethodGet, v1 + "/recycling/:id/devices", "api_recycling_devices", Workshop, s.apiRecyclingDevices},
		{http.MethodPost, v1 + "/recycling/:id/handover", "api_recycling_handover", Workshop, s.apiRecyclingHandover},
		{http.MethodGet, v1 + "/recycling/:id/certificate", "api_recycling_certificate", Workshop, s.recyclingCertificate},
		{http.MethodGet, v1 + "/devices/:id/recycling", "api_device_recycling", Workshop, s.apiDeviceRecycling},
		{http.MethodPost, v1 + "/devices/:id/recycling", "api_device_recycling_add", Workshop, s.apiDeviceRecyclingAdd},
		{http.MethodDelete, v1 + "/devices/:id/recycling", "api_device_recycling_remove", Workshop, s.apiDeviceRecyclingRemove},
	}
}

var handoverLabels = map[string]string{
	recycling.FieldRecycler: "recycling.field.recycler", recycling.FieldHandedOverOn: "recycling.field.handed_over_on",
	recycling.FieldTotalWeightKg: "recycling.field.total_weight_kg", recycling.FieldCertificateRef: "recycling.field.certificate_ref",
	recycling.FieldCertificate: "recycling.field.certificate",
}

func batchURL(c *echo.Context, id int64) string {
	return localURL(langOf(c), "/recycling/"+strconv.FormatInt(id, 10))
}

type recyclingListPage struct {
	Batches  []postgres.RecyclingBatch
	Total    int
	Pager    Pager
	Operator bool
}

// recyclingList shows the batches of the workshop (operators: all).
func (s *Server) recyclingList(c *echo.Context) error {
	p := principalOf(c)
	batches, page, err := s.store.RecyclingBatches(c.Request().Context(), scope(p), pageParam(c))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "recycling", "recycling.title",
		recyclingListPage{Batches: batches, Total: page.Total, Pager: s.pager(c, page), Operator: p.IsOperator()})
}

// batchLoad reads the batch of the URL, in the caller's scope.
func (s *Server) batchLoad(c *echo.Context) (postgres.RecyclingBatch, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return postgres.RecyclingBatch{}, err
	}
	return s.store.RecyclingBatch(c.Request().Context(), id, scope(principalOf(c)))
}

type batchPage struct {
	Batch   postgres.RecyclingBatch
	Devices []batchDevice
	Pager   Pager
	Open    bool
	Today   string // the date field's default and maximum
	CertMB  int
	CertKB  string // the stored certificate's size
}

// batchDevice is a device of a batch as its page lists it.
type batchDevice struct {
	ID                     int64
	Tag                    string // printed form, "" before intake
	Category, Brand, Model string
	WeightKg               float64
}

// recyclingBatch shows a batch: its devices and, while it is open, the
// handover form; once handed over, what was recorded and the certificate.
func (s *Server) recyclingBatch(c *echo.Context) error {
	b, err := s.batchLoad(c)
	if err != nil {
		return err
	}
	return s.batchRender(c, http.StatusOK, b, nil)
}

func (s *Server) batchRender(c *echo.Context, status int, b postgres.RecyclingBatch, f *Form) error {
	devices, page, err := s.store.RecyclingBatchDevices(c.Request().Context(), b.ID, pageParam(c))
	if err != nil {
		return err
	}
	d := batchPage{Batch: b, Pager: s.pager(c, page), Open: b.State == recycling.Open,
		Today: s.now().Format("2006-01-02"), CertMB: recycling.MaxCertificateBytes / 1_000_000,
		CertKB: strconv.FormatFloat(float64(b.CertificateSize)/1000, 'f', 1, 64)}
	for _, v := range devices {
		bd := batchDevice{ID: v.ID, Category: v.Category, Brand: v.Brand, Model: v.Model, WeightKg: v.WeightKg}
		if code, err := tag.Parse(v.Tag); err == nil {
			bd.Tag = code.String()
		}
		d.Devices = append(d.Devices, bd)
	}
	return s.renderForm(c, status, "recycling_batch", "recycling.batch.title", f, d)
}

// recyclingHandover records the handover of a batch from its form.
func (s *Server) recyclingHandover(c *echo.Context) error {
	b, err := s.batchLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, handoverLabels)
	in := recycling.Input{Recycler: f.Values.Get(recycling.FieldRecycler), HandedOverOn: f.Values.Get(recycling.FieldHandedOverOn),
		TotalWeightKg: f.Values.Get(recycling.FieldTotalWeightKg), CertificateRef: f.Values.Get(recycling.FieldCertificateRef)}
	if _, err := s.handOver(c, b, in); err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		if fresh, lerr := s.store.RecyclingBatch(c.Request().Context(), b.ID, 0); lerr == nil {
			b = fresh
		}
		return s.batchRender(c, status, b, f)
	}
	s.SetFlash(c, "success", "recycling.flash.handed_over")
	return c.Redirect(http.StatusSeeOther, batchURL(c, b.ID))
}

// handOver checks a handover and its certificate (the "certificate" file
// of the request), stores the certificate, then hands the batch over; the
// certificate is removed again when the handover fails. The form and the
// API share it.
func (s *Server) handOver(c *echo.Context, b postgres.RecyclingBatch, in recycling.Input) (postgres.RecyclingBatch, error) {
	h, fe := in.Parse(s.now())
	if fe == nil {
		fe = berriz.FieldErrors{}
	}
	tooLarge := berriz.E(berriz.TooLarge, "recycling.error.certificate_too_large").
		WithArg("mb", strconv.Itoa(recycling.MaxCertificateBytes/1_000_000))
	data, name, err := readUpload(c, recycling.FieldCertificate, recycling.MaxCertificateBytes, tooLarge)
	if err == nil {
		err = recycling.CheckCertificate(data)
	}
	if be := berriz.As(err); err != nil {
		if be.Kind != berriz.Invalid {
			return postgres.RecyclingBatch{}, err
		}
		key := be.Fields[recycling.FieldCertificate]
		if key == "" || key == "device.error.file_required" {
			key = "recycling.error.certificate_required"
		}
		fe.Add(recycling.FieldCertificate, key)
	}
	if err := fe.Err(); err != nil {
		return postgres.RecyclingBatch{}, err
	}
	if b.State != recycling.Open {
		return postgres.RecyclingBatch{}, berriz.E(berriz.Conflict, "recycling.error.handed_over").
			WithArg("batch", strconv.FormatInt(b.ID, 10))
	}
	cert := postgres.Certificate{Key: "recycling/" + strconv.FormatInt(b.ID, 10) + "/certificate-" + randomName() + ".pdf",
		Name: name, Size: int64(len(data)), SHA256: sha256Hex(data)}
	if _, err := s.files.Put(c.Request().Context(), cert.Key, bytes.NewReader(data), cert.Size, "application/pdf"); err != nil {
		return postgres.RecyclingBatch{}, err
	}
	out, err := s.store.HandOverRecycling(c.Request().Context(), b.ID, scope(principalOf(c)), h, cert, principalOf(c))
	if err != nil {
		s.dropBlobs(c, cert.Key)
		return postgres.RecyclingBatch{}, s.withRefusalReason(c, err)
	}
	return out, nil
}

// withRefusalReason puts the lifecycle's reason into the message of a
// handover refused because of one device.
func (s *Server) withRefusalReason(c *echo.Context, err error) error {
	be := berriz.As(err)
	var inner *berriz.Error
	if be.Message != "recycling.error.device_refused" || !errors.As(be.Err, &inner) {
		return err
	}
	return be.WithArg("reason", s.errorText(langOf(c), inner))
}

// recyclingCertificate sends the recycler's certificate of a batch handed
// over, through the server, after the scope check.
func (s *Server) recyclingCertificate(c *echo.Context) error {
	b, err := s.batchLoad(c)
	if err != nil {
		return err
	}
	if b.CertificateKey == "" {
		return berriz.E(berriz.NotFound, "recycling.error.no_certificate")
	}
	name := b.CertificateName
	if name == "" {
		name = "recycling-" + strconv.FormatInt(b.ID, 10) + ".pdf"
	}
	// A handed-over batch never changes.
	return s.sendBlob(c, blob{Key: b.CertificateKey, ContentType: "application/pdf", Name: name})
}
