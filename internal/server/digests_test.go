package server_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/server"
)

// The digest through a real SMTP server: nothing before the digest hour,
// then one mail a user in the user's language, with absolute links and
// the way to stop them; never a second one the same digest day; the next
// day's digest lists only what is new.
func TestDigestMailedOnceADay(t *testing.T) {
	env := mustDigestEnv(t)
	sink := mustDigestSMTP(t)
	inst := env.instance(t, sink.port)
	ctx := context.Background()
	school := env.MustOrg(t, account.KindSchool, "Collège Marracq")
	ane := env.MustUser(t, school.ID, "Ane Etxeberria", true)
	miren := env.MustUser(t, school.ID, "Miren Arrieta", false)
	if err := env.DB.UpdateProfile(ctx, miren.ID, miren.Name, "eu"); err != nil {
		t.Fatal(err)
	}
	workshop := env.MustOrg(t, account.KindWorkshop, "Atelier sans nouvelles")
	idle := env.MustUser(t, workshop.ID, "Peio Idle", false)
	env.notify(t, school.ID, "notify.test_first", "/requests/12", nil)
	env.notify(t, school.ID, "notify.test_second", "/requests/12", map[string]string{"request": "D-12"})

	inst.RunJobsOnce(ctx)
	if ms := sink.mails(); len(ms) != 0 {
		t.Fatalf("mailed before the digest hour: %v", ms)
	}
	env.clock.Set(time.Date(2026, 5, 14, 7, 0, 0, 0, digestParis))
	inst.RunJobsOnce(ctx)
	ms := sink.mails()
	if len(ms) != 2 || len(digestMailsTo(ms, ane.Email)) != 1 || len(digestMailsTo(ms, miren.Email)) != 1 || len(digestMailsTo(ms, idle.Email)) != 0 {
		t.Fatalf("mails: %+v", ms)
	}
	fr := digestMailsTo(ms, ane.Email)[0]
	if fr.subject != "berriz : votre résumé du 14/05/2026" {
		t.Errorf("subject %q", fr.subject)
	}
	mustContain(t, "French digest", fr.text, "Bonjour Ane Etxeberria,",
		"- 14/05/2026 06:59  Quelque chose a changé.\n- 14/05/2026 06:59  Quelque chose a changé.\n  https://berriz.example.eus/fr/requests/12\n",
		"https://berriz.example.eus/fr/account/notifications", "https://berriz.example.eus/fr/account#notifications")
	eu := digestMailsTo(ms, miren.Email)[0]
	if eu.subject != "berriz: zure eguneko laburpena (2026/05/14)" {
		t.Errorf("eu subject %q", eu.subject)
	}
	mustContain(t, "Basque digest", eu.text, "Kaixo Miren Arrieta,", "Zerbait aldatu da.",
		"https://berriz.example.eus/eu/requests/12", "https://berriz.example.eus/eu/account#notifications")
	mustContain(t, "logs", env.logs.String(), `"kind":"notify.test_first"`, "notification kind without a message")
	if p := env.pending(t, ane.ID); p != 0 {
		t.Fatalf("%d notifications still pending", p)
	}

	// Later the same day: nothing more, even with something new.
	env.clock.Set(time.Date(2026, 5, 14, 10, 0, 0, 0, digestParis))
	env.notify(t, school.ID, "notify.test_third", "/requests/13", nil)
	inst.RunJobsOnce(ctx)
	env.clock.Set(time.Date(2026, 5, 15, 6, 59, 0, 0, digestParis))
	inst.RunJobsOnce(ctx)
	if ms := sink.mails(); len(ms) != 2 {
		t.Fatalf("a second digest the same digest day: %d mails", len(ms))
	}
	// The next day, at the hour: only what is new.
	env.clock.Set(time.Date(2026, 5, 15, 7, 0, 30, 0, digestParis))
	inst.RunJobsOnce(ctx)
	next := digestMailsTo(sink.mails(), ane.Email)
	if len(next) != 2 || !strings.Contains(next[1].text, "/fr/requests/13") || strings.Contains(next[1].text, "/fr/requests/12") {
		t.Fatalf("next day's digest: %+v", next)
	}
	inst.RunJobsOnce(ctx)
	if n := len(sink.mails()); n != 4 {
		t.Fatalf("%d mails after running again, want 4", n)
	}
}

