package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The harness counts what it is told to count: no assertion here depends
// on how fast the machine is.

func TestRunRequestCount(t *testing.T) {
	var mu sync.Mutex
	seen := map[int][]int{} // client → its n values, in order
	op := func(_ context.Context, client, n int) error {
		mu.Lock()
		seen[client] = append(seen[client], n)
		mu.Unlock()
		return nil
	}
	res, err := Run(context.Background(), Config{Clients: 4, Requests: 1000}, op)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 1000 || len(res.Samples) != 1000 || res.Errors != 0 {
		t.Fatalf("ops %d, samples %d, errors %d; want 1000, 1000, 0", res.Ops, len(res.Samples), res.Errors)
	}
	total := 0
	for c, ns := range seen {
		for i, n := range ns {
			if n != i {
				t.Fatalf("client %d: operation %d got n=%d", c, i, n)
			}
		}
		total += len(ns)
	}
	if total != 1000 {
		t.Fatalf("%d operations ran, want 1000", total)
	}
	for i := 1; i < len(res.Samples); i++ {
		if res.Samples[i] < res.Samples[i-1] {
			t.Fatal("samples not sorted")
		}
	}
}

// Warm-up operations are not measured; each client runs at least one.
func TestRunWarmupAndDuration(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	op := func(context.Context, int, int) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return nil
	}
	res, err := Run(context.Background(), Config{Clients: 2, Duration: 10 * time.Millisecond, Warmup: 10 * time.Millisecond}, op)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops == 0 || res.Ops != len(res.Samples) {
		t.Fatalf("ops %d, samples %d", res.Ops, len(res.Samples))
	}
	if res.CPU <= 0 {
		t.Errorf("no CPU time measured: %s", res.CPU)
	}
	if calls < res.Ops+2 {
		t.Fatalf("%d calls for %d measured operations: the warm-up ran less than once per client", calls, res.Ops)
	}
	if res.Elapsed < 10*time.Millisecond {
		t.Fatalf("measured phase lasted %s, less than its duration", res.Elapsed)
	}
}

func TestRunCountsHTTPErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/bad") {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	c := NewClient(3)
	var count atomic.Int64
	res, err := Run(context.Background(), Config{Clients: 3, Requests: 90}, func(ctx context.Context, _, _ int) error {
		path := "/good"
		if count.Add(1)%3 == 0 {
			path = "/bad"
		}
		_, err := Get(ctx, c, srv.URL+path, http.StatusOK)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 90 || res.Errors != 30 || len(res.Samples) != 60 {
		t.Fatalf("ops %d, errors %d, samples %d; want 90, 30, 60", res.Ops, res.Errors, len(res.Samples))
	}
	if len(res.FirstErrors) != maxKeptErrors || !strings.Contains(res.FirstErrors[0], "status 500, want 200") {
		t.Fatalf("first errors %q", res.FirstErrors)
	}
	if !strings.Contains(res.String(), "30 errors") {
		t.Fatalf("summary %q does not count the errors", res.String())
	}
}

// A redirect is an answer, not followed: the operation sees its Location.
func TestGetRedirect(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("/elsewhere", http.StatusSeeOther))
	defer srv.Close()
	loc, err := Get(context.Background(), NewClient(1), srv.URL+"/t/X", http.StatusSeeOther, "Accept-Encoding", "gzip")
	if err != nil || loc != "/elsewhere" {
		t.Fatalf("Get: %q, %v", loc, err)
	}
	if _, err := Get(context.Background(), NewClient(1), srv.URL+"/t/X", http.StatusOK); err == nil {
		t.Fatal("a 303 passed for a 200")
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Clients: 0, Requests: 1}, {Clients: 1}} {
		if _, err := Run(context.Background(), cfg, func(context.Context, int, int) error { return nil }); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestPercentiles(t *testing.T) {
	var r Result
	for i := 1; i <= 100; i++ {
		r.Samples = append(r.Samples, time.Duration(i)*time.Millisecond)
	}
	r.Elapsed = 2 * time.Second
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := r.Percentile(c.p); got != c.want {
			t.Errorf("p%v = %s, want %s", c.p, got, c.want)
		}
	}
	if r.Max() != 100*time.Millisecond || r.Throughput() != 50 {
		t.Errorf("max %s, throughput %v", r.Max(), r.Throughput())
	}
	if (Result{}).Percentile(99) != 0 || (Result{}).Throughput() != 0 {
		t.Error("an empty result has no latency and no throughput")
	}
	m := Merge(Result{Ops: 2, Samples: []time.Duration{3, 1}, Elapsed: time.Second, CPU: 6 * time.Millisecond},
		Result{Ops: 2, Errors: 1, Samples: []time.Duration{2}, Elapsed: time.Second, CPU: 2 * time.Millisecond, FirstErrors: []string{"x"}})
	if m.Ops != 4 || m.Errors != 1 || len(m.Samples) != 3 || m.Samples[0] != 1 || m.Samples[2] != 3 || m.Elapsed != 2*time.Second ||
		m.Throughput() != 1.5 || len(m.FirstErrors) != 1 || m.CPUPerOp() != 2*time.Millisecond {
		t.Errorf("merge: %+v", m)
	}
}

// A paced phase starts exactly the scheduled operations, and an operation
// started late because the one before was slow counts its wait.
func TestRunPaced(t *testing.T) {
	var calls atomic.Int64
	res, err := Run(context.Background(), Config{Clients: 2, Duration: 100 * time.Millisecond, Rate: 200},
		func(_ context.Context, client, n int) error {
			calls.Add(1)
			if client == 0 && n == 0 {
				time.Sleep(35 * time.Millisecond) // holds up this client's next three starts
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	// Each client is due every 10 ms: starts at 0, 10, ..., 90 ms and 5,
	// 15, ..., 95 ms, however slow the machine.
	if res.Ops != 20 || calls.Load() != 20 {
		t.Fatalf("%d operations (%d calls), want 20", res.Ops, calls.Load())
	}
	// The slow one and the three started late behind it: at least 35, 25,
	// 15 and 5 ms from their scheduled starts.
	if res.Samples[len(res.Samples)-1] < 35*time.Millisecond || res.Samples[len(res.Samples)-3] < 15*time.Millisecond {
		t.Fatalf("latencies %v do not count the wait behind the slow operation", res.Samples)
	}
}

// The machine's busy time grows with work done, and is at least what this
// process spent (on Linux, where /proc/stat exists).
func TestMachineCPUTime(t *testing.T) {
	m0, p0 := MachineCPUTime(), CPUTime()
	if m0 == 0 {
		t.Skip("no /proc/stat")
	}
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
	}
	m, p := MachineCPUTime()-m0, CPUTime()-p0
	// Ticks are 10 ms apart: allow two of rounding.
	if m <= 0 || m < p-20*time.Millisecond {
		t.Errorf("machine busy for %s while this process used %s", m, p)
	}
}
