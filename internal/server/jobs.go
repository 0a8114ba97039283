package server

import (
	"context"
	"time"
)

// Background jobs: work that no request triggers (reservations that expire,
// the daily digests of notifications). Every instance runs them every
// BERRIZ_JOBS_INTERVAL; each job's store call claims its rows with
// FOR UPDATE SKIP LOCKED (or an equivalent guard), so several instances
// running at once share the work and never do it twice.

// job is one background job.
type job struct {
	name string
	run  func(ctx context.Context, now time.Time) error
}

// jobs lists the background jobs, run in this order at every tick. Areas
// add theirs here.
func (s *Server) jobs() []job {
	var all []job
	all = append(all, job{"expire_reservations", s.expireReservations})
	all = append(all, job{"fill_emissions", s.fillEmissions})     // pages_emissions.go
	all = append(all, job{"observatory_fold", s.foldObservatory}) // api_observatory.go
	all = append(all, s.pushJobs()...)
	// Digests last: they mail what the jobs before them notified.
	all = append(all, s.digestJobs()...)
	return all
}

// RunJobs runs the background jobs every interval until ctx ends. A
// failing job is logged and tried again at the next tick.
func (s *Server) RunJobs(ctx context.Context) {
	t := time.NewTicker(s.cfg.JobsInterval)
	defer t.Stop()
	for {
		s.RunJobsOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunJobsOnce runs every background job once, now (tests call it to play
// a tick).
func (s *Server) RunJobsOnce(ctx context.Context) {
	for _, j := range s.jobs() {
		if ctx.Err() != nil {
			return
		}
		start := time.Now()
		if err := j.run(ctx, s.now()); err != nil {
			s.log.Error("background job failed", "job", j.name, "error", err.Error())
			continue
		}
		s.log.Debug("background job done", "job", j.name, "duration", time.Since(start))
	}
}