// A long list: the 50 newest, and how many more with the link to them all.
func TestDigestBounded(t *testing.T) {
	env := mustDigestEnv(t)
	sink := mustDigestSMTP(t)
	school := env.MustOrg(t, account.KindSchool, "Lycée Cassin")
	ane := env.MustUser(t, school.ID, "Ane", true)
	for i := 1; i <= 60; i++ {
		env.notify(t, school.ID, "notify.test_event", fmt.Sprintf("/requests/%d", i), nil)
	}
	env.clock.Set(time.Date(2026, 5, 14, 8, 0, 0, 0, digestParis))
	env.instance(t, sink.port).RunJobsOnce(context.Background())
	ms := digestMailsTo(sink.mails(), ane.Email)
	if len(ms) != 1 {
		t.Fatalf("%d mails", len(ms))
	}
	text := ms[0].text
	if n := strings.Count(text, "\n- "); n != 50 {
		t.Errorf("%d notifications listed, want 50", n)
	}
	mustContain(t, "bounded digest", text, "/fr/requests/60\n", "/fr/requests/11\n",
		"Et 10 notification(s) plus ancienne(s), à lire sur berriz : https://berriz.example.eus/fr/account/notifications")
	if strings.Contains(text, "/fr/requests/10\n") {
		t.Error("an older notification is listed")
	}
	if p := env.pending(t, ane.ID); p != 0 {
		t.Errorf("%d left pending: the ones counted in \"more\" must not come back tomorrow", p)
	}
}

// Someone who switched e-mails off gets none, and what was waiting is
// settled; switched on again, the next notification is mailed.
func TestDigestSwitchedOff(t *testing.T) {
	env := mustDigestEnv(t)
	sink := mustDigestSMTP(t)
	inst := env.instance(t, sink.port)
	ctx := context.Background()
	school := env.MustOrg(t, account.KindSchool, "École Jean Jaurès")
	ane := env.MustUser(t, school.ID, "Ane", true)
	jon := env.MustUser(t, school.ID, "Jon", false)
	env.notify(t, school.ID, "notify.test_event", "/requests/1", nil)

	b := env.SignIn(t, jon.Email)
	b.Get("/account")
	resp, body := b.PostForm("/account/notifications", map[string][]string{"notify_email": {"off"}})
	acctMustStatus(t, "switch off", resp, body, 303, "/account")
	// A change that raced with the switch.
	if _, err := env.DB.SQL().ExecContext(ctx, `INSERT INTO notifications (user_id, kind) VALUES ($1, 'notify.test_event')`, jon.ID); err != nil {
		t.Fatal(err)
	}
	env.clock.Set(time.Date(2026, 5, 14, 7, 5, 0, 0, digestParis))
	inst.RunJobsOnce(ctx)
	ms := sink.mails()
	if len(ms) != 1 || ms[0].to != ane.Email {
		t.Fatalf("mails: %+v; want one, to ane", ms)
	}
	if p := env.pending(t, jon.ID); p != 0 {
		t.Fatalf("%d pending for a user who switched off", p)
	}

	b.Get("/account")
	resp, body = b.PostForm("/account/notifications", map[string][]string{"notify_email": {"on"}})
	acctMustStatus(t, "switch on", resp, body, 303, "/account")
	env.notify(t, school.ID, "notify.test_event", "/requests/2", nil)
	env.clock.Set(time.Date(2026, 5, 15, 7, 5, 0, 0, digestParis))
	inst.RunJobsOnce(ctx)
	if got := digestMailsTo(sink.mails(), jon.Email); len(got) != 1 || !strings.Contains(got[0].text, "/fr/requests/2") {
		t.Fatalf("after switching on: %+v", got)
	}
}

