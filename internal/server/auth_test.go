package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
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
