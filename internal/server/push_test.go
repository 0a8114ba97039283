package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/push"
	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/internal/server/servertest"
)

// pushReceiver is an observatory's receiver: it checks every request's
// signature with the secret and answers what answer says for the n-th
// request (from 1).
type pushReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	answer func(n int) int
	mu     sync.Mutex
	got    []server.PushPayload
	heads  []http.Header
}

func mustPushReceiver(t *testing.T, answer func(n int) int) *pushReceiver {
	t.Helper()
	r := &pushReceiver{t: t, answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("receiver: %v", err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("receiver: %s %s", req.Method, req.Header.Get("Content-Type"))
		}
		if !push.Verify(r.secret, body, req.Header.Get(push.HeaderSignature)) {
			t.Errorf("receiver: bad signature %q for %s", req.Header.Get(push.HeaderSignature), body)
		}
		var p server.PushPayload
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Errorf("receiver: body %s: %v", body, err)
		}
		r.got = append(r.got, p)
		r.heads = append(r.heads, req.Header.Clone())
		w.WriteHeader(r.answer(len(r.got)))
		_, _ = w.Write([]byte("receiver says\nhello"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *pushReceiver) received() ([]server.PushPayload, []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]server.PushPayload(nil), r.got...), append([]http.Header(nil), r.heads...)
}

type pushEnv struct {
	*servertest.Env
	clock *digestClock
	obs   account.Organisation
	op    *servertest.Browser
}

func mustPushEnv(t *testing.T, vars map[string]string) *pushEnv {
	t.Helper()
	clock := &digestClock{now: time.Now().UTC().Truncate(time.Second)}
	env := servertest.MustStart(t, servertest.Options{Clock: clock.Now, Env: vars})
	opOrg := env.MustOrg(t, account.KindOperator, "Coordination")
	op := env.MustUser(t, opOrg.ID, "Operator", true)
	return &pushEnv{Env: env, clock: clock, obs: env.MustOrg(t, account.KindObservatory, "Observatoire"),
		op: env.API(t, env.MustToken(t, opOrg.ID, op.ID, "write"))}
}

// subscribe registers the receiver through the API and keeps the secret.
func (e *pushEnv) subscribe(t *testing.T, r *pushReceiver) server.PushSubscribed {
	t.Helper()
	resp, body := e.op.Do(http.MethodPost, "/api/v1/observatory/subscriptions",
		strings.NewReader(`{"organisation_id":`+strconv.FormatInt(e.obs.ID, 10)+`,"url":"`+r.srv.URL+`/hook"}`), "Content-Type", "application/json")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}
	var s server.PushSubscribed
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	r.secret = s.Secret
	return s
}

func (e *pushEnv) deliveries(t *testing.T, subID int64) []postgres.PushDelivery {
	t.Helper()
	ds, _, err := e.DB.ListPushDeliveries(context.Background(), postgres.PushDeliveryFilter{SubscriptionID: subID})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ds {
		if ds[i], err = e.DB.PushDelivery(context.Background(), ds[i].ID, 0); err != nil {
			t.Fatal(err)
		}
	}
	return ds
}

// A new subscription gets the last closed month at the next tick: one
// signed POST whose body carries that month's totals as the observatory
// API computes them, headers that agree with the body, and a delivery
// logged as delivered after one attempt. Nothing is sent twice.
func TestPushDeliversSignedTotals(t *testing.T) {
	e := mustPushEnv(t, nil)
	r := mustPushReceiver(t, func(int) int { return http.StatusAccepted })
	sub := e.subscribe(t, r)
	ctx := context.Background()
	e.Server.RunJobsOnce(ctx)
	e.Server.RunJobsOnce(ctx)
	got, heads := r.received()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	p, h := got[0], heads[0]
	month := push.Month(push.LastClosed(e.clock.Now(), e.Config.PushGrace))
	if p.Event != "observatory.month_closed" || p.Month != month || p.SubscriptionID != sub.ID || p.OrganisationID != e.obs.ID ||
		p.Attempt != 1 || p.Totals.Month != month || !p.SentAt.Equal(e.clock.Now()) {
		t.Fatalf("payload %+v", p)
	}
	if h.Get(push.HeaderDelivery) != strconv.FormatInt(p.DeliveryID, 10) || h.Get(push.HeaderTimestamp) != strconv.FormatInt(p.SentAt.Unix(), 10) ||
		h.Get(push.HeaderAttempt) != "1" || h.Get("User-Agent") != "berriz-push/1" {
		t.Fatalf("headers %v", h)
	}
	want, err := e.DB.ObservatoryTotals(ctx, postgres.TotalsQuery{From: month, To: month})
	if err != nil {
		t.Fatal(err)
	}
	if p.Totals.FactorSet != want.FactorSet || p.Totals.FactorSet == "" || p.Totals.ByCategory == nil {
		t.Fatalf("totals %+v, want set %s", p.Totals, want.FactorSet)
	}
	ds := e.deliveries(t, sub.ID)
	if len(ds) != 1 || ds[0].ID != p.DeliveryID || ds[0].Status != push.Delivered || ds[0].Attempts != 1 || len(ds[0].Log) != 1 ||
		ds[0].LastStatus == nil || *ds[0].LastStatus != http.StatusAccepted {
		t.Fatalf("deliveries %+v", ds)
	}
}

