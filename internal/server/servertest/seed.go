package servertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
)

// Password is the password of every user the helpers create.
const Password = "correct horse battery staple"

var seq atomic.Int64

// MustOrg creates an active organisation of the given kind.
func (e *Env) MustOrg(t testing.TB, kind account.OrgKind, name string) account.Organisation {
	t.Helper()
	o, err := account.OrgInput{Kind: string(kind), Name: name, Commune: "64102"}.Validate()
	if err != nil {
		t.Fatalf("servertest: org: %v", err)
	}
	o, err = e.DB.CreateOrganisation(context.Background(), o, nil, "")
	if err != nil {
		t.Fatalf("servertest: org: %v", err)
	}
	return o
}

// MustUser creates a user of an organisation with Password, under a unique
// address derived from name.
func (e *Env) MustUser(t testing.TB, orgID int64, name string, orgAdmin bool) account.User {
	t.Helper()
	hash, err := account.HashPassword(Password, account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	email := fmt.Sprintf("%s.%d@example.org", strings.ToLower(strings.ReplaceAll(name, " ", ".")), seq.Add(1))
	u, err := e.DB.CreateUser(context.Background(), postgres.NewUser{OrgID: orgID, Email: email, Name: name,
		PasswordHash: hash, OrgAdmin: orgAdmin}, nil, "")
	if err != nil {
		t.Fatalf("servertest: user: %v", err)
	}
	return u
}

// MustToken creates an API token (of a user, or of an organisation when
// userID is 0) and returns its secret.
func (e *Env) MustToken(t testing.TB, orgID, userID int64, scope string) string {
	t.Helper()
	plain, _ := account.NewToken()
	plain = "brz_" + plain
	_, err := e.DB.CreateToken(context.Background(), postgres.NewToken{OrgID: orgID, UserID: userID, Name: "test", Scope: scope,
		Prefix: plain[:12], Hash: account.HashToken(plain)}, nil, "")
	if err != nil {
		t.Fatalf("servertest: token: %v", err)
	}
	return plain
}

// Browser is an HTTP client that behaves like a browser: it keeps cookies,
// does not follow redirects (tests look at them), and remembers the CSRF
// token of the last page it loaded so that forms can be posted.
type Browser struct {
	t      testing.TB
	base   string
	client *http.Client
	CSRF   string
	// Bearer, when set, is sent as an API token instead of cookies.
	Bearer string
	// Header is sent with every request (e.g. X-Forwarded-For, with
	// BERRIZ_TRUSTED_PROXIES set, to play clients at other addresses).
	Header http.Header
}

// Anonymous returns a browser that is not signed in.
func (e *Env) Anonymous(t testing.TB) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{t: t, base: e.URL, Header: http.Header{}, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// API returns a client that authenticates with an API token.
func (e *Env) API(t testing.TB, token string) *Browser {
	b := e.Anonymous(t)
	b.Bearer = token
	return b
}

// SignIn signs a user in through the login form, with Password.
func (e *Env) SignIn(t testing.TB, email string) *Browser {
	t.Helper()
	b := e.Anonymous(t)
	b.Get("/login")
	resp, body := b.PostForm("/login", url.Values{"email": {email}, "password": {Password}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("servertest: sign in %s: %d\n%s", email, resp.StatusCode, body)
	}
	b.Get("/")
	return b
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Get loads a page and remembers its CSRF token.
func (b *Browser) Get(path string, headers ...string) (*http.Response, string) {
	b.t.Helper()
	return b.Do(http.MethodGet, path, nil, headers...)
}

// PostForm posts a form, adding the remembered CSRF token unless values
// already hold one.
func (b *Browser) PostForm(path string, values url.Values) (*http.Response, string) {
	b.t.Helper()
	if values == nil {
		values = url.Values{}
	}
	if _, ok := values["csrf"]; !ok && b.CSRF != "" {
		values.Set("csrf", b.CSRF)
	}
	return b.Do(http.MethodPost, path, strings.NewReader(values.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

// Do sends any request; with a body, headers should give its Content-Type.
func (b *Browser) Do(method, path string, body io.Reader, headers ...string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	for k, v := range b.Header {
		req.Header[k] = v
	}
	if b.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+b.Bearer)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	s := string(raw)
	if m := csrfRE.FindStringSubmatch(s); m != nil {
		b.CSRF = m[1]
	}
	return resp, s
}
