package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// Beneficiaries' requests (docs/requests.md): a school or an association
// files a request (pages_requests_form.go), follows it, and may cancel it
// while it is open; the operator sees every request in priority order,
// approves or declines it, and may file one for a beneficiary. The JSON
// API (api_requests.go) makes the same store calls.

// requestRoutes lists the routes of this area; routes() appends them to
// the table. Beneficiary lets in the members of beneficiary organisations
// and operators; requestScope confines beneficiaries to their own.
func (s *Server) requestRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodGet, "/requests", "requests", Beneficiary, s.requestList},
		{http.MethodGet, "/requests/new", "request_new", Beneficiary, s.requestNew},
		{http.MethodPost, "/requests", "request_create", Beneficiary, s.requestCreate},
		{http.MethodGet, "/requests/:id", "request", Beneficiary, s.requestShow},
		{http.MethodPost, "/requests/:id/decision", "request_decision", Operator, s.requestDecide},
		{http.MethodPost, "/requests/:id/cancel", "request_cancel", Beneficiary, s.requestCancel},
		{http.MethodGet, v1 + "/requests", "api_requests", Beneficiary, s.apiRequests},
		{http.MethodPost, v1 + "/requests", "api_request_create", Beneficiary, s.apiCreateRequest},
		{http.MethodGet, v1 + "/requests/:id", "api_request", Beneficiary, s.apiRequest},
		{http.MethodPost, v1 + "/requests/:id/decision", "api_request_decision", Operator, s.apiDecideRequest},
		{http.MethodPost, v1 + "/requests/:id/cancel", "api_request_cancel", Beneficiary, s.apiCancelRequest},
	}
}

// requestScope says which requests p may see and act on: operators every
// request, a beneficiary its organisation's.
func requestScope(p *account.Principal) (postgres.RequestScope, error) {
	switch {
	case p.IsOperator():
		return postgres.RequestScope{}, nil
	case p.Role() == account.RoleBeneficiary:
		return postgres.RequestScope{BeneficiaryOrgID: p.OrgID}, nil
	}
	return postgres.RequestScope{}, berriz.E(berriz.NotFound, "error.page_not_found")
}

func requestURL(c *echo.Context, id int64) string {
	return localURL(langOf(c), "/requests/"+strconv.FormatInt(id, 10))
}

type requestsPage struct {
	Requests []postgres.Request
	State    string
	States   []adminOption
	Total    int
	Pager    Pager
	Operator bool
}

// requestList lists the requests the principal may see: the operators'
// queue (open requests first, by priority then waiting time), or a
// beneficiary's own requests, newest first; filtered by state.
func (s *Server) requestList(c *echo.Context) error {
	p := principalOf(c)
	scope, err := requestScope(p)
	if err != nil {
		return err
	}
	d := requestsPage{States: []adminOption{{"", "request.state.all"}}, Operator: p.IsOperator()}
	for _, st := range allocation.RequestStates {
		d.States = append(d.States, adminOption{string(st), st.Key()})
	}
	if st := allocation.RequestState(c.QueryParam("state")); st.Valid() {
		d.State = string(st)
	}
	list, page, err := s.store.Requests(c.Request().Context(),
		postgres.RequestFilter{Scope: scope, State: allocation.RequestState(d.State), Page: pageParam(c)})
	if err != nil {
		return err
	}
	d.Requests, d.Total, d.Pager = list, page.Total, s.pager(c, page)
	return s.render(c, http.StatusOK, "requests", "request.list.title", d)
}

type requestPage struct {
	Request   postgres.Request
	Operator  bool
	Criteria  string   // translated, comma-separated
	Purpose   []string // its lines
	Lines     []requestLineView
	History   []string // one sentence per change of state
	CanDecide bool
	CanCancel bool
}

// requestLineView is a line with its minimums and progress put in words.
type requestLineView struct {
	postgres.RequestLine
	Specs    string
	Progress string
}

func (s *Server) requestLoad(c *echo.Context) (postgres.Request, postgres.RequestScope, error) {
	scope, err := requestScope(principalOf(c))
	if err != nil {
		return postgres.Request{}, scope, err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return postgres.Request{}, scope, err
	}
	r, err := s.store.Request(c.Request().Context(), id, scope)
	return r, scope, err
}

func (s *Server) requestShow(c *echo.Context) error {
	r, _, err := s.requestLoad(c)
	if err != nil {
		return err
	}
	return s.requestRender(c, http.StatusOK, r, nil)
}

// maxPurposeLines bounds the line breaks shown of a purpose (each is an
// element of the page); the rest is joined.
const maxPurposeLines = 12

