package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// activity is one event of the retention and funnel tests. at is wall-clock
// time in the workspace's time zone, "2006-01-02 15:04".
type activity struct {
	event string
	user  string
	at    string
	props map[string]any
}

// kpiFile returns a KPI file with the given workspace settings and the KPIs
// in kpis, a YAML list indented by two spaces.
func kpiFile(timeZone, weekStart, kpis string) string {
	return "workspace:\n  name: Test\n  time_zone: " + timeZone + "\n  week_start: " + weekStart + "\nkpis:\n" + kpis
}

// newActivityEngine parses file, stores events in a fresh database, and
// returns an engine whose clock reads now (wall-clock time in the file's
// time zone).
func newActivityEngine(t *testing.T, file, now string, events []activity) (*Engine, *kpi.Definitions) {
	t.Helper()
	ctx := context.Background()

	defs, err := kpi.Parse("test.yaml", []byte(file))
	if err != nil {
		t.Fatalf("parse KPI file: %v", err)
	}
	loc := defs.Workspace.Location

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })

	stored := make([]store.Event, 0, len(events))
	for i, a := range events {
		stored = append(stored, store.Event{
			Name: a.event, DistinctID: a.user, Timestamp: wall(t, loc, a.at),
			Properties: a.props, Source: "test", MessageID: fmt.Sprint("event-", i),
		})
	}
	if _, err := db.InsertEvents(ctx, stored); err != nil {
		t.Fatalf("insert events: %v", err)
	}

	clock := wall(t, loc, now)
	return New(db, func() time.Time { return clock }), defs
}

