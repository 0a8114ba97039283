package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/push"
	"github.com/berriz/berriz/internal/server/servertest"
)

// mustPushSeed gives an observatory three subscriptions with long URLs, one
// of them registered 30 months ago (more than a page of deliveries), with
// failed attempts logged.
func mustPushSeed(t *testing.T, env *servertest.Env, obs account.Organisation) int64 {
	t.Helper()
	ctx := context.Background()
	var first int64
	for i := range 3 {
		s, err := env.DB.CreatePushSubscription(ctx, obs.ID,
			fmt.Sprintf("https://observatoire-du-numerique-responsable.example.eus/berriz/reception/des/totaux/mensuels/%d?cle=abcdef", i),
			push.NewSecret(), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = s.ID
		}
	}
	if _, err := env.DB.SQL().ExecContext(ctx, `UPDATE push_subscriptions SET created_at = now() - interval '30 months' WHERE id = $1`, first); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := env.DB.OpenPushMonths(ctx, push.LastClosed(now, 0), now); err != nil {
		t.Fatal(err)
	}
	cs, err := env.DB.ClaimPushDeliveries(ctx, now, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		next := now.Add(time.Minute)
		if _, err := env.DB.RecordPushAttempt(ctx, postgres.PushOutcome{DeliveryID: c.DeliveryID, Attempt: 1, At: now,
			Duration: 1500 * time.Millisecond, HTTPStatus: 502, Error: "HTTP 502: <html><body>Bad gateway from the reverse proxy of the observatory</body></html>",
			Next: &next}); err != nil {
			t.Fatal(err)
		}
	}
	return cs[0].DeliveryID
}

// The push pages, full, in French and Basque: within the budgets, zero axe
// violations; registering a URL (after a mistake) lands on the secret page,
// which passes the checks too.
func TestPushPagesInBrowser(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	seed := mustAdminSeed(t, env)
	delivery := mustPushSeed(t, env, seed.obs)
	pages := []string{"/admin/push", "/admin/push?page=2", "/admin/push?status=pending",
		fmt.Sprintf("/admin/push/%d", delivery), adminOrgPath(seed.obs.ID) + "/push", adminOrgPath(seed.obs.ID)}
	for _, lang := range []string{"", "/eu"} {
		t.Run("lang"+lang, func(t *testing.T) {
			tab := adminSignInTab(t, env, seed.operator.Email)
			for _, p := range pages {
				if r := tab.CheckPage(env.URL + lang + p); r.Status != http.StatusOK {
					t.Errorf("%s: status %d", lang+p, r.Status)
				}
			}
		})
	}
	tab := adminSignInTab(t, env, seed.operator.Email)
	tab.Navigate(env.URL + adminOrgPath(seed.obs.ID) + "/push")
	tab.Fill("#f-url", "http://observatoire.example/berriz")
	tab.Click(`form[action$="/push"] button[type=submit]`)
	r := tab.Measure()
	if r.Status != http.StatusBadRequest {
		t.Fatalf("http URL: status %d", r.Status)
	}
	r.CheckBudgets(t)
	tab.CheckAxe()
	tab.Fill("#f-url", "https://observatoire.example/berriz")
	tab.Click(`form[action$="/push"] button[type=submit]`)
	if r := tab.CheckCurrentPage(); r.Status != http.StatusOK || tab.Count("#push-secret") != 1 {
		t.Fatalf("secret page: status %d", r.Status)
	}
}
