package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/server/servertest"
)

// statementsOf runs do and returns the names of the hot path's statements
// it ran (postgres' traced reads, logged at debug level by the test
// server), in order.
func statementsOf(t *testing.T, logs func() string, do func()) []string {
	t.Helper()
	before := len(logs())
	do()
	var names []string
	for _, line := range strings.Split(logs()[before:], "\n") {
		var l struct {
			Msg, Component, Query string
		}
		if line == "" || json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		if l.Msg == "statement" && l.Component == "postgres" {
			names = append(names, l.Query)
		}
	}
	return names
}

// The scans' reads join the principal's (auth_joined.go): the API lookup
// by tag code, the staff device page and /t/<code> each run one statement
// — once the token's or the session's last use is recent enough not to be
// recorded again.
func TestJoinedReadsAreOneStatement(t *testing.T) {
	f := mustDeviceAPIFixture(t, servertest.Options{})
	linked := f.shopCodes[0]
	f.mustLink(t, linked, f.devs[0].ID)
	b := f.env.SignIn(t, f.techUser.Email)
	device := "/devices/" + idStr(f.devs[0].ID)
	for _, tc := range []struct {
		name string
		do   func() (*http.Response, string)
		want string
		code int
	}{
		{"API lookup", func() (*http.Response, string) {
			return f.call(t, f.tech, http.MethodGet, "/api/v1/tags/"+linked.String(), nil)
		}, "token and tag", http.StatusOK},
		{"device page", func() (*http.Response, string) { return b.Get(device) }, "session and device page", http.StatusOK},
		{"scan", func() (*http.Response, string) { return b.Get("/t/" + linked.Compact()) }, "session and device by tag", http.StatusSeeOther},
		{"API lookup, unknown code", func() (*http.Response, string) {
			return f.call(t, f.tech, http.MethodGet, "/api/v1/tags/ZZZZZZZZ", nil)
		}, "token and tag,token", http.StatusNotFound},
	} {
		tc.do() // records the token's or session's use
		var resp *http.Response
		var body string
		got := statementsOf(t, f.env.Logs, func() { resp, body = tc.do() })
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d\n%s", tc.name, resp.StatusCode, body)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%s: statements %q, want %s", tc.name, got, tc.want)
		}
	}
}
