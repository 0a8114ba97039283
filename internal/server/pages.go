package server

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

func (s *Server) home(c *echo.Context) error {
	return s.render(c, http.StatusOK, "home", "home.title", nil)
}

func (s *Server) about(c *echo.Context) error {
	return s.render(c, http.StatusOK, "about", "about.title", nil)
}

// favicon serves the icon at the address browsers try on their own.
func (s *Server) favicon(c *echo.Context) error {
	return c.Redirect(http.StatusMovedPermanently, s.assets.URL("favicon.svg"))
}
