// Package config owns berriz's configuration: every BERRIZ_ environment
// variable, its default, its documentation and its parsing, described once in
// a table so that parsing, `berriz serve --help`, the README and
// deploy/berriz.env.example cannot drift apart (tests compare them).
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration, parsed once at start-up and passed down.
type Config struct {
	Env       string // "development" or "production"
	Listen    string
	PublicURL *url.URL
	LogFormat string // "text" or "json"
	LogLevel  string

	DatabaseURL       string
	DBMaxOpenConns    int
	DBMaxIdleConns    int
	DBConnMaxLifetime time.Duration
	DBConnMaxIdleTime time.Duration
	DBConnectTimeout  time.Duration
	AutoMigrate       bool
	ShutdownTimeout   time.Duration
	MaxBodyBytes      int64
	TrustedProxies    []string
	MetricsToken      string
	Storage           string // "disk" or "s3"
	StorageDir        string
	S3Endpoint        string
	S3AccessKey       string
	S3SecretKey       string
	S3Bucket          string
	S3Region          string
	S3UseSSL          bool
	S3PublicURL       string

	SessionIdle        time.Duration
	SessionLifetime    time.Duration
	InvitationLifetime time.Duration
	ResetLifetime      time.Duration
	Argon2MemoryKiB    int
	Argon2Time         int
	Argon2Threads      int

	SMTPHost            string
	SMTPPort            int
	SMTPUsername        string
	SMTPPassword        string
	SMTPFrom            string
	SMTPTLS             string
	DownloadURLLifetime time.Duration

	JobsInterval    time.Duration
	ReservationDays int
	DigestHour      int

	// Observatory push (docs/observatory-push.md).
	PushGrace       time.Duration
	PushMaxAttempts int
	PushTimeout     time.Duration
}

// Production reports whether berriz runs in production mode.
func (c Config) Production() bool { return c.Env == "production" }

// Secure reports whether the public URL is HTTPS, which decides Secure
// cookies and HSTS.
func (c Config) Secure() bool { return c.PublicURL != nil && c.PublicURL.Scheme == "https" }

// Var documents one environment variable.
type Var struct {
	Name    string
	Default string
	Secret  bool // also read from NAME_FILE
	Doc     string
	set     func(c *Config, v string) error
}

// Vars lists every variable berriz reads, in the order they are documented.
func Vars() []Var { return vars }

