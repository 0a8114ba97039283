package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/push"
	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/internal/server/servertest"
)

func pushJSON(t *testing.T, b *servertest.Browser, method, path, body string, want int) string {
	t.Helper()
	var resp *http.Response
	var got string
	if body == "" {
		resp, got = b.Do(method, path, nil, "Accept", "application/json")
	} else {
		resp, got = b.Do(method, path, strings.NewReader(body), "Content-Type", "application/json", "X-CSRF-Token", b.CSRF)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d\n%s", method, path, resp.StatusCode, want, got)
	}
	return got
}

type pushPage struct {
	Items []map[string]any `json:"items"`
	Total int              `json:"total"`
}

// Operators register and stop; the observatory (token or user) reads its
// own subscriptions and deliveries only, never a secret, and may not
// write; other roles may not read.
func TestPushAPIAccess(t *testing.T) {
	e := mustPushEnv(t, nil)
	ctx := context.Background()
	other := e.MustOrg(t, account.KindObservatory, "Autre observatoire")
	commune := e.MustOrg(t, account.KindCommune, "Commune")
	obsToken := e.API(t, e.MustToken(t, e.obs.ID, 0, "read"))
	obsUser := e.SignIn(t, e.MustUser(t, e.obs.ID, "Observer", true).Email)
	donor := e.SignIn(t, e.MustUser(t, commune.ID, "Donor", true).Email)
	const base = "/api/v1/observatory/subscriptions"
	create := func(org int64, u string, want int) string {
		return pushJSON(t, e.op, http.MethodPost, base, fmt.Sprintf(`{"organisation_id":%d,"url":%q}`, org, u), want)
	}
	var mine server.PushSubscribed
	if err := json.Unmarshal([]byte(create(e.obs.ID, " https://obs.example/hook ", 201)), &mine); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mine.Secret, push.SecretPrefix) || mine.URL != "https://obs.example/hook" || mine.SecretPrefix != mine.Secret[:9] {
		t.Fatalf("created %+v", mine)
	}
	var theirs server.PushSubscribed
	_ = json.Unmarshal([]byte(create(other.ID, "https://other.example/hook", 201)), &theirs)
	for _, tc := range []struct {
		org   int64
		url   string
		field string
	}{
		{commune.ID, "https://c.example/", "organisation_id"},
		{e.obs.ID, "ftp://obs.example/", "url"},
		{e.obs.ID, "http://obs.example/hook", "url"},
		{0, "https://obs.example/", "organisation_id"},
	} {
		if body := create(tc.org, tc.url, 400); !strings.Contains(body, `"`+tc.field+`"`) {
			t.Errorf("%d %s: %s", tc.org, tc.url, body)
		}
	}
	create(999999, "https://obs.example/", 404)
	pushJSON(t, e.op, http.MethodPost, base, `{"organisation_id":1,"url":"https://x.example/","secret":"mine"}`, 400)

	now := e.clock.Now()
	if _, err := e.DB.OpenPushMonths(ctx, push.LastClosed(now, 0), now); err != nil {
		t.Fatal(err)
	}
	mineDs, _, _ := e.DB.ListPushDeliveries(ctx, postgres.PushDeliveryFilter{SubscriptionID: mine.ID})
	theirDs, _, _ := e.DB.ListPushDeliveries(ctx, postgres.PushDeliveryFilter{SubscriptionID: theirs.ID})
	if len(mineDs) != 1 || len(theirDs) != 1 {
		t.Fatalf("deliveries %+v %+v", mineDs, theirDs)
	}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }

	for name, b := range map[string]*servertest.Browser{"token": obsToken, "user": obsUser} {
		var list pushPage
		body := pushJSON(t, b, http.MethodGet, base, "", 200)
		if err := json.Unmarshal([]byte(body), &list); err != nil || list.Total != 1 || list.Items[0]["id"] != float64(mine.ID) {
			t.Errorf("%s: list %s", name, body)
		}
		if strings.Contains(body, mine.Secret) || strings.Contains(body, `"secret"`) {
			t.Errorf("%s: the secret is shown again: %s", name, body)
		}
		// Naming another organisation changes nothing for them.
		if body := pushJSON(t, b, http.MethodGet, base+"?organisation_id="+id(other.ID), "", 200); strings.Contains(body, "other.example") {
			t.Errorf("%s: another observatory's subscriptions: %s", name, body)
		}
		pushJSON(t, b, http.MethodGet, base+"/"+id(mine.ID), "", 200)
		pushJSON(t, b, http.MethodGet, base+"/"+id(theirs.ID), "", 404)
		body = pushJSON(t, b, http.MethodGet, base+"/"+id(mine.ID)+"/deliveries", "", 200)
		if err := json.Unmarshal([]byte(body), &list); err != nil || list.Total != 1 || list.Items[0]["status"] != "pending" {
			t.Errorf("%s: deliveries %s", name, body)
		}
		pushJSON(t, b, http.MethodGet, base+"/"+id(mine.ID)+"/deliveries?status=lost", "", 400)
		pushJSON(t, b, http.MethodGet, base+"/"+id(theirs.ID)+"/deliveries", "", 404)
		pushJSON(t, b, http.MethodGet, "/api/v1/observatory/deliveries/"+id(mineDs[0].ID), "", 200)
		pushJSON(t, b, http.MethodGet, "/api/v1/observatory/deliveries/"+id(theirDs[0].ID), "", 404)
		// Observatories only read.
		pushJSON(t, b, http.MethodPost, base, fmt.Sprintf(`{"organisation_id":%d,"url":"https://obs.example/2"}`, e.obs.ID), 403)
		pushJSON(t, b, http.MethodPost, base+"/"+id(mine.ID)+"/deactivate", "{}", 403)
	}
	pushJSON(t, donor, http.MethodGet, base, "", 403)
	pushJSON(t, donor, http.MethodGet, "/api/v1/observatory/deliveries/"+id(mineDs[0].ID), "", 403)

	var list pushPage
	_ = json.Unmarshal([]byte(pushJSON(t, e.op, http.MethodGet, base, "", 200)), &list)
	if list.Total != 2 {
		t.Errorf("operator sees %d subscriptions, want 2", list.Total)
	}
	_ = json.Unmarshal([]byte(pushJSON(t, e.op, http.MethodGet, base+"?organisation_id="+id(other.ID), "", 200)), &list)
	if list.Total != 1 || list.Items[0]["id"] != float64(theirs.ID) {
		t.Errorf("operator filter: %+v", list)
	}
	body := pushJSON(t, e.op, http.MethodPost, base+"/"+id(mine.ID)+"/deactivate", "", 200)
	if !strings.Contains(body, `"active":false`) {
		t.Fatalf("deactivated: %s", body)
	}
	d := pushJSON(t, e.op, http.MethodGet, "/api/v1/observatory/deliveries/"+id(mineDs[0].ID), "", 200)
	if !strings.Contains(d, `"status":"failed"`) || !strings.Contains(d, "subscription deactivated") {
		t.Fatalf("delivery after deactivation: %s", d)
	}
}

