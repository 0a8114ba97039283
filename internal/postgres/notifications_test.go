package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
)

// A user's page of notifications: newest first, 25 a page, only its own,
// with what waits for the next digest; switching off settles what waited
// and stops new notifications, switching on starts them again.
func TestNotificationsAndSettings(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	school := mustOrg(t, db, account.KindSchool, "Lycée Cassin")
	ane := mustUser(t, db, school.ID, "ane@cassin.example", true)
	other := mustOrg(t, db, account.KindAssociation, "Emmaüs")
	stranger := mustUser(t, db, other.ID, "jon@emmaus.example", true)
	for i := 1; i <= 30; i++ {
		mustNotify(t, db, school.ID, "notify.test_event", fmt.Sprint(i))
	}
	mustNotify(t, db, other.ID, "notify.test_event", "theirs")

	ns, page, err := db.Notifications(ctx, ane.ID, 1)
	if err != nil || page.Total != 30 || page.Pages() != 2 || len(ns) != postgres.PageSize {
		t.Fatalf("page 1: %d items, %+v, %v", len(ns), page, err)
	}
	if ns[0].Args["request"] != "30" || ns[24].Args["request"] != "6" || !ns[0].Pending || ns[0].UserID != ane.ID {
		t.Fatalf("page 1 order: first %+v, last %+v", ns[0], ns[24])
	}
	if ns, _, _ := db.Notifications(ctx, ane.ID, 2); len(ns) != 5 || ns[4].Args["request"] != "1" {
		t.Fatalf("page 2: %+v", ns)
	}

	s, err := db.NotificationSettings(ctx, ane.ID)
	if err != nil || !s.Email || s.Pending != 30 || s.LastDigestAt != nil {
		t.Fatalf("settings: %+v, %v", s, err)
	}
	off := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	if s, err = db.SetNotificationEmail(ctx, ane.ID, false, off); err != nil || s.Email || s.Pending != 0 {
		t.Fatalf("off: %+v, %v", s, err)
	}
	ns, page, _ = db.Notifications(ctx, ane.ID, 1)
	if page.Total != 30 || ns[0].Pending {
		t.Fatalf("switching off removed or left pending notifications: %d, %+v", page.Total, ns[0])
	}
	// Switched off, the user still sees what happens on the page, never mailed.
	mustNotify(t, db, school.ID, "notify.test_event", "while off")
	if _, page, _ := db.Notifications(ctx, ane.ID, 1); page.Total != 31 {
		t.Fatalf("a switched-off user's page misses a notification: %d", page.Total)
	}
	if s, _ := db.NotificationSettings(ctx, ane.ID); s.Pending != 0 {
		t.Fatalf("a notification waits to be mailed to a switched-off user: %+v", s)
	}
	if s, err = db.SetNotificationEmail(ctx, ane.ID, true, off); err != nil || !s.Email || s.Pending != 0 {
		t.Fatalf("on: %+v, %v", s, err)
	}
	mustNotify(t, db, school.ID, "notify.test_event", "31")
	if s, _ := db.NotificationSettings(ctx, ane.ID); s.Pending != 1 {
		t.Fatalf("after switching on: %+v", s)
	}
	if s, _ := db.NotificationSettings(ctx, stranger.ID); s.Pending != 1 {
		t.Fatalf("the other organisation's user: %+v", s)
	}

	if _, err := db.SetNotificationEmail(ctx, 999999, false, off); berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := db.NotificationSettings(ctx, 999999); berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("unknown user: %v", err)
	}
}

// The clean-up settles what switched-off users will never be mailed (a
// notification that raced with the switch) and deletes notifications past
// the retention, mailed or not.
func TestCleanNotifications(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	school := mustOrg(t, db, account.KindSchool, "École Jean Jaurès")
	ane := mustUser(t, db, school.ID, "ane@jaures.example", true)
	jon := mustUser(t, db, school.ID, "jon@jaures.example", false)
	for i := 1; i <= 4; i++ {
		mustNotify(t, db, school.ID, "notify.test_event", fmt.Sprint(i))
	}
	now := time.Now()
	// Two of each user's are past the retention, one of them mailed.
	mustExec(t, db, `UPDATE notifications SET created_at = $1 WHERE kind = 'notify.test_event' AND args->>'request' IN ('1', '2')`,
		now.Add(-postgres.NotificationRetention-time.Hour))
	mustExec(t, db, `UPDATE notifications SET sent_at = $1 WHERE args->>'request' = '1'`, now)
	// jon switched off while a change was notifying him.
	mustExec(t, db, `UPDATE users SET notify_email = false WHERE id = $1`, jon.ID)

	c, err := db.CleanNotifications(ctx, now)
	if err != nil || c.Deleted != 4 || c.Settled != 2 {
		t.Fatalf("clean: %+v, %v; want 4 deleted, jon's 2 recent ones settled", c, err)
	}
	if _, p, _ := db.Notifications(ctx, ane.ID, 1); p.Total != 2 || pendingOf(t, db, ane.ID) != 2 {
		t.Fatalf("ane keeps %d, %d pending; want 2 and 2", p.Total, pendingOf(t, db, ane.ID))
	}
	if _, p, _ := db.Notifications(ctx, jon.ID, 1); p.Total != 2 || pendingOf(t, db, jon.ID) != 0 {
		t.Fatalf("jon keeps %d, %d pending; want 2 and 0", p.Total, pendingOf(t, db, jon.ID))
	}
	if c, err := db.CleanNotifications(ctx, now); err != nil || c != (postgres.Cleaned{}) {
		t.Fatalf("second clean: %+v, %v", c, err)
	}
}