var vars = []Var{
	{Name: "BERRIZ_ENV", Default: "development", Doc: "development or production: production logs JSON by default and hides error details",
		set: func(c *Config, v string) error { return oneOf(&c.Env, v, "development", "production") }},
	{Name: "BERRIZ_LISTEN", Default: "127.0.0.1:8080", Doc: "address the HTTP server listens on",
		set: func(c *Config, v string) error { c.Listen = v; return nonEmpty(v) }},
	{Name: "BERRIZ_PUBLIC_URL", Default: "http://127.0.0.1:8080", Doc: "external URL of the site, used in QR codes and links; https enables Secure cookies and HSTS",
		set: setPublicURL},
	{Name: "BERRIZ_LOG_FORMAT", Default: "", Doc: "text or json; empty means json in production, text in development",
		set: func(c *Config, v string) error { return oneOf(&c.LogFormat, v, "", "text", "json") }},
	{Name: "BERRIZ_LOG_LEVEL", Default: "info", Doc: "debug, info, warn or error",
		set: func(c *Config, v string) error { return oneOf(&c.LogLevel, v, "debug", "info", "warn", "error") }},
	{Name: "BERRIZ_DATABASE_URL", Default: "postgres://berriz:berriz@127.0.0.1:5432/berriz?sslmode=disable", Secret: true, Doc: "PostgreSQL connection URL",
		set: func(c *Config, v string) error { c.DatabaseURL = v; return nonEmpty(v) }},
	{Name: "BERRIZ_DB_MAX_OPEN_CONNS", Default: "20", Doc: "maximum open connections per instance (mind max_connections when running several)",
		set: func(c *Config, v string) error { return positiveInt(&c.DBMaxOpenConns, v) }},
	{Name: "BERRIZ_DB_MAX_IDLE_CONNS", Default: "20", Doc: "idle connections kept in the pool (keep it at the open maximum: a connection closed at a burst's end costs PostgreSQL a new process and its prepared statements at the next)",
		set: func(c *Config, v string) error { return positiveInt(&c.DBMaxIdleConns, v) }},
	{Name: "BERRIZ_DB_CONN_MAX_LIFETIME", Default: "30m", Doc: "a connection is recycled after this long (lets a cluster fail over cleanly)",
		set: func(c *Config, v string) error { return duration(&c.DBConnMaxLifetime, v) }},
	{Name: "BERRIZ_DB_CONN_MAX_IDLE_TIME", Default: "5m", Doc: "an idle connection is closed after this long",
		set: func(c *Config, v string) error { return duration(&c.DBConnMaxIdleTime, v) }},
	{Name: "BERRIZ_DB_CONNECT_TIMEOUT", Default: "30s", Doc: "how long serve and migrate wait for PostgreSQL to answer at start-up",
		set: func(c *Config, v string) error { return duration(&c.DBConnectTimeout, v) }},
	{Name: "BERRIZ_AUTO_MIGRATE", Default: "true", Doc: "apply pending migrations when serve starts (false: run `berriz migrate up` yourself)",
		set: func(c *Config, v string) error { return boolean(&c.AutoMigrate, v) }},
	{Name: "BERRIZ_SHUTDOWN_TIMEOUT", Default: "30s", Doc: "on SIGTERM, how long in-flight requests may take to finish",
		set: func(c *Config, v string) error { return duration(&c.ShutdownTimeout, v) }},
	{Name: "BERRIZ_MAX_BODY_BYTES", Default: "10485760", Doc: "largest request body accepted, in bytes",
		set: func(c *Config, v string) error { return positiveInt64(&c.MaxBodyBytes, v) }},
	{Name: "BERRIZ_TRUSTED_PROXIES", Default: "", Doc: "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed",
		set: setTrustedProxies},
	{Name: "BERRIZ_METRICS_TOKEN", Default: "", Secret: true, Doc: "bearer token required on /metrics; empty allows loopback clients only",
		set: func(c *Config, v string) error { c.MetricsToken = v; return nil }},
	{Name: "BERRIZ_STORAGE", Default: "disk", Doc: "file storage backend: disk or s3",
		set: func(c *Config, v string) error { return oneOf(&c.Storage, v, "disk", "s3") }},
	{Name: "BERRIZ_STORAGE_DIR", Default: "./data/files", Doc: "directory of the disk backend",
		set: func(c *Config, v string) error { c.StorageDir = v; return nonEmpty(v) }},
	{Name: "BERRIZ_S3_ENDPOINT", Default: "", Doc: "S3 server as host:port (MinIO, Garage, SeaweedFS, ...); required with BERRIZ_STORAGE=s3",
		set: func(c *Config, v string) error { c.S3Endpoint = v; return nil }},
	{Name: "BERRIZ_S3_ACCESS_KEY", Default: "", Secret: true, Doc: "S3 access key",
		set: func(c *Config, v string) error { c.S3AccessKey = v; return nil }},
	{Name: "BERRIZ_S3_SECRET_KEY", Default: "", Secret: true, Doc: "S3 secret key",
		set: func(c *Config, v string) error { c.S3SecretKey = v; return nil }},
	{Name: "BERRIZ_S3_BUCKET", Default: "berriz", Doc: "S3 bucket, created when missing",
		set: func(c *Config, v string) error { c.S3Bucket = v; return nonEmpty(v) }},
	{Name: "BERRIZ_S3_REGION", Default: "", Doc: "S3 region, when the server needs one",
		set: func(c *Config, v string) error { c.S3Region = v; return nil }},
	{Name: "BERRIZ_S3_USE_SSL", Default: "true", Doc: "talk HTTPS to the S3 server",
		set: func(c *Config, v string) error { return boolean(&c.S3UseSSL, v) }},
	{Name: "BERRIZ_S3_PUBLIC_URL", Default: "", Doc: "scheme://host[:port] where browsers reach the S3 server for signed downloads; empty: berriz proxies downloads itself",
		set: setS3PublicURL},
	{Name: "BERRIZ_DOWNLOAD_URL_LIFETIME", Default: "5m", Doc: "validity of the signed download links handed to browsers (S3)",
		set: func(c *Config, v string) error { return duration(&c.DownloadURLLifetime, v) }},
	{Name: "BERRIZ_SESSION_IDLE", Default: "24h", Doc: "a session unused for this long ends",
		set: func(c *Config, v string) error { return duration(&c.SessionIdle, v) }},
	{Name: "BERRIZ_SESSION_LIFETIME", Default: "336h", Doc: "a session ends this long after sign-in, used or not (336h = 14 days)",
		set: func(c *Config, v string) error { return duration(&c.SessionLifetime, v) }},
	{Name: "BERRIZ_INVITATION_LIFETIME", Default: "168h", Doc: "an invitation link works this long (168h = 7 days)",
		set: func(c *Config, v string) error { return duration(&c.InvitationLifetime, v) }},
	{Name: "BERRIZ_RESET_LIFETIME", Default: "1h", Doc: "a password reset link works this long",
		set: func(c *Config, v string) error { return duration(&c.ResetLifetime, v) }},
	{Name: "BERRIZ_ARGON2_MEMORY_KIB", Default: "19456", Doc: "argon2id memory per password hash, in KiB (OWASP minimum 19456)",
		set: func(c *Config, v string) error { return intRange(&c.Argon2MemoryKiB, v, 8, 1<<20) }},
	{Name: "BERRIZ_ARGON2_TIME", Default: "2", Doc: "argon2id passes per password hash",
		set: func(c *Config, v string) error { return intRange(&c.Argon2Time, v, 1, 100) }},
	{Name: "BERRIZ_ARGON2_THREADS", Default: "1", Doc: "argon2id parallelism per password hash",
		set: func(c *Config, v string) error { return intRange(&c.Argon2Threads, v, 1, 255) }},
	{Name: "BERRIZ_SMTP_HOST", Default: "", Doc: "SMTP server for outgoing mail; empty: mail is written to the log and links are shown to the operator",
		set: func(c *Config, v string) error { c.SMTPHost = v; return nil }},
	{Name: "BERRIZ_SMTP_PORT", Default: "587", Doc: "SMTP port",
		set: func(c *Config, v string) error { return intRange(&c.SMTPPort, v, 1, 65535) }},
	{Name: "BERRIZ_SMTP_USERNAME", Default: "", Doc: "SMTP user name (AUTH PLAIN); empty: no authentication",
		set: func(c *Config, v string) error { c.SMTPUsername = v; return nil }},
	{Name: "BERRIZ_SMTP_PASSWORD", Default: "", Secret: true, Doc: "SMTP password",
		set: func(c *Config, v string) error { c.SMTPPassword = v; return nil }},
	{Name: "BERRIZ_SMTP_FROM", Default: "berriz <no-reply@localhost>", Doc: "sender address of outgoing mail",
		set: func(c *Config, v string) error { c.SMTPFrom = v; return nonEmpty(v) }},
	{Name: "BERRIZ_SMTP_TLS", Default: "starttls", Doc: "starttls, tls (implicit, port 465) or none (loopback relays only)",
		set: func(c *Config, v string) error { return oneOf(&c.SMTPTLS, v, "starttls", "tls", "none") }},
	{Name: "BERRIZ_JOBS_INTERVAL", Default: "1m", Doc: "how often each instance runs the background jobs (expiring reservations, daily digests); several instances share them safely",
		set: func(c *Config, v string) error { return durationRange(&c.JobsInterval, v, time.Second, 24*time.Hour) }},
	{Name: "BERRIZ_RESERVATION_DAYS", Default: "7", Doc: "days a sent proposal holds its devices for the beneficiary's answer; then they are released",
		set: func(c *Config, v string) error { return intRange(&c.ReservationDays, v, 1, 90) }},
	{Name: "BERRIZ_DIGEST_HOUR", Default: "7", Doc: "hour of the day (Europe/Paris) from which each user's daily digest of notifications is sent",
		set: func(c *Config, v string) error { return intRange(&c.DigestHour, v, 0, 23) }},
	{Name: "BERRIZ_PUSH_GRACE", Default: "1h", Doc: "observatory push: how long after a month ends (00:00 Europe/Paris) its totals are sent to the subscribed URLs",
		set: func(c *Config, v string) error { return durationRange(&c.PushGrace, v, 0, 7*24*time.Hour) }},
	{Name: "BERRIZ_PUSH_MAX_ATTEMPTS", Default: "10", Doc: "observatory push: attempts per month and URL before the delivery is marked failed (backoff 1m, 5m, 30m, 2h, 12h, then daily)",
		set: func(c *Config, v string) error { return intRange(&c.PushMaxAttempts, v, 1, 50) }},
	{Name: "BERRIZ_PUSH_TIMEOUT", Default: "15s", Doc: "observatory push: time allowed to one POST, connection to answer",
		set: func(c *Config, v string) error { return durationRange(&c.PushTimeout, v, time.Second, 2*time.Minute) }},
}