// The operator's pages: a section on the observatory's page, the push page
// with its form (errors kept, secret shown once), stopping a subscription,
// and the delivery log with each delivery's attempts.
func TestPushPages(t *testing.T) {
	e := mustPushEnv(t, nil)
	opOrg := e.MustOrg(t, account.KindOperator, "Coordination 2")
	b := e.SignIn(t, e.MustUser(t, opOrg.ID, "Amaia", true).Email)
	commune := e.MustOrg(t, account.KindCommune, "Commune")
	here := "/admin/organisations/" + strconv.FormatInt(e.obs.ID, 10)

	resp, body := b.Get("/admin")
	adminWantStatus(t, "hub", resp, body, 200)
	mustContain(t, "hub", body, `href="/admin/push"`, "Envoi à l’observatoire")
	resp, body = b.Get(here)
	adminWantStatus(t, "organisation", resp, body, 200)
	mustContain(t, "organisation", body, `href="`+here+`/push"`)
	resp, body = b.Get("/admin/organisations/" + strconv.FormatInt(commune.ID, 10))
	if strings.Contains(body, "/push") {
		t.Errorf("push section on a commune's page")
	}
	resp, _ = b.Get("/admin/organisations/" + strconv.FormatInt(commune.ID, 10) + "/push")
	if resp.StatusCode != 404 {
		t.Errorf("a commune's push page: %d", resp.StatusCode)
	}

	resp, body = b.Get(here + "/push")
	adminWantStatus(t, "push page", resp, body, 200)
	mustContain(t, "push page", body, "Aucune adresse enregistrée", `name="url"`, "<title>Observatoire · Envoi à l’observatoire · berriz</title>")
	resp, body = b.PostForm(here+"/push", url.Values{"url": {"http://obs.example/hook"}})
	adminWantStatus(t, "http refused", resp, body, 400)
	mustContain(t, "http refused", body, `id="f-url-error"`, "https://", `value="http://obs.example/hook"`)

	resp, body = b.PostForm(here+"/push", url.Values{"url": {"https://obs.example/hook"}})
	adminWantStatus(t, "registered", resp, body, 200)
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("secret page cacheable: %q", resp.Header.Get("Cache-Control"))
	}
	subs, err := e.DB.ListPushSubscriptions(context.Background(), e.obs.ID)
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions %v %+v", err, subs)
	}
	var secret string
	if _, err := fmt.Sscanf(body[strings.Index(body, `id="push-secret"`):], `id="push-secret" type="text" value="%s`, &secret); err != nil {
		t.Fatalf("no secret on the page: %v", err)
	}
	secret = strings.TrimSuffix(secret, `"`)
	if !strings.HasPrefix(secret, subs[0].SecretPrefix) || len(secret) != 48 {
		t.Fatalf("secret %q, prefix %q", secret, subs[0].SecretPrefix)
	}
	resp, body = b.Get(here + "/push")
	mustContain(t, "listed", body, "https://obs.example/hook", subs[0].SecretPrefix+"…")
	if strings.Contains(body, secret) {
		t.Fatal("the secret is shown again")
	}

	now := e.clock.Now()
	if _, err := e.DB.OpenPushMonths(context.Background(), push.LastClosed(now, 0), now); err != nil {
		t.Fatal(err)
	}
	ds, _, _ := e.DB.ListPushDeliveries(context.Background(), postgres.PushDeliveryFilter{OrgID: e.obs.ID})
	next := now.Add(time.Minute)
	c, _ := e.DB.ClaimPushDeliveries(context.Background(), now, time.Minute, 1)
	if _, err := e.DB.RecordPushAttempt(context.Background(), postgres.PushOutcome{DeliveryID: c[0].DeliveryID, Attempt: 1, At: now,
		HTTPStatus: 502, Error: "HTTP 502: bad gateway", Next: &next}); err != nil {
		t.Fatal(err)
	}
	resp, body = b.Get("/admin/push")
	adminWantStatus(t, "log", resp, body, 200)
	mustContain(t, "log", body, ds[0].MonthText, "Observatoire", "En attente", "HTTP 502 — HTTP 502: bad gateway", `scope="col"`, "<caption>")
	resp, body = b.Get("/admin/push?status=delivered")
	mustContain(t, "log filtered", body, "Aucun envoi")
	resp, body = b.Get("/admin/push/" + strconv.FormatInt(ds[0].ID, 10))
	adminWantStatus(t, "delivery", resp, body, 200)
	mustContain(t, "delivery", body, "Tentatives", "502", "bad gateway", next.UTC().Format("2006-01-02 15:04 UTC"))

	resp, body = b.Get(here + "/push")
	resp, body = b.PostForm(here+"/push/"+strconv.FormatInt(subs[0].ID, 10)+"/deactivate", nil)
	adminWantStatus(t, "deactivate", resp, body, http.StatusSeeOther)
	resp, body = b.Get(resp.Header.Get("Location"))
	mustContain(t, "stopped", body, "Arrêté", "L’abonnement est arrêté", "Échoué")
	resp, _ = b.PostForm("/admin/organisations/"+strconv.FormatInt(commune.ID, 10)+"/push/"+strconv.FormatInt(subs[0].ID, 10)+"/deactivate", nil)
	if resp.StatusCode != 404 {
		t.Errorf("deactivated through a commune: %d", resp.StatusCode)
	}
}
