package server

import (
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// A device's next steps and its history: the device page shows the states
// that may follow the current one, a button for each step the rules allow
// now and, for the others, what is still missing and where to do it; the
// history page shows the event log. Every change of state, from a page, the
// JSON API or the scan station, goes through store.TransitionDevice and the
// rules of internal/lifecycle.

// deviceLifecycleRoutes lists the routes of this area; routes() appends
// them to the table.
func (s *Server) deviceLifecycleRoutes() []Route {
	const v1 = "/api/v1"
	return []Route{
		{http.MethodPost, "/devices/:id/state", "device_state", Workshop, s.deviceState},
		{http.MethodGet, "/devices/:id/history", "device_history", Inventory, s.deviceHistory},
		{http.MethodPost, v1 + "/devices/:id/transitions", "api_device_transition", Workshop, s.apiDeviceTransition},
		{http.MethodGet, v1 + "/devices/:id/events", "api_device_events", Inventory, s.apiDeviceEvents},
	}
}

// stepPages says where the work of a step is done, under /devices/<id>:
// the page that records what the step needs.
var stepPages = map[lifecycle.State]string{
	lifecycle.Diagnosed:   "/diagnosis",
	lifecycle.Wiped:       "/erasure",
	lifecycle.Refurbished: "/repairs",
	lifecycle.Available:   "/grade",
	lifecycle.Recycled:    "/recycling",
	lifecycle.Dismantled:  "/dismantle",
	lifecycle.Returned:    "/return",
}

// stepView is one state that may follow the current one.
type stepView struct {
	To      string // the state
	Button  bool   // the step can be taken here, now
	Missing string // what the rules still want, translated ("" when allowed)
	Link    string // the page where the step's work is done, or ""
}

// deviceSteps lists the next steps of a device for its page, from its
// state and facts (store.DevicePage); only staff who may change it get
// them.
func (s *Server) deviceSteps(c *echo.Context, d postgres.DeviceDetail, st postgres.DeviceState, facts lifecycle.Facts) []stepView {
	if account.Authorize(Workshop, principalOf(c), true) != nil {
		return nil
	}
	lang := langOf(c)
	var out []stepView
	for _, o := range lifecycle.Options(st.State, facts) {
		v := stepView{To: string(o.To)}
		if p, ok := stepPages[o.To]; ok {
			v.Link = deviceURL(c, d.ID) + p
		}
		switch {
		case o.Refuse == nil && o.Via == lifecycle.Direct && o.To != lifecycle.Returned:
			v.Button = true // a return needs its reason: the link leads to its form
		case o.Refuse == nil:
			// Its own path: the link leads there.
		default:
			v.Missing = s.errorText(lang, berriz.As(o.Refuse))
		}
		if o.Via == lifecycle.Allocation && o.Refuse != nil {
			continue // requests and handovers have their own screens
		}
		out = append(out, v)
	}
	return out
}

// deviceState takes a step of the lifecycle from the device page. A stale
// version (someone else changed the device meanwhile) or a refused step
// shows the page again, fresh, with the reason.
func (s *Server) deviceState(c *echo.Context) error {
	d, scope, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, map[string]string{"note": "lifecycle.field.note"})
	version, _ := strconv.Atoi(f.Values.Get("version"))
	if version <= 0 {
		version = -1 // a form always carries the version it showed
	}
	t := postgres.Transition{To: lifecycle.State(f.Values.Get("to")), Version: version, Note: f.Values.Get("note")}
	if _, err := s.transitionDevice(c, d.ID, scope, t); err != nil {
		if fresh, lerr := s.store.Device(c.Request().Context(), d.ID, scope); lerr == nil {
			d = fresh
		}
		return s.deviceFail(c, d, f, nil, err)
	}
	s.SetFlash(c, "success", "lifecycle.flash."+string(t.To))
	return c.Redirect(http.StatusSeeOther, deviceURL(c, d.ID))
}

// transitionDevice is every path's way to change a device's state (pages,
// API, scan station): the store applies the lifecycle's rules, then
// afterTransition does what entering the new state entails outside the
// database.
func (s *Server) transitionDevice(c *echo.Context, id int64, scope postgres.DonationScope, t postgres.Transition) (postgres.DeviceState, error) {
	st, err := s.store.TransitionDevice(c.Request().Context(), id, scope, t, principalOf(c))
	if err != nil {
		return st, err
	}
	s.afterTransition(c, st)
	return st, nil
}

// afterTransition runs the effects of entering a state that live outside
// the database's transaction. They must not fail the step, which is
// committed: a failure is logged and retried where the effect is used.
func (s *Server) afterTransition(c *echo.Context, st postgres.DeviceState) {
	if st.State == lifecycle.Wiped {
		s.issueCertificateAfter(c, st.ID) // the erasure certificate (pages_erasure_certificate.go)
	}
}

type historyPage struct {
	Device postgres.DeviceDetail
	Events []postgres.DeviceEvent
	Pager  Pager
	Total  int
}

// deviceHistory shows a device's event log, newest first.
func (s *Server) deviceHistory(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	events, page, err := s.store.DeviceEvents(c.Request().Context(), d.ID, pageParam(c))
	if err != nil {
		return err
	}
	pg := s.newPage(c, "lifecycle.history.title", historyPage{Device: d, Events: events, Pager: s.pager(c, page), Total: page.Total})
	return s.renderPage(c, http.StatusOK, "device_history", pg)
}

// apiDeviceTransition is POST /devices/{id}/transitions: {"to", "version",
// "note"}. A stale version or a step the rules refuse is a 409 whose
// details carry the device's fresh state and version.
func (s *Server) apiDeviceTransition(c *echo.Context) error {
	var in postgres.Transition
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	fe := berriz.FieldErrors{}
	if !in.To.Valid() {
		fe.Add("to", "lifecycle.error.state_unknown")
	}
	if in.Version < 0 {
		fe.Add("version", "lifecycle.error.version")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	scope, err := donationScope(principalOf(c))
	if err != nil {
		return err
	}
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	in.Via = lifecycle.Direct
	st, err := s.transitionDevice(c, id, scope, in)
	if err != nil {
		return withFreshState(c, s, id, scope, err)
	}
	return apiJSON(c, http.StatusOK, st)
}

// withFreshState adds the device's current state and version to a
// conflict that does not carry them yet, so a client can recover.
func withFreshState(c *echo.Context, s *Server, id int64, scope postgres.DonationScope, err error) error {
	be := berriz.As(err)
	if be == nil || be.Kind != berriz.Conflict || be.Details["version"] != nil {
		return err
	}
	st, _, ferr := s.store.DeviceFacts(c.Request().Context(), id, scope)
	if ferr != nil {
		return err
	}
	return be.WithDetail("state", string(st.State)).WithDetail("version", st.Version)
}

// apiDeviceEvents is GET /devices/{id}/events: the device's log, newest
// first, each event with its hash.
func (s *Server) apiDeviceEvents(c *echo.Context) error {
	d, _, err := s.deviceLoad(c)
	if err != nil {
		return err
	}
	events, page, err := s.store.DeviceEvents(c.Request().Context(), d.ID, pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(events, page))
}
