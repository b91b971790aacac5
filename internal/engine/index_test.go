package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// indexKPIs uses every metric kind that reads events, with filters the
// index answers (eq, neq, in on a dimension) and one it does not (gt).
const indexKPIs = `workspace:
  name: Index
  time_zone: %s
  week_start: %s
metrics:
  purchases: {kind: count, event: purchase}
  buyers: {kind: unique_users, event: purchase}
kpis:
  - {id: signups, name: Signups, metric: {kind: count, event: signup}}
  - {id: pro_purchases, name: Pro purchases, metric: {kind: count, event: purchase, where: {plan: pro}}}
  - {id: non_pro_buyers, name: Non-pro buyers, metric: {kind: unique_users, event: purchase, where: {plan: {neq: pro}}}}
  - {id: eu_buyers, name: EU buyers, metric: {kind: unique_users, event: purchase, where: {country: {in: [de, fr]}}}}
  - {id: big_orders, name: Big orders, metric: {kind: count, event: purchase, where: {amount: {gt: 50}}}}
  - {id: visitors, name: Visitors, metric: {kind: unique_users, event: visit}}
  - {id: revenue, name: Revenue, metric: {kind: sum, event: purchase, property: amount}}
  - {id: pro_revenue, name: Pro revenue, metric: {kind: sum, event: purchase, property: amount, where: {plan: pro}}}
  - {id: basket, name: Average basket, metric: {kind: average, event: purchase, property: amount}}
  - {id: conversion, name: Conversion, unit: "%%", metric: {kind: formula, formula: "buyers / visitors * 100"}}
  - {id: per_buyer, name: Purchases per buyer, metric: {kind: formula, formula: "purchases / buyers"}}
  - {id: dau, name: DAU, metric: {kind: active_users, event: visit, window: 1}}
  - {id: wau_any, name: WAU, metric: {kind: active_users, window: 7}}
  - {id: mau, name: MAU, metric: {kind: active_users, event: visit, window: 30}}
  - {id: pro_mau, name: Pro MAU, metric: {kind: active_users, event: visit, window: 30, where: {plan: pro}}}
  - {id: stickiness, name: Stickiness, unit: "%%", metric: {kind: stickiness, event: visit}}
  - {id: new_users, name: New users, metric: {kind: new_users, event: visit}}
  - {id: churn, name: Churn, unit: "%%", metric: {kind: churn, event: visit}}
  - {id: retention_w1, name: Week 1 retention, unit: "%%", metric: {kind: retention, cohort_event: signup, period: week, offset: 1}}
  - {id: retention_m1, name: Month 1 retention, unit: "%%", metric: {kind: retention, cohort_event: signup, return_event: purchase, period: month, offset: 1}}
  - {id: retention_d0, name: Day 0 retention, unit: "%%", metric: {kind: retention, cohort_event: signup, period: day, offset: 0}}
  - {id: retention_d7, name: Day 7 retention, unit: "%%", metric: {kind: retention, cohort_event: signup, return_event: visit, period: day, offset: 7}}
  - {id: retention_pro_visits, name: Pro visit retention, unit: "%%", metric: {kind: retention, cohort_event: visit, return_event: visit, period: month, offset: 1, where: {plan: pro}}}
  - {id: retention_big_orders, name: Big order retention, unit: "%%", metric: {kind: retention, cohort_event: purchase, period: week, offset: 1, where: {amount: {gt: 50}}}}
  - {id: retention_rolling, name: Rolling retention, unit: "%%", metric: {kind: retention, cohort_event: signup, period: week, offset: 1, mode: rolling}}
  - {id: funnel, name: Funnel, unit: "%%", metric: {kind: funnel, steps: [signup, visit, purchase], window: 7}}
  - {id: funnel_same_day, name: Same-day funnel, unit: "%%", metric: {kind: funnel, steps: [visit, purchase], window: 1}}
  - {id: funnel_pro, name: Pro funnel, unit: "%%", metric: {kind: funnel, steps: [signup, purchase], window: 14, where: {plan: pro}}}
  - {id: funnel_repeat, name: Repeat funnel, unit: "%%", metric: {kind: funnel, steps: [visit, visit, purchase], window: 7}}
  - {id: funnel_big, name: Big order funnel, unit: "%%", metric: {kind: funnel, steps: [signup, purchase], window: 7, where: {amount: {gt: 50}}}}
  - {id: nps, name: NPS, metric: {kind: nps, event: survey, property: score}}
`

