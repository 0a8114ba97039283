package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// Handovers (docs/handover.md): the workshop holding the devices of a
// request's accepted reservations prepares a handover with its receipt
// (pages_handovers_new.go), the beneficiary confirms receipt on the
// handover's page, which delivers the devices, and may later ask for a
// device to be taken back, which the workshop records on the device
// (pages_returns.go). Who sees a handover: its workshop, the beneficiary
// of its request, operators; anyone else gets 404. The JSON API
// (api_handovers.go) makes the same calls.

// handoverRoutes lists the routes of this area; routes() appends them to
// the table.
func (s *Server) handoverRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodGet, "/handovers", "handovers", Allocation, s.handoversList},
		{http.MethodPost, "/handovers", "handover_create", Workshop, s.handoverCreate},
		{http.MethodGet, "/handovers/:id", "handover", Allocation, s.handoverShow},
		{http.MethodGet, "/handovers/:id/receipt.pdf", "handover_receipt", Allocation, s.handoverReceipt},
		{http.MethodPost, "/handovers/:id/confirm", "handover_confirm", Beneficiary, s.handoverConfirm},
		{http.MethodPost, "/handovers/:id/cancel", "handover_cancel", Workshop, s.handoverCancel},
		{http.MethodPost, "/handovers/:id/returns", "handover_return_request", Beneficiary, s.handoverReturnRequest},
		{http.MethodGet, "/requests/:id/handover/new", "handover_new", Workshop, s.handoverNew},
		{http.MethodGet, "/devices/:id/return", "device_return", Workshop, s.deviceReturnForm},
		{http.MethodPost, "/devices/:id/return", "device_return_record", Workshop, s.deviceReturn},
		{http.MethodGet, v1 + "/handovers", "api_handovers", Allocation, s.apiHandovers},
		{http.MethodPost, v1 + "/handovers", "api_handover_create", Workshop, s.apiHandoverCreate},
		{http.MethodGet, v1 + "/handovers/ready", "api_handovers_ready", Workshop, s.apiHandoversReady},
		{http.MethodGet, v1 + "/handovers/:id", "api_handover", Allocation, s.apiHandover},
		{http.MethodGet, v1 + "/handovers/:id/devices", "api_handover_devices", Allocation, s.apiHandoverDevices},
		{http.MethodGet, v1 + "/handovers/:id/receipt.pdf", "api_handover_receipt", Allocation, s.handoverReceipt},
		{http.MethodPost, v1 + "/handovers/:id/confirm", "api_handover_confirm", Beneficiary, s.apiHandoverConfirm},
		{http.MethodPost, v1 + "/handovers/:id/cancel", "api_handover_cancel", Workshop, s.apiHandoverCancel},
		{http.MethodPost, v1 + "/handovers/:id/returns", "api_handover_return_request", Beneficiary, s.apiHandoverReturnRequest},
		{http.MethodGet, v1 + "/requests/:id/handover/candidates", "api_handover_candidates", Workshop, s.apiHandoverCandidates},
		{http.MethodPost, v1 + "/devices/:id/return", "api_device_return", Workshop, s.apiDeviceReturn},
	}
}

// handoverScope confines what a caller sees of handovers: a technician
// its workshop's, a beneficiary its organisation's, an operator all.
func handoverScope(p *account.Principal) (postgres.HandoverScope, error) {
	switch {
	case p.IsOperator():
		return postgres.HandoverScope{}, nil
	case p.Role() == account.RoleTechnician:
		return postgres.HandoverScope{WorkshopOrgID: p.OrgID}, nil
	case p.Role() == account.RoleBeneficiary:
		return postgres.HandoverScope{BeneficiaryOrgID: p.OrgID}, nil
	}
	return postgres.HandoverScope{}, berriz.E(berriz.NotFound, "error.page_not_found")
}

// may reports whether the caller passes access level a for a write: the
// pages show a form only to who may send it.
func may(c *echo.Context, a Access) bool { return account.Authorize(a, principalOf(c), true) == nil }

