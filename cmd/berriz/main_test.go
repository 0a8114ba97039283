package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/berriz/berriz/internal/server/servertest"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestUsageAndVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), nil, envOf(nil), &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("no command: %v", err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, envOf(nil), &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("unknown command: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"version"}, envOf(nil), &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "berriz ") {
		t.Errorf("version: %v %q", err, out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"serve", "--help"}, envOf(nil), &out, &errOut)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("serve --help: %v", err)
	}
	for _, v := range config.Vars() {
		if !strings.Contains(out.String(), v.Name) {
			t.Errorf("serve --help does not list %s", v.Name)
		}
	}
	if err := run(context.Background(), []string{"migrate", "sideways"}, envOf(nil), &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("migrate sideways: %v", err)
	}
}

func TestBadConfigurationStopsStart(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve"}, envOf(map[string]string{"BERRIZ_STORAGE": "floppy"}), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "BERRIZ_STORAGE") {
		t.Fatalf("got %v", err)
	}
}

func TestMigrateUpAndStatus(t *testing.T) {
	env := envOf(map[string]string{"BERRIZ_DATABASE_URL": pgtest.MustEmptyURL(t)})
	var out bytes.Buffer
	errOut := &servertest.LogBuffer{}
	if err := run(context.Background(), []string{"migrate", "status"}, env, &out, errOut); err != nil {
		t.Fatalf("status on an empty database: %v", err)
	}
	if !strings.Contains(out.String(), "pending") {
		t.Errorf("status before up:\n%s", out.String())
	}
	if err := run(context.Background(), []string{"migrate", "up"}, env, &out, errOut); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, errOut)
	}
	out.Reset()
	if err := run(context.Background(), []string{"migrate", "status"}, env, &out, errOut); err != nil {
		t.Fatalf("status: %v", err)
	}
	if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "00001_foundation.sql") {
		t.Errorf("status after up:\n%s", out.String())
	}
}

func TestServeRefusesUnknownSchemas(t *testing.T) {
	t.Run("newer than known", func(t *testing.T) {
		url := pgtest.MustURL(t)
		db, err := postgres.Open(context.Background(), postgres.Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := db.CheckSchema(context.Background())
		if _, err := db.SQL().Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", v.Known+5); err != nil {
			t.Fatal(err)
		}
		db.Close()
		err = run(context.Background(), []string{"serve"}, envOf(map[string]string{
			"BERRIZ_DATABASE_URL": url, "BERRIZ_LISTEN": "127.0.0.1:0", "BERRIZ_STORAGE_DIR": t.TempDir(),
		}), io.Discard, io.Discard)
		if !errors.Is(err, postgres.ErrSchemaTooNew) {
			t.Fatalf("serve on a newer schema: %v", err)
		}
	})
	t.Run("behind without auto-migrate", func(t *testing.T) {
		err := run(context.Background(), []string{"serve"}, envOf(map[string]string{
			"BERRIZ_DATABASE_URL": pgtest.MustEmptyURL(t), "BERRIZ_AUTO_MIGRATE": "false",
			"BERRIZ_LISTEN": "127.0.0.1:0", "BERRIZ_STORAGE_DIR": t.TempDir(),
		}), io.Discard, io.Discard)
		if !errors.Is(err, postgres.ErrSchemaBehind) {
			t.Fatalf("serve on a schema behind: %v", err)
		}
	})
}

// The real serve command: migrates an empty database, serves the home page
// in each language, and stops cleanly when the context ends (SIGTERM).
func TestServeEndToEnd(t *testing.T) {
	logs := &servertest.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, envOf(map[string]string{
			"BERRIZ_DATABASE_URL": pgtest.MustEmptyURL(t),
			"BERRIZ_LISTEN":       "127.0.0.1:0",
			"BERRIZ_STORAGE_DIR":  t.TempDir(),
			"BERRIZ_ENV":          "production",
		}), io.Discard, logs)
	}()
	addrRE := regexp.MustCompile(`"address":"(http://127\.0\.0\.1:\d+)"`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped early: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for path, want := range map[string]string{"/": `lang="fr"`, "/eu/": `lang="eu"`, "/en/": `lang="en"`, "/readyz": `"ready"`} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, want %q in body", path, resp.StatusCode, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	for _, want := range []string{`"msg":"migration applied"`, `"msg":"shutting down: finishing in-flight requests"`, `"msg":"stopped"`, `"request_id"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("production (JSON) logs lack %s", want)
		}
	}
}
