package server_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/berriz/berriz/internal/server/servertest"
)

// cutProxy relays TCP to a target and can be cut and restored, to play a
// database outage without stopping the shared PostgreSQL server.
type cutProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	p := &cutProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	p.listen("127.0.0.1:0")
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(c)
		}
	}()
}

func (p *cutProxy) relay(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// cut closes the listener and every relayed connection: the database is
// gone as far as berriz can tell.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *cutProxy) restore() { p.listen(p.addr) }

func readyz(t *testing.T, base string) (int, map[string]string) {
	t.Helper()
	resp, body := get(t, http.DefaultClient, base+"/readyz")
	var r struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("readyz body %q: %v", body, err)
	}
	return resp.StatusCode, r.Checks
}

func waitReady(t *testing.T, base string, want int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, checks := readyz(t, base)
		if status == want {
			return checks
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz stayed %d (%v), want %d", status, checks, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReadinessFollowsTheDatabaseWithoutRestart(t *testing.T) {
	dbURL := pgtest.MustURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.addr
	env := servertest.MustStart(t, servertest.Options{DatabaseURL: u.String()})

	if checks := waitReady(t, env.URL, http.StatusOK); checks["database"] != "ok" || checks["storage"] != "ok" {
		t.Fatalf("checks %v", checks)
	}
	proxy.cut()
	if checks := waitReady(t, env.URL, http.StatusServiceUnavailable); checks["database"] != "unavailable" || checks["storage"] != "ok" {
		t.Fatalf("during outage: %v", checks)
	}
	// Liveness does not depend on the database.
	if resp, _ := get(t, http.DefaultClient, env.URL+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz during outage: %d", resp.StatusCode)
	}
	proxy.restore()
	waitReady(t, env.URL, http.StatusOK)
}

func TestReadinessFollowsStorage(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	waitReady(t, env.URL, http.StatusOK)
	if err := os.RemoveAll(env.Config.StorageDir); err != nil {
		t.Fatal(err)
	}
	if checks := waitReady(t, env.URL, http.StatusServiceUnavailable); checks["storage"] != "unavailable" {
		t.Fatalf("checks %v", checks)
	}
	if err := os.MkdirAll(env.Config.StorageDir, 0o750); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env.URL, http.StatusOK)
}

func TestReadinessOnS3(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{S3: true})
	if checks := waitReady(t, env.URL, http.StatusOK); checks["storage"] != "ok" {
		t.Fatalf("checks %v", checks)
	}
}

func TestMetrics(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	c := env.Client()
	get(t, c, env.URL+"/eu/about")
	get(t, c, env.URL+"/no/such/page")
	resp, body := get(t, c, env.URL+"/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics from loopback: %d", resp.StatusCode)
	}
	mustContain(t, "metrics", body,
		`berriz_http_requests_total{method="GET",route="/about",status="200"} 1`,
		`berriz_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`berriz_http_request_duration_seconds_bucket{method="GET",route="/about"`,
		`go_goroutines`,
	)
	if strings.Contains(body, "/no/such/page") {
		t.Error("raw paths leak into metric labels")
	}
	resp, _ = get(t, c, env.URL+"/metrics", "X-Forwarded-For", "203.0.113.9")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("metrics through a proxy without token: %d, want 403", resp.StatusCode)
	}
}

func TestMetricsToken(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{Env: map[string]string{"BERRIZ_METRICS_TOKEN": "s3cret-token"}})
	c := env.Client()
	for _, h := range []string{"", "Bearer wrong", "s3cret-token", "Bearer s3cret-tokenX"} {
		resp, _ := get(t, c, env.URL+"/metrics", "Authorization", h)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", h, resp.StatusCode)
		}
	}
	resp, _ := get(t, c, env.URL+"/metrics", "Authorization", "Bearer s3cret-token", "X-Forwarded-For", "203.0.113.9")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with token: %d", resp.StatusCode)
	}
}
