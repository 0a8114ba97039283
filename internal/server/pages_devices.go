package server

import (
	"encoding/csv"
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/photo"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The inventory screens: every device the viewer may see (a donor its
// donations' devices and where each one is, a workshop those it holds, the
// operator all), filtered and exported as CSV; and one device's page with
// its specs, drives, photos and documents (pages_devices_files.go).

// deviceRoutes lists the routes of this area; routes() appends them to the
// table. Reading is Inventory (donationScope confines it and answers not
// found outside); changing is Workshop, confined the same way.
func (s *Server) deviceRoutes() []Route {
	return []Route{
		{http.MethodGet, "/devices", "devices", Inventory, s.deviceList},
		{http.MethodGet, "/devices.csv", "devices_csv", Inventory, s.deviceCSV},
		{http.MethodGet, "/devices/:id", "device", Inventory, s.deviceShow},
		{http.MethodGet, "/devices/:id/specs", "device_specs_form", Workshop, s.deviceSpecsForm},
		{http.MethodPost, "/devices/:id/specs", "device_specs", Workshop, s.deviceSpecs},
		{http.MethodPost, "/devices/:id/photos", "device_photo_upload", Workshop, s.devicePhotoUpload},
		{http.MethodPost, "/devices/:id/photos/:file/delete", "device_photo_delete", Workshop, s.deviceFileDelete},
		{http.MethodPost, "/devices/:id/documents", "device_document_upload", Workshop, s.deviceDocumentUpload},
		{http.MethodPost, "/devices/:id/documents/:file/delete", "device_document_delete", Workshop, s.deviceFileDelete},
		{http.MethodGet, "/devices/:id/files/:file", "device_file", Inventory, s.deviceFile},
		{http.MethodGet, "/devices/:id/files/:file/thumb", "device_file_thumb", Inventory, s.deviceFileThumb},
	}
}

// deviceStates are the device lifecycle states, in the order of DOMAIN.md.
var deviceStates = []string{"declared", "received", "diagnosed", "wiped", "refurbished", "available", "reserved",
	"delivered", "returned", "recycled", "dismantled"}

type devicesPage struct {
	Devices    []postgres.DeviceRow
	Total      int
	Pager      Pager
	States     []adminOption
	Categories []adminOption
	Workshops  []workshopOption // operators only
	Filter     deviceFilterValues
	CSV        string // the export URL of the same filter
}

// workshopOption is a workshop of the operator's filter, by name.
type workshopOption struct{ Value, Name string }

// deviceFilterValues is the filter as typed, to show it again.
type deviceFilterValues struct {
	State, Category, Donation, Workshop string
}

// deviceFilter reads the inventory filter from the query; values that are
// not valid are ignored, as a filter that matches nothing would be.
func (s *Server) deviceFilter(c *echo.Context) (postgres.DeviceFilter, deviceFilterValues, error) {
	p := principalOf(c)
	scope, err := donationScope(p)
	if err != nil {
		return postgres.DeviceFilter{}, deviceFilterValues{}, err
	}
	f := postgres.DeviceFilter{Scope: scope, Page: pageParam(c)}
	var v deviceFilterValues
	for _, st := range deviceStates {
		if c.QueryParam("state") == st {
			f.State, v.State = st, st
		}
	}
	for _, o := range categoryOptions() {
		if c.QueryParam("category") == o.ID {
			f.Category, v.Category = o.ID, o.ID
		}
	}
	if n, err := strconv.ParseInt(c.QueryParam("donation"), 10, 64); err == nil && n > 0 {
		f.DonationID, v.Donation = n, strconv.FormatInt(n, 10)
	}
	if n, err := strconv.ParseInt(c.QueryParam("workshop"), 10, 64); err == nil && n > 0 && p.IsOperator() {
		f.WorkshopID, v.Workshop = n, strconv.FormatInt(n, 10)
	}
	return f, v, nil
}

func (s *Server) deviceList(c *echo.Context) error {
	ctx := c.Request().Context()
	f, v, err := s.deviceFilter(c)
	if err != nil {
		return err
	}
	list, page, err := s.store.Devices(ctx, f)
	if err != nil {
		return err
	}
	d := devicesPage{Devices: list, Total: page.Total, Pager: s.pager(c, page), Filter: v,
		States: []adminOption{{"", "device.filter.all_states"}}, Categories: []adminOption{{"", "device.filter.all_categories"}}}
	for _, st := range deviceStates {
		d.States = append(d.States, adminOption{st, "donation.device_state." + st})
	}
	// Only the categories the viewer has: each option weighs on the page.
	cats, err := s.store.DeviceCategories(ctx, f.Scope)
	if err != nil {
		return err
	}
	for _, cat := range cats {
		d.Categories = append(d.Categories, adminOption{cat, "category." + cat})
	}
	if principalOf(c).IsOperator() {
		shops, err := s.store.ActiveOrganisations(ctx, account.RoleTechnician, maxWorkshopChoices)
		if err != nil {
			return err
		}
		for _, w := range shops {
			d.Workshops = append(d.Workshops, workshopOption{strconv.FormatInt(w.ID, 10), w.Name})
		}
	}
	q := c.QueryParams()
	q.Del("page")
	d.CSV = localURL(langOf(c), "/devices.csv")
	if enc := q.Encode(); enc != "" {
		d.CSV += "?" + enc
	}
	return s.render(c, http.StatusOK, "devices", "device.list.title", d)
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}

// deviceCSV exports every device the filter matches, streamed row by row:
// UTF-8, comma-separated, with a header; no personal data (no person's
// name, no contact), only devices, donations and workshops.
func (s *Server) deviceCSV(c *echo.Context) error {
	f, _, err := s.deviceFilter(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="berriz-devices.csv"`)
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"id", "tag", "category", "brand", "model", "serial", "year", "state", "donation_id",
		"workshop", "storage_drives", "weight_kg", "created_at"})
	err = s.store.EachDevice(c.Request().Context(), f, func(v postgres.DeviceRow) error {
		year := ""
		if v.Year != 0 {
			year = strconv.Itoa(v.Year)
		}
		w.Write([]string{strconv.FormatInt(v.ID, 10), v.Tag, v.Category, csvSafe(v.Brand), csvSafe(v.Model),
			csvSafe(v.Serial), year, v.State, strconv.FormatInt(v.DonationID, 10), csvSafe(v.WorkshopName),
			strconv.Itoa(v.StorageDrives), strconv.FormatFloat(v.WeightKg, 'f', -1, 64), v.CreatedAt.UTC().Format("2006-01-02")})
		return w.Error()
	})
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	// The status is sent: a failure now can only cut the file short, and
	// is logged as such by the error handler.
	return err
}

// devicePage is one device with what the viewer may do to it.
type devicePage struct {
	Device    postgres.DeviceDetail
	Photos    []postgres.DeviceFile
	Documents []postgres.DeviceFile
	CanEdit   bool
	Limits    uploadLimits
	Steps     []stepView    // the next steps of the lifecycle, for staff
	Emission  *emissionView // its current avoided emissions, once delivered (pages_emissions.go)
}

// uploadLimits are shown next to the upload fields, before any upload.
type uploadLimits struct {
	PhotoMB, Photos, DocumentMB, PhotosLeft int
}

func (s *Server) deviceLoad(c *echo.Context) (postgres.DeviceDetail, postgres.DonationScope, error) {
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return postgres.DeviceDetail{}, scope, err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return postgres.DeviceDetail{}, scope, err
	}
	d, err := s.store.Device(c.Request().Context(), id, scope)
	return d, scope, err
}

// deviceShow is the device page: what a technician's phone shows after
// each scan, so the page reads everything it shows in one statement
// (store.DevicePage).
func (s *Server) deviceShow(c *echo.Context) error {
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	dp, ok, err := joinedDevicePage(c, id, scope)
	if !ok {
		dp, err = s.store.DevicePage(c.Request().Context(), id, scope)
	}
	if err != nil {
		return err
	}
	return s.devicePageRender(c, http.StatusOK, dp, nil)
}

// deviceRender shows a device with its next steps, photos and documents;
// f is a refused form (a step, an upload), shown with its errors. d is the
// device as the caller read it; its files and facts are read again.
func (s *Server) deviceRender(c *echo.Context, status int, d postgres.DeviceDetail, f *Form) error {
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	dp, err := s.store.DevicePage(c.Request().Context(), d.ID, scope)
	if err != nil {
		return err
	}
	dp.Device = d
	return s.devicePageRender(c, status, dp, f)
}

// devicePageRender renders the device page from what the store read.
func (s *Server) devicePageRender(c *echo.Context, status int, dp postgres.DevicePage, f *Form) error {
	d := dp.Device
	data := devicePage{Device: d, CanEdit: account.Authorize(Workshop, principalOf(c), true) == nil,
		Limits: uploadLimits{PhotoMB: photo.MaxBytes / 1_000_000, Photos: device.MaxPhotos,
			DocumentMB: device.MaxDocumentBytes / 1_000_000}}
	for _, f := range dp.Files {
		if f.Kind == postgres.FilePhoto {
			data.Photos = append(data.Photos, f)
		} else {
			data.Documents = append(data.Documents, f)
		}
	}
	data.Limits.PhotosLeft = max(0, device.MaxPhotos-len(data.Photos))
	data.Steps = s.deviceSteps(c, d, dp.State, dp.Facts)
	em, err := s.deviceEmission(c, d.ID, dp.State.State == "delivered" || dp.State.Cycle > 1, false)
	if err != nil {
		return err
	}
	data.Emission = em
	pg := s.newPage(c, "device.title", data)
	pg.Title, pg.Form = s.deviceTitle(c, d)+" · "+pg.Title, f
	return s.renderPage(c, status, "device", pg)
}

func (s *Server) deviceTitle(c *echo.Context, d postgres.DeviceDetail) string {
	return s.cat.T(langOf(c), "category."+d.Category, nil) + " " + d.Brand + " " + d.Model
}

// specsPage is the specs form of a device.
type specsPage struct {
	Device     postgres.DeviceDetail
	Specs      device.Input // the form's values
	DriveRows  []int        // row numbers of the drive fieldsets
	MoreRows   int          // the row count of the "more drives" link, 0 for none
	DriveTypes []device.DriveType
}

// deviceSpecsForm shows the specs form of a device.
func (s *Server) deviceSpecsForm(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	return s.specsRender(c, http.StatusOK, d, nil, nil)
}

// specsRender shows the specs form; f is a refused form and specs the
// values as typed.
func (s *Server) specsRender(c *echo.Context, status int, d postgres.DeviceDetail, f *Form, specs device.Input) error {
	data := specsPage{Device: d, DriveTypes: device.DriveTypes, Specs: device.InputOf(d.Specs)}
	rows := len(d.Specs.Drives) + 1
	if specs != nil {
		data.Specs, rows = specs, 1
		for n := 1; n <= device.MaxDrives; n++ {
			for _, what := range []string{"type", "capacity", "serial"} {
				if specs[device.DriveField(what, n)] != "" {
					rows = max(rows, n)
				}
			}
		}
	}
	if n, err := strconv.Atoi(c.QueryParam("drives")); err == nil && n > rows {
		rows = n
	}
	rows = min(max(rows, 1), device.MaxDrives)
	for n := 1; n <= rows; n++ {
		data.DriveRows = append(data.DriveRows, n)
	}
	if rows < device.MaxDrives {
		data.MoreRows = rows + 1
	}
	pg := s.newPage(c, "device.specs.title", data)
	pg.Title, pg.Form = s.deviceTitle(c, d)+" · "+pg.Title, f
	return s.renderPage(c, status, "device_specs", pg)
}
