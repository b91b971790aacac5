// Package scheduler runs Northstar's periodic jobs (alert evaluation,
// scheduled reports, review reminders) on cron schedules in the workspace
// time zone. The clock is injected: Run follows it with timers, and tests
// call RunDue with the time they want instead of waiting.
package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// cronParser reads the five standard fields (minute, hour, day of month,
// month, day of week) and the descriptors @hourly, @daily, @weekly,
// @monthly, @yearly and @every DURATION.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse reads a cron expression whose times are in loc. It returns an
// EINVALID error naming the expression when it cannot be read, or when it
// carries its own time zone, since schedules follow the workspace's.
func Parse(expr string, loc *time.Location) (cron.Schedule, error) {
	trimmed := strings.TrimSpace(expr)
	if trimmed == "" {
		return nil, kpi.Errorf(kpi.EINVALID, "cron expression is empty (want five fields such as \"0 8 * * 1\" for Mondays at 08:00, or @daily)")
	}
	if strings.HasPrefix(trimmed, "CRON_TZ=") || strings.HasPrefix(trimmed, "TZ=") {
		return nil, kpi.Errorf(kpi.EINVALID, "cron expression %q sets a time zone; remove it, because schedules use the workspace time zone (workspace.time_zone in the KPI file)", expr)
	}

	sched, err := cronParser.Parse(trimmed)
	if err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "cron expression %q is invalid: %v (want five fields: minute hour day-of-month month day-of-week, such as \"0 8 * * 1\")", expr, err)
	}
	if spec, ok := sched.(*cron.SpecSchedule); ok && loc != nil {
		spec.Location = loc
	}
	return sched, nil
}

// JobFunc is the work of a job. at is the scheduled time being run, from
// the scheduler's clock.
type JobFunc func(ctx context.Context, at time.Time) error

type job struct {
	name     string
	schedule cron.Schedule
	run      JobFunc
	next     time.Time
}

// Scheduler runs jobs on their schedules. Jobs are added before Run starts.
// A job never overlaps itself: a run that is due while the previous one
// still runs waits for it, and runs missed meanwhile are skipped.
type Scheduler struct {
	now      func() time.Time
	location *time.Location
	logger   *slog.Logger

	runMu sync.Mutex // serializes RunDue, so that no job overlaps itself

	mu   sync.Mutex
	jobs []*job

	// runs counts finished runs per job, for tests.
	runs map[string]int

	jobRuns     *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
}

// New returns a scheduler whose cron expressions are in loc (UTC when nil),
// following the clock now (time.Now when nil).
func New(loc *time.Location, now func() time.Time, logger *slog.Logger) *Scheduler {
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{
		now: now, location: loc, logger: logger, runs: map[string]int{},
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "northstar_scheduler_job_runs_total",
			Help: "Runs of scheduled jobs (alerts, reports, reviews) by job and result: ok or error.",
		}, []string{"job", "result"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "northstar_scheduler_job_duration_seconds",
			Help:    "Time one run of a scheduled job took, by job.",
			Buckets: prometheus.DefBuckets,
		}, []string{"job"}),
	}
}

// Collectors returns the scheduler's Prometheus metrics, for a registry to
// register.
func (s *Scheduler) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.jobRuns, s.jobDuration}
}

// Location returns the time zone of the scheduler's cron expressions.
func (s *Scheduler) Location() *time.Location { return s.location }

// Add registers a job that runs at the times of the cron expression spec,
// first after the clock's current time. It returns Parse's error for an
// invalid expression.
func (s *Scheduler) Add(name, spec string, fn JobFunc) error {
	sched, err := Parse(spec, s.location)
	if err != nil {
		return fmt.Errorf("job %s: %w", name, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs = append(s.jobs, &job{name: name, schedule: sched, run: fn, next: sched.Next(s.now())})

	// Start the job's counters at zero, so that a scrape lists them before
	// the first run.
	s.jobRuns.WithLabelValues(name, "ok")
	s.jobRuns.WithLabelValues(name, "error")
	return nil
}

// RunDue runs, concurrently, every job whose next time is at or before now,
// waits for them to finish, and moves each to its first time after now. It
// returns the names of the jobs it ran. A job's error is logged, not
// returned, so that one failing job does not stop the others.
func (s *Scheduler) RunDue(ctx context.Context, now time.Time) []string {
	s.runMu.Lock()
	defer s.runMu.Unlock()

	s.mu.Lock()
	var due []*job
	for _, j := range s.jobs {
		if !j.next.IsZero() && !j.next.After(now) {
			due = append(due, j)
		}
	}
	s.mu.Unlock()

	var wg sync.WaitGroup
	for _, j := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runJob(ctx, j, now)
		}()
	}
	wg.Wait()

	names := make([]string, 0, len(due))
	s.mu.Lock()
	for _, j := range due {
		j.next = j.schedule.Next(now)
		s.runs[j.name]++
		names = append(names, j.name)
	}
	s.mu.Unlock()
	return names
}

// runJob runs j once, logging its error or panic.
func (s *Scheduler) runJob(ctx context.Context, j *job, at time.Time) {
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			s.jobRuns.WithLabelValues(j.name, "error").Inc()
			s.logger.Error("scheduled job panicked", slog.String("job", j.name), slog.Any("panic", v))
		}
	}()

	err := j.run(ctx, at)
	took := time.Since(start)
	s.jobDuration.WithLabelValues(j.name).Observe(took.Seconds())
	if err != nil && ctx.Err() == nil {
		s.jobRuns.WithLabelValues(j.name, "error").Inc()
		s.logger.Error("scheduled job failed", slog.String("job", j.name), slog.Time("at", at), slog.Any("error", err))
		return
	}
	s.jobRuns.WithLabelValues(j.name, "ok").Inc()
	s.logger.Debug("scheduled job ran", slog.String("job", j.name), slog.Time("at", at), slog.Duration("duration", took))
}

// Runs returns how many times the named job has run.
func (s *Scheduler) Runs(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[name]
}

// Next returns the earliest time a job is due, or the zero time without jobs.
func (s *Scheduler) Next() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	for _, j := range s.jobs {
		if !j.next.IsZero() && (next.IsZero() || j.next.Before(next)) {
			next = j.next
		}
	}
	return next
}

// maxWait bounds one sleep of Run, so that a clock that jumps (a suspended
// laptop, a changed system time) is noticed within a minute.
const maxWait = time.Minute

// Run runs due jobs until ctx is cancelled. It returns ctx's error after the
// jobs in flight have finished; jobs receive ctx and should stop early when
// it is cancelled.
func (s *Scheduler) Run(ctx context.Context) error {
	s.logger.Info("scheduler started", slog.String("time_zone", s.location.String()))
	defer s.logger.Info("scheduler stopped")

	for {
		now := s.now()
		s.RunDue(ctx, now)

		wait := maxWait
		if next := s.Next(); !next.IsZero() {
			wait = min(max(next.Sub(s.now()), 0), maxWait)
		}

		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}