// wall parses "2006-01-02 15:04" as wall-clock time in loc.
func wall(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

// pointAt returns the point of s that starts at start, wall-clock time in
// loc, failing the test when there is none.
func pointAt(t *testing.T, s *Series, loc *time.Location, start string) Point {
	t.Helper()
	want := wall(t, loc, start)
	for _, p := range s.Points {
		if p.Start.Equal(want) {
			return p
		}
	}
	t.Fatalf("%s: no point starts at %s", s.KPI, start)
	return Point{}
}

// checkPoint checks a point's value, or its reason for having none.
func checkPoint(t *testing.T, s *Series, loc *time.Location, start string, want *float64, wantReason string) Point {
	t.Helper()
	p := pointAt(t, s, loc, start)
	checkFloat(t, fmt.Sprintf("%s %s value", s.KPI, start), p.Value, want)
	if wantReason != "" && p.NoValueReason != wantReason {
		t.Errorf("%s %s reason = %q, want %q", s.KPI, start, p.NoValueReason, wantReason)
	}
	return p
}

// monthlyKPIs are monthly cohorts by first signup; "where" cohorts count only
// signups on the pro plan.
const monthlyKPIs = `  - id: m0
    name: Month 0 retention
    metric: {kind: retention, cohort_event: signup, offset: 0}
  - id: m0_visit
    name: Visited in the signup month
    metric: {kind: retention, cohort_event: signup, return_event: visit, offset: 0}
  - id: m1
    name: Month 1 retention
    metric: {kind: retention, cohort_event: signup, offset: 1}
  - id: m2
    name: Month 2 retention
    metric: {kind: retention, cohort_event: signup, offset: 2}
  - id: m1_pro
    name: Month 1 retention of pro signups
    metric: {kind: retention, cohort_event: signup, offset: 1, where: {plan: pro}}
  - id: m2_from_baseline
    name: Month 2 retention against its January value
    metric: {kind: retention, cohort_event: signup, offset: 2}
    baseline: {date: 2026-01-15}
    target: {change: "+10%", by: 2026-12-31}
  - id: visits
    name: Visits
    metric: {kind: count, event: visit}
`

// monthlyActivity is counted by hand in the tests below (New York time):
//
//	ann signup Jan 5 (free), visit Jan 6, visit Mar 10, signup Mar 20 (pro)
//	ben visit Jan 19, signup Jan 20 (pro), visit Mar 2, visit Apr 1 00:30
//	cat signup Feb 14 (pro), visit Mar 1 00:30, visit Apr 3
//	dan visit 2025-12-30, signup Feb 27 (free)
//	eve signup Mar 3 (free), visit Apr 15
//
// Cohorts by first signup: January {ann, ben}, February {cat, dan}, March
// {eve}; April and May are empty. Nobody of January is back in February.
var monthlyActivity = []activity{
	{"visit", "dan", "2025-12-30 12:00", nil},
	{"signup", "ann", "2026-01-05 10:00", map[string]any{"plan": "free"}},
	{"visit", "ann", "2026-01-06 10:00", nil},
	{"visit", "ben", "2026-01-19 09:00", nil},
	{"signup", "ben", "2026-01-20 09:00", map[string]any{"plan": "pro"}},
	{"signup", "cat", "2026-02-14 12:00", map[string]any{"plan": "pro"}},
	{"signup", "dan", "2026-02-27 18:00", map[string]any{"plan": "free"}},
	{"visit", "cat", "2026-03-01 00:30", nil},
	{"visit", "ben", "2026-03-02 08:00", nil},
	{"signup", "eve", "2026-03-03 11:00", map[string]any{"plan": "free"}},
	{"visit", "ann", "2026-03-10 12:00", nil},
	{"signup", "ann", "2026-03-20 12:00", map[string]any{"plan": "pro"}},
	{"visit", "ben", "2026-04-01 00:30", nil},
	{"visit", "cat", "2026-04-03 12:00", nil},
	{"visit", "eve", "2026-04-15 12:00", nil},
}

func newMonthlyEngine(t *testing.T) (*Engine, *kpi.Definitions, *time.Location) {
	t.Helper()
	e, defs := newActivityEngine(t, kpiFile("America/New_York", "monday", monthlyKPIs), "2026-07-10 12:00", monthlyActivity)
	return e, defs, defs.Workspace.Location
}

func TestRetentionMonthlyCalendar(t *testing.T) {
	e, defs, loc := newMonthlyEngine(t)

	// The series ends on April 30: May's events are not used, so April's
	// month 1 is not over.
	m1 := series(t, e, defs, "m1", timegrain.Month, "2026-01-01", "2026-04-30")
	checkPoint(t, m1, loc, "2026-01-01 00:00", v(0), "")
	checkPoint(t, m1, loc, "2026-02-01 00:00", v(50), "")
	checkPoint(t, m1, loc, "2026-03-01 00:00", v(100), "")
	checkPoint(t, m1, loc, "2026-04-01 00:00", nil, "cohort period 1 is not over (it ends 2026-06-01)")

	m2 := series(t, e, defs, "m2", timegrain.Month, "2026-01-01", "2026-04-30")
	checkPoint(t, m2, loc, "2026-01-01 00:00", v(100), "")
	checkPoint(t, m2, loc, "2026-02-01 00:00", v(50), "")
	checkPoint(t, m2, loc, "2026-03-01 00:00", nil, "cohort period 2 is not over (it ends 2026-06-01)")

	// Cohorts that are not over are pending, and the current value is that
	// of the latest cohort that is over.
	last := m2.Points[len(m2.Points)-1]
	if last.Status != kpi.Pending {
		t.Errorf("April's month-2 status = %s, want %s", last.Status, kpi.Pending)
	}
	if cur := m2.Current(); cur == nil || !cur.Start.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, loc)) {
		t.Errorf("current point = %+v, want February's", cur)
	}
}

func TestRetentionEmptyMonthIsZero(t *testing.T) {
	e, defs, loc := newMonthlyEngine(t)

	// January's users are all back in March but none in February: month 1
	// is 0 %, a value, and month 2 is still counted as month 2.
	m1 := series(t, e, defs, "m1", timegrain.Month, "2026-01-01", "2026-03-31")
	p := checkPoint(t, m1, loc, "2026-01-01 00:00", v(0), "")
	if p.Status == kpi.NoData {
		t.Errorf("m1 January status = no data, want a value of 0 %%")
	}
	if p.Details["cohort_size"] != 2 || p.Details["retained"] != 0 {
		t.Errorf("m1 January details = %v, want cohort_size 2 and retained 0", p.Details)
	}

	table, err := e.Cohorts(context.Background(), defs, "m1", Range{From: date("2026-01-01"), To: date("2026-01-31")})
	if err != nil {
		t.Fatal(err)
	}
	// The table ends at the end of January, so only period 0 is over.
	if len(table.Cohorts) != 1 || len(table.Cohorts[0].Retained) != 1 {
		t.Fatalf("cohorts to January 31 = %+v, want one cohort with period 0 only", table.Cohorts)
	}
}