// requestRender shows a request with the actions the viewer may take now;
// f is a failed action's form, if any.
func (s *Server) requestRender(c *echo.Context, status int, r postgres.Request, f *Form) error {
	lang := langOf(c)
	t := func(key string, kv ...string) string {
		args := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			args[kv[i]] = kv[i+1]
		}
		return s.cat.T(lang, key, args)
	}
	p := principalOf(c)
	d := requestPage{Request: r, Operator: p.IsOperator(), CanCancel: r.State.Cancellable(),
		CanDecide: p.IsOperator() && r.State == allocation.Submitted}
	var crit []string
	for _, c := range r.Criteria {
		crit = append(crit, t(c.Key()))
	}
	d.Criteria = strings.Join(crit, ", ")
	if d.Criteria == "" {
		d.Criteria = t("request.criteria.none")
	}
	d.Purpose = strings.Split(r.Purpose, "\n")
	if len(d.Purpose) > maxPurposeLines {
		d.Purpose = append(d.Purpose[:maxPurposeLines-1], strings.Join(d.Purpose[maxPurposeLines-1:], " "))
	}
	for _, l := range r.Lines {
		v := requestLineView{RequestLine: l, Specs: lineSpecs(t, lang, l.Line)}
		v.Progress = t("request.progress", "reserved", strconv.Itoa(l.Reserved), "accepted", strconv.Itoa(l.Accepted))
		if d.Operator {
			v.Progress = t("request.progress_operator", "proposed", strconv.Itoa(l.Proposed), "reserved", strconv.Itoa(l.Reserved),
				"accepted", strconv.Itoa(l.Accepted))
		}
		d.Lines = append(d.Lines, v)
	}
	for _, e := range r.History {
		who := t("request.history.system")
		if e.ActorName != "" || e.ActorOrg != "" {
			who = t("request.history.actor", "name", e.ActorName, "organisation", e.ActorOrg)
		}
		line := t("request.history.step", "at", e.At.UTC().Format("2006-01-02 15:04 UTC"), "who", who, "state", t(e.To.Key()))
		if e.Reason != "" {
			line = t("request.history.reason", "step", line, "reason", e.Reason)
		}
		d.History = append(d.History, line)
	}
	pg := s.newPage(c, "request.title", d)
	pg.Title, pg.Form = t("request.name", "id", strconv.FormatInt(r.ID, 10))+" · "+pg.Title, f
	return s.renderPage(c, status, "request", pg)
}

// lineSpecs puts a line's minimums and notes in words.
func lineSpecs(t func(string, ...string) string, lang i18n.Lang, l allocation.Line) string {
	var parts []string
	if l.MinRAMGB > 0 {
		parts = append(parts, t("request.spec.ram", "gb", strconv.Itoa(l.MinRAMGB)))
	}
	if l.MinStorageGB > 0 {
		parts = append(parts, t("request.spec.storage", "gb", strconv.Itoa(l.MinStorageGB)))
	}
	if l.MinScreenInches > 0 {
		inches := strconv.FormatFloat(l.MinScreenInches, 'f', -1, 64)
		if lang != i18n.EN {
			inches = strings.Replace(inches, ".", ",", 1) // French and Basque write a decimal comma
		}
		parts = append(parts, t("request.spec.screen", "inches", inches))
	}
	if l.MinGrade != "" {
		parts = append(parts, t("request.spec.grade", "grade", string(l.MinGrade)))
	}
	out := strings.Join(parts, ", ")
	if out == "" {
		out = t("request.spec.none")
	}
	if l.Notes != "" {
		out = t("request.spec.notes", "specs", out, "notes", l.Notes)
	}
	return out
}

// requestFail shows the request again with the refusal, or returns err
// when it is not the user's doing.
func (s *Server) requestFail(c *echo.Context, id int64, f *Form, err error) error {
	status, ok := s.failForm(c, f, err)
	if !ok {
		return err
	}
	scope, _ := requestScope(principalOf(c))
	r, lerr := s.store.Request(c.Request().Context(), id, scope)
	if lerr != nil {
		return lerr
	}
	return s.requestRender(c, status, r, f)
}

// formVersion reads the version a form was shown with; a missing or bad
// one is 0, which no request has: a stale conflict.
func formVersion(f *Form) int {
	v, _ := strconv.Atoi(f.Values.Get("version"))
	return v
}

// requestDecide records the operator's decision from the request's page.
func (s *Server) requestDecide(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	f := s.newForm(c, map[string]string{"reason": "request.field.reason", "decision": "request.field.decision"})
	d, reason, fe := allocation.ParseDecision(f.Values.Get("decision"), f.Values.Get("reason"))
	if err = fe.Err(); err == nil {
		_, err = s.store.DecideRequest(c.Request().Context(), id,
			postgres.RequestDecision{Decision: d, Reason: reason, Version: formVersion(f)}, principalOf(c))
	}
	if err != nil {
		return s.requestFail(c, id, f, err)
	}
	if d == allocation.Approve {
		s.SetFlash(c, "success", "request.flash.approved")
	} else {
		s.SetFlash(c, "success", "request.flash.declined")
	}
	return c.Redirect(http.StatusSeeOther, requestURL(c, id))
}

// requestCancel withdraws a request from its page (its beneficiary, or an
// operator), with an optional reason.
func (s *Server) requestCancel(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	scope, err := requestScope(principalOf(c))
	if err != nil {
		return err
	}
	f := s.newForm(c, map[string]string{"cancel_reason": "request.field.cancel_reason"})
	fe := berriz.FieldErrors{}
	reason := allocation.CheckRequestReason(fe, f.Values.Get("cancel_reason"), false)
	if key := fe["reason"]; key != "" {
		err = berriz.FieldErrors{"cancel_reason": key}.Err()
	} else {
		_, err = s.store.CancelRequest(c.Request().Context(), id, scope, formVersion(f), reason, principalOf(c))
	}
	if err != nil {
		return s.requestFail(c, id, f, err)
	}
	s.SetFlash(c, "success", "request.flash.cancelled")
	return c.Redirect(http.StatusSeeOther, requestURL(c, id))
}
