package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The requests of the JSON API: the same scoping (requestScope), the same
// checks (package allocation) and the same store calls as the pages;
// documented in openapi/requests.json.

// apiRequestInput is the body of POST /requests: an operator names the
// beneficiary organisation, a beneficiary files for its own (and may name
// it, never another).
type apiRequestInput struct {
	BeneficiaryOrgID int64 `json:"beneficiary_organisation_id"`
	allocation.RequestJSON
}

// apiRequestDecision is the body of POST /requests/{id}/decision.
type apiRequestDecision struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	Version  int    `json:"version"`
}

// apiRequestCancel is the body of POST /requests/{id}/cancel.
type apiRequestCancel struct {
	Reason  string `json:"reason"`
	Version int    `json:"version"`
}

var beneficiaryRename = map[string]string{"beneficiary": "beneficiary_organisation_id"}

// apiRequests lists the requests the caller may see: the operators'
// queue, or a beneficiary's own requests, newest first.
func (s *Server) apiRequests(c *echo.Context) error {
	scope, err := requestScope(principalOf(c))
	if err != nil {
		return err
	}
	st := allocation.RequestState(c.QueryParam("state"))
	if st != "" && !st.Valid() {
		return berriz.FieldErrors{"state": "request.error.state_unknown"}.Err()
	}
	list, page, err := s.store.Requests(c.Request().Context(), postgres.RequestFilter{Scope: scope, State: st, Page: pageParam(c)})
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(list, page))
}

// apiCreateRequest files a request from a JSON body, checked as the form
// checks it: a mistake anywhere saves nothing.
func (s *Server) apiCreateRequest(c *echo.Context) error {
	var in apiRequestInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p := principalOf(c)
	r, fe := in.Parse()
	if fe == nil {
		fe = berriz.FieldErrors{}
	}
	org := p.OrgID
	switch {
	case p.IsOperator() && in.BeneficiaryOrgID <= 0:
		fe.Add("beneficiary_organisation_id", "request.error.beneficiary_invalid")
	case p.IsOperator():
		org = in.BeneficiaryOrgID
	case in.BeneficiaryOrgID != 0 && in.BeneficiaryOrgID != p.OrgID:
		fe.Add("beneficiary_organisation_id", "request.error.beneficiary_invalid")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	out, err := s.store.CreateRequest(c.Request().Context(), org, p, r)
	if err != nil {
		return apiDonorFields(err, beneficiaryRename)
	}
	c.Response().Header().Set("Location", "/api/v1/requests/"+strconv.FormatInt(out.ID, 10))
	return apiJSON(c, http.StatusCreated, out)
}

// apiRequest is GET /requests/{id}: the request with its lines, their
// progress and its history.
func (s *Server) apiRequest(c *echo.Context) error {
	r, _, err := s.requestLoad(c)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, r)
}

// apiDecideRequest is the operator's decision: approve, or decline with
// a reason; the version the operator saw is required.
func (s *Server) apiDecideRequest(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in apiRequestDecision
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d, reason, fe := allocation.ParseDecision(in.Decision, in.Reason)
	if fe == nil {
		fe = berriz.FieldErrors{}
	}
	if in.Version <= 0 {
		fe.Add("version", "request.error.version_required")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	out, err := s.store.DecideRequest(c.Request().Context(), id, postgres.RequestDecision{Decision: d, Reason: reason, Version: in.Version},
		principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, out)
}

// apiCancelRequest withdraws a request (its beneficiary, or an operator),
// with an optional reason; the version the caller saw is required.
func (s *Server) apiCancelRequest(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	scope, err := requestScope(principalOf(c))
	if err != nil {
		return err
	}
	var in apiRequestCancel
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	fe := berriz.FieldErrors{}
	reason := allocation.CheckRequestReason(fe, in.Reason, false)
	if in.Version <= 0 {
		fe.Add("version", "request.error.version_required")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	out, err := s.store.CancelRequest(c.Request().Context(), id, scope, in.Version, reason, principalOf(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, out)
}
