package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/berriz/berriz/internal/push"
)

func mustPushSub(t *testing.T, db *postgres.DB, orgID int64, url string) postgres.PushSubscription {
	t.Helper()
	s, err := db.CreatePushSubscription(context.Background(), orgID, url, push.NewSecret(), nil, "")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return s
}

func mustPushClaims(t *testing.T, db *postgres.DB, now time.Time, limit int) []postgres.PushClaim {
	t.Helper()
	cs, err := db.ClaimPushDeliveries(context.Background(), now, 10*time.Minute, limit)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return cs
}

// Only active observatories subscribe; the secret is returned by nobody;
// another organisation's subscription is not found; deactivating fails
// the pending deliveries and stops the claims.
func TestPushSubscriptions(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	obs := mustOrg(t, db, account.KindObservatory, "Observatoire")
	other := mustOrg(t, db, account.KindObservatory, "Autre observatoire")
	commune := mustOrg(t, db, account.KindCommune, "Commune")
	if _, err := db.CreatePushSubscription(ctx, commune.ID, "https://c.example/", push.NewSecret(), nil, ""); berriz.As(err) == nil ||
		berriz.As(err).Fields["organisation_id"] != "push.error.not_observatory" {
		t.Fatalf("commune subscribed: %v", err)
	}
	if err := db.SetOrganisationActive(ctx, other.ID, false, nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreatePushSubscription(ctx, other.ID, "https://o.example/", push.NewSecret(), nil, ""); berriz.KindOf(err) != berriz.Conflict {
		t.Fatalf("inactive observatory subscribed: %v", err)
	}
	s := mustPushSub(t, db, obs.ID, "https://obs.example/hook")
	if len(s.SecretPrefix) != 9 || s.SecretPrefix[:5] != push.SecretPrefix || !s.Active || s.OrgName != "Observatoire" {
		t.Fatalf("subscription %+v", s)
	}
	if _, err := db.PushSubscription(ctx, s.ID, other.ID); berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("another organisation's subscription: %v", err)
	}
	if list, err := db.ListPushSubscriptions(ctx, obs.ID); err != nil || len(list) != 1 || list[0].ID != s.ID {
		t.Fatalf("list: %v %+v", err, list)
	}
	now := time.Now()
	if _, err := db.OpenPushMonths(ctx, push.LastClosed(now, 0), now); err != nil {
		t.Fatal(err)
	}
	if err := db.DeactivatePushSubscription(ctx, s.ID, other.ID, now, nil, ""); berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("deactivated through another organisation: %v", err)
	}
	if err := db.DeactivatePushSubscription(ctx, s.ID, obs.ID, now, nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := db.DeactivatePushSubscription(ctx, s.ID, 0, now, nil, ""); err != nil {
		t.Fatalf("twice: %v", err)
	}
	ds, _, err := db.ListPushDeliveries(ctx, postgres.PushDeliveryFilter{SubscriptionID: s.ID})
	if err != nil || len(ds) != 1 || ds[0].Status != push.Failed || ds[0].LastError != "subscription deactivated" || ds[0].NextAttemptAt != nil {
		t.Fatalf("deliveries after deactivation: %v %+v", err, ds)
	}
	if cs := mustPushClaims(t, db, now.Add(time.Hour), 10); len(cs) != 0 {
		t.Fatalf("claimed for a stopped subscription: %+v", cs)
	}
	if n, err := db.OpenPushMonths(ctx, push.LastClosed(now.AddDate(0, 2, 0), 0), now); err != nil || n != 0 {
		t.Fatalf("months opened for a stopped subscription: %d %v", n, err)
	}
}

// Months are opened from the one before the subscription's creation to
// the last closed one, once each, however many instances run at once.
func TestOpenPushMonthsIdempotent(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	obs := mustOrg(t, db, account.KindObservatory, "Observatoire")
	s := mustPushSub(t, db, obs.ID, "https://obs.example/hook")
	// Created on 15 March 2026 (Paris): February is the last closed month then.
	mustExec(t, db, `UPDATE push_subscriptions SET created_at = '2026-03-15 10:00:00+01' WHERE id = $1`, s.ID)
	now := time.Date(2026, 5, 1, 0, 30, 0, 0, push.Zone())
	last := push.LastClosed(now, time.Hour) // March: April closes at 01:00
	var wg sync.WaitGroup
	counts := make([]int64, 4)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := db.OpenPushMonths(ctx, last, now)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	total := int64(0)
	for _, n := range counts {
		total += n
	}
	if total != 2 {
		t.Fatalf("opened %v, want 2 in all (February, March)", counts)
	}
	n, err := db.OpenPushMonths(ctx, push.LastClosed(now.Add(time.Hour), time.Hour), now)
	if err != nil || n != 1 {
		t.Fatalf("April: %d %v", n, err)
	}
	ds, _, err := db.ListPushDeliveries(ctx, postgres.PushDeliveryFilter{OrgID: obs.ID})
	if err != nil || len(ds) != 3 {
		t.Fatalf("deliveries: %v %+v", err, ds)
	}
	for i, want := range []string{"2026-04", "2026-03", "2026-02"} {
		if ds[i].MonthText != want || ds[i].Status != push.Pending || ds[i].Attempts != 0 {
			t.Errorf("delivery %d: %+v, want %s pending", i, ds[i], want)
		}
	}
}

