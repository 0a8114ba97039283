package server

import (
	"net/http"

	"github.com/berriz/berriz/internal/account"
	"github.com/labstack/echo/v5"
)

// Access says who may call a route (see account.Authorize, the one policy).
type Access = account.Access

// Access levels of the route table.
const (
	Public    = account.Public
	SignedIn  = account.SignedIn
	UserOnly  = account.UserOnly
	Session   = account.Session
	OrgAdmin  = account.OrgAdmin
	Operator  = account.Operator
	Donor     = account.Donor
	Workshop  = account.Workshop
	Inventory = account.Inventory
	// Beneficiary and Allocation: see account.Beneficiary, account.Allocation.
	Beneficiary = account.Beneficiary
	Allocation  = account.Allocation
	// Observatory: see account.Observatory.
	Observatory = account.Observatory
	// Loopback routes answer local clients, or holders of the metrics token;
	// the handler checks.
	Loopback Access = "loopback"
)

// Route is one entry of the route table.
type Route struct {
	Method  string
	Path    string
	Name    string
	Access  Access
	Handler echo.HandlerFunc
}

// routes is THE route table: every URL berriz answers is listed here and
// nowhere else.
func (s *Server) routes() []Route {
	var all []Route
	for _, area := range [][]Route{s.baseRoutes(), s.accountRoutes(), s.orgRoutes(), s.adminRoutes(), s.apiRoutes(), s.tagRoutes(), s.donationRoutes(), s.scanRoutes(), s.deviceRoutes(), s.deviceLifecycleRoutes(), s.erasureRoutes(), s.diagnosisRoutes(), s.dashboardRoutes(), s.partsRoutes(), s.recyclingRoutes(), s.requestRoutes(), s.notificationRoutes(), s.handoverRoutes(), s.matchingRoutes(), s.pushRoutes(), s.reportRoutes(), s.impactRoutes(), s.emissionRoutes(), s.observatoryRoutes()} {
		all = append(all, area...)
	}
	return all
}

// baseRoutes are the public pages, operations endpoints and sign-in flows.
func (s *Server) baseRoutes() []Route {
	return []Route{
		{http.MethodGet, "/", "home", Public, s.home},
		{http.MethodGet, "/about", "about", Public, s.about},
		{http.MethodGet, "/healthz", "healthz", Public, s.healthz},
		{http.MethodGet, "/readyz", "readyz", Public, s.readyz},
		{http.MethodGet, "/metrics", "metrics", Loopback, s.serveMetrics},
		{http.MethodGet, "/static/*", "static", Public, s.assets.serve},
		{http.MethodGet, "/favicon.ico", "favicon", Public, s.favicon},

		{http.MethodGet, "/login", "login_form", Public, s.loginForm},
		{http.MethodPost, "/login", "login", Public, s.login},
		{http.MethodPost, "/logout", "logout", UserOnly, s.logout},
		{http.MethodGet, "/password/forgot", "forgot_form", Public, s.forgotForm},
		{http.MethodPost, "/password/forgot", "forgot", Public, s.forgot},
		{http.MethodGet, "/password/reset/:token", "reset_form", Public, s.resetForm},
		{http.MethodPost, "/password/reset/:token", "reset", Public, s.reset},
		{http.MethodGet, "/invitations/:token", "accept_form", Public, s.acceptForm},
		{http.MethodPost, "/invitations/:token", "accept", Public, s.accept},
	}
}

// Routes returns the route table, for documentation and policy tests.
func (s *Server) Routes() []Route { return s.routes() }

// mount registers every route behind the policy guard. A route without an
// access level is a programming error that must never reach production.
func (s *Server) mount(e *echo.Echo) {
	reads := s.joined()
	s.joinedPaths = map[string]joinedReads{}
	for _, r := range s.routes() {
		if r.Access == "" {
			panic("route " + r.Method + " " + r.Path + " declares no access")
		}
		if read, ok := reads[r.Name]; ok {
			if r.Method != http.MethodGet {
				panic("route " + r.Name + ": only reads join the principal's")
			}
			s.joinedPaths[r.Path] = read
			delete(reads, r.Name)
		}
		if _, err := e.AddRoute(echo.Route{Method: r.Method, Path: r.Path, Name: r.Name, Handler: s.guard(r)}); err != nil {
			panic(err)
		}
	}
	for name := range reads {
		panic("joined read for route " + name + ", which is not in the table")
	}
}