// Load parses the configuration from getenv (os.Getenv in production) and
// reads NAME_FILE for secrets. It reports every bad variable at once.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	for _, v := range vars {
		raw, err := lookup(getenv, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := v.set(&c, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", v.Name, shown(v, raw), err))
		}
	}
	if len(errs) == 0 {
		errs = append(errs, c.check()...)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
		if c.Production() {
			c.LogFormat = "json"
		}
	}
	return c, nil
}

func (c Config) check() []error {
	var errs []error
	if c.Storage == "s3" {
		for name, v := range map[string]string{"BERRIZ_S3_ENDPOINT": c.S3Endpoint, "BERRIZ_S3_ACCESS_KEY": c.S3AccessKey, "BERRIZ_S3_SECRET_KEY": c.S3SecretKey} {
			if v == "" {
				errs = append(errs, fmt.Errorf("%s is required when BERRIZ_STORAGE=s3", name))
			}
		}
	}
	if c.DBMaxIdleConns > c.DBMaxOpenConns {
		errs = append(errs, fmt.Errorf("BERRIZ_DB_MAX_IDLE_CONNS (%d) exceeds BERRIZ_DB_MAX_OPEN_CONNS (%d)", c.DBMaxIdleConns, c.DBMaxOpenConns))
	}
	return errs
}

