package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
)

func mustNotify(t *testing.T, db *postgres.DB, orgID int64, kind, arg string) {
	t.Helper()
	if err := db.NotifyOrgForTest(context.Background(), orgID, postgres.Notice{Kind: kind,
		Args: map[string]string{"request": arg}, Link: "/requests/" + arg}); err != nil {
		t.Fatalf("notify: %v", err)
	}
}

func mustClaim(t *testing.T, db *postgres.DB, c postgres.DigestClaim) map[int64]postgres.Digest {
	t.Helper()
	ds, err := db.ClaimDigests(context.Background(), c)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	out := map[int64]postgres.Digest{}
	for _, d := range ds {
		if _, dup := out[d.UserID]; dup {
			t.Fatalf("user %d claimed twice in one call", d.UserID)
		}
		out[d.UserID] = d
	}
	return out
}

func pendingOf(t *testing.T, db *postgres.DB, userID int64) int {
	t.Helper()
	s, err := db.NotificationSettings(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return s.Pending
}

// A claim takes the users due (pending notifications, e-mails on, active
// organisation, no digest since the day's start), lists the newest items,
// counts the rest, marks everything; nothing is claimed twice; a release
// puts the digest back as it was.
func TestClaimDigests(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	school := mustOrg(t, db, account.KindSchool, "Collège Marracq")
	ane := mustUser(t, db, school.ID, "ane@marracq.example", true)
	jon := mustUser(t, db, school.ID, "jon@marracq.example", false)
	quiet := mustUser(t, db, school.ID, "quiet@marracq.example", false)
	closed := mustOrg(t, db, account.KindAssociation, "Association fermée")
	gone := mustUser(t, db, closed.ID, "gone@closed.example", false)
	idle := mustOrg(t, db, account.KindWorkshop, "Atelier sans nouvelles")
	mustUser(t, db, idle.ID, "idle@atelier.example", false)

	for i := 1; i <= 7; i++ {
		mustNotify(t, db, school.ID, "notify.test_event", fmt.Sprint(i))
	}
	mustNotify(t, db, closed.ID, "notify.test_event", "x")
	if err := db.SetOrganisationActive(ctx, closed.ID, false, nil, ""); err != nil {
		t.Fatal(err)
	}
	// quiet switches off: its pending notifications are settled at once.
	if s, err := db.SetNotificationEmail(ctx, quiet.ID, false, time.Now()); err != nil || s.Email || s.Pending != 0 {
		t.Fatalf("switch off: %+v, %v", s, err)
	}

	now := time.Date(2026, 5, 14, 7, 0, 0, 123456789, time.UTC)
	claim := postgres.DigestClaim{Now: now, Since: now.Add(-time.Hour), Users: 10, Items: 5}
	got := mustClaim(t, db, claim)
	if len(got) != 2 || got[ane.ID].Email != ane.Email || got[jon.ID].UserID == 0 {
		t.Fatalf("claimed %v, want ane and jon only", got)
	}
	d := got[ane.ID]
	if len(d.Items) != 5 || d.More != 2 || d.PrevDigestAt != nil || !d.ClaimedAt.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("digest: %d items, %d more, prev %v, at %v", len(d.Items), d.More, d.PrevDigestAt, d.ClaimedAt)
	}
	for i, n := range d.Items {
		if want := fmt.Sprint(7 - i); n.Args["request"] != want || n.Link != "/requests/"+want || n.Kind != "notify.test_event" {
			t.Errorf("item %d: %+v, want request %s (newest first)", i, n, want)
		}
	}
	if p := pendingOf(t, db, ane.ID); p != 0 {
		t.Fatalf("%d still pending after the claim", p)
	}
	if pendingOf(t, db, gone.ID) != 1 {
		t.Fatal("a deactivated organisation's notification was claimed")
	}
	if again := mustClaim(t, db, claim); len(again) != 0 {
		t.Fatalf("claimed twice: %v", again)
	}

	// Given back: pending again, claimable again, with the same content.
	if err := db.ReleaseDigest(ctx, d); err != nil {
		t.Fatal(err)
	}
	if p := pendingOf(t, db, ane.ID); p != 7 {
		t.Fatalf("%d pending after the release, want 7", p)
	}
	re := mustClaim(t, db, claim)
	if len(re) != 1 || len(re[ane.ID].Items) != 5 || re[ane.ID].More != 2 {
		t.Fatalf("after release: %v", re)
	}

	// A new notification the same digest day waits for the next day.
	mustNotify(t, db, school.ID, "notify.test_event", "8")
	if later := mustClaim(t, db, postgres.DigestClaim{Now: now.Add(3 * time.Hour), Since: claim.Since, Users: 10, Items: 5}); len(later) != 0 {
		t.Fatalf("second digest the same day: %v", later)
	}
	next := now.Add(24 * time.Hour)
	tomorrow := mustClaim(t, db, postgres.DigestClaim{Now: next, Since: next.Add(-time.Hour), Users: 10, Items: 5})
	if len(tomorrow) != 2 || len(tomorrow[ane.ID].Items) != 1 || tomorrow[ane.ID].Items[0].Args["request"] != "8" ||
		tomorrow[ane.ID].PrevDigestAt == nil || !tomorrow[ane.ID].PrevDigestAt.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("next day: %v", tomorrow)
	}

	// A release after the user switched off leaves the notifications settled.
	mustNotify(t, db, school.ID, "notify.test_event", "9")
	third := next.Add(24 * time.Hour)
	dj := mustClaim(t, db, postgres.DigestClaim{Now: third, Since: third.Add(-time.Hour), Users: 10, Items: 5})[jon.ID]
	if _, err := db.SetNotificationEmail(ctx, jon.ID, false, third); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseDigest(ctx, dj); err != nil {
		t.Fatal(err)
	}
	if p := pendingOf(t, db, jon.ID); p != 0 {
		t.Fatalf("released into a switched-off user's digest: %d pending", p)
	}

	if _, err := db.ClaimDigests(ctx, postgres.DigestClaim{Now: now, Since: now}); err == nil {
		t.Fatal("a claim without bounds was accepted")
	}
}

// Several instances claiming at once share the users: each is claimed
// exactly once.
func TestClaimDigestsConcurrently(t *testing.T) {
	db := pgtest.MustDB(t)
	const orgs, perOrg = 8, 5
	var want []int64
	for i := range orgs {
		o := mustOrg(t, db, account.KindSchool, fmt.Sprintf("École %d", i))
		for j := range perOrg {
			want = append(want, mustUser(t, db, o.ID, fmt.Sprintf("u%d.%d@ecole.example", i, j), false).ID)
		}
		mustNotify(t, db, o.ID, "notify.test_event", fmt.Sprint(i))
	}
	now := time.Now()
	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := db.ClaimDigests(context.Background(), postgres.DigestClaim{Now: now, Since: now.Add(-time.Hour), Users: 3, Items: 10})
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					got = append(got, d.UserID)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("claimed %v\nwant each of %v once", got, want)
	}
}
