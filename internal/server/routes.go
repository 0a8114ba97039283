package server

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// Access says who may call a route. The authorization policy (deny by
// default) reads it; every route must declare one, and the route × role test
// covers every entry.
type Access string

// Access levels known so far; later issues add roles.
const (
	// Public routes answer anyone, signed in or not.
	Public Access = "public"
	// Loopback routes answer local clients, or holders of the metrics token.
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
	return []Route{
		{http.MethodGet, "/", "home", Public, s.home},
		{http.MethodGet, "/about", "about", Public, s.about},
		{http.MethodGet, "/healthz", "healthz", Public, s.healthz},
		{http.MethodGet, "/readyz", "readyz", Public, s.readyz},
		{http.MethodGet, "/metrics", "metrics", Loopback, s.serveMetrics},
		{http.MethodGet, "/static/*", "static", Public, s.assets.serve},
		{http.MethodGet, "/favicon.ico", "favicon", Public, s.favicon},
	}
}

// Routes returns the route table, for documentation and policy tests.
func (s *Server) Routes() []Route { return s.routes() }

func (s *Server) mount(e *echo.Echo) {
	for _, r := range s.routes() {
		e.AddRoute(echo.Route{Method: r.Method, Path: r.Path, Name: r.Name, Handler: r.Handler})
	}
}