// Two instances running the job at the same moment: one mail per user.
func TestDigestTwoInstances(t *testing.T) {
	env := mustDigestEnv(t)
	sink := mustDigestSMTP(t)
	a, b := env.instance(t, sink.port), env.instance(t, sink.port)
	var users []account.User
	for i := range 6 {
		org := env.MustOrg(t, account.KindAssociation, fmt.Sprintf("Association %d", i))
		for j := range 5 {
			users = append(users, env.MustUser(t, org.ID, fmt.Sprintf("Membre %d %d", i, j), j == 0))
		}
		env.notify(t, org.ID, "notify.test_event", fmt.Sprintf("/requests/%d", i), nil)
	}
	for day := range 2 {
		env.clock.Set(time.Date(2026, 5, 14+day, 7, 0, 0, 0, digestParis))
		var wg sync.WaitGroup
		for _, inst := range []*server.Server{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inst.RunJobsOnce(context.Background())
			}()
		}
		wg.Wait()
		ms := sink.mails()
		if len(ms) != len(users)*(day+1) {
			t.Fatalf("day %d: %d mails for %d users", day, len(ms), len(users))
		}
		for _, u := range users {
			if n := len(digestMailsTo(ms, u.Email)); n != day+1 {
				t.Errorf("day %d: %s got %d mails", day, u.Email, n)
			}
		}
		for i := range 6 {
			env.notify(t, users[i*5].OrgID, "notify.test_event", "/requests/next", nil)
		}
	}
}

// A send that fails (the SMTP server is down) gives the digest back: the
// next tick, with the server up, delivers it, once.
func TestDigestRetriedAfterFailure(t *testing.T) {
	env := mustDigestEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // nothing answers there
	ctx := context.Background()
	school := env.MustOrg(t, account.KindSchool, "Collège Marracq")
	ane := env.MustUser(t, school.ID, "Ane", true)
	jon := env.MustUser(t, school.ID, "Jon", false)
	env.notify(t, school.ID, "notify.test_event", "/requests/1", nil)
	env.clock.Set(time.Date(2026, 5, 14, 7, 0, 0, 0, digestParis))

	env.instance(t, down).RunJobsOnce(ctx)
	mustContain(t, "logs", env.logs.String(), "background job failed", "notification_digests", "given back")
	for _, u := range []account.User{ane, jon} {
		if p := env.pending(t, u.ID); p != 1 {
			t.Fatalf("user %d: %d pending after a failed send, want 1", u.ID, p)
		}
		if s, _ := env.DB.NotificationSettings(ctx, u.ID); s.LastDigestAt != nil {
			t.Fatalf("user %d: last digest %v after a failed send", u.ID, s.LastDigestAt)
		}
	}

	sink := mustDigestSMTP(t)
	up := env.instance(t, sink.port)
	env.clock.Set(time.Date(2026, 5, 14, 7, 1, 0, 0, digestParis))
	up.RunJobsOnce(ctx)
	up.RunJobsOnce(ctx)
	if ms := sink.mails(); len(ms) != 2 || len(digestMailsTo(ms, ane.Email)) != 1 || len(digestMailsTo(ms, jon.Email)) != 1 {
		t.Fatalf("after the server came back: %+v", ms)
	}
}

// Notifications past the retention are deleted by the clean-up job.
func TestNotificationsCleanedUp(t *testing.T) {
	env := mustDigestEnv(t)
	school := env.MustOrg(t, account.KindSchool, "Collège Marracq")
	ane := env.MustUser(t, school.ID, "Ane", true)
	env.clock.Set(time.Date(2026, 1, 1, 6, 0, 0, 0, digestParis))
	env.notify(t, school.ID, "notify.test_event", "/requests/old", nil)
	env.clock.Set(time.Date(2026, 5, 14, 6, 0, 0, 0, digestParis)) // before the digest hour: only the clean-up acts
	env.notify(t, school.ID, "notify.test_event", "/requests/new", nil)
	env.Server.RunJobsOnce(context.Background())
	ns, page, err := env.DB.Notifications(context.Background(), ane.ID, 1)
	if err != nil || page.Total != 1 || ns[0].Link != "/requests/new" {
		t.Fatalf("after clean-up: %+v, %v", ns, err)
	}
	if !strings.Contains(env.Logs(), "notifications cleaned") {
		t.Errorf("the clean-up was not logged:\n%s", env.Logs())
	}
}
