package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/server/servertest"
)

type apiNotificationSettings struct {
	Email        bool    `json:"email"`
	LastDigestAt *string `json:"last_digest_at"`
	Pending      int     `json:"pending"`
	DigestHour   int     `json:"digest_hour"`
}

func notificationsPut(b *servertest.Browser, path, body string) (*http.Response, string) {
	headers := []string{"Content-Type", "application/json"}
	if b.Bearer == "" {
		headers = append(headers, "X-CSRF-Token", b.CSRF)
	}
	return b.Do(http.MethodPut, path, strings.NewReader(body), headers...)
}

// The settings and the list through the API: the caller's own, for a
// person (session or own token); a read token reads but cannot switch;
// an organisation token has no notifications; bad bodies answer 400.
func TestNotificationsAPI(t *testing.T) {
	env := mustDigestEnv(t)
	school := env.MustOrg(t, account.KindSchool, "Collège Marracq")
	ane := env.MustUser(t, school.ID, "Ane", true)
	obs := env.MustOrg(t, account.KindObservatory, "Observatoire")
	for i := 1; i <= 27; i++ {
		env.notify(t, school.ID, "notify.test_event", fmt.Sprintf("/requests/%d", i), map[string]string{"request": fmt.Sprint(i)})
	}
	env.notify(t, school.ID, "notify.test_event", "//evil.example/", nil)
	write := env.API(t, env.MustToken(t, school.ID, ane.ID, "write"))
	read := env.API(t, env.MustToken(t, school.ID, ane.ID, "read"))
	orgTok := env.API(t, env.MustToken(t, obs.ID, 0, "read"))

	resp, body := read.Get("/api/v1/me/notifications")
	var s apiNotificationSettings
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("settings: %d %s", resp.StatusCode, body)
	}
	mustDecodeJSON(t, body, &s)
	if !s.Email || s.Pending != 28 || s.LastDigestAt != nil || s.DigestHour != 7 {
		t.Fatalf("settings: %+v", s)
	}

	var page struct {
		Items []struct {
			ID        int64             `json:"id"`
			Kind      string            `json:"kind"`
			Args      map[string]string `json:"args"`
			Link      string            `json:"link"`
			Message   string            `json:"message"`
			Pending   bool              `json:"pending"`
			CreatedAt string            `json:"created_at"`
		} `json:"items"`
		Page, Pages, Total int
	}
	resp, body = read.Get("/api/v1/me/notifications/items", "Accept-Language", "eu")
	mustDecodeJSON(t, body, &page)
	if resp.StatusCode != http.StatusOK || page.Total != 28 || page.Pages != 2 || len(page.Items) != 25 {
		t.Fatalf("items: %d %+v", resp.StatusCode, page)
	}
	first, second := page.Items[0], page.Items[1]
	if first.Link != "" || first.Message != "Zerbait aldatu da." || second.Link != "/requests/27" || second.Args["request"] != "27" ||
		second.Kind != "notify.test_event" || !second.Pending || second.CreatedAt == "" {
		t.Fatalf("items, newest first: %+v, %+v", first, second)
	}
	// The language follows the request, here its prefix.
	_, body = read.Get("/fr/api/v1/me/notifications/items?page=2")
	mustDecodeJSON(t, body, &page)
	if len(page.Items) != 3 || page.Items[2].Link != "/requests/1" || page.Items[2].Message != "Quelque chose a changé." {
		t.Fatalf("page 2: %+v", page)
	}

	// Switching: not with a read token; bad bodies are the caller's error.
	if resp, body = notificationsPut(read, "/api/v1/me/notifications", `{"email": false}`); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("read token switched: %d %s", resp.StatusCode, body)
	}
	for _, bad := range []struct{ body, field string }{
		{`{}`, `"email":"Ce champ est obligatoire."`},
		{`{"email": null}`, `"email":"Ce champ est obligatoire."`},
		{`{"email": "no"}`, `"email"`},
		{`{"email": false, "digest_hour": 3}`, `"code":"invalid"`},
		{`[true]`, `"code":"invalid"`},
	} {
		resp, body = notificationsPut(write, "/api/v1/me/notifications", bad.body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, bad.field) {
			t.Errorf("PUT %s: %d %s", bad.body, resp.StatusCode, body)
		}
	}
	resp, _ = write.Do(http.MethodPut, "/api/v1/me/notifications", strings.NewReader("email=false"),
		"Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d", resp.StatusCode)
	}
	if s, _ := env.DB.NotificationSettings(t.Context(), ane.ID); !s.Email || s.Pending != 28 {
		t.Fatalf("a refused call changed the settings: %+v", s)
	}

	resp, body = notificationsPut(write, "/api/v1/me/notifications", `{"email": false}`)
	mustDecodeJSON(t, body, &s)
	if resp.StatusCode != http.StatusOK || s.Email || s.Pending != 0 {
		t.Fatalf("switch off: %d %+v", resp.StatusCode, s)
	}
	// A browser session switches on with its CSRF token, not without.
	b := env.SignIn(t, ane.Email)
	resp, _ = b.Do(http.MethodPut, "/api/v1/me/notifications", strings.NewReader(`{"email": true}`), "Content-Type", "application/json")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("session without CSRF: %d", resp.StatusCode)
	}
	resp, body = notificationsPut(b, "/api/v1/me/notifications", `{"email": true}`)
	mustDecodeJSON(t, body, &s)
	if resp.StatusCode != http.StatusOK || !s.Email {
		t.Fatalf("switch on: %d %+v", resp.StatusCode, s)
	}

	// An organisation token is nobody: no notifications, no switch.
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/me/notifications"}, {http.MethodGet, "/api/v1/me/notifications/items"},
		{http.MethodPut, "/api/v1/me/notifications"},
	} {
		resp, body := orgTok.Do(req.method, req.path, strings.NewReader(`{"email": true}`), "Content-Type", "application/json")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("organisation token %s %s: %d %s", req.method, req.path, resp.StatusCode, body)
		}
	}
	if resp, _ := env.Anonymous(t).Get("/api/v1/me/notifications/items"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", resp.StatusCode)
	}
}
