package server

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// Dismantling a device for parts: the page shows its drives with where
// their erasure stands (an erased drive may be kept, ticked), rows of
// other parts to keep (kind and description, a few at first and more on
// demand, like the drives of the specs form), and dismantles on submit:
// the device becomes dismantled and the parts kept enter its workshop's
// stock, in one transaction (store.DismantleDevice). Staff only.

// Rows of parts the dismantling form shows at first and at most: each row
// weighs on the page's DOM budget (a select of the part kinds).
const (
	dismantleRows    = 3
	maxDismantleRows = 10
)

// dismantleDrive is a drive of the page, with its form field.
type dismantleDrive struct {
	postgres.DismantleDrive
	Field, Summary, StatusKey string
	Checked                   bool
}

type dismantlePage struct {
	Device   postgres.DeviceDetail
	Drives   []dismantleDrive
	Rows     []int
	MoreRows int // the row count of the "more rows" link, 0 for none
	Kinds    []keyOption
	// Refused says why the device cannot be dismantled now ("" when it
	// can), and Erasure links to where the missing work is done.
	Refused string
	Erasure string
}

var driveStatusKeys = map[string]string{postgres.DriveErased: "parts.drive_status.erased",
	postgres.DriveDestroyed: "parts.drive_status.destroyed", postgres.DriveFailed: "parts.drive_status.failed",
	postgres.DriveUnerased: "parts.drive_status.none"}

func keepDriveField(position int) string { return "keep_drive_" + strconv.Itoa(position) }
func partRowField(what string, n int) string {
	return "part_" + what + "_" + strconv.Itoa(n)
}

// dismantleLabels names the form's fields for the error summary.
func dismantleLabels() map[string]string {
	m := map[string]string{"note": "parts.field.note"}
	for n := 1; n <= 16; n++ {
		m[keepDriveField(n)] = "parts.field.keep_drive"
	}
	for n := 1; n <= maxDismantleRows; n++ {
		m[partRowField("kind", n)] = "parts.field.part_kind"
		m[partRowField("description", n)] = "parts.field.part_description"
	}
	return m
}

func (s *Server) deviceDismantleForm(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	return s.dismantleRender(c, http.StatusOK, d, scope, nil)
}

func (s *Server) dismantleRender(c *echo.Context, status int, d postgres.DeviceDetail, scope postgres.DonationScope, f *Form) error {
	ctx := c.Request().Context()
	lang := langOf(c)
	st, facts, err := s.store.DeviceFacts(ctx, d.ID, scope)
	if err != nil {
		return err
	}
	drives, err := s.store.DismantleDrives(ctx, d.ID)
	if err != nil {
		return err
	}
	notDrives := false
	data := dismantlePage{Device: d, Kinds: partKindOptions(&notDrives)}
	if err := lifecycle.Check(st.State, lifecycle.Dismantled, lifecycle.Dismantle, facts); err != nil {
		be := berriz.As(err)
		data.Refused = s.errorText(lang, be)
		switch be.Message {
		case "lifecycle.error.erasure_missing", "lifecycle.error.erasure_failed":
			data.Erasure = deviceURL(c, d.ID) + "/erasure"
		}
	}
	for _, dr := range drives {
		v := dismantleDrive{DismantleDrive: dr, Field: keepDriveField(dr.Position), StatusKey: driveStatusKeys[dr.Erasure],
			Summary: s.partSummary(lang, "", dr.Type, dr.CapacityGB, dr.Serial)}
		v.Checked = f.Checked(v.Field)
		data.Drives = append(data.Drives, v)
	}
	rows := dismantleRows
	if f != nil {
		for n := 1; n <= maxDismantleRows; n++ {
			if f.Value(partRowField("kind", n)) != "" || f.Value(partRowField("description", n)) != "" {
				rows = max(rows, n)
			}
		}
	}
	if n, err := strconv.Atoi(c.QueryParam("rows")); err == nil && n > rows {
		rows = n
	}
	rows = min(rows, maxDismantleRows)
	for n := 1; n <= rows; n++ {
		data.Rows = append(data.Rows, n)
	}
	if rows < maxDismantleRows {
		data.MoreRows = rows + 1
	}
	pg := s.newPage(c, "parts.dismantle.title", data)
	pg.Title = s.cat.T(lang, "category."+d.Category, nil) + " " + d.Brand + " " + d.Model + " · " + pg.Title
	pg.Form = f
	return s.renderPage(c, status, "device_dismantle", pg)
}

// keptFieldRE is a field of a kept part as the domain names it.
var keptFieldRE = regexp.MustCompile(`^parts\[([0-9]+)\]\.([a-z]+)$`)

// deviceDismantle dismantles the device with the parts ticked and typed.
func (s *Server) deviceDismantle(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, dismantleLabels())
	in := parts.Dismantle{Note: f.Values.Get("note")}
	var fields []map[string]string // the form's names of each kept part's fields
	drives, err := s.store.DismantleDrives(c.Request().Context(), d.ID)
	if err != nil {
		return err
	}
	for _, dr := range drives {
		if f.Checked(keepDriveField(dr.Position)) {
			in.Parts = append(in.Parts, parts.Kept{Kind: parts.StorageKindFor(dr.Type, dr.CapacityGB), Drive: dr.Position})
			fields = append(fields, map[string]string{"drive": keepDriveField(dr.Position), "kind": keepDriveField(dr.Position)})
		}
	}
	for n := 1; n <= maxDismantleRows; n++ {
		kind, desc := f.Values.Get(partRowField("kind", n)), f.Values.Get(partRowField("description", n))
		if kind == "" && strings.TrimSpace(desc) == "" {
			continue
		}
		in.Parts = append(in.Parts, parts.Kept{Kind: kind, Description: desc})
		fields = append(fields, map[string]string{"kind": partRowField("kind", n), "description": partRowField("description", n),
			"drive": partRowField("kind", n)})
	}
	st, _, err := s.store.DismantleDevice(c.Request().Context(), d.ID, scope, in, principalOf(c))
	if err != nil {
		if be := berriz.As(err); be.Kind == berriz.Invalid && len(be.Fields) > 0 {
			fe := berriz.FieldErrors{}
			for field, key := range be.Fields {
				if m := keptFieldRE.FindStringSubmatch(field); m != nil {
					i, _ := strconv.Atoi(m[1])
					if i < len(fields) && fields[i][m[2]] != "" {
						field = fields[i][m[2]]
					}
				}
				fe.Add(field, key)
			}
			err = berriz.As(fe.Err()).WithCause(err)
		}
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		if fresh, lerr := s.store.Device(c.Request().Context(), d.ID, scope); lerr == nil {
			d = fresh
		}
		return s.dismantleRender(c, status, d, scope, f)
	}
	s.afterTransition(c, st)
	s.SetFlash(c, "success", "parts.flash.dismantled")
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID))
}