// Two instances claiming at once never get the same delivery, and a
// claimed delivery is leased: nobody takes it again before the lease ends.
func TestClaimPushDeliveriesConcurrently(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	obs := mustOrg(t, db, account.KindObservatory, "Observatoire")
	for _, u := range []string{"https://a.example/", "https://b.example/", "https://c.example/", "https://d.example/", "https://e.example/"} {
		mustPushSub(t, db, obs.ID, u)
	}
	now := time.Now()
	n, err := db.OpenPushMonths(ctx, push.LastClosed(now, 0), now)
	if err != nil || n < 5 {
		t.Fatalf("opened %d: %v", n, err)
	}
	seen := map[int64]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				cs, err := db.ClaimPushDeliveries(ctx, now, 10*time.Minute, 2)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					seen[c.DeliveryID]++
					if c.Attempt != 1 || c.Secret == "" || c.URL == "" {
						t.Errorf("claim %+v", c)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if int64(len(seen)) != n {
		t.Fatalf("claimed %d deliveries, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("delivery %d claimed %d times", id, k)
		}
	}
	if cs := mustPushClaims(t, db, now.Add(9*time.Minute), 10); len(cs) != 0 {
		t.Fatalf("claimed again within the lease: %+v", cs)
	}
	// An instance that died after claiming: its deliveries come back when
	// the lease ends, as their second attempt.
	cs := mustPushClaims(t, db, now.Add(11*time.Minute), 100)
	if int64(len(cs)) != n || cs[0].Attempt != 2 {
		t.Fatalf("after the lease: %d claims %+v", len(cs), cs)
	}
}

// An attempt is logged and settles its delivery: retried at the time
// given, delivered, or failed; a late record from an instance whose lease
// ended does not overwrite the newer attempt.
func TestRecordPushAttempt(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	obs := mustOrg(t, db, account.KindObservatory, "Observatoire")
	s := mustPushSub(t, db, obs.ID, "https://obs.example/hook")
	// Created a month ago: two closed months to send.
	mustExec(t, db, `UPDATE push_subscriptions SET created_at = now() - interval '1 month' WHERE id = $1`, s.ID)
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := db.OpenPushMonths(ctx, push.LastClosed(now, 0), now); err != nil {
		t.Fatal(err)
	}
	c := mustPushClaims(t, db, now, 10)
	if len(c) != 2 {
		t.Fatalf("claims %+v", c)
	}
	id := c[0].DeliveryID
	next := now.Add(push.Backoff(1))
	changed, err := db.RecordPushAttempt(ctx, postgres.PushOutcome{DeliveryID: id, Attempt: 1, At: now, Duration: 120 * time.Millisecond,
		HTTPStatus: 500, Error: "HTTP 500: oops", Next: &next})
	if err != nil || !changed {
		t.Fatalf("record 1: %v %v", changed, err)
	}
	d, err := db.PushDelivery(ctx, id, obs.ID)
	if err != nil || d.Status != push.Pending || d.Attempts != 1 || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(next) ||
		d.LastStatus == nil || *d.LastStatus != 500 || len(d.Log) != 1 || d.Log[0].DurationMS != 120 {
		t.Fatalf("after a 500: %v %+v", err, d)
	}
	if cs := mustPushClaims(t, db, now.Add(30*time.Second), 10); len(cs) != 0 {
		t.Fatalf("claimed before its next attempt: %+v", cs)
	}
	c2 := mustPushClaims(t, db, next, 10)
	if len(c2) == 0 || c2[0].DeliveryID != id || c2[0].Attempt != 2 {
		t.Fatalf("second claim %+v", c2)
	}
	// A stale record of attempt 1 (its instance outlived the lease).
	if changed, err := db.RecordPushAttempt(ctx, postgres.PushOutcome{DeliveryID: id, Attempt: 1, At: next, Delivered: true}); err != nil || changed {
		t.Fatalf("stale record changed the delivery: %v %v", changed, err)
	}
	if changed, err := db.RecordPushAttempt(ctx, postgres.PushOutcome{DeliveryID: id, Attempt: 2, At: next, HTTPStatus: 204, Delivered: true}); err != nil || !changed {
		t.Fatalf("record 2: %v %v", changed, err)
	}
	d, err = db.PushDelivery(ctx, id, 0)
	if err != nil || d.Status != push.Delivered || d.DeliveredAt == nil || d.NextAttemptAt != nil || d.LastError != "" || len(d.Log) != 2 ||
		d.Log[1].HTTPStatus == nil || *d.Log[1].HTTPStatus != 204 {
		t.Fatalf("delivered: %v %+v", err, d)
	}
	if _, err := db.PushDelivery(ctx, id, obs.ID+1000); berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("another organisation's delivery: %v", err)
	}
	// Without a next time, a failed attempt fails the delivery for good.
	other := c[1].DeliveryID
	if _, err := db.RecordPushAttempt(ctx, postgres.PushOutcome{DeliveryID: other, Attempt: 1, At: now, Error: "connection refused"}); err != nil {
		t.Fatal(err)
	}
	if d, err := db.PushDelivery(ctx, other, 0); err != nil || d.Status != push.Failed || d.LastStatus != nil || d.LastError != "connection refused" {
		t.Fatalf("failed: %v %+v", err, d)
	}
}
