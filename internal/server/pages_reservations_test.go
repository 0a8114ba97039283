package server_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/server/servertest"
)

// mustSentProposal runs matching and sends the draft as the operator, at
// the server's clock; it returns the proposal's page.
func (f *matchFixture) mustSentProposal(t *testing.T) string {
	t.Helper()
	resp, body := f.op.PostForm("/proposals", nil)
	wantStatus(t, "run", resp, body, http.StatusSeeOther)
	draft := resp.Header.Get("Location")
	resp, body = f.op.PostForm(draft+"/send", nil)
	wantStatus(t, "send", resp, body, http.StatusSeeOther)
	return draft
}

var answerRE = regexp.MustCompile(`formaction="(/reservations/(\d+)/(accept|decline|release))"`)

// The beneficiary answers device by device on its reservations page; the
// operator releases; another organisation sees none of it.
func TestReservationPages(t *testing.T) {
	f := mustMatchFixture(t, servertest.Options{})
	ids := f.mustAvailable(t, laptop8, laptop8, laptop8)
	f.mustRequest(t, f.school.ID, 40, time.Now(), allocation.Line{Category: "laptop", Quantity: 3})
	f.mustRequest(t, f.assoc.ID, 10, time.Now(), allocation.Line{Category: "tablet", Quantity: 1})
	f.mustSentProposal(t)

	resp, body := f.teacher.Get("/reservations")
	wantStatus(t, "reservations", resp, body, http.StatusOK)
	mustContain(t, "reservations", body, "Réservations en cours : 3", "En attente de réponse", "répondre avant le",
		"8 Go de mémoire · 256 Go de stockage", "Atelier Hazparne")
	buttons := answerRE.FindAllStringSubmatch(body, -1)
	if len(buttons) != 6 || strings.Contains(body, "/release") {
		t.Fatalf("buttons %v", buttons)
	}
	accept, decline := buttons[0], buttons[3]
	if accept[3] != "accept" || decline[3] != "decline" || accept[2] == decline[2] {
		t.Fatalf("accept %v, decline %v", accept, decline)
	}
	// The association sees none of them, and cannot answer them.
	_, body = f.helper.Get("/reservations")
	mustContain(t, "other organisation", body, "Aucune réservation en cours")
	resp, body = f.helper.PostForm(accept[1], nil)
	wantStatus(t, "other organisation answers", resp, body, http.StatusNotFound)
	// A technician may not answer.
	resp, body = f.tech.PostForm(accept[1], nil)
	wantStatus(t, "technician", resp, body, http.StatusForbidden)

	resp, body = f.teacher.PostForm(accept[1], nil)
	wantStatus(t, "accept", resp, body, http.StatusSeeOther)
	resp, body = f.teacher.PostForm(decline[1], nil)
	wantStatus(t, "decline", resp, body, http.StatusSeeOther)
	_, body = f.teacher.Get("/reservations")
	mustContain(t, "after", body, "Appareil refusé : il est revenu au catalogue", "Réservations en cours : 2",
		"Accepté, en attente de remise")
	resp, body = f.teacher.PostForm(decline[1], nil)
	wantStatus(t, "declined twice", resp, body, http.StatusConflict)
	mustContain(t, "declined twice", body, "n&#39;attend plus de réponse (état : Refusé)", "Réservations en cours : 2")
	// Beneficiaries may not release; the operator may.
	release := strings.Replace(accept[1], "/accept", "/release", 1)
	resp, body = f.teacher.PostForm(release, nil)
	wantStatus(t, "release as beneficiary", resp, body, http.StatusForbidden)
	resp, body = f.op.Get("/reservations")
	mustContain(t, "operator", body, "Collège Marracq", "/release")
	resp, body = f.op.PostForm(release, nil)
	wantStatus(t, "release", resp, body, http.StatusSeeOther)
	states := map[string]int{}
	for _, id := range ids {
		states[f.deviceState(t, id)]++
	}
	if states["available"] != 2 || states["reserved"] != 1 {
		t.Fatalf("device states %v", states)
	}
}

// The expiry job: the beneficiary reminded once two days before; then, as
// two instances run it at the same tick, every reservation past its expiry
// is released once, the devices are back in the catalogue and the
// beneficiary is told once for each.
func TestReservationExpiryJob(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Now()
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := mustMatchFixture(t, servertest.Options{Clock: clock, Env: map[string]string{"BERRIZ_RESERVATION_DAYS": "3",
		"BERRIZ_SESSION_IDLE": "168h"}}) // sessions outlive the jump of the clock
	specs := make([]matchSpec, 12)
	for i := range specs {
		specs[i] = laptop8
	}
	ids := f.mustAvailable(t, specs...)
	f.mustRequest(t, f.school.ID, 40, now, allocation.Line{Category: "laptop", Quantity: 12})
	f.mustSentProposal(t)
	_, body := f.teacher.Get("/reservations")
	accept := answerRE.FindStringSubmatch(body)
	if resp, body := f.teacher.PostForm(accept[1], nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d\n%s", resp.StatusCode, body)
	}
	f.env.Server.RunJobsOnce(context.Background()) // nothing due yet
	if n := countSQL(t, f.env, `SELECT count(*) FROM reservations WHERE state = 'expired'`); n != 0 {
		t.Fatalf("%d expired before their time", n)
	}
	// Two days before the expiry: the school is reminded once, for the 11
	// still waiting.
	start := now
	mu.Lock()
	now = start.AddDate(0, 0, 1).Add(time.Hour)
	mu.Unlock()
	f.env.Server.RunJobsOnce(context.Background())
	f.env.Server.RunJobsOnce(context.Background())
	if n := countSQL(t, f.env, `SELECT count(*) FROM notifications WHERE kind = 'notify.reservation_expiring'
		AND args->>'count' = '11' AND user_id = $1`, f.teacherID); n != 1 {
		t.Fatalf("%d reminders", n)
	}
	mu.Lock()
	now = start.AddDate(0, 0, 3).Add(time.Minute)
	mu.Unlock()
	// Past the expiry, before the job: no answer is taken.
	_, body = f.teacher.Get("/reservations")
	mustContain(t, "past the expiry", body, "Réservations en cours : 12")
	if answerRE.MatchString(body) {
		t.Fatal("answer buttons past the expiry")
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); f.env.Server.RunJobsOnce(context.Background()) }()
	}
	wg.Wait()
	if n := countSQL(t, f.env, `SELECT count(*) FROM reservations WHERE state = 'expired'`); n != 11 {
		t.Fatalf("%d expired, want 11", n)
	}
	if n := countSQL(t, f.env, `SELECT count(*) FROM device_events WHERE from_state = 'reserved' AND to_state = 'available'`); n != 11 {
		t.Fatalf("%d devices released, want 11", n)
	}
	if n := countSQL(t, f.env, `SELECT count(*) FROM notifications WHERE kind = 'notify.reservation_expired' AND user_id = $1`,
		f.teacherID); n != 11 {
		t.Fatalf("%d notices, want 11", n)
	}
	available := 0
	for _, id := range ids {
		if f.deviceState(t, id) == "available" {
			available++
		}
	}
	if available != 11 {
		t.Fatalf("%d devices available", available)
	}
	_, body = f.teacher.Get("/catalogue")
	mustContain(t, "catalogue", body, fmt.Sprintf("Appareils disponibles : %d", 11))
}
