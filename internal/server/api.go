package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The JSON API v1: the same domain calls as the pages (see shared.go), for
// scripts and the observatory's clients. Its contract is openapi/*.json, which
// a test keeps in step with this table. Errors are answered by handleError,
// like everywhere else.

// apiMaxBody caps JSON request bodies well below the upload limit of the
// middleware: no API document is anywhere near this size.
const apiMaxBody = 1 << 20

// apiRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) apiRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodGet, v1 + "/openapi.json", "api_openapi", Public, s.apiOpenAPI},
		{http.MethodGet, v1 + "/me", "api_me", SignedIn, s.apiMe},

		{http.MethodGet, v1 + "/organisations", "api_organisations", Operator, s.apiOrganisations},
		{http.MethodPost, v1 + "/organisations", "api_organisation_create", Operator, s.apiCreateOrganisation},
		{http.MethodGet, v1 + "/organisations/:id", "api_organisation", SignedIn, s.apiOrganisation},
		{http.MethodPatch, v1 + "/organisations/:id", "api_organisation_update", Operator, s.apiUpdateOrganisation},
		{http.MethodPost, v1 + "/organisations/:id/deactivate", "api_organisation_deactivate", Operator, s.apiSetOrganisationActive(false)},
		{http.MethodPost, v1 + "/organisations/:id/activate", "api_organisation_activate", Operator, s.apiSetOrganisationActive(true)},

		{http.MethodGet, v1 + "/users", "api_users", OrgAdmin, s.apiUsers},
		{http.MethodGet, v1 + "/users/:id", "api_user", OrgAdmin, s.apiUser},
		{http.MethodPost, v1 + "/users/:id/revoke-sessions", "api_user_revoke_sessions", Operator, s.apiRevokeSessions},

		{http.MethodGet, v1 + "/invitations", "api_invitations", OrgAdmin, s.apiInvitations},
		{http.MethodPost, v1 + "/invitations", "api_invitation_create", OrgAdmin, s.apiCreateInvitation},
		{http.MethodDelete, v1 + "/invitations/:id", "api_invitation_revoke", OrgAdmin, s.apiRevokeInvitation},

		{http.MethodGet, v1 + "/tokens", "api_tokens", UserOnly, s.apiTokens},
		{http.MethodPost, v1 + "/tokens", "api_token_create", Session, s.apiCreateToken},
		{http.MethodDelete, v1 + "/tokens/:id", "api_token_revoke", UserOnly, s.apiRevokeToken},

		{http.MethodGet, v1 + "/donations", "api_donations", Inventory, s.apiDonations},
		{http.MethodPost, v1 + "/donations", "api_donation_create", Donor, s.apiCreateDonation},
		{http.MethodPost, v1 + "/donations/import", "api_donation_import", Donor, s.apiImportDonation},
		{http.MethodGet, v1 + "/donations/:id", "api_donation", Inventory, s.apiDonation},
		{http.MethodGet, v1 + "/donations/:id/devices", "api_donation_devices", Inventory, s.apiDonationDevices},
		{http.MethodPost, v1 + "/donations/:id/workshop", "api_donation_assign", Operator, s.apiAssignDonation},
		{http.MethodPost, v1 + "/donations/:id/state", "api_donation_state", Workshop, s.apiDonationState},

		{http.MethodGet, v1 + "/tags/batches", "api_tag_batches", Workshop, s.apiTagBatches},
		{http.MethodPost, v1 + "/tags/batches", "api_tag_batch_create", Workshop, s.apiCreateTagBatch},
		{http.MethodGet, v1 + "/tags/batches/:id", "api_tag_batch", Workshop, s.apiTagBatch},
		{http.MethodGet, v1 + "/tags/batches/:id/sheet.pdf", "api_tag_batch_sheet", Workshop, s.tagsSheet},

		// Devices, tags and intake (api_devices.go, api_intake.go).
		{http.MethodGet, v1 + "/tags/:code", "api_tag_lookup", Inventory, s.apiTagLookup},
		{http.MethodPost, v1 + "/tags/:code/intake", "api_tag_intake", Workshop, s.apiTagIntake},
		{http.MethodPost, v1 + "/tags/:code/receive", "api_tag_receive", Workshop, s.apiTagReceive},
		{http.MethodGet, v1 + "/tags/:code/label.png", "api_tag_label_png", Workshop, s.tagLabelPNG},
		{http.MethodGet, v1 + "/tags/:code/label.svg", "api_tag_label_svg", Workshop, s.tagLabelSVG},
		{http.MethodPost, v1 + "/donations/:id/tags", "api_donation_tags", Workshop, s.apiDonationTags},
		{http.MethodGet, v1 + "/devices", "api_devices", Inventory, s.apiDevices},
		{http.MethodGet, v1 + "/devices/:id", "api_device", Inventory, s.apiDevice},
		{http.MethodPut, v1 + "/devices/:id/specs", "api_device_specs", Workshop, s.apiDeviceSpecs},
		{http.MethodGet, v1 + "/devices/:id/files", "api_device_files", Inventory, s.apiDeviceFiles},
		{http.MethodPost, v1 + "/devices/:id/photos", "api_device_photo_upload", Workshop, s.apiDevicePhotoUpload},
		{http.MethodPost, v1 + "/devices/:id/documents", "api_device_document_upload", Workshop, s.apiDeviceDocumentUpload},
		{http.MethodGet, v1 + "/devices/:id/files/:file", "api_device_file", Inventory, s.deviceFile},
		{http.MethodGet, v1 + "/devices/:id/files/:file/thumb", "api_device_file_thumb", Inventory, s.deviceFileThumb},
		{http.MethodDelete, v1 + "/devices/:id/files/:file", "api_device_file_delete", Workshop, s.apiDeleteDeviceFile},
	}
}

