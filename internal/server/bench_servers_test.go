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
	"strconv"
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
	"github.com/jackc/pgx/v5/pgtype"
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

// The floor answers three routes, each a bare handler running one SELECT
// through pgx and answering its row as JSON, with nothing around it:
//
//   - /t/<code>: floorQuery, the narrowest SELECT that finds a device by
//     its tag code (the tag, the device and its donation by their primary
//     keys, six columns) — the floor of every run before 3 December 2026;
//   - /v/<code>: postgres.TagViewQuery, the very SELECT the API lookup runs
//     (without the bearer token's part, which is berriz's authentication),
//     scanned into typed values and answered whole, as the API answers it;
//   - /d/<id>?w=<workshop>: postgres.DevicePageQuery, the SELECT the
//     device page runs, in the workshop's scope, its values (rows.Values)
//     answered as a JSON array.
//
// Issue 4 compares its targets with "the same indexed SELECT through pgx
// in a bare net/http handler": /v/ for the JSON lookup, /d/ for the page;
// /t/ stays reported beside them (docs/benchmarks.md).

// floorQuery is the narrowest SELECT a device lookup by tag code needs:
// the tag by its primary key, the device and its donation by theirs.
const floorQuery = `SELECT v.id, v.category, v.brand, v.model, v.state, coalesce(d.workshop_org_id, 0)
	FROM tags t JOIN devices v ON v.id = t.device_id JOIN donations d ON d.id = v.donation_id WHERE t.code = $1`

// floorTagView is one row of postgres.TagViewQuery, in its column order
// (nullable columns into pgtype's values, as berriz scans them).
type floorTagView struct {
	Code           string             `json:"code"`
	BatchID        int64              `json:"batch_id"`
	DeviceID       pgtype.Int8        `json:"device_id"`
	LinkedAt       pgtype.Timestamptz `json:"linked_at"`
	TagCreated     time.Time          `json:"tag_created_at"`
	ID             int64              `json:"id"`
	DonationID     int64              `json:"donation_id"`
	Line           int                `json:"line"`
	Category       string             `json:"category"`
	Brand          string             `json:"brand"`
	Model          string             `json:"model"`
	Serial         string             `json:"serial"`
	Year           int                `json:"year"`
	StorageDrives  int                `json:"storage_drives"`
	WeightKg       float64            `json:"weight_kg"`
	Notes          string             `json:"notes"`
	State          string             `json:"state"`
	Created        pgtype.Timestamptz `json:"created_at"`
	DonationTitle  string             `json:"donation_title"`
	Workshop       int64              `json:"workshop_organisation_id"`
	WorkshopName   string             `json:"workshop_name"`
	Donor          int64              `json:"donor_organisation_id"`
	CPU            string             `json:"cpu"`
	RAMGB          pgtype.Int4        `json:"ram_gb"`
	Screen         pgtype.Float8      `json:"screen_inches"`
	Battery        pgtype.Int4        `json:"battery_health_pct"`
	OS             string             `json:"os"`
	ConditionNotes string             `json:"condition_notes"`
	Updated        pgtype.Timestamptz `json:"updated_at"`
	Version        int                `json:"version"`
	Cycle          int                `json:"cycle"`
	Grade          string             `json:"grade"`
	GradeSuggested string             `json:"grade_suggested"`
	GradeReason    string             `json:"grade_reason"`
	Location       string             `json:"location"`
	StateSince     pgtype.Timestamptz `json:"state_since"`
	RecyclingBatch int64              `json:"recycling_batch_id"`
	Drives         json.RawMessage    `json:"drives"`
}

func (v *floorTagView) dests() []any {
	return []any{&v.Code, &v.BatchID, &v.DeviceID, &v.LinkedAt, &v.TagCreated, &v.ID, &v.DonationID, &v.Line, &v.Category,
		&v.Brand, &v.Model, &v.Serial, &v.Year, &v.StorageDrives, &v.WeightKg, &v.Notes, &v.State, &v.Created,
		&v.DonationTitle, &v.Workshop, &v.WorkshopName, &v.Donor, &v.CPU, &v.RAMGB, &v.Screen, &v.Battery, &v.OS,
		&v.ConditionNotes, &v.Updated, &v.Version, &v.Cycle, &v.Grade, &v.GradeSuggested, &v.GradeReason, &v.Location,
		&v.StateSince, &v.RecyclingBatch, &v.Drives}
}

// startFloor serves the floor: net/http, pgxpool (as many connections as
// berriz's pool), no middleware, no framework, JSON answers.
func startFloor(b testing.TB, dbURL string, conns int) (string, func()) {
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
	answerRow := func(w http.ResponseWriter, err error, v any) {
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			http.Error(w, "unknown", http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	pageQuery := postgres.DevicePageQuery()
	pageFloor := func(w http.ResponseWriter, r *http.Request, arg string) {
		id, err1 := strconv.ParseInt(arg, 10, 64)
		shop, err2 := strconv.ParseInt(r.URL.Query().Get("w"), 10, 64)
		if err1 != nil || err2 != nil {
			http.Error(w, "bad id", http.StatusNotFound)
			return
		}
		var vals []any
		rows, err := pool.Query(r.Context(), pageQuery, id, 0, 0, shop, shop)
		if err == nil {
			if rows.Next() {
				vals, err = rows.Values()
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
			if err == nil && vals == nil {
				err = pgx.ErrNoRows
			}
		}
		answerRow(w, err, vals)
	}
	// The route is the path's first three bytes: next to no routing, as
	// the floor of earlier runs had none.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, arg := r.URL.Path[:min(3, len(r.URL.Path))], r.URL.Path[min(3, len(r.URL.Path)):]
		if route == "/d/" {
			pageFloor(w, r, arg)
			return
		}
		c, err := tag.Parse(arg)
		if err != nil || (route != "/t/" && route != "/v/") {
			http.Error(w, "bad code", http.StatusNotFound)
			return
		}
		if route == "/v/" {
			var v floorTagView
			answerRow(w, pool.QueryRow(r.Context(), postgres.TagViewQuery, string(c)).Scan(v.dests()...), &v)
			return
		}
		var a answer
		err = pool.QueryRow(r.Context(), floorQuery, string(c)).Scan(&a.ID, &a.Category, &a.Brand, &a.Model, &a.State, &a.Workshop)
		answerRow(w, err, a)
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
