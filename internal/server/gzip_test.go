package server_test

import (
	"net/http"
	"testing"

	"github.com/berriz/berriz/internal/server/servertest"
)

// Answers that fit one TCP segment go uncompressed (server.go says why);
// larger ones are gzipped for clients that ask.
func TestGzipOnlyBeyondOneSegment(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, body := get(t, raw, env.URL+"/api/v1/tags/ABCD-EFGH", "Accept-Encoding", "gzip", "Accept", "application/json")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Encoding") != "" || len(body) >= 1400 {
		t.Errorf("small API answer: %d, encoding %q, %d bytes; want 401, sent as is", resp.StatusCode,
			resp.Header.Get("Content-Encoding"), len(body))
	}
	resp, page := get(t, raw, env.URL+"/en/", "Accept-Encoding", "gzip")
	_, plain := get(t, raw, env.URL+"/en/")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(plain) < 1400 || len(page) >= len(plain) {
		t.Errorf("home page: encoding %q, %d bytes sent for %d", resp.Header.Get("Content-Encoding"), len(page), len(plain))
	}
}