// apiPage is the envelope of every listing.
type apiPage[T any] struct {
	Items []T `json:"items"`
	Page  int `json:"page"`
	Pages int `json:"pages"`
	Total int `json:"total"`
}

func pageOf[T any](items []T, p postgres.Page) apiPage[T] {
	if items == nil {
		items = []T{} // an empty listing is [], never null
	}
	return apiPage[T]{Items: items, Page: p.Number, Pages: p.Pages(), Total: p.Total}
}

// pageItems is page p (of postgres.PageSize rows) of a listing the store
// returns whole (tokens and push subscriptions: at most 200); empty past
// the last page.
func pageItems[T any](all []T, p postgres.Page) []T {
	from := min(len(all), (max(p.Number, 1)-1)*postgres.PageSize)
	return all[from:min(len(all), from+postgres.PageSize)]
}

// apiJSON answers a JSON body that no cache may keep: API answers are
// personal, and some carry a secret shown once.
func apiJSON(c *echo.Context, status int, v any) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, v)
}

// requireMediaType refuses (415) a request body whose Content-Type is not
// the media type want (parameters such as a charset or a boundary aside).
func requireMediaType(c *echo.Context, want string) error {
	if mt, _, err := mime.ParseMediaType(c.Request().Header.Get("Content-Type")); err != nil || mt != want {
		return echo.ErrUnsupportedMediaType
	}
	return nil
}

// decodeJSON reads a request body into v, strictly: application/json only,
// one object, no unknown field, every value of the declared type. Whatever
// the client sent wrong is its error (4xx), never ours.
func decodeJSON(c *echo.Context, v any) error {
	r := c.Request()
	if err := requireMediaType(c, "application/json"); err != nil {
		return err
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), r.Body, apiMaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		// Trailing data after the object: a concatenation or a typo.
		return berriz.E(berriz.Invalid, "error.json_syntax")
	}
	return nil
}

// decodeError says what was wrong with a body in the error vocabulary,
// naming the field when there is one.
func decodeError(err error) error {
	var (
		tooBig    *http.MaxBytesError
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return err // handleError answers 413
	case errors.As(err, &wrongType):
		if wrongType.Field == "" {
			return berriz.E(berriz.Invalid, "error.json_object").WithCause(err)
		}
		f := berriz.FieldErrors{}
		f.Add(wrongType.Field, "error.json_type")
		return wrapCause(f.Err(), err)
	case errors.As(err, &syntax), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return berriz.E(berriz.Invalid, "error.json_syntax").WithCause(err)
	}
	// encoding/json reports unknown fields only in its message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if field, uerr := strconv.Unquote(name); uerr == nil {
			f := berriz.FieldErrors{}
			f.Add(field, "error.json_unknown_field")
			return wrapCause(f.Err(), err)
		}
	}
	return berriz.E(berriz.Invalid, "error.json_syntax").WithCause(err)
}

func wrapCause(verr, cause error) error {
	return berriz.As(verr).WithCause(cause)
}

// queryID reads an optional numeric query parameter (0 when absent).
func queryID(c *echo.Context, name string) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		f := berriz.FieldErrors{}
		f.Add(name, "error.query_id")
		return 0, f.Err()
	}
	return id, nil
}

// queryBool reads an optional true/false query parameter (nil when absent).
func queryBool(c *echo.Context, name string) (*bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		f := berriz.FieldErrors{}
		f.Add(name, "error.query_bool")
		return nil, f.Err()
	}
	return &b, nil
}

// orgParam is the organisation a listing of users or invitations covers:
// an operator's ?organisation_id= (0: every organisation), or the caller's
// own organisation. Naming another one is answered as if it did not exist.
func (s *Server) orgParam(c *echo.Context) (int64, error) {
	p := principalOf(c)
	id, err := queryID(c, "organisation_id")
	if err != nil {
		return 0, err
	}
	if !p.IsOperator() {
		if id != 0 && id != p.OrgID {
			return 0, berriz.E(berriz.NotFound, "error.org_not_found")
		}
		return p.OrgID, nil
	}
	if id != 0 {
		if _, err := s.store.Organisation(c.Request().Context(), id); err != nil {
			return 0, err
		}
	}
	return id, nil
}