// indexStart is the first day of the generated events.
var indexStart = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// generateEvents returns n deterministic events of users over days: a
// signup on each user's first day, then visits and purchases that thin out
// after it, and a few surveys. Timestamps spread over the whole day, so
// days in other time zones cut through them.
func generateEvents(seed uint64, n, users, days int) []store.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	plans := []string{"free", "pro", "team"}
	countries := []any{"de", "fr", "us", "in", 7.0, nil}
	firstDay := make([]int, users)
	events := make([]store.Event, 0, n)
	for u := range users {
		firstDay[u] = r.IntN(days)
		ts := indexStart.Add(time.Duration(firstDay[u])*24*time.Hour + time.Duration(r.Int64N(int64(24*time.Hour))))
		events = append(events, store.Event{Name: "signup", DistinctID: fmt.Sprint("u", u), Timestamp: ts,
			Properties: map[string]any{"plan": plans[r.IntN(3)]}})
	}
	for len(events) < n {
		u := r.IntN(users)
		day := firstDay[u] + int(r.ExpFloat64()*15)
		if day >= days {
			continue
		}
		ts := indexStart.Add(time.Duration(day)*24*time.Hour + time.Duration(r.Int64N(int64(24*time.Hour))))
		props := map[string]any{"plan": plans[u%3]}
		if c := countries[r.IntN(len(countries))]; c != nil {
			props["country"] = c
		}
		name := "visit"
		switch x := r.IntN(100); {
		case x < 20:
			name = "purchase"
			if x > 0 {
				props["amount"] = float64(r.IntN(10000)) / 100
			}
		case x < 22:
			name = "survey"
			props["score"] = float64(r.IntN(11))
		}
		events = append(events, store.Event{Name: name, DistinctID: fmt.Sprint("u", u), Timestamp: ts, Properties: props})
	}
	for i := range events {
		events[i].Source, events[i].MessageID = "gen", fmt.Sprint("e", i)
	}
	return events
}

// scanCounter counts the scans of every stored event, which only a rebuild
// of the index does.
type scanCounter struct {
	*sqlite.DB
	fullScans int
}

func (s *scanCounter) ScanEvents(ctx context.Context, q store.ScanQuery, fn func(store.EventRow) error) error {
	if q.AfterID == 0 && q.From.IsZero() && q.To.IsZero() && len(q.Events) == 0 {
		s.fullScans++
	}
	return s.DB.ScanEvents(ctx, q, fn)
}

func openIndexDB(t *testing.T, path string, events []store.Event) *scanCounter {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	for len(events) > 0 {
		n := min(len(events), 5000)
		if _, err := db.InsertEvents(context.Background(), events[:n]); err != nil {
			t.Fatalf("insert events: %v", err)
		}
		events = events[n:]
	}
	return &scanCounter{DB: db}
}

func parseIndexKPIs(t *testing.T, zone, weekStart string) *kpi.Definitions {
	t.Helper()
	defs, err := kpi.Parse("index.yaml", []byte(fmt.Sprintf(indexKPIs, zone, weekStart)))
	if err != nil {
		t.Fatalf("parse KPIs: %v", err)
	}
	return defs
}

// indexedKinds are the KPIs the index must answer itself.
var indexedKinds = map[string]bool{
	"signups": true, "pro_purchases": true, "non_pro_buyers": true, "eu_buyers": true, "visitors": true,
	"revenue": true, "pro_revenue": true, "basket": true, "conversion": true, "per_buyer": true,
	"dau": true, "wau_any": true, "mau": true, "pro_mau": true, "stickiness": true, "new_users": true,
	"churn": true, "retention_w1": true, "retention_m1": true, "retention_d0": true, "retention_d7": true,
	"retention_pro_visits": true, "funnel": true, "funnel_same_day": true, "funnel_pro": true,
}

