package server

import (
	"crypto/rand"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/donation"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// Tags and devices meeting, in the JSON API: what a tag code leads to
// (the scanners' lookup), intake (a blank tag linked to a declared device,
// or to a device found in the box, and the device received), the
// "receive" of a device whose tag was printed in advance, and tags printed
// for chosen devices of a donation. The rules and store calls are the scan
// station's and the donation page's; who may see a code is tagInView's.

// apiTagRef is a tag as the lookup shows it.
type apiTagRef struct {
	Code     string     `json:"code"` // printed form, 7KQ2-M9XD
	BatchID  int64      `json:"batch_id"`
	LinkedAt *time.Time `json:"linked_at"`
}

// apiTagLookup is what a code leads to: its device, or null while blank.
type apiTagLookup struct {
	Tag    apiTagRef  `json:"tag"`
	Device *apiDevice `json:"device"`
}

// apiTagLookup answers GET /tags/{code}: the code with or without its
// dash, in any case. It is what every scan asks, so it costs one query
// after authentication (TagView).
func (s *Server) apiTagLookup(c *echo.Context) error {
	tv, err := s.tagInView(c, c.Param("code"))
	if err != nil {
		return err
	}
	out := apiTagLookup{Tag: apiTagRef{Code: tv.Tag.Code.String(), BatchID: tv.Tag.BatchID, LinkedAt: tv.Tag.LinkedAt}}
	if tv.Device != nil {
		d := apiDeviceOf(*tv.Device)
		out.Device = &d
	}
	return apiJSON(c, http.StatusOK, out)
}

// apiIntakeInput is either a declared device to link (device_id), or a
// device found in the box (donation_id and the scan station's fields).
type apiIntakeInput struct {
	DeviceID   int64  `json:"device_id"`
	DonationID int64  `json:"donation_id"`
	Category   string `json:"category"`
	Brand      string `json:"brand"`
	Model      string `json:"model"`
	Serial     string `json:"serial"`
}

// apiIntakeResult is what an intake or a receive did.
type apiIntakeResult struct {
	Tag      string            `json:"tag"`
	Device   postgres.Device   `json:"device"`
	Donation postgres.Donation `json:"donation"` // its state after the intake
}

func intakeResultOf(r postgres.IntakeResult) apiIntakeResult {
	return apiIntakeResult{Tag: r.Code.String(), Device: r.Device, Donation: r.Donation}
}

// newDeviceFields are the fields of a device found in the box, as the
// scan station's form has them.
var newDeviceFields = []string{donation.FieldCategory, donation.FieldBrand, donation.FieldModel, donation.FieldSerial}

// apiTagIntake links a blank tag to a device and receives it.
func (s *Server) apiTagIntake(c *echo.Context) error {
	var in apiIntakeInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	tv, err := s.tagInView(c, c.Param("code"))
	if err != nil {
		return err
	}
	p := principalOf(c)
	ctx := c.Request().Context()
	typed := donation.Input{Category: in.Category, Brand: in.Brand, Model: in.Model, Serial: in.Serial}
	var r postgres.IntakeResult
	if in.DeviceID != 0 {
		fe := berriz.FieldErrors{}
		if in.DeviceID < 0 {
			fe.Add("device_id", "scan.error.device_choose")
		}
		if in.DonationID != 0 {
			fe.Add("donation_id", "scan.error.intake_either")
		}
		for _, name := range newDeviceFields {
			if typed.Value(name) != "" {
				fe.Add(name, "scan.error.intake_either")
			}
		}
		if err := fe.Err(); err != nil {
			return err
		}
		r, err = s.store.IntakeDevice(ctx, tv.Tag.Code, in.DeviceID, scope(p), p, s.now())
	} else {
		line, lfe := typed.Parse(s.now())
		fe := berriz.FieldErrors{}
		for field, key := range lfe {
			// Other fields (weight, quantity) take their defaults: only
			// an unknown category makes them fail, and it says so itself.
			if slices.Contains(newDeviceFields, field) {
				fe.Add(field, key)
			}
		}
		if in.DonationID <= 0 {
			fe.Add("donation_id", "scan.error.donation_choose")
		}
		if err := fe.Err(); err != nil {
			return err
		}
		r, err = s.store.CreateDeviceAtIntake(ctx, tv.Tag.Code, in.DonationID, scope(p), line, p, s.now())
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", deviceAPIPath(r.Device.ID))
	return apiJSON(c, http.StatusCreated, intakeResultOf(r))
}

// apiTagReceive marks received the declared device a tag was linked to in
// advance (the scan station's "receive" card).
func (s *Server) apiTagReceive(c *echo.Context) error {
	tv, err := s.tagInView(c, c.Param("code"))
	if err != nil {
		return err
	}
	p := principalOf(c)
	r, err := s.store.ReceiveTagged(c.Request().Context(), tv.Tag.Code, scope(p), p)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, intakeResultOf(r))
}

type apiDeviceTagsInput struct {
	DeviceIDs []int64 `json:"device_ids"`
}

// apiDeviceTag is one tag printed for a device, linked from the start.
type apiDeviceTag struct {
	Code     string `json:"code"`
	DeviceID int64  `json:"device_id"`
}

type apiDeviceTags struct {
	Batch postgres.TagBatch `json:"batch"`
	Tags  []apiDeviceTag    `json:"tags"`
}

// apiDonationTags generates one tag per chosen device of the donation,
// linked to it from the start, as one batch whose sheet prints them (the
// donation page's "tags for the devices", for a chosen few). One device
// refused refuses them all.
func (s *Server) apiDonationTags(c *echo.Context) error {
	var in apiDeviceTagsInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	p := principalOf(c)
	sc, err := donationScope(p)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d, err := s.store.Donation(ctx, id, sc)
	if err != nil {
		return err
	}
	if d.State == donation.Closed {
		return berriz.E(berriz.Conflict, "donation.error.tags_closed")
	}
	if err := s.checkDonationDevices(c, id, sc, in.DeviceIDs); err != nil {
		return err
	}
	b, codes, err := s.store.CreateTagsForDevices(ctx, p.OrgID, p.UserID, in.DeviceIDs, sc,
		func() (tag.Code, error) { return tag.Generate(rand.Reader) })
	if err != nil {
		return err
	}
	out := apiDeviceTags{Batch: b, Tags: make([]apiDeviceTag, len(codes))}
	for i, code := range codes {
		out.Tags[i] = apiDeviceTag{Code: code.String(), DeviceID: in.DeviceIDs[i]}
	}
	c.Response().Header().Set("Location", "/api/v1/tags/batches/"+strconv.FormatInt(b.ID, 10))
	return apiJSON(c, http.StatusCreated, out)
}

// checkDonationDevices refuses a list of devices that is empty, too long,
// repeats one, or names one that is not the donation's (as the caller
// sees it), each mistake under its index. Whether a device already has a
// tag is the store's to say, under its locks.
func (s *Server) checkDonationDevices(c *echo.Context, donationID int64, sc postgres.DonationScope, ids []int64) error {
	fe := berriz.FieldErrors{}
	if len(ids) == 0 || len(ids) > postgres.MaxDeviceTags {
		fe.Add("device_ids", "donation.error.tag_devices_count")
		return fe.Err()
	}
	ctx := c.Request().Context()
	// The untagged devices answer most lists in one query; the others
	// are looked up one by one.
	list, _, err := s.store.UntaggedDevices(ctx, donationID, sc, postgres.MaxDeviceTags)
	if err != nil {
		return err
	}
	untagged := make(map[int64]bool, len(list))
	for _, id := range list {
		untagged[id] = true
	}
	seen := make(map[int64]bool, len(ids))
	for i, id := range ids {
		field := "device_ids[" + strconv.Itoa(i) + "]"
		switch {
		case seen[id]:
			fe.Add(field, "donation.error.tag_devices_count")
			continue
		case untagged[id]:
		default:
			dd, err := s.store.Device(ctx, id, sc)
			if berriz.KindOf(err) == berriz.NotFound || err == nil && dd.DonationID != donationID {
				fe.Add(field, "donation.error.device_not_in_donation")
			} else if err != nil {
				return err
			}
		}
		seen[id] = true
	}
	return fe.Err()
}