func TestRetentionEmptyCohort(t *testing.T) {
	e, defs, loc := newMonthlyEngine(t)

	m1 := series(t, e, defs, "m1", timegrain.Month, "2026-04-01", "2026-06-30")
	checkPoint(t, m1, loc, "2026-04-01 00:00", nil, "no users in this cohort")
	checkPoint(t, m1, loc, "2026-05-01 00:00", nil, "no users in this cohort")
	checkPoint(t, m1, loc, "2026-06-01 00:00", nil, "cohort period 1 is not over (it ends 2026-08-01)")
}

func TestRetentionOffsetZero(t *testing.T) {
	e, defs, loc := newMonthlyEngine(t)

	// The signup itself is a return when any event counts.
	m0 := series(t, e, defs, "m0", timegrain.Month, "2026-01-01", "2026-03-31")
	for _, month := range []string{"2026-01-01 00:00", "2026-02-01 00:00", "2026-03-01 00:00"} {
		checkPoint(t, m0, loc, month, v(100), "")
	}

	// With a named return event, ben's visit the day before his signup does
	// not count, and dan never visits after his signup.
	visit := series(t, e, defs, "m0_visit", timegrain.Month, "2026-01-01", "2026-03-31")
	checkPoint(t, visit, loc, "2026-01-01 00:00", v(50), "")
	checkPoint(t, visit, loc, "2026-02-01 00:00", v(0), "")
	checkPoint(t, visit, loc, "2026-03-01 00:00", v(0), "")
}

func TestRetentionCohortFilters(t *testing.T) {
	e, defs, loc := newMonthlyEngine(t)

	// Pro cohorts: ben in January, cat in February, ann in March (her first
	// pro signup, though she signed up on the free plan in January).
	m1 := series(t, e, defs, "m1_pro", timegrain.Month, "2026-01-01", "2026-04-30")
	checkPoint(t, m1, loc, "2026-01-01 00:00", v(0), "")
	checkPoint(t, m1, loc, "2026-02-01 00:00", v(100), "")
	p := checkPoint(t, m1, loc, "2026-03-01 00:00", v(0), "")
	if p.Details["cohort_size"] != 1 {
		t.Errorf("m1_pro March cohort size = %v, want 1 (ann)", p.Details["cohort_size"])
	}
}

func TestRetentionBaselineUsesLaterData(t *testing.T) {
	e, defs, loc := newMonthlyEngine(t)

	// The series ends in January, before January's month 2 is over, but the
	// baseline is computed with what is known now: 100 %.
	s := series(t, e, defs, "m2_from_baseline", timegrain.Month, "2026-01-01", "2026-01-31")
	checkPoint(t, s, loc, "2026-01-01 00:00", nil, "cohort period 2 is not over (it ends 2026-04-01)")
	if s.Baseline == nil || s.Baseline.Value != 100 {
		t.Fatalf("baseline = %+v, want 100", s.Baseline)
	}
	if s.Goal == nil {
		t.Fatal("goal = nil, want 110")
	}
	checkFloat(t, "goal", &s.Goal.Value, v(110))
}