// indexedCohorts are the retention KPIs whose cohort tables the index must
// compute itself. A return event other than the cohort event needs the time
// of day in period 0, and rolling mode in every period, so those KPIs and a
// range filter take the store's path.
var indexedCohorts = map[string]bool{
	"retention_w1": true, "retention_d0": true, "retention_pro_visits": true,
	"retention_m1": false, "retention_d7": false, "retention_big_orders": false, "retention_rolling": false,
}

func TestIndexCohortsMatchStore(t *testing.T) {
	events := generateEvents(7, 20000, 1000, 120)
	db := openIndexDB(t, filepath.Join(t.TempDir(), "index.db"), events)
	ctx := context.Background()

	// The same zones, week starts and clocks as TestIndexMatchesStore: a clock
	// inside a day makes the last cohort partial and cut inside its day.
	configs := []struct {
		zone, weekStart string
		midDay          bool
	}{
		{"UTC", "monday", false}, {"UTC", "sunday", true},
		{"America/New_York", "monday", true}, {"America/New_York", "sunday", false},
		{"Asia/Kolkata", "monday", true}, {"Asia/Kolkata", "sunday", false},
	}
	for _, c := range configs {
		defs := parseIndexKPIs(t, c.zone, c.weekStart)
		ix := NewActivityIndex(db, defs.Workspace.Location, DeclaredFor(defs), nil)
		if err := ix.Rebuild(ctx); err != nil {
			t.Fatalf("rebuild: %v", err)
		}
		now := time.Date(2026, time.April, 30, 0, 0, 0, 0, defs.Workspace.Location)
		if c.midDay {
			now = time.Date(2026, time.April, 17, 15, 37, 0, 0, defs.Workspace.Location)
		}
		plain := New(db, func() time.Time { return now })
		indexed := NewWithIndex(db, ix, func() time.Time { return now })

		// One range starts with the data, the other after it, so its first
		// cohorts miss the users whose first event came before the range.
		for _, from := range []time.Time{
			time.Date(2026, time.January, 1, 0, 0, 0, 0, defs.Workspace.Location),
			time.Date(2026, time.February, 10, 0, 0, 0, 0, defs.Workspace.Location),
		} {
			r := Range{From: timegrain.DateOf(from)}
			for id, wantIndexed := range indexedCohorts {
				name := fmt.Sprintf("%s/%s/%s/%s/%s", c.zone, c.weekStart, now.Format("0102T1504"), from.Format("0102"), id)
				want, err := plain.Cohorts(ctx, defs, id, r)
				if err != nil {
					t.Fatalf("%s: store: %v", name, err)
				}
				got, err := indexed.Cohorts(ctx, defs, id, r)
				if err != nil {
					t.Fatalf("%s: index: %v", name, err)
				}
				if want.Path != PathSQL {
					t.Errorf("%s: plain engine path = %q, want sql", name, want.Path)
				}
				wantPath := PathSQL
				if wantIndexed {
					wantPath = PathIndex
				}
				if got.Path != wantPath {
					t.Errorf("%s: path = %q, want %q", name, got.Path, wantPath)
				}
				compareCohorts(t, name, want, got)
			}
		}
	}
}

// compareCohorts requires equal cohort tables but for their paths.
func compareCohorts(t *testing.T, name string, want, got *CohortTable) {
	t.Helper()
	w, g := *want, *got
	w.Path, g.Path, w.Cohorts, g.Cohorts = "", "", nil, nil
	if !reflect.DeepEqual(w, g) {
		t.Errorf("%s: table = %+v, want %+v", name, g, w)
	}
	if len(want.Cohorts) != len(got.Cohorts) {
		t.Fatalf("%s: %d cohorts, want %d", name, len(got.Cohorts), len(want.Cohorts))
	}
	filled := 0
	for i := range want.Cohorts {
		if !reflect.DeepEqual(want.Cohorts[i], got.Cohorts[i]) {
			t.Errorf("%s: cohort %d = %s, want %s", name, i, showRow(got.Cohorts[i]), showRow(want.Cohorts[i]))
		}
		for _, cell := range want.Cohorts[i].Retained {
			if cell.Period > 0 && cell.Users > 0 {
				filled++
			}
		}
	}
	if filled == 0 {
		t.Errorf("%s: no user back after period 0, so the table tests little", name)
	}
}

