package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
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
	if specs != nil {
		return s.specsRender(c, status, d, f, specs)
	}
	return s.deviceRender(c, status, d, f)
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
	return "devices/" + strconv.FormatInt(deviceID, 10) + "/" + kind + "s/" + randomName()
}

// randomName is 32 random hex digits (crypto/rand): the part of a storage
// key that keeps two files of one owner (photos, receipts, certificates)
// from overwriting each other.
func randomName() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

func (s *Server) photoTooLarge() *berriz.Error {
	return berriz.E(berriz.TooLarge, "device.error.photo_too_large").
		WithArg("mb", strconv.Itoa(photo.MaxBytes/1_000_000)).WithArg("count", strconv.Itoa(device.MaxPhotos))
}

// devicePhotoUpload checks, re-encodes and stores a photo and its
// thumbnail (addDevicePhoto).
func (s *Server) devicePhotoUpload(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, deviceSpecsLabels)
	data, name, err := readUpload(c, "photo", photo.MaxBytes, s.photoTooLarge())
	if err == nil {
		_, err = s.addDevicePhoto(c, d.ID, scope, data, name)
	}
	if err != nil {
		return s.deviceFail(c, d, f, nil, err)
	}
	s.SetFlash(c, "success", "device.flash.photo_added")
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID))
}

// deviceDocumentUpload stores a PDF as sent (addDeviceDocument).
func (s *Server) deviceDocumentUpload(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, deviceSpecsLabels)
	data, name, err := readUpload(c, "document", device.MaxDocumentBytes, s.documentTooLarge())
	if err == nil {
		_, err = s.addDeviceDocument(c, d.ID, scope, data, name)
	}
	if berriz.KindOf(err) == berriz.TooLarge {
		return err
	}
	if err != nil {
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
	if err := s.removeDeviceFile(c, d.ID, fileID, scope, kind); err != nil {
		return err
	}
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
	name := f.OriginalName
	if name == "" || thumb {
		name = "device-" + strconv.FormatInt(id, 10) + "-" + strconv.FormatInt(fileID, 10) + path.Ext(key)
	}
	return s.sendBlob(c, blob{Key: key, ContentType: f.ContentType, Name: name, Inline: f.Kind != postgres.FileDocument})
}
