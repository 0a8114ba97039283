// Package pgtest gives each test its own PostgreSQL database, cloned from a
// template that is migrated once per set of migrations (not once per test),
// so tests run against the real schema in isolation and stay fast.
//
// The server is reached through BERRIZ_TEST_DATABASE_URL (a role allowed to
// create databases); `make test` sets it. Without it the tests skip, unless
// BERRIZ_TEST_REQUIRE_SERVICES=1, in which case they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/migrations"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for the admin connection
)

// templateLockID serialises template creation across the test binaries that
// `go test ./...` runs in parallel.
const templateLockID = 0x62657274706c // "bertpl"

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// AdminURL returns the URL of the test server's administrative database, or
// skips (or fails, when services are required) when none is configured.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("BERRIZ_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("BERRIZ_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("BERRIZ_TEST_DATABASE_URL is not set; run the tests with `make test`")
		}
		t.Skip("no test PostgreSQL (BERRIZ_TEST_DATABASE_URL unset); run `make test`")
	}
	return u
}

// MustURL creates a fresh database for the test, cloned from the migrated
// template, drops it when the test ends, and returns its URL.
func MustURL(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(admin) })
	if templateErr != nil {
		t.Fatalf("pgtest: template database: %v", templateErr)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	name := "berriz_t_" + randomSuffix()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("pgtest: create %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, admin, name) })
	return WithDatabase(admin, name)
}

// MustDB opens a pool on a fresh database for the test and closes it at the
// end.
func MustDB(t testing.TB) *postgres.DB {
	t.Helper()
	u := MustURL(t)
	db, err := postgres.Open(context.Background(), postgres.Options{URL: u, MaxOpenConns: 10, MaxIdleConns: 2, ConnectTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// MustEmptyURL creates a fresh database with no schema at all, for tests of
// the migrations themselves.
func MustEmptyURL(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	name := "berriz_e_" + randomSuffix()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: create %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, admin, name) })
	return WithDatabase(admin, name)
}

// WithDatabase returns the URL u pointing at database name instead.
func WithDatabase(u, name string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	parsed.Path = "/" + name
	return parsed.String()
}

func dropDatabase(t testing.TB, admin, name string) {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Errorf("pgtest: drop %s: %v", name, err)
		return
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
		t.Errorf("pgtest: drop %s: %v", name, err)
	}
}

// ensureTemplate builds, once per migration set, a database holding the
// migrated schema. Its name carries a hash of the migration files, so a
// changed migration gets a new template and stale ones are dropped.
func ensureTemplate(admin string) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "berriz_tpl_" + sum[:16]
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", templateLockID); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", templateLockID) //nolint:errcheck
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	if err := dropStale(ctx, conn); err != nil {
		return "", err
	}
	// Build under a temporary name and rename at the end, so a run killed
	// half-way never leaves a half-migrated template behind a valid name.
	build := name + "_build"
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+build); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	pg, err := postgres.Open(ctx, postgres.Options{URL: WithDatabase(admin, build), MaxOpenConns: 2, MaxIdleConns: 1, ConnectTimeout: 10 * time.Second})
	if err != nil {
		return "", err
	}
	_, merr := pg.Migrate(ctx)
	_ = pg.Close()
	if merr != nil {
		return "", fmt.Errorf("migrate template: %w", merr)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", build, name)); err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s WITH IS_TEMPLATE true ALLOW_CONNECTIONS false", name)); err != nil {
		return "", fmt.Errorf("mark template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("COMMENT ON DATABASE %s IS '%s%d'", name, templateStamp, time.Now().Unix())); err != nil {
		return "", fmt.Errorf("stamp template: %w", err)
	}
	return name, nil
}

// templateStamp prefixes the creation time written on each template, so
// that only templates nobody could still be using are dropped.
const templateStamp = "berriz test template created "

// staleAfter is how old a template of other migrations must be before it is
// dropped: another test run (another branch, a colleague's work tree) may
// still be cloning from it.
const staleAfter = 24 * time.Hour

func dropStale(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, `SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '')
		FROM pg_database WHERE datname LIKE 'berriz\_tpl\_%' AND datname NOT LIKE '%\_build'`)
	if err != nil {
		return err
	}
	var stale []string
	for rows.Next() {
		var n, comment string
		if err := rows.Scan(&n, &comment); err != nil {
			rows.Close()
			return err
		}
		created, err := strconv.ParseInt(strings.TrimPrefix(comment, templateStamp), 10, 64)
		if err == nil && time.Since(time.Unix(created, 0)) < staleAfter {
			continue
		}
		stale = append(stale, n)
	}
	rows.Close()
	for _, n := range stale {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s WITH IS_TEMPLATE false", n)); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	return nil
}

func migrationsHash() (string, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
