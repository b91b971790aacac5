package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

func TestRunDueFollowsCronInWorkspaceZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// Friday 2026-12-04 12:00 UTC. Mondays at 08:00 in Berlin (UTC+1 in
	// December) are 07:00 UTC.
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s := New(berlin, func() time.Time { return now }, nil)

	var runs []time.Time
	if err := s.Add("digest", "0 8 * * 1", func(_ context.Context, at time.Time) error {
		runs = append(runs, at)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	wantNext := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
	if got := s.Next(); !got.Equal(wantNext) {
		t.Fatalf("next = %s, want %s", got.UTC(), wantNext)
	}

	if ran := s.RunDue(context.Background(), wantNext.Add(-time.Second)); len(ran) != 0 {
		t.Errorf("one second early ran %v, want nothing", ran)
	}
	if ran := s.RunDue(context.Background(), wantNext); len(ran) != 1 || ran[0] != "digest" {
		t.Errorf("at the due time ran %v, want [digest]", ran)
	}
	if ran := s.RunDue(context.Background(), wantNext.Add(time.Hour)); len(ran) != 0 {
		t.Errorf("an hour later ran %v, want nothing until next Monday", ran)
	}

	// Three weeks later: the missed Mondays are skipped, and it runs once.
	late := time.Date(2026, 12, 28, 9, 0, 0, 0, time.UTC)
	if ran := s.RunDue(context.Background(), late); len(ran) != 1 {
		t.Errorf("after three missed weeks ran %v, want one run", ran)
	}
	if got, want := s.Next(), time.Date(2027, 1, 4, 7, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next after catching up = %s, want %s", got.UTC(), want)
	}
	if len(runs) != 2 || s.Runs("digest") != 2 {
		t.Errorf("runs = %v (counted %d), want 2", runs, s.Runs("digest"))
	}
	if got := testutil.ToFloat64(s.jobRuns.WithLabelValues("digest", "ok")); got != 2 {
		t.Errorf("northstar_scheduler_job_runs_total{job=digest,result=ok} = %v, want 2", got)
	}
}

func TestParseRejectsInvalidCron(t *testing.T) {
	for _, expr := range []string{"", "61 * * * *", "every monday", "* * * *", "CRON_TZ=UTC 0 8 * * 1"} {
		_, err := Parse(expr, time.UTC)
		if kpi.ErrorCode(err) != kpi.EINVALID {
			t.Errorf("Parse(%q) error = %v, want an invalid error", expr, err)
			continue
		}
		if expr != "" && !strings.Contains(err.Error(), expr) {
			t.Errorf("Parse(%q) error %q does not name the expression", expr, err)
		}
	}

	s := New(time.UTC, nil, nil)
	if err := s.Add("bad", "0 25 * * *", func(context.Context, time.Time) error { return nil }); kpi.ErrorCode(err) != kpi.EINVALID {
		t.Errorf("Add with hour 25 error = %v, want an invalid error", err)
	}
}

func TestRunStopsAndWaitsForJob(t *testing.T) {
	// The clock is one second before a due minute, so Run's first timer
	// fires after about a second of real time.
	start := time.Now().Truncate(time.Minute).Add(time.Minute - time.Second)
	offset := start.Sub(time.Now())
	s := New(time.UTC, func() time.Time { return time.Now().Add(offset) }, nil)

	started := make(chan struct{})
	var finished atomic.Bool
	if err := s.Add("slow", "* * * * *", func(ctx context.Context, _ time.Time) error {
		close(started)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // work that finishes after the cancel
		finished.Store(true)
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not start within 10 s")
	}
	cancel()

	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of the cancel")
	}
	if !finished.Load() {
		t.Error("Run returned before the running job finished")
	}
}