func showRow(row CohortRow) string {
	s := fmt.Sprintf("{%s %s partial=%v size=%d", row.Start.Format(time.RFC3339), row.End.Format(time.RFC3339), row.Partial, row.Size)
	for _, c := range row.Retained {
		s += fmt.Sprintf(" %d:%d/%s", c.Period, c.Users, show(c.Percent))
	}
	return s + "}"
}

func TestIndexMatchesStore(t *testing.T) {
	events := generateEvents(42, 20000, 1000, 120)
	db := openIndexDB(t, filepath.Join(t.TempDir(), "index.db"), events)
	ctx := context.Background()

	// Each zone runs with both week starts. A clock inside a day makes the
	// last periods partial, cut at an instant the index answers from a scan
	// of that day; the other clock is at midnight.
	configs := []struct {
		zone, weekStart string
		midDay          bool
	}{
		{"UTC", "monday", false}, {"UTC", "sunday", true},
		{"America/New_York", "monday", true}, {"America/New_York", "sunday", false},
		{"Asia/Kolkata", "monday", true}, {"Asia/Kolkata", "sunday", false},
	}
	for ci, c := range configs {
		zone, weekStart := c.zone, c.weekStart
		{
			defs := parseIndexKPIs(t, zone, weekStart)
			ix := NewActivityIndex(db, defs.Workspace.Location, DeclaredFor(defs), nil)
			if err := ix.Rebuild(ctx); err != nil {
				t.Fatalf("rebuild: %v", err)
			}

			now := time.Date(2026, time.April, 30, 0, 0, 0, 0, defs.Workspace.Location)
			if c.midDay {
				now = time.Date(2026, time.April, 17, 15, 37, 0, 0, defs.Workspace.Location)
			}
			{
				plain := New(db, func() time.Time { return now })
				indexed := NewWithIndex(db, ix, func() time.Time { return now })
				for _, grain := range []timegrain.Grain{timegrain.Day, timegrain.Week, timegrain.Month, timegrain.Quarter} {
					r := Range{From: timegrain.DateOf(time.Date(2026, time.January, 1, 0, 0, 0, 0, defs.Workspace.Location))}
					if grain == timegrain.Day {
						r.From = timegrain.DateOf(time.Date(2026, time.March, 1, 0, 0, 0, 0, defs.Workspace.Location))
					}
					for _, k := range defs.KPIs {
						// The kinds the store answers either way run once.
						if !indexedKinds[k.ID] && ci > 0 {
							continue
						}
						name := fmt.Sprintf("%s/%s/%s/%s/%s", zone, weekStart, now.Format("0102T1504"), grain, k.ID)
						want, wantErr := plain.Series(ctx, defs, k.ID, grain, r)
						got, gotErr := indexed.Series(ctx, defs, k.ID, grain, r)
						if (wantErr != nil) != (gotErr != nil) {
							t.Errorf("%s: error %v from the store, %v from the index", name, wantErr, gotErr)
							continue
						}
						if wantErr != nil {
							continue
						}
						if want.Path != PathSQL {
							t.Errorf("%s: plain engine path = %q, want sql", name, want.Path)
						}
						wantPath := PathSQL
						if indexedKinds[k.ID] {
							wantPath = PathIndex
						}
						if got.Path != wantPath {
							t.Errorf("%s: path = %q, want %q", name, got.Path, wantPath)
						}
						compareSeries(t, name, want, got)
					}
				}
				compareFunnelSteps(t, fmt.Sprintf("%s/%s/%s", zone, weekStart, now.Format("0102T1504")), defs, plain, indexed)
			}
		}
	}
}

// indexedFunnels are the funnel KPIs whose step reports the index must
// compute itself: a repeated step and a range filter take the store's path.
var indexedFunnels = map[string]bool{"funnel": true, "funnel_same_day": true, "funnel_pro": true, "funnel_repeat": false, "funnel_big": false}