func handoverURL(c *echo.Context, id int64) string {
	return localURL(langOf(c), "/handovers/"+strconv.FormatInt(id, 10))
}

// handoverPager pages a handover listing (postgres.HandoverPageSize rows).
func handoverPager(c *echo.Context, p postgres.Page) Pager {
	return Pager{Number: p.Number, Pages: postgres.HandoverPages(p.Total), path: requestedPath(c), query: c.QueryParams()}
}

// readyShown bounds the "ready to hand over" list of the handovers page.
const readyShown = 5

type handoversPage struct {
	Handovers             []handoverRow
	Total                 int
	Pager                 Pager
	ShowWorkshop, ShowOrg bool // the columns the caller needs
	Ready                 []postgres.ReadyGroup
	ReadyTotal            int
	Operator              bool
}

// handoverRow is a handover as lists show it.
type handoverRow struct {
	postgres.Handover
	StateKey string
	Date     string
}

// handoversList shows the caller's handovers, the prepared ones first,
// and to workshops what is ready to hand over.
func (s *Server) handoversList(c *echo.Context) error {
	p := principalOf(c)
	scope, err := handoverScope(p)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	list, page, err := s.store.Handovers(ctx, scope, pageParam(c))
	if err != nil {
		return err
	}
	d := handoversPage{Total: page.Total, Pager: handoverPager(c, page), Operator: p.IsOperator(),
		ShowWorkshop: scope.WorkshopOrgID == 0, ShowOrg: scope.BeneficiaryOrgID == 0}
	for _, h := range list {
		d.Handovers = append(d.Handovers, handoverRow{Handover: h, StateKey: h.State.Key(), Date: accountDate(langOf(c), h.CreatedAt)})
	}
	if may(c, Workshop) {
		if d.Ready, d.ReadyTotal, err = s.store.HandoversReady(ctx, scope.WorkshopOrgID, 0, readyShown); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, "handovers", "handover.list.title", d)
}

// handoverLoad reads the handover of the URL, in the caller's scope.
func (s *Server) handoverLoad(c *echo.Context) (postgres.Handover, postgres.HandoverScope, error) {
	scope, err := handoverScope(principalOf(c))
	if err != nil {
		return postgres.Handover{}, scope, err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return postgres.Handover{}, scope, err
	}
	h, err := s.store.Handover(c.Request().Context(), id, scope)
	return h, scope, err
}

// returnsShown bounds the open return requests a handover's page lists.
const returnsShown = 5

type handoverPage struct {
	H                                   postgres.Handover
	StateKey, AnswerKey                 string
	Created, ConfirmedOn, CancelledOn   string
	ReceiptKB                           string
	Devices                             []postgres.HandoverDevice
	Pager                               Pager
	Prepared, Confirmed                 bool
	CanConfirm, CanCancel, CanAskReturn bool
	Staff                               bool // sees the devices' pages
	SeeRequest                          bool // sees the request's page
	ShowAnswer                          bool
	Answers                             []adminOption
	Returns                             []postgres.ReturnRequest
	ReturnsTotal                        int
	MaxReason                           int
}

// handoverShow is a handover's page: its devices, the receipt, and what
// the caller may do now — confirm receipt (the beneficiary), cancel (the
// workshop), ask for a device to be taken back (the beneficiary) or record
// it back (the workshop).
func (s *Server) handoverShow(c *echo.Context) error {
	h, _, err := s.handoverLoad(c)
	if err != nil {
		return err
	}
	return s.handoverRender(c, http.StatusOK, h, nil)
}

