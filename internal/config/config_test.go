package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Env != "development" || c.Listen != "127.0.0.1:8080" || c.PublicURL.String() != "http://127.0.0.1:8080" ||
		c.LogFormat != "text" || !c.AutoMigrate || c.Storage != "disk" || c.StorageDir != "./data/files" ||
		c.DBMaxOpenConns != 20 || c.ShutdownTimeout != 30*time.Second || c.Secure() || c.Production() {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestProductionLogsJSON(t *testing.T) {
	c, err := Load(env(map[string]string{"BERRIZ_ENV": "production"}))
	if err != nil || c.LogFormat != "json" {
		t.Fatalf("%v %q", err, c.LogFormat)
	}
	c, err = Load(env(map[string]string{"BERRIZ_ENV": "production", "BERRIZ_LOG_FORMAT": "text"}))
	if err != nil || c.LogFormat != "text" {
		t.Fatalf("explicit format: %v %q", err, c.LogFormat)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "db")
	if err := os.WriteFile(p, []byte("postgres://u:p@db/berriz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"BERRIZ_DATABASE_URL_FILE": p}))
	if err != nil || c.DatabaseURL != "postgres://u:p@db/berriz" {
		t.Fatalf("%v %q", err, c.DatabaseURL)
	}
	_, err = Load(env(map[string]string{"BERRIZ_DATABASE_URL_FILE": p, "BERRIZ_DATABASE_URL": "x"}))
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("both set: %v", err)
	}
	_, err = Load(env(map[string]string{"BERRIZ_S3_SECRET_KEY_FILE": filepath.Join(dir, "missing")}))
	if err == nil || !strings.Contains(err.Error(), "BERRIZ_S3_SECRET_KEY_FILE") {
		t.Fatalf("missing file: %v", err)
	}
	// _FILE is only for secrets.
	c, err = Load(env(map[string]string{"BERRIZ_LISTEN_FILE": p}))
	if err != nil || c.Listen != "127.0.0.1:8080" {
		t.Fatalf("non-secret _FILE: %v %q", err, c.Listen)
	}
}

func TestInvalidValuesAllReported(t *testing.T) {
	_, err := Load(env(map[string]string{
		"BERRIZ_ENV":               "staging",
		"BERRIZ_PUBLIC_URL":        "ftp://x",
		"BERRIZ_DB_MAX_OPEN_CONNS": "-3",
		"BERRIZ_AUTO_MIGRATE":      "maybe",
		"BERRIZ_SHUTDOWN_TIMEOUT":  "soon",
		"BERRIZ_TRUSTED_PROXIES":   "10.0.0.0/8, nonsense",
		"BERRIZ_S3_SECRET_KEY":     "hunter2",
		"BERRIZ_STORAGE":           "tape",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"BERRIZ_ENV", "BERRIZ_PUBLIC_URL", "BERRIZ_DB_MAX_OPEN_CONNS", "BERRIZ_AUTO_MIGRATE",
		"BERRIZ_SHUTDOWN_TIMEOUT", "BERRIZ_TRUSTED_PROXIES", "BERRIZ_STORAGE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestS3RequiresCredentials(t *testing.T) {
	_, err := Load(env(map[string]string{"BERRIZ_STORAGE": "s3"}))
	for _, want := range []string{"BERRIZ_S3_ENDPOINT", "BERRIZ_S3_ACCESS_KEY", "BERRIZ_S3_SECRET_KEY"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("s3 without %s: %v", want, err)
		}
	}
	_, err = Load(env(map[string]string{"BERRIZ_STORAGE": "s3", "BERRIZ_S3_ENDPOINT": "s3:9000",
		"BERRIZ_S3_ACCESS_KEY": "a", "BERRIZ_S3_SECRET_KEY": "hunter2", "BERRIZ_DB_MAX_IDLE_CONNS": "50"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("idle > open must fail without leaking secrets: %v", err)
	}
}

func TestHTTPSPublicURL(t *testing.T) {
	c, err := Load(env(map[string]string{"BERRIZ_PUBLIC_URL": "https://berriz.example.eus/"}))
	if err != nil || !c.Secure() || c.PublicURL.String() != "https://berriz.example.eus" {
		t.Fatalf("%v %v", err, c.PublicURL)
	}
}

// The README, the example environment file and --help must list every
// variable with its real default.
func TestDocsListEveryVariable(t *testing.T) {
	readme := mustRead(t, "../../README.md")
	example := mustRead(t, "../../deploy/berriz.env.example")
	usage := Usage()
	for _, v := range Vars() {
		def := v.Default
		if def == "" {
			def = `""`
		}
		if !strings.Contains(readme, "| `"+v.Name+"` | `"+def+"` |") {
			t.Errorf("README.md has no row | `%s` | `%s` |", v.Name, def)
		}
		if !strings.Contains(example, v.Name+"="+v.Default) {
			t.Errorf("deploy/berriz.env.example lacks %s=%s", v.Name, v.Default)
		}
		if !strings.Contains(usage, v.Name) {
			t.Errorf("--help lacks %s", v.Name)
		}
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
