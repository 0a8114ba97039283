package push

import (
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
)

func TestSignAndVerify(t *testing.T) {
	// RFC 4231-style known answer (the classic "quick brown fox" vector).
	body := []byte("The quick brown fox jumps over the lazy dog")
	want := "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got := Sign("key", body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !Verify("key", body, want) || Verify("key2", body, want) || Verify("key", append(body, '.'), want) {
		t.Fatal("Verify disagrees with Sign")
	}
	s := NewSecret()
	if !strings.HasPrefix(s, SecretPrefix) || len(s) != len(SecretPrefix)+43 || s == NewSecret() {
		t.Fatalf("secret %q", s)
	}
}

func TestBackoffSchedule(t *testing.T) {
	want := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 12 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	for i, w := range want {
		if got := Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if next, ok := Next(now, 1, 3); !ok || !next.Equal(now.Add(time.Minute)) {
		t.Errorf("Next after 1 of 3: %s %v", next, ok)
	}
	if next, ok := Next(now, 2, 3); !ok || !next.Equal(now.Add(5*time.Minute)) {
		t.Errorf("Next after 2 of 3: %s %v", next, ok)
	}
	if _, ok := Next(now, 3, 3); ok {
		t.Error("a 4th attempt after 3 of 3")
	}
}

func TestLastClosed(t *testing.T) {
	paris := Zone()
	tests := []struct {
		now   time.Time
		grace time.Duration
		want  string
	}{
		// 00:30 on 1 April in Paris (summer time) is 22:30 UTC on 31 March.
		{time.Date(2026, 4, 1, 0, 30, 0, 0, paris), 0, "2026-03"},
		{time.Date(2026, 4, 1, 0, 30, 0, 0, paris), time.Hour, "2026-02"},
		{time.Date(2026, 4, 1, 1, 0, 0, 0, paris), time.Hour, "2026-03"},
		{time.Date(2026, 3, 31, 23, 59, 0, 0, paris), 0, "2026-02"},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, paris), 0, "2026-12"},
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), 0, "2026-12"}, // already 1 January in Paris
	}
	for _, tc := range tests {
		if got := Month(LastClosed(tc.now, tc.grace)); got != tc.want {
			t.Errorf("LastClosed(%s, %s) = %s, want %s", tc.now, tc.grace, got, tc.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url       string
		allowHTTP bool
		key       string // "" = accepted
	}{
		{"https://observatoire.example/berriz", false, ""},
		{"  https://observatoire.example:8443/p?x=1  ", false, ""},
		{"http://observatoire.example/berriz", true, "push.error.url_https"},
		{"http://127.0.0.1:8080/hook", false, "push.error.url_https"},
		{"http://127.0.0.1:8080/hook", true, ""},
		{"http://[::1]:8080/hook", true, ""},
		{"http://localhost/hook", true, ""},
		{"ftp://observatoire.example/", true, "push.error.url_https"},
		{"https://user:pw@observatoire.example/", false, "push.error.url_invalid"},
		{"https://observatoire.example/#frag", false, "push.error.url_invalid"},
		{"/relative", false, "push.error.url_invalid"},
		{"https:opaque", false, "push.error.url_invalid"},
		{"", false, "push.error.url_required"},
		{"https://o.example/" + strings.Repeat("a", MaxURL), false, "push.error.url_long"},
	}
	for _, tc := range tests {
		got, err := CheckURL(tc.url, tc.allowHTTP)
		if tc.key == "" {
			if err != nil || got != strings.TrimSpace(tc.url) {
				t.Errorf("CheckURL(%q) = %q, %v", tc.url, got, err)
			}
			continue
		}
		if e := berriz.As(err); e == nil || e.Fields["url"] != tc.key {
			t.Errorf("CheckURL(%q): %v, want %s", tc.url, err, tc.key)
		}
	}
}
