package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/internal/server/servertest"
)

// Every route declares who may call it, and answers accordingly for an
// anonymous visitor. The accounts issue extends this to every role.
func TestRouteTableAccess(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	seen := map[string]bool{}
	for _, r := range env.Server.Routes() {
		key := r.Method + " " + r.Path
		if seen[key] {
			t.Errorf("%s registered twice", key)
		}
		seen[key] = true
		if r.Access == "" || r.Name == "" || r.Handler == nil {
			t.Errorf("%s: incomplete entry %+v", key, r)
			continue
		}
		path := strings.ReplaceAll(r.Path, "*", "css/berriz.0000000000.css")
		for _, proxied := range []bool{false, true} {
			headers := []string{}
			if proxied {
				headers = append(headers, "X-Forwarded-For", "198.51.100.7")
			}
			resp, _ := do(t, env.Client(), r.Method, env.URL+path, nil, headers...)
			refused := resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
			wantRefused := r.Access == server.Loopback && proxied
			if refused != wantRefused {
				t.Errorf("%s (access %s, proxied %v): status %d", key, r.Access, proxied, resp.StatusCode)
			}
			if resp.StatusCode >= 500 && r.Path != "/readyz" {
				t.Errorf("%s: %d", key, resp.StatusCode)
			}
		}
	}
}