func lookup(getenv func(string) string, v Var) (string, error) {
	raw := getenv(v.Name)
	if v.Secret {
		if path := getenv(v.Name + "_FILE"); path != "" {
			if raw != "" {
				return "", fmt.Errorf("set %s or %s_FILE, not both", v.Name, v.Name)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("%s_FILE: %w", v.Name, err)
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
	}
	if raw == "" {
		return v.Default, nil
	}
	return raw, nil
}

// shown hides secrets from error messages.
func shown(v Var, raw string) string {
	if v.Secret {
		return "***"
	}
	return raw
}

func oneOf(dst *string, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			*dst = v
			return nil
		}
	}
	var quoted []string
	for _, a := range allowed {
		if a != "" {
			quoted = append(quoted, a)
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(quoted, ", "))
}

func nonEmpty(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func positiveInt(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return errors.New("must be a positive whole number")
	}
	*dst = n
	return nil
}

func positiveInt64(dst *int64, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return errors.New("must be a positive whole number")
	}
	*dst = n
	return nil
}

func intRange(dst *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
	}
	*dst = n
	return nil
}

func duration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return errors.New("must be a positive duration such as 30s or 5m")
	}
	*dst = d
	return nil
}

func durationRange(dst *time.Duration, v string, lo, hi time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		return fmt.Errorf("must be a duration from %s to %s, such as 30s or 5m", lo, hi)
	}
	*dst = d
	return nil
}

func boolean(dst *bool, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("must be true or false")
	}
	*dst = b
	return nil
}

func setPublicURL(c *Config, v string) error {
	u, err := url.Parse(strings.TrimRight(v, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be an absolute http or https URL without query")
	}
	c.PublicURL = u
	return nil
}

func setS3PublicURL(c *Config, v string) error {
	c.S3PublicURL = v
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return errors.New("must be http(s)://host[:port] without path: a proxy that rewrites paths breaks S3 signatures")
	}
	return nil
}

func setTrustedProxies(c *Config, v string) error {
	c.TrustedProxies = nil
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil {
			return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", p)
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	return nil
}

// Usage writes the variable table for `berriz serve --help`.
func Usage() string {
	var b strings.Builder
	b.WriteString("Environment variables (secrets marked * may also be read from NAME_FILE):\n")
	for _, v := range vars {
		name := v.Name
		if v.Secret {
			name += " *"
		}
		def := v.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(&b, "  %-32s default %s\n      %s\n", name, def, v.Doc)
	}
	return b.String()
}
