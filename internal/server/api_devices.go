package server

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/photo"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// The devices of the JSON API: the inventory, one device with its specs,
// drives and files, the specs' replacement and the photos and documents,
// under the same scope (donationScope, through deviceLoad), the same
// validation (package device) and the same store calls as the device
// pages; files join and leave a device through devices_shared.go.

// apiDevice is a device in full: its specs and drives, and its files
// where the answer lists them (nil: not listed, as in the tag lookup).
type apiDevice struct {
	postgres.DeviceDetail
	Files *[]apiDeviceFile `json:"files,omitempty"`
}

// apiDeviceFile is a file's metadata with the URLs of its bytes.
type apiDeviceFile struct {
	postgres.DeviceFile
	URL      string `json:"url"`
	ThumbURL string `json:"thumb_url,omitempty"`
}

// printedTag gives a stored tag code in its printed form (7KQ2-M9XD), as
// every code of the API; "" stays "" (no tag yet).
func printedTag(code string) string {
	if code == "" {
		return ""
	}
	return tag.Code(code).String()
}

func apiDeviceOf(d postgres.DeviceDetail) apiDevice {
	d.Tag = printedTag(d.Tag)
	if d.Specs.Drives == nil {
		d.Specs.Drives = []device.Drive{} // no drive is [], never null
	}
	return apiDevice{DeviceDetail: d}
}

func deviceAPIPath(id int64) string { return "/api/v1/devices/" + strconv.FormatInt(id, 10) }

func apiFilesOf(files []postgres.DeviceFile) []apiDeviceFile {
	out := make([]apiDeviceFile, len(files))
	for i, f := range files {
		out[i] = apiDeviceFile{DeviceFile: f, URL: deviceAPIPath(f.DeviceID) + "/files/" + strconv.FormatInt(f.ID, 10)}
		if f.ThumbKey != "" {
			out[i].ThumbURL = out[i].URL + "/thumb"
		}
	}
	return out
}

// apiDeviceWithFiles answers a device of the caller's scope with its files.
func (s *Server) apiDeviceWithFiles(c *echo.Context, status int, d postgres.DeviceDetail) error {
	files, err := s.store.DeviceFiles(c.Request().Context(), d.ID)
	if err != nil {
		return err
	}
	out := apiDeviceOf(d)
	list := apiFilesOf(files)
	out.Files = &list
	return apiJSON(c, status, out)
}

// apiDevices lists the devices the caller may see, newest first, filtered
// as the inventory page is; a filter value that is not valid is refused,
// where the page ignores it. workshop_id narrows within the caller's scope.
func (s *Server) apiDevices(c *echo.Context) error {
	sc, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	f := postgres.DeviceFilter{Scope: sc, Page: pageParam(c), State: c.QueryParam("state"), Category: c.QueryParam("category")}
	fe := berriz.FieldErrors{}
	if f.State != "" && !slices.Contains(deviceStates, f.State) {
		fe.Add("state", "device.error.state_unknown")
	}
	if _, ok := co2.CategoryByID(f.Category); f.Category != "" && !ok {
		fe.Add("category", "donation.error.category_unknown")
	}
	for name, dst := range map[string]*int64{"donation_id": &f.DonationID, "workshop_id": &f.WorkshopID} {
		id, err := queryID(c, name)
		if err != nil {
			fe.Add(name, "error.query_id")
		}
		*dst = id
	}
	if err := fe.Err(); err != nil {
		return err
	}
	list, page, err := s.store.Devices(c.Request().Context(), f)
	if err != nil {
		return err
	}
	for i := range list {
		list[i].Tag = printedTag(list[i].Tag)
	}
	return apiJSON(c, http.StatusOK, pageOf(list, page))
}

// apiDevice answers one device with its specs, drives and files.
func (s *Server) apiDevice(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	return s.apiDeviceWithFiles(c, http.StatusOK, d)
}

// driveFieldRE is a drive field of the specs form: drive_<what>_<row>.
var driveFieldRE = regexp.MustCompile(`^drive_(type|capacity|serial)_([0-9]+)$`)

// apiSpecsFields names the form's fields as the JSON body does: drive row
// n's capacity is drives[n-1].capacity_gb; the others keep their names.
func apiSpecsFields(fe berriz.FieldErrors) berriz.FieldErrors {
	out := berriz.FieldErrors{}
	for field, key := range fe {
		if m := driveFieldRE.FindStringSubmatch(field); m != nil {
			n, _ := strconv.Atoi(m[2])
			what := m[1]
			if what == "capacity" {
				what = "capacity_gb"
			}
			field = "drives[" + strconv.Itoa(n-1) + "]." + what
		}
		out.Add(field, key)
	}
	return out
}

// apiDeviceSpecs replaces a device's specs and drives with the body's,
// checked by the specs form's rules (texts trimmed, ranges, drive types):
// the body goes through the form's own parser, so both faces accept and
// refuse exactly the same. Drives are numbered by their order in the
// array; a position sent is ignored.
func (s *Server) apiDeviceSpecs(c *echo.Context) error {
	var in device.Specs
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	if len(in.Drives) > device.MaxDrives {
		return berriz.FieldErrors{"drives": "device.error.drives_count"}.Err()
	}
	specs, fe := device.InputOf(in).Parse()
	if fe != nil {
		return apiSpecsFields(fe).Err()
	}
	ctx := c.Request().Context()
	if err := s.store.SetDeviceSpecs(ctx, d.ID, scope, specs); err != nil {
		return err
	}
	if d, err = s.store.Device(ctx, d.ID, scope); err != nil {
		return err
	}
	return s.apiDeviceWithFiles(c, http.StatusOK, d)
}

// apiDeviceFiles lists a device's files: photos, then documents.
func (s *Server) apiDeviceFiles(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	files, err := s.store.DeviceFiles(c.Request().Context(), d.ID)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, struct {
		Items []apiDeviceFile `json:"items"`
	}{apiFilesOf(files)})
}

func (s *Server) apiDevicePhotoUpload(c *echo.Context) error {
	return s.apiDeviceUpload(c, postgres.FilePhoto)
}

func (s *Server) apiDeviceDocumentUpload(c *echo.Context) error {
	return s.apiDeviceUpload(c, postgres.FileDocument)
}

// apiDeviceUpload adds a photo (field "photo") or a document (field
// "document") sent as multipart/form-data, with the device page's checks.
func (s *Server) apiDeviceUpload(c *echo.Context, kind string) error {
	if err := requireMediaType(c, "multipart/form-data"); err != nil {
		return err
	}
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	var f postgres.DeviceFile
	if kind == postgres.FilePhoto {
		var data []byte
		var name string
		if data, name, err = readUpload(c, "photo", photo.MaxBytes, s.photoTooLarge()); err == nil {
			f, err = s.addDevicePhoto(c, d.ID, scope, data, name)
		}
	} else {
		var data []byte
		var name string
		if data, name, err = readUpload(c, "document", device.MaxDocumentBytes, s.documentTooLarge()); err == nil {
			f, err = s.addDeviceDocument(c, d.ID, scope, data, name)
		}
	}
	if err != nil {
		return err
	}
	out := apiFilesOf([]postgres.DeviceFile{f})[0]
	c.Response().Header().Set("Location", out.URL)
	return apiJSON(c, http.StatusCreated, out)
}

// apiDeleteDeviceFile removes a photo or a document, then its bytes.
func (s *Server) apiDeleteDeviceFile(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	fileID, err := idParam(c, "file")
	if err != nil {
		return err
	}
	if err := s.removeDeviceFile(c, d.ID, fileID, scope, ""); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