// compareFunnelSteps requires equal funnel step reports from the store and
// the index, over a range that starts with the data and one that starts
// after it.
func compareFunnelSteps(t *testing.T, label string, defs *kpi.Definitions, plain, indexed *Engine) {
	t.Helper()
	ctx := context.Background()
	loc := defs.Workspace.Location
	for _, from := range []time.Time{
		time.Date(2026, time.January, 1, 0, 0, 0, 0, loc),
		time.Date(2026, time.February, 10, 0, 0, 0, 0, loc),
	} {
		for id, wantIndexed := range indexedFunnels {
			name := fmt.Sprintf("%s/%s/%s steps", label, from.Format("0102"), id)
			r := Range{From: timegrain.DateOf(from)}
			want, err := plain.FunnelSteps(ctx, defs, id, r)
			if err != nil {
				t.Fatalf("%s: store: %v", name, err)
			}
			got, err := indexed.FunnelSteps(ctx, defs, id, r)
			if err != nil {
				t.Fatalf("%s: index: %v", name, err)
			}
			wantPath := PathSQL
			if wantIndexed {
				wantPath = PathIndex
			}
			if want.Path != PathSQL || got.Path != wantPath {
				t.Errorf("%s: paths = %q and %q, want sql and %q", name, want.Path, got.Path, wantPath)
			}
			// Signups have no amount, so no user enters funnel_big. It
			// checks the path and the warnings.
			if id != "funnel_big" && (want.Completed == 0 || want.Dropped == 0) {
				t.Errorf("%s: %d completed and %d dropped, so the report tests little", name, want.Completed, want.Dropped)
			}
			w, g := *want, *got
			w.Path, g.Path = "", ""
			if !reflect.DeepEqual(w, g) {
				t.Errorf("%s: report = %s, want %s", name, showFunnel(g), showFunnel(w))
			}
		}
	}
}

func showFunnel(r FunnelReport) string {
	s := fmt.Sprintf("{entered=%d completed=%d in_progress=%d dropped=%d conversion=%s warnings=%q",
		r.Entered, r.Completed, r.InProgress, r.Dropped, show(r.Conversion), r.Warnings)
	for _, st := range r.Steps {
		s += fmt.Sprintf(" %d:%s users=%d ip=%d dropped=%d prev=%s first=%s", st.Step, st.Event, st.Users, st.InProgress,
			st.Dropped, show(st.ConversionFromPrevious), show(st.ConversionFromFirst))
	}
	return s + "}"
}

// compareSeries requires equal series, but for sums that may differ in
// their last bits because the index adds in another order.
func compareSeries(t *testing.T, name string, want, got *Series) {
	t.Helper()
	if !reflect.DeepEqual(want.Warnings, got.Warnings) {
		t.Errorf("%s: warnings = %q, want %q", name, got.Warnings, want.Warnings)
	}
	if len(want.Points) != len(got.Points) {
		t.Fatalf("%s: %d points, want %d", name, len(got.Points), len(want.Points))
	}
	for i := range want.Points {
		w, g := want.Points[i], got.Points[i]
		where := fmt.Sprintf("%s point %d (%s)", name, i, w.Start.Format(time.DateOnly))
		for _, pair := range []struct {
			label     string
			want, got *float64
		}{{"value", w.Value, g.Value}, {"previous", w.Previous, g.Previous}, {"change", w.Change, g.Change}, {"target", w.Target, g.Target}} {
			if !closeEnough(pair.want, pair.got) {
				t.Errorf("%s: %s = %s, want %s", where, pair.label, show(pair.got), show(pair.want))
			}
		}
		if w.NoValueReason != g.NoValueReason || w.Status != g.Status || w.Partial != g.Partial {
			t.Errorf("%s: (reason, status, partial) = (%q, %s, %v), want (%q, %s, %v)", where,
				g.NoValueReason, g.Status, g.Partial, w.NoValueReason, w.Status, w.Partial)
		}
		if len(w.Details) != len(g.Details) {
			t.Errorf("%s: details = %v, want %v", where, g.Details, w.Details)
		}
		for k, wv := range w.Details {
			gv, ok := g.Details[k]
			if !ok || !closeEnough(&wv, &gv) {
				t.Errorf("%s: details[%s] = %v, want %v", where, k, gv, wv)
			}
		}
	}
}

func closeEnough(want, got *float64) bool {
	if want == nil || got == nil {
		return want == got
	}
	return *want == *got || math.Abs(*want-*got) <= 1e-9*math.Max(math.Abs(*want), math.Abs(*got))
}

func show(v *float64) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprint(*v)
}
