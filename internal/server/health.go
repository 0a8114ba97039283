package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
)

// Pinger is anything readiness depends on.
type Pinger interface {
	Ping(ctx context.Context) error
}

// healthz answers as long as the process serves HTTP: a liveness probe that
// must not depend on the database, or an outage would restart every
// instance for nothing.
func (s *Server) healthz(c *echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// readyz answers 200 when the database and the file storage both answer,
// 503 otherwise, so a load balancer sends traffic only to instances that
// can serve it. Checks run in parallel, each bounded by a short timeout.
func (s *Server) readyz(c *echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	res := readiness{Status: "ready", Checks: map[string]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, p := range s.ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.Ping(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Checks[name] = "unavailable"
				res.Status = "unavailable"
				s.logFor(c).Warn("readiness check failed", "check", name, "error", err.Error())
				return
			}
			res.Checks[name] = "ok"
		}()
	}
	wg.Wait()
	c.Response().Header().Set("Cache-Control", "no-store")
	status := http.StatusOK
	if res.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, res)
}
