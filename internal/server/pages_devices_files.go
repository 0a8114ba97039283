package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/photo"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// A device's specs form, photos and documents. Photos are re-encoded by
// internal/photo before anything is stored (no metadata survives);
// documents are PDFs kept as sent. Every file is served back through
// deviceFile, under the same scope as the device page, never by a direct
// storage URL.

var deviceSpecsLabels = map[string]string{
	device.FieldCPU: "device.field.cpu", device.FieldRAM: "device.field.ram_gb", device.FieldScreen: "device.field.screen_inches",
	device.FieldBattery: "device.field.battery_health_pct", device.FieldOS: "device.field.os",
	device.FieldCondition: "device.field.condition_notes", "photo": "device.field.photo", "document": "device.field.document",
}

func init() {
	for n := 1; n <= device.MaxDrives; n++ {
		for _, what := range []string{"type", "capacity", "serial"} {
			deviceSpecsLabels[device.DriveField(what, n)] = "device.field.drive_" + what
		}
	}
}

func deviceURL(c *echo.Context, id int64) string {
	return localURL(langOf(c), "/devices/"+strconv.FormatInt(id, 10))
}

// deviceFail shows the device again with a refused form, or returns err
// when it is not the user's doing.
func (s *Server) deviceFail(c *echo.Context, d postgres.DeviceDetail, f *Form, specs device.Input, err error) error {
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	return s.deviceRender(c, status, d, f, specs)
}

// deviceSpecs records the device's specs and drives (its workshop, or the
// operator).
func (s *Server) deviceSpecs(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, deviceSpecsLabels)
	in := device.Input{}
	for k := range deviceSpecsLabels {
		if f.Values.Has(k) {
			in[k] = f.Values.Get(k)
		}
	}
	specs, fe := in.Parse()
	if fe != nil {
		return s.deviceFail(c, d, f, in, fe.Err())
	}
	if err := s.store.SetDeviceSpecs(c.Request().Context(), d.ID, scope, specs); err != nil {
		return s.deviceFail(c, d, f, in, err)
	}
	s.SetFlash(c, "success", "device.flash.specs_saved")
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID))
}

// readUpload reads the uploaded file of field, refusing anything beyond
// limit bytes with a 413 carrying the limits.
func readUpload(c *echo.Context, field string, limit int64, tooLarge *berriz.Error) ([]byte, string, error) {
	fh, err := c.FormFile(field)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, "", tooLarge
		}
		return nil, "", berriz.FieldErrors{field: "device.error.file_required"}.Err()
	}
	if fh.Size > limit {
		return nil, "", tooLarge
	}
	file, err := fh.Open()
	if err != nil {
		return nil, "", err
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, limit+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(data)) > limit {
		return nil, "", tooLarge
	}
	return data, cleanName(fh.Filename), nil
}

// cleanName keeps a file's base name as sent, as printable UTF-8 of at
// most 255 runes: it is shown and used as a download name, never as a key.
func cleanName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if !utf8.ValidString(name) || name == "." || name == "/" {
		return ""
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 255 {
		name = string(r[:255])
	}
	return name
}

// newFileKey returns a fresh random storage key prefix for a device's file.
func newFileKey(deviceID int64, kind string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "devices/" + strconv.FormatInt(deviceID, 10) + "/" + kind + "s/" + hex.EncodeToString(b[:])
}

func (s *Server) photoTooLarge() *berriz.Error {
	return berriz.E(berriz.TooLarge, "device.error.photo_too_large").
		WithArg("mb", strconv.Itoa(photo.MaxBytes/1_000_000)).WithArg("count", strconv.Itoa(device.MaxPhotos))
}

// devicePhotoUpload checks, re-encodes and stores a photo and its
// thumbnail.
func (s *Server) devicePhotoUpload(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f := s.newForm(c, deviceSpecsLabels)
	data, name, err := readUpload(c, "photo", photo.MaxBytes, s.photoTooLarge())
	if err != nil {
		return s.deviceFail(c, d, f, nil, err)
	}
	files, err := s.store.DeviceFiles(ctx, d.ID)
	if err != nil {
		return err
	}
	photos := 0
	for _, f := range files {
		if f.Kind == postgres.FilePhoto {
			photos++
		}
	}
	if photos >= device.MaxPhotos {
		return s.deviceFail(c, d, f, nil, berriz.FieldErrors{"photo": "device.error.photo_count"}.Err())
	}
	res, err := photo.Process(data)
	switch {
	case errors.Is(err, photo.ErrTooLarge):
		return s.photoTooLarge()
	case errors.Is(err, photo.ErrEmpty):
		return s.deviceFail(c, d, f, nil, berriz.FieldErrors{"photo": "device.error.file_empty"}.Err())
	case errors.Is(err, photo.ErrPixels):
		return s.deviceFail(c, d, f, nil, berriz.FieldErrors{"photo": "device.error.photo_pixels"}.Err())
	case errors.Is(err, photo.ErrType), errors.Is(err, photo.ErrCorrupt):
		return s.deviceFail(c, d, f, nil, berriz.FieldErrors{"photo": "device.error.photo_type"}.Err())
	case err != nil:
		return err
	}
	base := newFileKey(d.ID, postgres.FilePhoto)
	rec := postgres.DeviceFile{DeviceID: d.ID, Kind: postgres.FilePhoto, Key: base + ".jpg", ThumbKey: base + "-thumb.jpg",
		ContentType: photo.ContentType, Size: int64(len(res.Photo)), SHA256: sha256Hex(res.Photo), OriginalName: name}
	if err := s.putBlob(c, rec.Key, res.Photo); err != nil {
		return err
	}
	if err := s.putBlob(c, rec.ThumbKey, res.Thumb); err != nil {
		s.dropBlobs(c, rec.Key)
		return err
	}
	if _, err := s.store.AddDeviceFile(ctx, scope, rec, principalOf(c)); err != nil {
		s.dropBlobs(c, rec.Key, rec.ThumbKey)
		return s.deviceFail(c, d, f, nil, err)
	}
	s.SetFlash(c, "success", "device.flash.photo_added")
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID))
}

