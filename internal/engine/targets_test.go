package engine

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// quarterKPIs is a UTC workspace with one monthly count KPI: 100 signups a
// month at the baseline on 2026-12-31, 130 a month by the end of March 2027.
const quarterKPIs = `workspace: {name: Quarter, time_zone: UTC}
kpis:
  - id: signups
    name: Signups
    grain: month
    metric: {kind: count, event: signup}
    baseline: {value: 100, date: 2026-12-31}
    target: {value: 130, by: 2027-03-31}
    benchmarks:
      - {kind: industry, name: Industry median, value: 120}
      - {kind: baseline}
      - {kind: last_year}
`

// fakeHistory is an in-memory HistoryReader.
type fakeHistory struct{ h kpi.History }

func (f *fakeHistory) KPIHistory(_ context.Context, _ string) (kpi.History, error) { return f.h, nil }

// signupsOn returns n signup events spread over the hours of day (UTC).
func signupsOn(day string, n int) []store.Event {
	start, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	out := make([]store.Event, n)
	for i := range out {
		out[i] = store.Event{
			Name: "signup", DistinctID: fmt.Sprint("u", day, "-", i),
			Timestamp: start.Add(time.Duration(i%24) * time.Hour), Source: "test",
			MessageID: fmt.Sprint(day, "-", i),
		}
	}
	return out
}

// quarterEngine stores the quarter's signups and returns an engine whose
// clock reads *now and whose stored history is h.
func quarterEngine(t *testing.T, now *time.Time, h *fakeHistory) (*Engine, *kpi.Definitions) {
	t.Helper()
	ctx := context.Background()
	defs, err := kpi.Parse("quarter.yaml", []byte(quarterKPIs))
	if err != nil {
		t.Fatalf("parse KPIs: %v", err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })

	var events []store.Event
	events = append(events, signupsOn("2026-01-10", 90)...)  // last year's January
	events = append(events, signupsOn("2027-01-10", 112)...) // January
	events = append(events, signupsOn("2027-02-10", 100)...) // February, before the 20th
	events = append(events, signupsOn("2027-02-25", 50)...)  // February, after the 20th
	events = append(events, signupsOn("2027-03-10", 175)...) // March
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatalf("insert events: %v", err)
	}
	return New(db, func() time.Time { return *now }).WithHistory(h), defs
}

// point is the expected target and status of one month.
type point struct {
	month  string
	target float64
	status kpi.Status
}

func checkPoints(t *testing.T, label string, s *Series, wants []point) {
	t.Helper()
	if len(s.Points) != len(wants) {
		t.Fatalf("%s: %d points, want %d", label, len(s.Points), len(wants))
	}
	for i, w := range wants {
		p := s.Points[i]
		if got := p.Start.Format("2006-01"); got != w.month {
			t.Errorf("%s point %d: month %s, want %s", label, i, got, w.month)
		}
		if p.Target == nil || math.Abs(*p.Target-w.target) > 1e-9 {
			t.Errorf("%s %s: target = %v, want %.6f", label, w.month, fmtPtr(p.Target), w.target)
		}
		if p.Status != w.status {
			t.Errorf("%s %s: status = %s, want %s", label, w.month, p.Status, w.status)
		}
	}
}

func fmtPtr(f *float64) string {
	if f == nil {
		return "nil"
	}
	return fmt.Sprint(*f)
}

// TestTargetRevisedMidQuarter walks the signups KPI through the first
// quarter of 2027 with a fake clock. On 2027-02-18 the target is raised
// from 130 to 190 a month, applying from 2027-02-15. The path runs from 100
// at 2026-12-31 00:00 to the target at 2027-04-01 00:00, 91 days later, and
// each month is judged at its end:
//
//	January  (32 days in): 100 + 30*32/91 = 110.549451 (original target)
//	February (60 days in): 100 + 90*60/91 = 159.340659 (revised target)
//	March    (91 days in): 190
//
// January has 112 signups: on track against 110.55, and it would be at risk
// (14.9 % short) against the revised path's 100 + 90*32/91 = 131.648352,
// which must not be used for it. February's 150 are 5.86 % short of 159.34
// (at risk); against the original 119.78 they would be on track. March's
// 175 are 7.9 % short of 190 (at risk).
func TestTargetRevisedMidQuarter(t *testing.T) {
	now := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	history := &fakeHistory{}
	e, defs := quarterEngine(t, &now, history)
	ctx := context.Background()
	quarter := Range{From: date("2027-01-01"), To: date("2027-03-31")}

	compute := func() *Series {
		t.Helper()
		s, err := e.Series(ctx, defs, "signups", timegrain.Month, quarter)
		if err != nil {
			t.Fatalf("Series: %v", err)
		}
		return s
	}

	// 1 February: January is over and judged against the original target.
	s := compute()
	checkPoints(t, "on 2027-02-01", s, []point{{"2027-01", 100 + 30.0*32/91, kpi.OnTrack}})

	// 18 February: the target is raised, applying from 15 February.
	history.h.Revisions = append(history.h.Revisions, kpi.TargetRevision{
		ID: 1, KPI: "signups", AppliesFrom: date("2027-02-15"), Author: "ana", Reason: "campaign",
		Target: kpi.Target{Value: v(190), By: date("2027-03-31")}, Source: kpi.SourceAPI,
	})

	// 20 February: January keeps its target and status. February so far
	// (19 of 28 days, 100 signups) is judged against the revised path at
	// 20 February, 51 days in, pro-rated: (100 + 90*51/91) * 19/28 =
	// 102.084042, 2.0 % short, so on track.
	now = time.Date(2027, 2, 20, 0, 0, 0, 0, time.UTC)
	s = compute()
	checkPoints(t, "on 2027-02-20", s, []point{
		{"2027-01", 100 + 30.0*32/91, kpi.OnTrack},
		{"2027-02", (100 + 90.0*51/91) * 19 / 28, kpi.OnTrack},
	})

	// 1 April: the quarter is over.
	now = time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	s = compute()
	checkPoints(t, "on 2027-04-01", s, []point{
		{"2027-01", 100 + 30.0*32/91, kpi.OnTrack},
		{"2027-02", 100 + 90.0*60/91, kpi.AtRisk},
		{"2027-03", 190, kpi.AtRisk},
	})
	if s.Goal == nil || s.Goal.Value != 190 {
		t.Errorf("goal = %+v, want the revised 190", s.Goal)
	}
}