func (s *Server) handoverRender(c *echo.Context, status int, h postgres.Handover, f *Form) error {
	ctx := c.Request().Context()
	lang := langOf(c)
	devices, page, err := s.store.HandoverDevices(ctx, h.ID, pageParam(c))
	if err != nil {
		return err
	}
	p := principalOf(c)
	d := handoverPage{H: h, StateKey: h.State.Key(), Created: accountDate(lang, h.CreatedAt), Devices: devices,
		Pager: handoverPager(c, page), Prepared: h.State == allocation.HandoverPrepared,
		Confirmed: h.State == allocation.HandoverConfirmed, Staff: may(c, Workshop), MaxReason: allocation.MaxReasonRunes,
		SeeRequest: account.Authorize(Beneficiary, p, false) == nil,
		ReceiptKB:  strconv.FormatFloat(float64(h.ReceiptSize)/1000, 'f', 1, 64),
		// The answer is the beneficiary's: the workshop does not need it.
		ShowAnswer: h.Answer != "" && (p.IsOperator() || p.Role() == account.RoleBeneficiary)}
	d.ConfirmedOn, d.CancelledOn = dateOr(lang, h.ConfirmedAt), dateOr(lang, h.CancelledAt)
	d.AnswerKey = h.Answer.Key()
	d.CanConfirm = d.Prepared && may(c, Beneficiary)
	d.CanCancel = d.Prepared && may(c, Workshop)
	// Operators may ask for a return too, through the API: the page keeps
	// its form for the beneficiary, and its DOM within the budget.
	d.CanAskReturn = d.Confirmed && p.Role() == account.RoleBeneficiary && may(c, Beneficiary)
	if d.CanConfirm {
		for _, a := range allocation.Answers {
			d.Answers = append(d.Answers, adminOption{Value: string(a), Label: a.Key()})
		}
	}
	if d.Confirmed && d.Staff {
		if d.Returns, d.ReturnsTotal, err = s.store.OpenReturnRequests(ctx, h.ID, returnsShown); err != nil {
			return err
		}
	}
	return s.renderForm(c, status, "handover", "handover.show.title", f, d)
}

func dateOr(lang i18n.Lang, t *time.Time) string {
	if t == nil {
		return ""
	}
	return accountDate(lang, *t)
}

// handoverReceipt sends a handover's receipt, as issued: it never changes.
func (s *Server) handoverReceipt(c *echo.Context) error {
	h, _, err := s.handoverLoad(c)
	if err != nil {
		return err
	}
	if h.ReceiptKey == "" {
		return berriz.E(berriz.NotFound, "handover.error.no_receipt")
	}
	return s.sendBlob(c, blob{Key: h.ReceiptKey, ContentType: "application/pdf", Name: h.Number + ".pdf"})
}

// prepareHandover prepares a handover for the workshop (0: operators,
// whichever single workshop holds the devices): certificates that issuing
// missed when the devices were wiped are issued first (each in its own
// transaction, as the erasure pages do); then the store checks everything
// again under its locks and has the receipt rendered, in the request's
// language, and stored. A receipt stored for a handover that was then not
// recorded is deleted. Pages and the API share it.
func (s *Server) prepareHandover(c *echo.Context, in postgres.NewHandover, workshop int64) (postgres.Handover, error) {
	ctx := c.Request().Context()
	lang := langOf(c)
	ids, err := allocation.CheckReservations(in.ReservationIDs)
	if err != nil {
		return postgres.Handover{}, err
	}
	missing, err := s.store.UncertifiedDevices(ctx, ids)
	if err != nil {
		return postgres.Handover{}, err
	}
	for _, dev := range missing {
		// A refusal here (not erased, another workshop's) is the store's
		// to explain, with the device's name.
		if _, err := s.issueCertificate(c, dev, postgres.DonationScope{WorkshopOrgID: workshop}); err != nil {
			s.logFor(c).Debug("certificate not issued before a handover", "device", dev, "error", err.Error())
		}
	}
	stored := ""
	h, err := s.store.PrepareHandover(ctx, in, workshop, string(lang), principalOf(c),
		receiptWriter(ctx, s.files, s.writeReceiptPDF(lang), &stored))
	if err != nil && stored != "" {
		s.dropBlobs(c, stored)
	}
	return h, err
}

// newReceiptKey is a new storage key for the receipt of a request's
// handover (prepareHandover, and berriz demo through Documents): random,
// since a request may have several handovers (a cancelled one keeps its
// receipt) and none may overwrite another's.
func newReceiptKey(requestID int64) string {
	return "handovers/" + strconv.FormatInt(requestID, 10) + "/receipt-" + randomName() + ".pdf"
}