// deviceDocumentUpload stores a PDF as sent.
func (s *Server) deviceDocumentUpload(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, deviceSpecsLabels)
	tooLarge := berriz.E(berriz.TooLarge, "device.error.document_too_large").
		WithArg("mb", strconv.Itoa(device.MaxDocumentBytes/1_000_000))
	data, name, err := readUpload(c, "document", device.MaxDocumentBytes, tooLarge)
	if err == nil {
		err = device.CheckDocument(data)
	}
	if berriz.KindOf(err) == berriz.TooLarge {
		return tooLarge
	}
	if err != nil {
		return s.deviceFail(c, d, f, nil, err)
	}
	rec := postgres.DeviceFile{DeviceID: d.ID, Kind: postgres.FileDocument, Key: newFileKey(d.ID, postgres.FileDocument) + ".pdf",
		ContentType: "application/pdf", Size: int64(len(data)), SHA256: sha256Hex(data), OriginalName: name}
	if err := s.putBlob(c, rec.Key, data); err != nil {
		return err
	}
	if _, err := s.store.AddDeviceFile(c.Request().Context(), scope, rec, principalOf(c)); err != nil {
		s.dropBlobs(c, rec.Key)
		return s.deviceFail(c, d, f, nil, err)
	}
	s.SetFlash(c, "success", "device.flash.document_added")
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID))
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (s *Server) putBlob(c *echo.Context, key string, data []byte) error {
	ct := "image/jpeg"
	if strings.HasSuffix(key, ".pdf") {
		ct = "application/pdf"
	}
	_, err := s.files.Put(c.Request().Context(), key, bytes.NewReader(data), int64(len(data)), ct)
	return err
}

// dropBlobs deletes blobs whose record was not (or is no longer) kept. A
// failure leaves an orphan blob, harmless but logged.
func (s *Server) dropBlobs(c *echo.Context, keys ...string) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if err := s.files.Delete(c.Request().Context(), k); err != nil {
			s.log.Warn("orphan device blob", "key", k, "err", err)
		}
	}
}

// deviceFileDelete removes a photo or a document, then its blobs.
func (s *Server) deviceFileDelete(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	fileID, err := idParam(c, "file")
	if err != nil {
		return err
	}
	kind := postgres.FilePhoto
	if strings.Contains(c.Path(), "/documents/") {
		kind = postgres.FileDocument
	}
	ctx := c.Request().Context()
	if f, err := s.store.DeviceFile(ctx, d.ID, fileID, scope); err != nil || f.Kind != kind {
		if err == nil {
			err = berriz.E(berriz.NotFound, "device.error.file_not_found")
		}
		return err
	}
	f, err := s.store.DeleteDeviceFile(ctx, d.ID, fileID, scope)
	if err != nil {
		return err
	}
	s.dropBlobs(c, f.Key, f.ThumbKey)
	flash := "device.flash.photo_deleted"
	if kind == postgres.FileDocument {
		flash = "device.flash.document_deleted"
	}
	s.SetFlash(c, "success", flash)
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID))
}

func (s *Server) deviceFile(c *echo.Context) error      { return s.serveDeviceFile(c, false) }
func (s *Server) deviceFileThumb(c *echo.Context) error { return s.serveDeviceFile(c, true) }

// serveDeviceFile sends a file through the server, whatever the storage
// backend: the device's scope is checked on every request, and a
// presigned URL would outlive a revoked access.
func (s *Server) serveDeviceFile(c *echo.Context, thumb bool) error {
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	fileID, err := idParam(c, "file")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f, err := s.store.DeviceFile(ctx, id, fileID, scope)
	if err != nil {
		return err
	}
	key := f.Key
	if thumb {
		if f.ThumbKey == "" {
			return berriz.E(berriz.NotFound, "device.error.file_not_found")
		}
		key = f.ThumbKey
	}
	r, obj, err := s.files.Get(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	h := c.Response().Header()
	disposition, name := "inline", f.OriginalName
	if f.Kind == postgres.FileDocument {
		disposition = "attachment"
	}
	if name == "" || thumb {
		name = "device-" + strconv.FormatInt(id, 10) + "-" + strconv.FormatInt(fileID, 10) + path.Ext(key)
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	h.Set(echo.HeaderContentType, f.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	// A file never changes under its id: deleting it retires the id.
	h.Set("Cache-Control", "private, max-age=86400")
	if obj.Size > 0 {
		h.Set(echo.HeaderContentLength, strconv.FormatInt(obj.Size, 10))
	}
	return c.Stream(http.StatusOK, f.ContentType, r)
}