// A receiver that fails once: the delivery waits a minute, then the retry
// delivers it; both attempts are logged.
func TestPushRetriesAfterFailure(t *testing.T) {
	e := mustPushEnv(t, nil)
	r := mustPushReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	sub := e.subscribe(t, r)
	ctx := context.Background()
	e.Server.RunJobsOnce(ctx)
	ds := e.deliveries(t, sub.ID)
	first := e.clock.Now()
	if len(ds) != 1 || ds[0].Status != push.Pending || ds[0].Attempts != 1 || ds[0].NextAttemptAt == nil ||
		!ds[0].NextAttemptAt.Equal(first.Add(time.Minute)) || ds[0].LastError != "HTTP 500: receiver says hello" {
		t.Fatalf("after a 500: %+v", ds)
	}
	e.clock.Set(first.Add(59 * time.Second))
	e.Server.RunJobsOnce(ctx)
	if got, _ := r.received(); len(got) != 1 {
		t.Fatalf("retried before its time: %d requests", len(got))
	}
	e.clock.Set(first.Add(time.Minute))
	e.Server.RunJobsOnce(ctx)
	got, heads := r.received()
	if len(got) != 2 || got[1].DeliveryID != got[0].DeliveryID || got[1].Attempt != 2 || heads[1].Get(push.HeaderAttempt) != "2" {
		t.Fatalf("retry: %+v", got)
	}
	ds = e.deliveries(t, sub.ID)
	d := ds[0]
	if d.Status != push.Delivered || d.Attempts != 2 || len(d.Log) != 2 || *d.Log[0].HTTPStatus != 500 || *d.Log[1].HTTPStatus != 200 ||
		d.Log[1].Error != "" || d.DeliveredAt == nil || !d.DeliveredAt.Equal(first.Add(time.Minute)) {
		t.Fatalf("delivered: %+v", d)
	}
}

// A receiver that never takes it: after BERRIZ_PUSH_MAX_ATTEMPTS attempts
// spaced by the backoff, the delivery has failed and nothing more is sent.
// A refused redirect and an unreachable receiver count as failures too.
func TestPushGivesUpAfterMaxAttempts(t *testing.T) {
	e := mustPushEnv(t, map[string]string{"BERRIZ_PUSH_MAX_ATTEMPTS": "3"})
	r := mustPushReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	sub := e.subscribe(t, r)
	ctx := context.Background()
	start := e.clock.Now()
	for _, at := range []time.Duration{0, time.Minute, 6 * time.Minute, 36 * time.Minute, 3 * time.Hour} {
		e.clock.Set(start.Add(at))
		e.Server.RunJobsOnce(ctx)
	}
	if got, _ := r.received(); len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	d := e.deliveries(t, sub.ID)[0]
	if d.Status != push.Failed || d.Attempts != 3 || len(d.Log) != 3 || d.NextAttemptAt != nil || *d.LastStatus != 503 {
		t.Fatalf("failed: %+v", d)
	}
	for i, a := range d.Log {
		if want := start.Add([]time.Duration{0, time.Minute, 6 * time.Minute}[i]); !a.At.Equal(want) {
			t.Errorf("attempt %d at %s, want %s", a.Attempt, a.At, want)
		}
	}

	// A redirect to another host is not followed.
	other := mustPushReceiver(t, func(int) int { return http.StatusOK })
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, other.srv.URL+"/hook", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(moved.Close)
	r2 := &pushReceiver{srv: moved}
	sub2 := e.subscribe(t, r2)
	e.Server.RunJobsOnce(ctx)
	if got, _ := other.received(); len(got) != 0 {
		t.Fatalf("followed a redirect to another host: %+v", got)
	}
	d = e.deliveries(t, sub2.ID)[0]
	if d.Status != push.Pending || d.Attempts != 1 || d.LastStatus != nil || !strings.Contains(d.LastError, "redirect to another host refused") {
		t.Fatalf("redirected: %+v", d)
	}
}

// Two instances on one database, ticking at once, send each delivery once.
func TestPushTwoInstancesSendOnce(t *testing.T) {
	e := mustPushEnv(t, nil)
	var receivers []*pushReceiver
	for range 4 {
		r := mustPushReceiver(t, func(int) int {
			time.Sleep(20 * time.Millisecond) // keep the first claim busy while the other instance looks
			return http.StatusOK
		})
		e.subscribe(t, r)
		receivers = append(receivers, r)
	}
	second := servertest.MustStart(t, servertest.Options{Clock: e.clock.Now, DatabaseURL: e.Config.DatabaseURL})
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, s := range []*server.Server{e.Server, second.Server, e.Server, second.Server} {
		wg.Add(1)
		go func() { defer wg.Done(); s.RunJobsOnce(ctx) }()
	}
	wg.Wait()
	for i, r := range receivers {
		if got, _ := r.received(); len(got) != 1 {
			t.Errorf("receiver %d got %d requests, want 1", i, len(got))
		}
	}
}
