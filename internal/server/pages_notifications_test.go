package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
)

// The account page's section: the current choice, switching off and on
// with a flash, a choice that is neither re-rendered with its error and
// nothing changed.
func TestAccountNotificationSettings(t *testing.T) {
	env := mustDigestEnv(t)
	school := env.MustOrg(t, account.KindSchool, "Collège Marracq")
	ane := env.MustUser(t, school.ID, "Ane Etxeberria", true)
	env.notify(t, school.ID, "notify.test_event", "/requests/1", nil)
	b := env.SignIn(t, ane.Email)

	resp, body := b.Get("/account")
	acctMustStatus(t, "account", resp, body, http.StatusOK, "")
	mustContain(t, "account", body, `<h2 id="notifications">Notifications par e-mail</h2>`, `action="/account/notifications"`,
		`id="f-notify_email" name="notify_email" value="on" checked`, `value="off">`, "à partir de 7 h",
		"Dernier résumé envoyé : jamais.", `href="/account/notifications"`)

	for _, bad := range []url.Values{{"notify_email": {"maybe"}}, {}} {
		resp, body = b.PostForm("/account/notifications", bad)
		acctMustStatus(t, "bad choice", resp, body, http.StatusBadRequest, "")
		mustContain(t, "bad choice", body, "Choisissez oui ou non.", `href="#f-notify_email"`, `value="Ane Etxeberria"`,
			`<option value="fr" lang="fr" selected>`)
		if strings.Contains(body, "checked") {
			t.Errorf("a bad choice shows a radio checked")
		}
	}
	if p := env.pending(t, ane.ID); p != 1 {
		t.Fatalf("a bad choice changed something: %d pending", p)
	}

	resp, body = b.PostForm("/account/notifications", url.Values{"notify_email": {"off"}})
	acctMustStatus(t, "off", resp, body, http.StatusSeeOther, "/account")
	_, body = b.Get("/account")
	mustContain(t, "after off", body, "Vous ne recevrez plus de notifications par e-mail", `value="off" checked`)
	if s, _ := env.DB.NotificationSettings(t.Context(), ane.ID); s.Email || s.Pending != 0 {
		t.Fatalf("after off: %+v", s)
	}

	resp, body = b.PostForm("/eu/account/notifications", url.Values{"notify_email": {"on"}})
	acctMustStatus(t, "on", resp, body, http.StatusSeeOther, "/eu/account")
	_, body = b.Get("/eu/account")
	mustContain(t, "after on", body, "eguneko laburpena jasoko duzu", `value="on" checked`, "7:00etatik aurrera")

	// Without the CSRF token the switch is refused.
	resp, _ = b.PostForm("/account/notifications", url.Values{"notify_email": {"off"}, "csrf": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged CSRF: %d", resp.StatusCode)
	}
	if s, _ := env.DB.NotificationSettings(t.Context(), ane.ID); !s.Email {
		t.Fatal("a forged request switched e-mails off")
	}
}

// The page of recent notifications: the person's own, newest first, 25 a
// page, each message linking to its page in the page's language.
func TestNotificationsPage(t *testing.T) {
	env := mustDigestEnv(t)
	school := env.MustOrg(t, account.KindSchool, "Collège Marracq")
	ane := env.MustUser(t, school.ID, "Ane", true)
	other := env.MustOrg(t, account.KindAssociation, "Emmaüs")
	jon := env.MustUser(t, other.ID, "Jon", true)
	b := env.SignIn(t, ane.Email)

	_, body := b.Get("/account/notifications")
	mustContain(t, "empty", body, "<h1>Mes notifications</h1>", "Aucune notification pour l&#39;instant.",
		"Vous en recevez un résumé par e-mail", `href="/account#notifications"`)

	for i := 1; i <= 30; i++ {
		env.clock.Set(time.Date(2026, 5, 1, 8, i, 0, 0, digestParis))
		env.notify(t, school.ID, "notify.test_event", fmt.Sprintf("/requests/%d", i), nil)
	}
	env.notify(t, school.ID, "notify.test_event", "https://evil.example/", nil)
	env.notify(t, other.ID, "notify.test_event", "/requests/theirs", nil)

	resp, body := b.Get("/account/notifications")
	acctMustStatus(t, "page 1", resp, body, http.StatusOK, "")
	mustContain(t, "page 1", body, "Notifications (31)", "Quelque chose a changé.", `<a href="/requests/30">`,
		`<time datetime="2026-05-01T06:30:00Z">01/05/2026 08:30</time>`, `href="/account/notifications?page=2"`)
	if n := strings.Count(body, "<tr><td>"); n != 25 {
		t.Errorf("%d rows, want 25", n)
	}
	if strings.Index(body, `"/requests/30"`) > strings.Index(body, `"/requests/29"`) || strings.Contains(body, "evil.example") ||
		strings.Contains(body, "theirs") || strings.Contains(body, `"/requests/6"`) {
		t.Error("page 1 is not the person's 25 newest, newest first, with safe links only")
	}
	_, body = b.Get("/eu/account/notifications?page=2")
	mustContain(t, "page 2 in Basque", body, "<h1>Nire jakinarazpenak</h1>", "Zerbait aldatu da.", `<a href="/eu/requests/1">`,
		`<time datetime="2026-05-01T06:01:00Z">2026/05/01 08:01</time>`)
	if n := strings.Count(body, "<tr><td>"); n != 6 {
		t.Errorf("page 2: %d rows, want 6", n)
	}

	// Another person sees only theirs.
	_, body = env.SignIn(t, jon.Email).Get("/account/notifications")
	mustContain(t, "other person", body, "Notifications (1)", `"/requests/theirs"`)

	resp, body = env.Anonymous(t).Get("/account/notifications")
	acctMustStatus(t, "anonymous", resp, body, http.StatusSeeOther, "/login?next=%2Faccount%2Fnotifications")
}
