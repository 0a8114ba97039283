package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/browsertest"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

// acctMustStatus fails the test when resp has not the wanted status (and,
// for redirects, location).
func acctMustStatus(t *testing.T, what string, resp *http.Response, body string, status int, location string) {
	t.Helper()
	if resp.StatusCode != status || location != "" && resp.Header.Get("Location") != location {
		t.Fatalf("%s: %d to %q, want %d to %q\n%s", what, resp.StatusCode, resp.Header.Get("Location"), status, location, body)
	}
}

func acctMustUser(t *testing.T, env *servertest.Env, id int64) account.User {
	t.Helper()
	u, err := env.DB.User(context.Background(), id, 0)
	if err != nil {
		t.Fatalf("user %d: %v", id, err)
	}
	return u
}

func TestAccountProfile(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindSchool, "Collège Marracq")
	u := env.MustUser(t, org.ID, "Ane Etxeberria", true)
	b := env.SignIn(t, u.Email)

	resp, body := b.Get("/account")
	acctMustStatus(t, "profile", resp, body, http.StatusOK, "")
	mustContain(t, "profile", body, "Ane Etxeberria", u.Email, "Collège Marracq", "Bénéficiaire", "administrateur·rice",
		`action="/account"`, `id="f-name"`, `value="Ane Etxeberria"`, `<option value="fr" lang="fr" selected>`,
		`href="/account/password"`, `href="/account/tokens"`, `href="/account/export"`, `href="/account/delete"`)

	tests := []struct {
		name, newName, lang string
		wants               []string
	}{
		{"empty name", "  ", "eu", []string{"Ce champ est obligatoire.", `href="#f-name"`, `<option value="eu" lang="eu" selected>`}},
		{"too long a name", strings.Repeat("a", 201), "fr", []string{"Ce texte est trop long."}},
		{"unknown language", "Ane E.", "de", []string{"Choisissez une langue", `value="Ane E."`, `aria-invalid="true"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.PostForm("/account", url.Values{"name": {tt.newName}, "lang": {tt.lang}})
			acctMustStatus(t, tt.name, resp, body, http.StatusBadRequest, "")
			mustContain(t, tt.name, body, tt.wants...)
		})
	}
	if got := acctMustUser(t, env, u.ID); got.Name != "Ane Etxeberria" || got.Lang != "fr" {
		t.Fatalf("a failed form changed the profile: %+v", got)
	}

	t.Run("saved, then shown in the new language", func(t *testing.T) {
		resp, body := b.PostForm("/account", url.Values{"name": {"  Ane   Etxeberria Arrieta "}, "lang": {"eu"}})
		acctMustStatus(t, "save", resp, body, http.StatusSeeOther, "/eu/account")
		_, body = b.Get("/eu/account")
		mustContain(t, "after save", body, `<html lang="eu">`, "Zure profila gorde da.", "Ane Etxeberria Arrieta")
		if got := acctMustUser(t, env, u.ID); got.Name != "Ane Etxeberria Arrieta" || got.Lang != "eu" {
			t.Fatalf("profile not saved: %+v", got)
		}
		// Back to French: the prefix is explicit so that it wins over the
		// remembered Basque.
		resp, body = b.PostForm("/eu/account", url.Values{"name": {"Ane Etxeberria"}, "lang": {"fr"}})
		acctMustStatus(t, "back to French", resp, body, http.StatusSeeOther, "/fr/account")
		b.Get("/fr/account")
		_, body = b.Get("/account")
		mustContain(t, "French remembered", body, `<html lang="fr">`)
	})

	t.Run("anonymous visitors are sent to sign in", func(t *testing.T) {
		resp, body := env.Anonymous(t).Get("/account")
		acctMustStatus(t, "anonymous", resp, body, http.StatusSeeOther, "/login?next=%2Faccount")
	})
}

func TestAccountPassword(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindWorkshop, "Atelier Elkar")
	u := env.MustUser(t, org.ID, "Peio Larralde", false)
	b := env.SignIn(t, u.Email)
	other := env.SignIn(t, u.Email)
	const fresh = "un mot de passe tout neuf"

	resp, body := b.Get("/account/password")
	acctMustStatus(t, "form", resp, body, http.StatusOK, "")
	mustContain(t, "form", body, `id="f-current_password"`, `id="f-password"`, `id="f-password_confirm"`, `autocomplete="current-password"`)

	tests := []struct {
		name                 string
		current, pw, confirm string
		wants                []string
	}{
		{"wrong current password", "not my password", fresh, fresh,
			[]string{"Mot de passe incorrect.", `href="#f-current_password"`}},
		{"wrong current and weak new", "not my password", "short", "short",
			[]string{"Mot de passe incorrect.", "au moins 12 caractères"}},
		{"new too short", servertest.Password, "short", "short", []string{"au moins 12 caractères"}},
		{"confirmation differs", servertest.Password, fresh, fresh + "!", []string{"ne sont pas identiques"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.PostForm("/account/password", url.Values{"current_password": {tt.current}, "password": {tt.pw},
				"password_confirm": {tt.confirm}})
			acctMustStatus(t, tt.name, resp, body, http.StatusBadRequest, "")
			mustContain(t, tt.name, body, tt.wants...)
			if strings.Contains(body, tt.current) || strings.Contains(body, tt.pw) {
				t.Error("a password was sent back in the page")
			}
		})
	}

	resp, body = b.PostForm("/account/password", url.Values{"current_password": {servertest.Password}, "password": {fresh},
		"password_confirm": {fresh}})
	acctMustStatus(t, "change", resp, body, http.StatusSeeOther, "/account")
	_, body = b.Get("/account")
	mustContain(t, "after change", body, "Votre mot de passe est changé", "Peio Larralde")

	// The other session has ended; this one stays.
	resp, body = other.Get("/account")
	acctMustStatus(t, "other session", resp, body, http.StatusSeeOther, "/login?next=%2Faccount")
	resp, body = env.Anonymous(t).PostForm("/login", url.Values{"email": {u.Email}, "password": {servertest.Password}})
	if resp.StatusCode == http.StatusSeeOther {
		t.Fatal("the old password still signs in")
	}
	nb := env.Anonymous(t)
	nb.Get("/login")
	resp, body = nb.PostForm("/login", url.Values{"email": {u.Email}, "password": {fresh}})
	acctMustStatus(t, "new password", resp, body, http.StatusSeeOther, "/account")
}

// Guessing the password through a stolen session meets the sign-in
// throttle.
func TestAccountPasswordThrottled(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindCommune, "Herri")
	u := env.MustUser(t, org.ID, "Maite", false)
	b := env.SignIn(t, u.Email)
	for i := 1; ; i++ {
		resp, body := b.PostForm("/account/password", url.Values{"current_password": {"guess guess guess"}})
		if resp.StatusCode == http.StatusTooManyRequests {
			mustContain(t, "throttled", body, "Trop de tentatives")
			if i <= 5 {
				t.Fatalf("throttled after %d guesses, the sign-in throttle lets five pass", i)
			}
			return
		}
		acctMustStatus(t, "guess", resp, body, http.StatusBadRequest, "")
		if i == 12 {
			t.Fatal("twelve guesses and still not throttled")
		}
	}
}

func TestAccountExport(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindCompany, "Entreprise Itsasoa")
	u := env.MustUser(t, org.ID, "Jon Mendiburu", false)
	env.MustToken(t, org.ID, u.ID, "read")
	b := env.SignIn(t, u.Email)

	resp, body := b.Get("/account/export")
	acctMustStatus(t, "export", resp, body, http.StatusOK, "")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	cd := resp.Header.Get("Content-Disposition")
	if !regexp.MustCompile(`^attachment; filename="berriz-export-\d{4}-\d{2}-\d{2}\.json"$`).MatchString(cd) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, body)
	}
	for _, k := range []string{"exported_at", "profile", "organisation", "sessions", "api_tokens"} {
		if _, ok := got[k]; !ok {
			t.Errorf("export has no %q", k)
		}
	}
	mustContain(t, "export", body, u.Email, "Jon Mendiburu", "Entreprise Itsasoa", `"prefix": "brz_`, `"user_agent"`)
	if low := strings.ToLower(body); strings.Contains(low, "password") || strings.Contains(body, "$argon2") {
		t.Errorf("export mentions the password:\n%s", body)
	}
}

func TestAccountDelete(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindAssociation, "Elkartea")
	admin := env.MustUser(t, org.ID, "Admin Bakarra", true)
	member := env.MustUser(t, org.ID, "Kide Arrunta", false)

	t.Run("the form explains and asks for the password", func(t *testing.T) {
		b := env.SignIn(t, member.Email)
		resp, body := b.Get("/account/delete")
		acctMustStatus(t, "form", resp, body, http.StatusOK, "")
		mustContain(t, "form", body, "définitive", `id="f-password"`, `action="/account/delete"`, `href="/account/export"`)
		resp, body = b.PostForm("/account/delete", url.Values{"password": {"not it"}})
		acctMustStatus(t, "wrong password", resp, body, http.StatusBadRequest, "")
		mustContain(t, "wrong password", body, "Mot de passe incorrect.", `href="#f-password"`)
		acctMustUser(t, env, member.ID)
	})
	t.Run("the last admin of an organisation with members must hand over", func(t *testing.T) {
		b := env.SignIn(t, admin.Email)
		b.Get("/account/delete")
		resp, body := b.PostForm("/account/delete", url.Values{"password": {servertest.Password}})
		acctMustStatus(t, "last admin", resp, body, http.StatusConflict, "")
		mustContain(t, "last admin", body, "au moins un administrateur", `role="alert"`)
		acctMustUser(t, env, admin.ID)
	})
	t.Run("deleted, signed out, and gone for good", func(t *testing.T) {
		b := env.SignIn(t, member.Email)
		b.Get("/account/delete")
		resp, body := b.PostForm("/account/delete", url.Values{"password": {servertest.Password}})
		acctMustStatus(t, "delete", resp, body, http.StatusSeeOther, "/")
		cleared := false
		for _, ck := range resp.Cookies() {
			cleared = cleared || ck.Name == "berriz_session" && ck.MaxAge < 0
		}
		if !cleared {
			t.Error("the session cookie was not cleared")
		}
		_, body = b.Get("/")
		mustContain(t, "after delete", body, "Votre compte est supprimé", `href="/login"`)
		if _, err := env.DB.User(context.Background(), member.ID, 0); err == nil {
			t.Fatal("the user still exists")
		}
		nb := env.Anonymous(t)
		nb.Get("/login")
		resp, body = nb.PostForm("/login", url.Values{"email": {member.Email}, "password": {servertest.Password}})
		acctMustStatus(t, "sign in after delete", resp, body, http.StatusUnauthorized, "")
	})
}

var acctSecretRE = regexp.MustCompile(`<code id="token-secret">(brz_[A-Za-z0-9_-]{43})</code>`)

func TestAccountTokens(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindCommune, "Hiriburu")
	u := env.MustUser(t, org.ID, "Maialen Ibarra", false)
	stranger := env.MustUser(t, org.ID, "Beste Bat", false)
	b := env.SignIn(t, u.Email)

	resp, body := b.Get("/account/tokens")
	acctMustStatus(t, "empty list", resp, body, http.StatusOK, "")
	mustContain(t, "empty list", body, "aucun jeton actif", "<fieldset", "<legend>Portée</legend>",
		`name="scope" value="read" checked`)

	tests := []struct {
		name, tokenName, scope string
		wants                  []string
	}{
		{"no name", " ", "write", []string{"Ce champ est obligatoire.", `href="#f-name"`, `value="write" checked`}},
		{"bad scope", "Tableur", "admin", []string{"Choisissez la portée du jeton", `href="#f-scope"`, `value="Tableur"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.PostForm("/account/tokens", url.Values{"name": {tt.tokenName}, "scope": {tt.scope}})
			acctMustStatus(t, tt.name, resp, body, http.StatusBadRequest, "")
			mustContain(t, tt.name, body, tt.wants...)
		})
	}

	resp, body = b.PostForm("/account/tokens", url.Values{"name": {"Tableur de suivi"}, "scope": {"write"}})
	acctMustStatus(t, "create", resp, body, http.StatusOK, "")
	m := acctSecretRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the secret is not shown:\n%s", body)
	}
	secret := m[1]
	mustContain(t, "created", body, "ne sera plus jamais affiché", "Tableur de suivi", "Lecture et écriture")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the page with the secret", cc)
	}

	// Shown once: afterwards only its prefix.
	_, body = b.Get("/account/tokens")
	if strings.Contains(body, secret) {
		t.Fatal("the secret is shown again")
	}
	mustContain(t, "list", body, secret[:12]+"…", "Tableur de suivi", "jamais")

	api := env.API(t, secret)
	resp, body = api.Get("/account", "Accept", "application/json")
	acctMustStatus(t, "token before revocation", resp, body, http.StatusOK, "")

	tokens, err := env.DB.ListTokens(context.Background(), postgres.TokenFilter{UserID: u.ID})
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens %v, %v", tokens, err)
	}
	id := tokens[0].ID
	foreign := env.MustToken(t, org.ID, stranger.ID, "read")
	foreignTokens, _ := env.DB.ListTokens(context.Background(), postgres.TokenFilter{UserID: stranger.ID})

	for _, tt := range []struct {
		name, path string
		status     int
	}{
		{"someone else's token", "/account/tokens/" + acctID(foreignTokens[0].ID) + "/revoke", http.StatusNotFound},
		{"unknown token", "/account/tokens/999999/revoke", http.StatusNotFound},
		{"malformed id", "/account/tokens/abc/revoke", http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.PostForm(tt.path, nil)
			acctMustStatus(t, tt.name, resp, body, tt.status, "")
		})
	}
	if resp, _ := env.API(t, foreign).Get("/account"); resp.StatusCode != http.StatusOK {
		t.Fatalf("someone else's token was revoked: %d", resp.StatusCode)
	}

	resp, body = b.PostForm("/account/tokens/"+acctID(id)+"/revoke", nil)
	acctMustStatus(t, "revoke", resp, body, http.StatusSeeOther, "/account/tokens")
	_, body = b.Get("/account/tokens")
	mustContain(t, "after revoke", body, "Le jeton est révoqué", "aucun jeton actif")
	resp, body = api.Get("/account", "Accept", "application/json")
	acctMustStatus(t, "token after revocation", resp, body, http.StatusUnauthorized, "")
	resp, body = b.PostForm("/account/tokens/"+acctID(id)+"/revoke", nil)
	acctMustStatus(t, "revoke twice", resp, body, http.StatusNotFound, "")
}

func acctID(n int64) string { return strconv.FormatInt(n, 10) }

// acctBrowserSignIn signs a user in through the login page, in the tab.
func acctBrowserSignIn(tab *browsertest.Tab, base, email string) {
	tab.Navigate(base + "/login")
	tab.Fill("#f-email", email)
	tab.Fill("#f-password", servertest.Password)
	tab.Click(`form[action$="/login"] button[type=submit]`)
	// Click returns at the load event; the favicon comes after it. Leaving
	// before it arrives can leave the next page's report waiting for it.
	tab.Measure()
}

// The account pages, in French and Basque, with a full page of tokens,
// within the budgets and with zero axe violations.
func TestAccountPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	org := env.MustOrg(t, account.KindAdministration, "Sous-préfecture de Bayonne")
	u := env.MustUser(t, org.ID, "Itziar Goienetxe", true)
	for range 26 {
		env.MustToken(t, org.ID, u.ID, "read")
	}
	for _, lang := range []string{"/fr", "/eu"} {
		t.Run(lang[1:], func(t *testing.T) {
			tab := browsertest.MustTab(t)
			acctBrowserSignIn(tab, env.URL, u.Email)
			for _, p := range []string{"/account", "/account/password", "/account/delete", "/account/tokens"} {
				r := tab.CheckPage(env.URL + lang + p)
				if r.Status != http.StatusOK {
					t.Errorf("%s: status %d", p, r.Status)
				}
				if r.DOMElements > 300 {
					t.Errorf("%s: %d DOM elements", p, r.DOMElements)
				}
			}
			// The page that shows a new secret, once.
			tab.Navigate(env.URL + lang + "/account/tokens")
			tab.Fill("#f-name", "Tableur")
			tab.Click(`#f-scope-write`)
			tab.Click(`form[action$="/account/tokens"] p button[type=submit]`)
			r := tab.CheckCurrentPage()
			if r.Status != http.StatusOK || tab.Count("#token-secret") != 1 {
				t.Errorf("after creating a token: status %d, %d secrets shown", r.Status, tab.Count("#token-secret"))
			}
		})
	}
}