func TestCohortTable(t *testing.T) {
	e, defs, loc := newMonthlyEngine(t)

	table, err := e.Cohorts(context.Background(), defs, "m1", Range{From: date("2026-01-01"), To: date("2026-04-30")})
	if err != nil {
		t.Fatal(err)
	}

	type row struct {
		start   string
		size    int64
		users   []int64
		percent []*float64
	}
	wants := []row{
		{"2026-01-01 00:00", 2, []int64{2, 0, 2, 1}, []*float64{v(100), v(0), v(100), v(50)}},
		{"2026-02-01 00:00", 2, []int64{2, 1, 1}, []*float64{v(100), v(50), v(50)}},
		{"2026-03-01 00:00", 1, []int64{1, 1}, []*float64{v(100), v(100)}},
		{"2026-04-01 00:00", 0, []int64{0}, []*float64{nil}},
	}
	if table.Periods != 4 {
		t.Errorf("periods = %d, want 4 (January's periods 0 to 3)", table.Periods)
	}
	if table.Grain != timegrain.Month || table.Mode != kpi.CalendarRetention || table.Offset != 1 {
		t.Errorf("grain/mode/offset = %s/%s/%d, want month/calendar/1", table.Grain, table.Mode, table.Offset)
	}
	if len(table.Cohorts) != len(wants) {
		t.Fatalf("got %d cohorts, want %d", len(table.Cohorts), len(wants))
	}
	for i, w := range wants {
		got := table.Cohorts[i]
		if !got.Start.Equal(wall(t, loc, w.start)) {
			t.Errorf("cohort %d starts %s, want %s", i, got.Start, w.start)
		}
		if got.Size != w.size {
			t.Errorf("cohort %s size = %d, want %d", w.start, got.Size, w.size)
		}
		if len(got.Retained) != len(w.users) {
			t.Errorf("cohort %s has %d periods, want %d", w.start, len(got.Retained), len(w.users))
			continue
		}
		for k := range w.users {
			if got.Retained[k].Period != k || got.Retained[k].Users != w.users[k] {
				t.Errorf("cohort %s period %d: %+v, want %d users", w.start, k, got.Retained[k], w.users[k])
			}
			checkFloat(t, fmt.Sprintf("cohort %s period %d percent", w.start, k), got.Retained[k].Percent, w.percent[k])
		}
	}
}

func TestCohortsErrors(t *testing.T) {
	e, defs, _ := newMonthlyEngine(t)
	ctx := context.Background()

	_, err := e.Cohorts(ctx, defs, "visits", Range{})
	if kpi.ErrorCode(err) != kpi.EINVALID || !strings.Contains(kpi.ErrorMessage(err), "retention KPIs only") {
		t.Errorf("Cohorts(visits) error = %v, want EINVALID naming retention KPIs", err)
	}
	_, err = e.Cohorts(ctx, defs, "nope", Range{})
	if kpi.ErrorCode(err) != kpi.ENOTFOUND {
		t.Errorf("Cohorts(nope) error = %v, want ENOTFOUND", err)
	}
	_, err = e.FunnelSteps(ctx, defs, "m1", Range{})
	if kpi.ErrorCode(err) != kpi.EINVALID || !strings.Contains(kpi.ErrorMessage(err), "funnel KPIs only") {
		t.Errorf("FunnelSteps(m1) error = %v, want EINVALID naming funnel KPIs", err)
	}
}

