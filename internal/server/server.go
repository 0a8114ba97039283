// Package server is everything HTTP in berriz: the one route table, the
// middleware chain (request ids, logs, metrics, panic recovery, security
// headers, gzip, language), rendering of the embedded templates, and the one
// mapping of the error vocabulary to HTML pages and JSON bodies.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/mail"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/storage"
	"github.com/berriz/berriz/web"
	"github.com/labstack/echo/v5"
)

// Deps are what the server is wired with, by hand, in cmd/berriz and in
// tests.
type Deps struct {
	Config config.Config
	Logger *slog.Logger
	// Store is the database; nil only in tests of the HTTP plumbing alone.
	Store *postgres.DB
	Files storage.Store
	// Mailer sends invitations and reset links; nil writes them to the log.
	Mailer mail.Sender
	// Clock tells the time; nil is time.Now.
	Clock func() time.Time
}

// Server holds the HTTP side of one berriz instance. It keeps no state that
// another instance would need.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	cat     *i18n.Catalogs
	tmpl    *templates
	assets  *assets
	metrics *metrics
	ready   map[string]Pinger
	echo    *echo.Echo
	store   *postgres.DB
	files   storage.Store
	mailer  mail.Sender
	clock   func() time.Time
	csrfKey []byte
	argon2  account.Argon2Params
	// joinedPaths: the GET routes, by path, whose first read joins the
	// principal's (auth_joined.go).
	joinedPaths map[string]joinedReads
}

// New builds a server from its dependencies.
func New(d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Mailer == nil {
		var err error
		if d.Mailer, err = mail.New(mail.Config{}, d.Logger); err != nil {
			return nil, err
		}
	}
	cat, err := i18n.Load(web.Catalogs())
	if err != nil {
		return nil, err
	}
	tmpl, err := loadTemplates(web.Templates())
	if err != nil {
		return nil, err
	}
	as, err := loadAssets(web.Static())
	if err != nil {
		return nil, err
	}
	if tmpl.byLang, err = translateTemplates(tmpl.pages, cat, as); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     d.Config,
		log:     d.Logger,
		cat:     cat,
		tmpl:    tmpl,
		assets:  as,
		metrics: newMetrics(),
		ready:   map[string]Pinger{},
		store:   d.Store,
		files:   d.Files,
		mailer:  d.Mailer,
		clock:   d.Clock,
		argon2: account.Argon2Params{MemoryKiB: uint32(d.Config.Argon2MemoryKiB), Time: uint32(d.Config.Argon2Time),
			Threads: uint8(d.Config.Argon2Threads)},
	}
	if d.Store != nil {
		s.ready["database"] = d.Store
		// The CSRF key is shared by every instance through the database.
		if s.csrfKey, err = d.Store.Secret(context.Background(), "csrf"); err != nil {
			return nil, fmt.Errorf("csrf key: %w", err)
		}
	} else {
		s.csrfKey = make([]byte, 32)
		_, _ = rand.Read(s.csrfKey)
	}
	if d.Files != nil {
		s.ready["storage"] = d.Files
	}
	ipx, err := ipExtractor(d.Config.TrustedProxies)
	if err != nil {
		return nil, err
	}
	e := echo.NewWithConfig(echo.Config{
		Logger:           d.Logger,
		HTTPErrorHandler: s.handleError,
		IPExtractor:      ipx,
	})
	e.Pre(s.language)
	e.Use(
		s.requestID,
		s.securityHeaders,
		s.observe,
		s.recoverPanics,
		s.limitBody,
		s.authenticate,
		gzipMiddleware, // gzip.go
	)
	s.mount(e)
	s.echo = e
	return s, nil
}

// Handler returns the HTTP handler of the server.
func (s *Server) Handler() http.Handler { return s.echo }

func ipExtractor(cidrs []string) (echo.IPExtractor, error) {
	if len(cidrs) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, c := range cidrs {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", c, err)
		}
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}

// Serve answers HTTP on ln until ctx is cancelled, then stops accepting new
// connections and lets in-flight requests finish within grace.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // slow uploads on a 512 kbit/s link
		WriteTimeout:      5 * time.Minute, // PDF downloads on the same link
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
