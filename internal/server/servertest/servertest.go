// Package servertest starts a berriz server for tests, wired like
// production: configuration parsed from environment variables, a fresh
// PostgreSQL database cloned from the migrated template, a real store (a
// temporary directory or a fresh bucket on the test MinIO) and the real
// route table behind an httptest server.
package servertest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/storage"
	"github.com/berriz/berriz/storage/storagetest"
)

// Options change how the server is wired.
type Options struct {
	// S3 stores files on the test MinIO instead of a temporary directory.
	S3 bool
	// Env overrides BERRIZ_* variables, as an operator would.
	Env map[string]string
	// DatabaseURL replaces the fresh test database (for outage tests that
	// route the connection through a proxy).
	DatabaseURL string
	// Clock replaces time.Now, for tests of expiry.
	Clock func() time.Time
}

// Env is a running test server and what it is wired to.
type Env struct {
	URL    string
	Config config.Config
	Server *server.Server
	DB     *postgres.DB
	Store  storage.Store
	HTTP   *httptest.Server
	logs   *LogBuffer
}

// MustStart starts a server for the test and stops it at the end.
func MustStart(t *testing.T, opts Options) *Env {
	t.Helper()
	dbURL := opts.DatabaseURL
	if dbURL == "" {
		dbURL = pgtest.MustURL(t)
	}
	vars := map[string]string{
		"BERRIZ_ENV":          "development",
		"BERRIZ_DATABASE_URL": dbURL,
		"BERRIZ_STORAGE_DIR":  t.TempDir(),
		"BERRIZ_LOG_LEVEL":    "debug",
		// Tests hash many passwords on a 2-core machine: the cheapest
		// argon2id parameters keep them fast (production uses the defaults).
		"BERRIZ_ARGON2_MEMORY_KIB": "64",
		"BERRIZ_ARGON2_TIME":       "1",
	}
	for k, v := range opts.Env {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	logs := &LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	db, err := postgres.Open(ctx, postgres.Options{
		URL: cfg.DatabaseURL, MaxOpenConns: cfg.DBMaxOpenConns, MaxIdleConns: cfg.DBMaxIdleConns,
		ConnMaxLifetime: cfg.DBConnMaxLifetime, ConnMaxIdleTime: cfg.DBConnMaxIdleTime,
		ConnectTimeout: 10 * time.Second, Logger: log,
	})
	if err != nil {
		t.Fatalf("servertest: database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.CheckSchema(ctx); err != nil {
		t.Fatalf("servertest: schema: %v", err)
	}
	var store storage.Store
	if opts.S3 {
		store = storagetest.MustS3(t)
	} else {
		d, err := storage.NewDisk(cfg.StorageDir)
		if err != nil {
			t.Fatalf("servertest: storage: %v", err)
		}
		store = d
	}
	srv, err := server.New(server.Deps{Config: cfg, Logger: log, Store: db, Files: store, Clock: opts.Clock})
	if err != nil {
		t.Fatalf("servertest: server: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	return &Env{URL: hs.URL, Config: cfg, Server: srv, DB: db, Store: store, HTTP: hs, logs: logs}
}

// Logs returns everything the server logged so far (JSON lines).
func (e *Env) Logs() string { return e.logs.String() }

// Client returns an HTTP client with its own cookie jar that does not follow
// redirects, so tests see every answer as a browser would receive it.
func (e *Env) Client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
