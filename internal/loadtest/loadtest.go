// Package loadtest is the load harness of the benchmarks: N concurrent
// clients repeat an operation (usually one HTTP request, or a redirect and
// the page it leads to) for a fixed duration or a fixed number of
// operations, after an unmeasured warm-up, and the result gives throughput,
// latency percentiles and the errors seen. It lives in its own package,
// imported only by _test.go files, so no production code path carries it;
// it needs no external tool (wrk may be used as a cross-check).
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Op is one measured operation of client number client (0 ≤ client <
// Clients); n counts that client's operations from 0, so that clients can
// walk through different keys. A non-nil error counts as an error.
type Op func(ctx context.Context, client, n int) error

// Config says how hard and how long to load.
type Config struct {
	// Clients is the number of concurrent clients, each running one
	// operation after another (a closed loop, like users who wait for a
	// page before asking the next).
	Clients int
	// Duration is the measured phase; when zero, Requests ends it.
	Duration time.Duration
	// Requests is the number of measured operations of all clients
	// together; used only when Duration is zero.
	Requests int
	// Warmup runs the same operations, unmeasured, before the measured
	// phase: connections open, pools fill, caches warm.
	Warmup time.Duration
	// Timeout bounds one operation; zero means 30 s. A timed-out operation
	// is an error.
	Timeout time.Duration
	// Rate, when positive, paces the measured phase: the clients together
	// start Rate operations per second, evenly spread, instead of each
	// starting the next one as soon as the last one ends. A closed loop
	// measures capacity, and its latency is only clients ÷ throughput
	// (Little's law); a paced load measures the latency of a server that
	// is not saturated. Latency then runs from the operation's scheduled
	// start, so a client held up by a slow answer counts the wait of the
	// operations it started late (no coordinated omission).
	Rate float64
}

// maxKeptErrors bounds the error messages a result keeps; the count is exact.
const maxKeptErrors = 5

// Result is what one measured phase saw.
type Result struct {
	Ops     int             // operations completed, errors included
	Errors  int             // operations that failed
	Samples []time.Duration // latency of every successful operation, sorted
	Elapsed time.Duration   // wall time of the measured phase
	// CPU is the CPU time (user and system) the whole process spent during
	// the measured phase: clients and, when it runs in the same process,
	// the server; not PostgreSQL. Per operation, it depends less on what
	// else the machine runs than throughput does (though cache and core
	// sharing still move it).
	CPU time.Duration
	// MachineCPU is the busy CPU time of the whole machine during the
	// phase, every core and process together (PostgreSQL, the kernel's
	// network work, and whatever else runs): what an operation really
	// costs a machine that runs the database too. Zero where /proc/stat
	// is missing.
	MachineCPU time.Duration
	// FirstErrors holds the first few error messages, for the report.
	FirstErrors []string
}

// Run loads op as cfg says and returns the measured phase's result. It
// returns an error only for a bad configuration or a cancelled context;
// failing operations are counted in the result.
func Run(ctx context.Context, cfg Config, op Op) (Result, error) {
	if cfg.Clients < 1 {
		return Result{}, errors.New("loadtest: at least one client")
	}
	if cfg.Duration <= 0 && cfg.Requests <= 0 {
		return Result{}, errors.New("loadtest: a duration or a request count")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	counters := make([]int, cfg.Clients) // each client's next n, kept across phases
	if cfg.Warmup > 0 {
		if _, err := phase(ctx, cfg, Config{Duration: cfg.Warmup}, true, counters, op); err != nil {
			return Result{}, err
		}
	}
	return phase(ctx, cfg, Config{Duration: cfg.Duration, Requests: cfg.Requests, Rate: cfg.Rate}, false, counters, op)
}

// phase runs the clients until the phase's duration is over or its
// requests are taken. In a warm-up, every client runs at least once (opens
// its connection), however late it starts on a busy machine.
func phase(ctx context.Context, cfg, p Config, warmup bool, counters []int, op Op) (Result, error) {
	var (
		tickets  atomic.Int64 // operations started, in request-count mode
		deadline time.Time
		mu       sync.Mutex
		res      Result
		wg       sync.WaitGroup
	)
	// interval is each client's time between two scheduled starts when
	// paced, 0 in a closed loop.
	var interval time.Duration
	if p.Rate > 0 {
		interval = time.Duration(float64(cfg.Clients) / p.Rate * float64(time.Second))
	}
	more := func(sched time.Time) bool {
		switch {
		case p.Duration > 0 && interval > 0:
			return sched.Before(deadline)
		case p.Duration > 0:
			return time.Now().Before(deadline)
		}
		return tickets.Add(1) <= int64(p.Requests)
	}
	cpu0, machine0 := CPUTime(), MachineCPUTime()
	start := time.Now()
	deadline = start.Add(p.Duration)
	for c := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each client keeps its samples to itself until the end: no
			// lock between two operations.
			var samples []time.Duration
			var errs []string
			nErr, nOps := 0, 0
			// Paced clients start one after the other within the first
			// interval, not all at once.
			sched := start.Add(interval * time.Duration(c) / time.Duration(cfg.Clients))
			for ctx.Err() == nil && (warmup && nOps == 0 || more(sched)) {
				t0 := time.Now()
				if interval > 0 {
					if err := sleepUntil(ctx, sched); err != nil {
						break
					}
					t0 = sched
					sched = sched.Add(interval)
				}
				octx, cancel := context.WithTimeout(ctx, cfg.Timeout)
				err := op(octx, c, counters[c])
				d := time.Since(t0)
				cancel()
				counters[c]++
				nOps++
				if err != nil {
					nErr++
					if len(errs) < maxKeptErrors {
						errs = append(errs, err.Error())
					}
					continue
				}
				samples = append(samples, d)
			}
			mu.Lock()
			res.Ops += nOps
			res.Errors += nErr
			res.Samples = append(res.Samples, samples...)
			for _, e := range errs {
				if len(res.FirstErrors) < maxKeptErrors {
					res.FirstErrors = append(res.FirstErrors, e)
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.CPU = CPUTime() - cpu0
	if m := MachineCPUTime(); m > 0 && machine0 > 0 {
		res.MachineCPU = m - machine0
	}
	slices.Sort(res.Samples)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("loadtest: %w", err)
	}
	return res, nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// CPUTime is the CPU time (user and system, every thread) the process used
// so far. Benchmarks report its growth per operation next to ns/op: on a
// shared machine the wall time of single-threaded work stretches with
// everyone else's load, its CPU time far less.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MachineCPUTime is the busy time of every core of the machine since boot
// (user, nice, system, irq, softirq and steal of /proc/stat's first line,
// at the kernel's usual 100 ticks a second), or 0 where /proc/stat cannot
// be read.
func MachineCPUTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// MachineCPUPerOp is the machine's busy CPU time per operation of the
// phase, or 0 when it was not measured.
func (r Result) MachineCPUPerOp() time.Duration {
	if r.Ops == 0 {
		return 0
	}
	return r.MachineCPU / time.Duration(r.Ops)
}

// CPUPerOp is the process's CPU time per operation of the phase.
func (r Result) CPUPerOp() time.Duration {
	if r.Ops == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Ops)
}

// Throughput is the successful operations per second of the phase.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Samples)) / r.Elapsed.Seconds()
}

// Percentile returns the latency under which p percent of the successful
// operations completed (nearest rank: an actual sample, never an
// interpolation), or 0 without samples.
func (r Result) Percentile(p float64) time.Duration {
	if len(r.Samples) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(r.Samples))))
	return r.Samples[min(max(rank, 1), len(r.Samples))-1]
}

