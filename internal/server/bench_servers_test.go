package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/internal/tag"
	"github.com/berriz/berriz/storage"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The servers BenchmarkTagLookup loads: berriz wired as `berriz serve`
// wires it, and the floor beside it on the same database.

// startBenchProfile profiles the whole process (server, floor and clients
// alike) until the returned function is called.
func startBenchProfile(b *testing.B, path string) func() {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

// startBenchServer starts berriz as `berriz serve` does: configuration
// from BERRIZ_ variables (production mode, production pool sizes), a fresh
// database cloned from the migrated template, files on disk, JSON request
// logs at info level (written to io.Discard: formatted, as in production,
// but not stored), and server.Serve on a real TCP listener with
// production's timeouts. The returned Env serves the servertest helpers.
func startBenchServer(b *testing.B) (*servertest.Env, func()) {
	b.Helper()
	return startBenchServerOn(b, pgtest.MustURL(b))
}

// startBenchServerOn is startBenchServer on a database of the caller's.
func startBenchServerOn(b *testing.B, dbURL string) (*servertest.Env, func()) {
	b.Helper()
	vars := map[string]string{
		"BERRIZ_ENV":          "production",
		"BERRIZ_DATABASE_URL": dbURL,
		"BERRIZ_STORAGE_DIR":  b.TempDir(),
		// Only the seeding signs people in; cheap hashes keep it quick
		// and are not measured.
		"BERRIZ_ARGON2_MEMORY_KIB": "64",
		"BERRIZ_ARGON2_TIME":       "1",
	}
	// The pool's sizes may be tried otherwise from the environment (the
	// floor's pool follows BERRIZ_DB_MAX_OPEN_CONNS).
	for _, k := range []string{"BERRIZ_DB_MAX_OPEN_CONNS", "BERRIZ_DB_MAX_IDLE_CONNS"} {
		if v := os.Getenv(k); v != "" {
			vars[k] = v
		}
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	db, err := postgres.Open(ctx, postgres.Options{URL: cfg.DatabaseURL, MaxOpenConns: cfg.DBMaxOpenConns,
		MaxIdleConns: cfg.DBMaxIdleConns, ConnMaxLifetime: cfg.DBConnMaxLifetime, ConnMaxIdleTime: cfg.DBConnMaxIdleTime,
		ConnectTimeout: 10 * time.Second, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	files, err := storage.NewDisk(cfg.StorageDir)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Deps{Config: cfg, Logger: log, Store: db, Files: files})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, srv.Handler(), 5*time.Second, log) }()
	env := &servertest.Env{URL: "http://" + ln.Addr().String(), Config: cfg, Server: srv, DB: db, Store: files}
	return env, func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("server: %v", err)
		}
		_ = db.Close()
	}
}

// floorQuery is the one indexed SELECT a device lookup by tag code needs:
// the tag by its primary key, the device and its donation by theirs.
const floorQuery = `SELECT v.id, v.category, v.brand, v.model, v.state, coalesce(d.workshop_org_id, 0)
	FROM tags t JOIN devices v ON v.id = t.device_id JOIN donations d ON d.id = v.donation_id WHERE t.code = $1`

// startFloor serves the floor: net/http, pgxpool (as many connections as
// berriz's pool), no middleware, no framework, a small JSON answer.
func startFloor(b *testing.B, dbURL string, conns int) (string, func()) {
	b.Helper()
	pcfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	pcfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		b.Fatal(err)
	}
	type answer struct {
		ID       int64  `json:"id"`
		Category string `json:"category"`
		Brand    string `json:"brand"`
		Model    string `json:"model"`
		State    string `json:"state"`
		Workshop int64  `json:"workshop_organisation_id"`
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, err := tag.Parse(strings.TrimPrefix(r.URL.Path, "/t/"))
		if err != nil {
			http.Error(w, "bad code", http.StatusNotFound)
			return
		}
		var a answer
		err = pool.QueryRow(r.Context(), floorQuery, string(code)).Scan(&a.ID, &a.Category, &a.Brand, &a.Model, &a.State, &a.Workshop)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			http.Error(w, "unknown tag", http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() {
		_ = hs.Close()
		pool.Close()
	}
}

// benchServe serves one GET of path through h in process, with the
// request headers given as name, value pairs, and fails b unless it
// answers 200.
func benchServe(b *testing.B, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d", path, rec.Code)
	}
	return rec
}
