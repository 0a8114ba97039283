package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

func TestSignInAndOut(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindSchool, "Collège Marracq")
	u := env.MustUser(t, org.ID, "Ane Etxeberria", true)

	b := env.Anonymous(t)
	b.Get("/login")
	resp, _ := b.PostForm("/login", url.Values{"email": {strings.ToUpper(u.Email)}, "password": {servertest.Password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("sign in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "berriz_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie %+v", session)
	}
	_, body := b.Get("/")
	mustContain(t, "signed-in home", body, "Ane Etxeberria", `action="/logout"`)

	// Sign out needs the CSRF token of the page.
	resp, _ = b.PostForm("/logout", url.Values{"csrf": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout with a forged token: %d", resp.StatusCode)
	}
	resp, _ = b.PostForm("/logout", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	_, body = b.Get("/")
	if strings.Contains(body, "Ane Etxeberria") {
		t.Fatal("still signed in after logout")
	}
}

func loginAttempt(t *testing.T, b *servertest.Browser, email, password string) (int, string) {
	t.Helper()
	if b.CSRF == "" {
		b.Get("/login")
	}
	resp, body := b.PostForm("/login", url.Values{"email": {email}, "password": {password}})
	return resp.StatusCode, body
}

// Twenty wrong passwords in a row: five pass as plain failures, then every
// attempt is refused with a growing wait, even the right password; the
// answer is the same for an address that has no account; the attacking IP
// is locked for other accounts too, while other clients are not affected.
func TestLoginThrottled(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{Env: map[string]string{"BERRIZ_TRUSTED_PROXIES": "127.0.0.1/32"}})
	org := env.MustOrg(t, account.KindCommune, "Ville de Bayonne")
	u := env.MustUser(t, org.ID, "Peio", false)
	bystander := env.MustUser(t, org.ID, "Maialen", false)
	from := func(ip string) *servertest.Browser {
		b := env.Anonymous(t)
		b.Header.Set("X-Forwarded-For", ip)
		return b
	}
	for i, email := range []string{u.Email, "nobody@example.org"} {
		b := from(fmt.Sprintf("203.0.113.%d", i+1))
		var statuses []int
		for n := 0; n < 20; n++ {
			st, body := loginAttempt(t, b, email, fmt.Sprintf("wrong password number %d", n))
			statuses = append(statuses, st)
			switch st {
			case http.StatusUnauthorized:
				mustContain(t, "failure", body, "Adresse e-mail ou mot de passe incorrect.")
			case http.StatusTooManyRequests:
				mustContain(t, "throttle", body, "Trop de tentatives")
			}
		}
		want := []int{401, 401, 401, 401, 401}
		for n := 5; n < 20; n++ {
			want = append(want, 429)
		}
		if fmt.Sprint(statuses) != fmt.Sprint(want) {
			t.Fatalf("%s: statuses %v, want %v", email, statuses, want)
		}
	}
	if st, _ := loginAttempt(t, from("203.0.113.50"), u.Email, servertest.Password); st != http.StatusTooManyRequests {
		t.Fatalf("right password for the locked address from elsewhere: %d, want 429", st)
	}
	if st, _ := loginAttempt(t, from("203.0.113.1"), bystander.Email, servertest.Password); st != http.StatusTooManyRequests {
		t.Fatalf("another account from the attacking IP: %d, want 429", st)
	}
	if st, _ := loginAttempt(t, from("203.0.113.60"), bystander.Email, servertest.Password); st != http.StatusSeeOther {
		t.Fatalf("another account from another IP: %d, want success", st)
	}
	var n int
	if err := env.DB.SQL().QueryRow(`SELECT count(*) FROM security_events WHERE kind = 'login_throttled'`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("throttled attempts not in the security log: %d %v", n, err)
	}
}

// The lock lifts with time, and a success resets the address's counter.
func TestLoginThrottleLiftsWithTime(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	env := servertest.MustStart(t, servertest.Options{Clock: clock})
	org := env.MustOrg(t, account.KindCommune, "Ville d'Anglet")
	u := env.MustUser(t, org.ID, "Maite", false)
	b := env.Anonymous(t)
	for i := 0; i < 7; i++ {
		loginAttempt(t, b, u.Email, "not the password at all")
	}
	if st, _ := loginAttempt(t, b, u.Email, servertest.Password); st != http.StatusTooManyRequests {
		t.Fatalf("locked: %d", st)
	}
	advance(20 * time.Minute)
	if st, _ := loginAttempt(t, b, u.Email, servertest.Password); st != http.StatusSeeOther {
		t.Fatalf("after the lock: %d, want a successful sign-in", st)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindCompany, "Entreprise")
	u := env.MustUser(t, org.ID, "Jon", false)
	off := env.MustOrg(t, account.KindCompany, "Fermée")
	inactive := env.MustUser(t, off.ID, "Xabi", false)
	if err := env.DB.SetOrganisationActive(context.Background(), off.ID, false, nil, ""); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, c := range []struct{ email, password string }{
		{u.Email, "wrong password here"},
		{"unknown@example.org", servertest.Password},
		{inactive.Email, servertest.Password},
		{"not an address", "x"},
	} {
		st, body := loginAttempt(t, env.Anonymous(t), c.email, c.password)
		if st != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", c.email, st)
		}
		bodies = append(bodies, strings.ReplaceAll(body, c.email, ""))
	}
	msg := "Adresse e-mail ou mot de passe incorrect."
	for i, b := range bodies {
		if !strings.Contains(b, msg) {
			t.Errorf("case %d lacks the generic message", i)
		}
	}
}

func TestCSRFRequiredOnForms(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	b := env.Anonymous(t)
	b.Get("/login")
	for _, tt := range []struct {
		name    string
		values  url.Values
		headers []string
	}{
		{"no token", url.Values{"csrf": {""}}, nil},
		{"forged token", url.Values{"csrf": {strings.Repeat("A", 43)}}, nil},
		{"cross-site", url.Values{}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		v := tt.values
		if _, ok := v["csrf"]; !ok {
			v.Set("csrf", b.CSRF)
		}
		v.Set("email", "x@example.org")
		v.Set("password", "whatever it is")
		h := append([]string{"Content-Type", "application/x-www-form-urlencoded"}, tt.headers...)
		resp, _ := b.Do(http.MethodPost, "/login", strings.NewReader(v.Encode()), h...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tt.name, resp.StatusCode)
		}
	}
	// A token from another visitor's cookie is worth nothing.
	other := env.Anonymous(t)
	other.Get("/login")
	resp, _ := b.PostForm("/login", url.Values{"csrf": {other.CSRF}, "email": {"x@example.org"}, "password": {"whatever it is"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("another visitor's token: %d", resp.StatusCode)
	}
}

// A CSRF token seen before sign-in is refused after it (login CSRF), and
// the session cookie is replaced at every sign-in (no fixation).
func TestSessionRotation(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindWorkshop, "Atelier")
	u := env.MustUser(t, org.ID, "Nerea", true)
	b := env.Anonymous(t)
	b.Get("/login")
	before := b.CSRF
	resp, _ := b.PostForm("/login", url.Values{"email": {u.Email}, "password": {servertest.Password}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatal(resp.StatusCode)
	}
	resp, _ = b.PostForm("/logout", url.Values{"csrf": {before}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("pre-login token accepted after sign-in: %d", resp.StatusCode)
	}
}

func TestSessionExpires(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	env := servertest.MustStart(t, servertest.Options{Clock: clock, Env: map[string]string{"BERRIZ_SESSION_IDLE": "1h", "BERRIZ_SESSION_LIFETIME": "3h"}})
	org := env.MustOrg(t, account.KindSchool, "École")
	u := env.MustUser(t, org.ID, "Amaia", false)
	b := env.SignIn(t, u.Email)
	signedIn := func() bool {
		_, body := b.Get("/")
		return strings.Contains(body, `action="/logout"`)
	}
	for i := 0; i < 5; i++ { // active every 50 minutes: the idle limit is not reached...
		advance(50 * time.Minute)
		if got := signedIn(); got != (i < 3) { // ...but the 3-hour lifetime is
			t.Fatalf("after %d×50 min: signed in = %v", i+1, got)
		}
	}
	b = env.SignIn(t, u.Email)
	advance(61 * time.Minute)
	if signedIn() {
		t.Fatal("session survived an idle hour")
	}
}

func TestDeactivationLocksOut(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindAssociation, "Asso")
	u := env.MustUser(t, org.ID, "Koldo", true)
	b := env.SignIn(t, u.Email)
	tok := env.MustToken(t, org.ID, u.ID, "write")
	if resp, _ := env.API(t, tok).Get("/", "Accept", "application/json"); resp.StatusCode != http.StatusOK {
		t.Fatalf("token before: %d", resp.StatusCode)
	}
	if err := env.DB.SetOrganisationActive(context.Background(), org.ID, false, nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, body := b.Get("/"); strings.Contains(body, `action="/logout"`) {
		t.Fatal("session survived deactivation")
	}
	if resp, _ := env.API(t, tok).Get("/", "Accept", "application/json"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token after deactivation: %d", resp.StatusCode)
	}
	if st, _ := loginAttempt(t, env.Anonymous(t), u.Email, servertest.Password); st != http.StatusUnauthorized {
		t.Fatalf("sign-in after deactivation: %d", st)
	}
}

var linkRE = regexp.MustCompile(`http://[^\s"\\]+/password/reset/[A-Za-z0-9_-]{43}`)

func TestPasswordResetFlow(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindCommune, "Ville d'Hendaye")
	u := env.MustUser(t, org.ID, "Iñaki", false)
	other := env.SignIn(t, u.Email) // an open session elsewhere

	b := env.Anonymous(t)
	b.Get("/password/forgot")
	resp, _ := b.PostForm("/password/forgot", url.Values{"email": {u.Email}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("forgot: %d", resp.StatusCode)
	}
	// The same answer for an unknown address, and no link is made.
	resp, _ = env.Anonymous(t).PostForm("/password/forgot", url.Values{"email": {"ghost@example.org"}})
	if resp.StatusCode != http.StatusForbidden { // no CSRF token yet: refused
		t.Fatalf("forgot without token: %d", resp.StatusCode)
	}
	g := env.Anonymous(t)
	g.Get("/password/forgot")
	if resp, _ := g.PostForm("/password/forgot", url.Values{"email": {"ghost@example.org"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("forgot for an unknown address: %d", resp.StatusCode)
	}
	links := linkRE.FindAllString(env.Logs(), -1)
	if len(links) != 1 {
		t.Fatalf("want exactly one reset link in the log (no SMTP), got %d", len(links))
	}
	path := strings.TrimPrefix(links[0], env.Config.PublicURL.String())
	b.Get(path)
	resp, body := b.PostForm(path, url.Values{"password": {"short"}, "password_confirm": {"short"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "au moins 12 caractères") {
		t.Fatalf("weak password: %d", resp.StatusCode)
	}
	newPassword := "une toute nouvelle phrase secrète"
	resp, _ = b.PostForm(path, url.Values{"password": {newPassword}, "password_confirm": {newPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
	if _, body := other.Get("/"); strings.Contains(body, `action="/logout"`) {
		t.Fatal("other sessions survived the reset")
	}
	if resp, _ := b.Get(path); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("reset link reused: %d", resp.StatusCode)
	}
	if st, _ := loginAttempt(t, env.Anonymous(t), u.Email, newPassword); st != http.StatusSeeOther {
		t.Fatalf("sign in with the new password: %d", st)
	}
}

func TestInvitationAcceptance(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	env := servertest.MustStart(t, servertest.Options{Clock: clock})
	org := env.MustOrg(t, account.KindSchool, "Lycée Ramiro Arrue")
	plain, hash := account.NewToken()
	if _, err := env.DB.CreateInvitation(context.Background(), postgres.NewInvitation{Hash: hash, OrgID: org.ID,
		Email: "irati@example.org", OrgAdmin: true, Lang: "eu", ExpiresAt: now.Add(time.Hour)}, nil, ""); err != nil {
		t.Fatal(err)
	}
	b := env.Anonymous(t)
	_, body := b.Get("/eu/invitations/" + plain)
	mustContain(t, "accept page", body, "Lycée Ramiro Arrue", "irati@example.org", `<html lang="eu">`)
	resp, body := b.PostForm("/eu/invitations/"+plain, url.Values{"name": {"  "}, "password": {"x"}, "password_confirm": {"y"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="error-summary"`) {
		t.Fatalf("invalid form: %d", resp.StatusCode)
	}
	pw := "gure eskola berria da"
	resp, _ = b.PostForm("/eu/invitations/"+plain, url.Values{"name": {"Irati"}, "password": {pw}, "password_confirm": {pw}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d", resp.StatusCode)
	}
	if _, body := b.Get("/eu/"); !strings.Contains(body, "Irati") {
		t.Fatal("not signed in after accepting")
	}
	if resp, _ := env.Anonymous(t).Get("/invitations/" + plain); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("used invitation: %d", resp.StatusCode)
	}
	u, err := env.DB.UserByEmail(context.Background(), "irati@example.org")
	if err != nil || !u.OrgAdmin || u.OrgID != org.ID || u.Lang != "eu" {
		t.Fatalf("created user %+v, %v", u, err)
	}
	// An expired invitation no longer opens.
	plain2, hash2 := account.NewToken()
	if _, err := env.DB.CreateInvitation(context.Background(), postgres.NewInvitation{Hash: hash2, OrgID: org.ID,
		Email: "late@example.org", Lang: "fr", ExpiresAt: now.Add(time.Hour)}, nil, ""); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if resp, _ := env.Anonymous(t).Get("/invitations/" + plain2); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("expired invitation: %d", resp.StatusCode)
	}
	for _, bad := range []string{"short", strings.Repeat("!", 43), "../../etc"} {
		if resp, _ := env.Anonymous(t).Get("/invitations/" + url.PathEscape(bad)); resp.StatusCode != http.StatusNotFound {
			t.Errorf("token %q: %d", bad, resp.StatusCode)
		}
	}
}

// Two people opening the same invitation at once: one account, one refusal.
func TestInvitationAcceptedOnce(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindSchool, "École")
	plain, hash := account.NewToken()
	if _, err := env.DB.CreateInvitation(context.Background(), postgres.NewInvitation{Hash: hash, OrgID: org.ID,
		Email: "twice@example.org", Lang: "fr", ExpiresAt: time.Now().Add(time.Hour)}, nil, ""); err != nil {
		t.Fatal(err)
	}
	const n = 8
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := env.DB.AcceptInvitation(context.Background(), account.HashToken(plain), "Twice", "x", time.Now(), "")
			results <- err
		}()
	}
	ok := 0
	for i := 0; i < n; i++ {
		if err := <-results; err == nil {
			ok++
		} else if berriz.KindOf(err) != berriz.NotFound && berriz.KindOf(err) != berriz.Conflict {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d acceptances succeeded, want 1", ok)
	}
}

// Static files and probes never look the session up: browsers send the
// cookie with every stylesheet and icon. A page does, and drops a cookie
// whose session is gone.
func TestStaticAndProbesSkipSessionLookup(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	_, home := get(t, env.Client(), env.URL+"/")
	css := regexp.MustCompile(`/static/css/berriz\.[0-9a-f]{10}\.css`).FindString(home)
	stale, _ := account.NewToken()
	for _, p := range []string{css, "/favicon.ico", "/healthz", "/readyz"} {
		resp, _ := get(t, env.Client(), env.URL+p, "Cookie", "berriz_session="+stale)
		if strings.Contains(resp.Header.Get("Set-Cookie"), "berriz_session") {
			t.Errorf("%s looked the session up", p)
		}
	}
	resp, _ := get(t, env.Client(), env.URL+"/about", "Cookie", "berriz_session="+stale)
	if !strings.Contains(resp.Header.Get("Set-Cookie"), "berriz_session=;") {
		t.Errorf("a page kept a dead session cookie: %q", resp.Header.Get("Set-Cookie"))
	}
}