// Max is the slowest successful operation.
func (r Result) Max() time.Duration {
	if len(r.Samples) == 0 {
		return 0
	}
	return r.Samples[len(r.Samples)-1]
}

// Merge combines the results of several phases of the same operation (the
// rounds of a benchmark) into one: operations, errors and samples add up,
// and so do the elapsed times, so the throughput is the average over all.
func Merge(rs ...Result) Result {
	var out Result
	for _, r := range rs {
		out.Ops += r.Ops
		out.Errors += r.Errors
		out.Elapsed += r.Elapsed
		out.CPU += r.CPU
		out.MachineCPU += r.MachineCPU
		out.Samples = append(out.Samples, r.Samples...)
		for _, e := range r.FirstErrors {
			if len(out.FirstErrors) < maxKeptErrors {
				out.FirstErrors = append(out.FirstErrors, e)
			}
		}
	}
	slices.Sort(out.Samples)
	return out
}

// String sums the result up on one line, in milliseconds.
func (r Result) String() string {
	s := fmt.Sprintf("%d ops in %.1fs: %.0f req/s, p50 %s, p90 %s, p99 %s, max %s ms, %d errors, CPU %.0f µs/op (machine %.0f)",
		r.Ops, r.Elapsed.Seconds(), r.Throughput(), ms(r.Percentile(50)), ms(r.Percentile(90)), ms(r.Percentile(99)),
		ms(r.Max()), r.Errors, float64(r.CPUPerOp())/float64(time.Microsecond), float64(r.MachineCPUPerOp())/float64(time.Microsecond))
	if len(r.FirstErrors) > 0 {
		s += fmt.Sprintf(" (first: %q)", r.FirstErrors[0])
	}
	return s
}

// Ms converts a duration to float milliseconds, for b.ReportMetric.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", Ms(d)) }

// NewClient returns an HTTP client for clients concurrent users: keep-alive
// connections, one per client and server (the default keeps only two idle
// per host, and the others would reconnect on every request), no redirect following
// (a redirect is an answer the operation checks) and no transparent
// decompression (the operation asks for gzip as a browser does and reads
// the compressed bytes).
func NewClient(clients int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// No limit over all hosts: a benchmark loads several servers (berriz
	// and the floor) in turns, and a shared limit would close one's
	// connections to keep the other's.
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = clients
	t.DisableCompression = true
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Get sends a GET with the given headers (name, value pairs), reads the
// whole answer and checks its status: anything but want is an error. It
// returns the answer's Location header, for operations that follow a
// redirect themselves.
func Get(ctx context.Context, c *http.Client, url string, want int, headers ...string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("GET %s: reading the answer: %w", url, err)
	}
	if resp.StatusCode != want {
		return "", fmt.Errorf("GET %s: status %d, want %d", url, resp.StatusCode, want)
	}
	return resp.Header.Get("Location"), nil
}