// TestTargetRetiredByReview checks that periods after a retiring review are
// shown with their values but not judged, and earlier ones keep their status.
func TestTargetRetiredByReview(t *testing.T) {
	now := time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	history := &fakeHistory{h: kpi.History{Reviews: []kpi.Review{
		{ID: 1, KPI: "signups", Date: date("2027-02-05"), Reviewer: "ana", Decision: kpi.Keep},
		{ID: 2, KPI: "signups", Date: date("2027-03-05"), Reviewer: "ana", Decision: kpi.Retire},
	}}}
	e, defs := quarterEngine(t, &now, history)

	s, err := e.Series(context.Background(), defs, "signups", timegrain.Month, Range{From: date("2027-01-01"), To: date("2027-03-31")})
	if err != nil {
		t.Fatalf("Series: %v", err)
	}
	wantStatus := []kpi.Status{kpi.OnTrack, kpi.OnTrack, kpi.Retired}
	wantValue := []float64{112, 150, 175}
	for i, p := range s.Points {
		if p.Status != wantStatus[i] {
			t.Errorf("%s: status = %s, want %s", p.Start.Format("2006-01"), p.Status, wantStatus[i])
		}
		if p.Value == nil || *p.Value != wantValue[i] {
			t.Errorf("%s: value = %s, want %g", p.Start.Format("2006-01"), fmtPtr(p.Value), wantValue[i])
		}
	}
	if s.Points[2].Target != nil {
		t.Errorf("retired March has target %v, want none", *s.Points[2].Target)
	}
}

// TestTargetMilestones checks a path through a milestone: 100 at 2026-12-31
// 00:00, 160 at the end of 2027-01-31 (32 days in), 130 at 2027-04-01.
// February ends 28 days after the milestone, of the 59 from the milestone
// to the target: 160 + (130-160)*28/59 = 145.762712.
func TestTargetMilestones(t *testing.T) {
	now := time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	history := &fakeHistory{h: kpi.History{Revisions: []kpi.TargetRevision{{
		ID: 1, KPI: "signups", AppliesFrom: date("2027-01-01"), Reason: "milestone",
		Target: kpi.Target{Value: v(130), By: date("2027-03-31"), Milestones: []kpi.Milestone{{By: date("2027-01-31"), Value: 160}}},
	}}}}
	e, defs := quarterEngine(t, &now, history)

	s, err := e.Series(context.Background(), defs, "signups", timegrain.Month, Range{From: date("2027-01-01"), To: date("2027-03-31")})
	if err != nil {
		t.Fatalf("Series: %v", err)
	}
	checkPoints(t, "milestone", s, []point{
		{"2027-01", 160, kpi.OffTrack}, // 112 is 30 % short of 160
		{"2027-02", 160 - 30.0*28/59, kpi.OnTrack},
		{"2027-03", 130, kpi.OnTrack},
	})
	if len(s.Milestones) != 1 || s.Milestones[0].Date != "2027-01-31" || s.Milestones[0].Value != 160 {
		t.Errorf("milestones = %+v, want one of 160 by 2027-01-31", s.Milestones)
	}
}

// TestBenchmarkLines checks the industry, baseline and last-year lines:
// last year's January had 90 signups, and the other months none.
func TestBenchmarkLines(t *testing.T) {
	now := time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	e, defs := quarterEngine(t, &now, &fakeHistory{})

	s, err := e.Series(context.Background(), defs, "signups", timegrain.Month, Range{From: date("2027-01-01"), To: date("2027-03-31")})
	if err != nil {
		t.Fatalf("Series: %v", err)
	}
	if len(s.Benchmarks) != 3 {
		t.Fatalf("benchmarks = %+v, want 3", s.Benchmarks)
	}
	industry, baseline, lastYear := s.Benchmarks[0], s.Benchmarks[1], s.Benchmarks[2]
	if industry.Name != "Industry median" || industry.Value == nil || *industry.Value != 120 {
		t.Errorf("industry = %+v, want Industry median 120", industry)
	}
	if baseline.Kind != kpi.BaselineBenchmark || baseline.Value == nil || *baseline.Value != 100 {
		t.Errorf("baseline = %+v, want 100", baseline)
	}
	want := []float64{90, 0, 0}
	if len(lastYear.Points) != 3 {
		t.Fatalf("last year points = %+v, want 3", lastYear.Points)
	}
	for i, p := range lastYear.Points {
		if !p.Start.Equal(s.Points[i].Start) {
			t.Errorf("last year point %d starts %s, want %s", i, p.Start, s.Points[i].Start)
		}
		if p.Value == nil || *p.Value != want[i] {
			t.Errorf("last year %s = %s, want %g", p.Start.Format("2006-01"), fmtPtr(p.Value), want[i])
		}
	}
}