func TestRetentionUnknownCohortEvent(t *testing.T) {
	kpis := `  - id: typo
    name: Retention on a misspelt event
    metric: {kind: retention, cohort_event: sign_up, return_event: vist, offset: 1}
`
	e, defs := newActivityEngine(t, kpiFile("America/New_York", "monday", kpis), "2026-07-10 12:00", monthlyActivity)
	loc := defs.Workspace.Location

	s := series(t, e, defs, "typo", timegrain.Month, "2026-01-01", "2026-03-31")
	checkPoint(t, s, loc, "2026-01-01 00:00", nil, "no users in this cohort")

	got := strings.Join(s.Warnings, "; ")
	for _, want := range []string{
		`no "sign_up" events to form cohorts with, and none in the database (known events: signup, visit)`,
		`no "vist" events to count returns with, and none in the database (known events: signup, visit)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings = %q, want %q", got, want)
		}
	}

	table, err := e.Cohorts(context.Background(), defs, "typo", Range{From: date("2026-01-01"), To: date("2026-03-31")})
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Warnings) == 0 {
		t.Error("the cohort table has no warning about the unknown event")
	}
}

// A time zone east of UTC: 01:30 in Tokyo on January 6 is still January 5 in
// UTC. Day-1 retention and a daily count agree that it is January 6.
func TestRetentionEastOfUTC(t *testing.T) {
	kpis := `  - id: d1
    name: Day 1 retention
    grain: day
    metric: {kind: retention, cohort_event: signup, offset: 1}
  - id: visits
    name: Visits
    grain: day
    metric: {kind: count, event: visit}
`
	events := []activity{
		{"signup", "kai", "2026-01-05 10:00", nil},
		{"signup", "lin", "2026-01-05 20:00", nil},
		{"visit", "lin", "2026-01-05 23:00", nil},
		{"visit", "kai", "2026-01-06 01:30", nil}, // 2026-01-05 16:30 UTC
	}
	e, defs := newActivityEngine(t, kpiFile("Asia/Tokyo", "monday", kpis), "2026-01-20 12:00", events)
	loc := defs.Workspace.Location
	if got := wall(t, loc, "2026-01-06 01:30").UTC().Format(time.DateOnly); got != "2026-01-05" {
		t.Fatalf("test data: kai's visit is on %s in UTC, want 2026-01-05", got)
	}

	d1 := series(t, e, defs, "d1", timegrain.Day, "2026-01-05", "2026-01-10")
	checkPoint(t, d1, loc, "2026-01-05 00:00", v(50), "")

	visits := series(t, e, defs, "visits", timegrain.Day, "2026-01-05", "2026-01-10")
	checkPoint(t, visits, loc, "2026-01-05 00:00", v(1), "")
	checkPoint(t, visits, loc, "2026-01-06 00:00", v(1), "")
}

// sue signs up on Sunday January 11 and is back on Monday; tom signs up on
// Saturday January 10 and is back on Sunday.
func TestRetentionWeekStart(t *testing.T) {
	kpis := `  - id: w1
    name: Week 1 retention
    grain: week
    metric: {kind: retention, cohort_event: signup, offset: 1}
`
	events := []activity{
		{"signup", "tom", "2026-01-10 12:00", nil},
		{"visit", "tom", "2026-01-11 10:00", nil},
		{"signup", "sue", "2026-01-11 15:00", nil},
		{"visit", "sue", "2026-01-12 09:00", nil},
	}

	t.Run("monday", func(t *testing.T) {
		// One cohort, the week of Monday January 5; week 1 holds sue's visit.
		e, defs := newActivityEngine(t, kpiFile("America/New_York", "monday", kpis), "2026-02-10 12:00", events)
		loc := defs.Workspace.Location
		s := series(t, e, defs, "w1", timegrain.Week, "2026-01-05", "2026-01-25")
		checkPoint(t, s, loc, "2026-01-05 00:00", v(50), "")
		checkPoint(t, s, loc, "2026-01-12 00:00", nil, "no users in this cohort")
	})
	t.Run("sunday", func(t *testing.T) {
		// tom's cohort is the week of Sunday January 4, and he is back in the
		// week of January 11; sue's cohort is that week, and she is not back
		// in the week of January 18.
		e, defs := newActivityEngine(t, kpiFile("America/New_York", "sunday", kpis), "2026-02-10 12:00", events)
		loc := defs.Workspace.Location
		s := series(t, e, defs, "w1", timegrain.Week, "2026-01-04", "2026-01-24")
		checkPoint(t, s, loc, "2026-01-04 00:00", v(100), "")
		checkPoint(t, s, loc, "2026-01-11 00:00", v(0), "")
	})
}

// retentionModeKPIs are day 0 and day 1 retention, by calendar day and in
// 24-hour periods.
const retentionModeKPIs = `  - id: d1
    name: Day 1 retention
    grain: day
    metric: {kind: retention, cohort_event: signup, offset: 1}
  - id: d1_rolling
    name: Day 1 retention, 24-hour periods
    grain: day
    metric: {kind: retention, cohort_event: signup, offset: 1, mode: rolling}
  - id: d0_visit
    name: Visited on the signup day
    grain: day
    metric: {kind: retention, cohort_event: signup, return_event: visit, offset: 0}
  - id: d0_visit_rolling
    name: Visited within 24 hours of signup
    grain: day
    metric: {kind: retention, cohort_event: signup, return_event: visit, offset: 0, mode: rolling}
`

// On 2026-03-08 New York's clocks skip from 02:00 to 03:00, so the day lasts
// 23 hours.
func TestRetentionDSTDay(t *testing.T) {
	events := []activity{
		// 00:30 EDT on March 9 is 04:30 UTC, before 05:00 UTC, 24 hours
		// after March 8 began: calendar day 1, and only 14.5 hours later.
		{"signup", "uma", "2026-03-08 10:00", nil},
		{"visit", "uma", "2026-03-09 00:30", nil},
		// 24.5 hours later: day 1 either way.
		{"signup", "vic", "2026-03-08 01:30", nil},
		{"visit", "vic", "2026-03-09 03:00", nil},
		// March 9 00:15 EDT is 23 hours and 15 minutes after March 8 began.
		{"signup", "wes", "2026-03-09 00:15", nil},
	}
	e, defs := newActivityEngine(t, kpiFile("America/New_York", "monday", retentionModeKPIs), "2026-03-20 12:00", events)
	loc := defs.Workspace.Location

	d1 := series(t, e, defs, "d1", timegrain.Day, "2026-03-08", "2026-03-12")
	p := checkPoint(t, d1, loc, "2026-03-08 00:00", v(100), "")
	if hours := p.End.Sub(p.Start).Hours(); hours != 23 {
		t.Errorf("March 8 lasts %g hours, want 23", hours)
	}
	if p.Details["cohort_size"] != 2 {
		t.Errorf("March 8 cohort size = %v, want 2 (uma and vic; wes signed up on March 9)", p.Details["cohort_size"])
	}
	checkPoint(t, d1, loc, "2026-03-09 00:00", v(0), "")

	rolling := series(t, e, defs, "d1_rolling", timegrain.Day, "2026-03-08", "2026-03-12")
	checkPoint(t, rolling, loc, "2026-03-08 00:00", v(50), "")

	table, err := e.Cohorts(context.Background(), defs, "d1", Range{From: date("2026-03-08"), To: date("2026-03-09")})
	if err != nil {
		t.Fatal(err)
	}
	if got := table.Cohorts[0]; got.Size != 2 || len(got.Retained) < 2 || got.Retained[1].Users != 2 {
		t.Errorf("March 8 cohort = %+v, want size 2 and 2 users back on day 1", got)
	}
}

// A signup at 23:45 and a visit at 00:01 are on calendar days 0 and 1, but
// both in the first 24-hour period.
func TestRetentionMidnight(t *testing.T) {
	events := []activity{
		{"signup", "xia", "2026-01-05 23:45", nil},
		{"visit", "xia", "2026-01-06 00:01", nil},
		{"signup", "yan", "2026-01-05 08:00", nil},
		{"visit", "yan", "2026-01-06 09:00", nil}, // 25 hours later
	}
	e, defs := newActivityEngine(t, kpiFile("America/New_York", "monday", retentionModeKPIs), "2026-01-20 12:00", events)
	loc := defs.Workspace.Location

	tests := []struct {
		id   string
		want float64
	}{
		{"d1", 100},              // both are back on January 6
		{"d1_rolling", 50},       // only yan is back 24 to 48 hours after signing up
		{"d0_visit", 0},          // nobody visited on January 5
		{"d0_visit_rolling", 50}, // xia visited 16 minutes after signing up
	}
	for _, tt := range tests {
		s := series(t, e, defs, tt.id, timegrain.Day, "2026-01-05", "2026-01-10")
		checkPoint(t, s, loc, "2026-01-05 00:00", v(tt.want), "")
	}

	table, err := e.Cohorts(context.Background(), defs, "d1_rolling", Range{From: date("2026-01-05"), To: date("2026-01-05")})
	if err != nil {
		t.Fatal(err)
	}
	// The table ends at midnight on January 6: the latest user of January 5
	// could sign up at 23:59, so not even 24-hour period 0 is over.
	if got := table.Cohorts[0]; got.Size != 2 || len(got.Retained) != 0 {
		t.Errorf("January 5 rolling cohort to January 5 = %+v, want size 2 and no period over", got)
	}
}

// Day-1 retention by month pools the daily cohorts of the month, each user
// followed from their own signup day.
func TestRetentionPooledByMonth(t *testing.T) {
	kpis := `  - id: d1_monthly
    name: Day 1 retention by month
    grain: month
    metric: {kind: retention, cohort_event: signup, period: day, offset: 1}
`
	events := []activity{
		{"signup", "a1", "2026-01-10 12:00", nil},
		{"visit", "a1", "2026-01-11 09:00", nil},
		{"signup", "a2", "2026-01-31 20:00", nil},
		{"visit", "a2", "2026-02-01 08:00", nil},
		{"signup", "a3", "2026-01-20 12:00", nil},
		{"visit", "a3", "2026-01-22 09:00", nil},
	}
	e, defs := newActivityEngine(t, kpiFile("America/New_York", "monday", kpis), "2026-03-10 12:00", events)
	loc := defs.Workspace.Location

	s := series(t, e, defs, "d1_monthly", timegrain.Month, "2026-01-01", "2026-02-28")
	checkPoint(t, s, loc, "2026-01-01 00:00", v(200.0/3), "")
	// The last signup day of February could be February 28, whose next day
	// is not over when the series ends.
	checkPoint(t, s, loc, "2026-02-01 00:00", nil, "cohort period 1 is not over (it ends 2026-03-02)")

	// Up to January 31, the day after a signup on January 31 is not over.
	s = series(t, e, defs, "d1_monthly", timegrain.Month, "2026-01-01", "2026-01-31")
	checkPoint(t, s, loc, "2026-01-01 00:00", nil, "cohort period 1 is not over (it ends 2026-02-02)")
}

// Rolling weeks and months last 7×24 and 30×24 hours from the first event.
func TestRetentionRollingWeekAndMonth(t *testing.T) {
	kpis := `  - id: w1
    name: Week 1 retention
    grain: week
    metric: {kind: retention, cohort_event: signup, offset: 1}
  - id: w1_rolling
    name: Week 1 retention, 7-day periods
    grain: week
    metric: {kind: retention, cohort_event: signup, offset: 1, mode: rolling}
  - id: m1
    name: Month 1 retention
    grain: month
    metric: {kind: retention, cohort_event: signup, offset: 1}
  - id: m1_rolling
    name: Month 1 retention, 30-day periods
    grain: month
    metric: {kind: retention, cohort_event: signup, offset: 1, mode: rolling}
`
	events := []activity{
		// Monday 10:00, back the next Monday at 09:00: calendar week 1, but
		// 6 days and 23 hours later, so still in the first 7-day period.
		{"signup", "ada", "2026-01-05 10:00", nil},
		{"visit", "ada", "2026-01-12 09:00", nil},
		// January 31, back on March 2 at 12:00: calendar month 2, but 30
		// days and 2 hours later, so in 30-day period 1.
		{"signup", "bo", "2026-01-31 10:00", nil},
		{"visit", "bo", "2026-03-02 12:00", nil},
	}
	e, defs := newActivityEngine(t, kpiFile("America/New_York", "monday", kpis), "2026-06-01 12:00", events)
	loc := defs.Workspace.Location

	w1 := series(t, e, defs, "w1", timegrain.Week, "2026-01-05", "2026-01-25")
	checkPoint(t, w1, loc, "2026-01-05 00:00", v(100), "")
	w1Rolling := series(t, e, defs, "w1_rolling", timegrain.Week, "2026-01-05", "2026-01-25")
	checkPoint(t, w1Rolling, loc, "2026-01-05 00:00", v(0), "")

	m1 := series(t, e, defs, "m1", timegrain.Month, "2026-01-01", "2026-04-30")
	checkPoint(t, m1, loc, "2026-01-01 00:00", v(0), "")
	// January's cohort is ada and bo, and only bo is back 30 to 60 days on.
	m1Rolling := series(t, e, defs, "m1_rolling", timegrain.Month, "2026-01-01", "2026-04-30")
	checkPoint(t, m1Rolling, loc, "2026-01-01 00:00", v(50), "")
}
