package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

const funnelKPIs = `  - id: checkout
    name: Viewed twice, then bought
    grain: month
    metric: {kind: funnel, steps: [view, view, buy], window: 7}
  - id: purchase
    name: Viewed, then bought
    grain: month
    metric: {kind: funnel, steps: [view, buy], window: 7}
  - id: purchase_typo
    name: Viewed, then bought, misspelt
    grain: month
    metric: {kind: funnel, steps: [view, bye], window: 7}
`

// funnelActivity is counted by hand in the tests below (New York time).
//
// January: a does the funnel twice and is counted once. b buys after one
// view. c views twice and never buys. d buys before viewing. f views again
// and buys after the 7-day window. l views on January 30 and buys on
// February 2.
//
// February, with the clock on February 20 at 12:00: g and j buy after a
// view; h never buys and the window closed; i and k viewed less than 7 days
// ago and have not bought yet.
var funnelActivity = []activity{
	{"view", "a", "2026-01-02 10:00", nil},
	{"view", "a", "2026-01-03 10:00", nil},
	{"buy", "a", "2026-01-04 10:00", nil},
	{"view", "b", "2026-01-05 10:00", nil},
	{"buy", "b", "2026-01-06 10:00", nil},
	{"view", "c", "2026-01-08 10:00", nil},
	{"view", "c", "2026-01-09 10:00", nil},
	{"buy", "d", "2026-01-10 10:00", nil},
	{"view", "d", "2026-01-11 10:00", nil},
	{"view", "f", "2026-01-14 10:00", nil},
	{"view", "a", "2026-01-20 10:00", nil},
	{"view", "a", "2026-01-21 10:00", nil},
	{"buy", "a", "2026-01-22 10:00", nil},
	{"view", "f", "2026-01-25 10:00", nil},
	{"buy", "f", "2026-01-26 10:00", nil},
	{"view", "l", "2026-01-30 12:00", nil},
	{"buy", "l", "2026-02-02 12:00", nil},
	{"view", "g", "2026-02-02 10:00", nil},
	{"view", "h", "2026-02-03 10:00", nil},
	{"buy", "g", "2026-02-04 10:00", nil},
	{"view", "j", "2026-02-17 10:00", nil},
	{"view", "i", "2026-02-18 10:00", nil},
	{"view", "k", "2026-02-19 10:00", nil},
	{"buy", "j", "2026-02-19 11:00", nil},
}

func newFunnelEngine(t *testing.T) (*Engine, *kpi.Definitions) {
	t.Helper()
	return newActivityEngine(t, kpiFile("America/New_York", "monday", funnelKPIs), "2026-02-20 12:00", funnelActivity)
}

func TestFunnelRepeatedStep(t *testing.T) {
	e, defs := newFunnelEngine(t)
	loc := defs.Workspace.Location

	// Up to January 31: a completes; b, c, d and f dropped; l is in progress.
	s := series(t, e, defs, "checkout", timegrain.Month, "2026-01-01", "2026-01-31")
	p := checkPoint(t, s, loc, "2026-01-01 00:00", v(20), "")
	wantDetails := map[string]float64{"entered": 6, "completed": 1, "in_progress": 1, "dropped": 4}
	for name, want := range wantDetails {
		if p.Details[name] != want {
			t.Errorf("checkout January %s = %v, want %v", name, p.Details[name], want)
		}
	}

	rep, err := e.FunnelSteps(context.Background(), defs, "checkout", Range{From: date("2026-01-01"), To: date("2026-01-31")})
	if err != nil {
		t.Fatal(err)
	}
	wantSteps := []struct {
		event            string
		users            int64
		fromPrev         *float64
		fromFirst        *float64
		inProgress, drop int64
	}{
		{"view", 6, nil, v(100), 1, 3},  // l in progress; b, d, f dropped
		{"view", 2, v(40), v(40), 0, 1}, // a and c of the 5 decided; c dropped
		{"buy", 1, v(50), v(20), 0, 0},  // a
	}
	if len(rep.Steps) != len(wantSteps) {
		t.Fatalf("got %d steps, want %d", len(rep.Steps), len(wantSteps))
	}
	for i, w := range wantSteps {
		got := rep.Steps[i]
		label := fmt.Sprintf("step %d (%s)", i+1, w.event)
		if got.Step != i+1 || got.Event != w.event || got.Users != w.users {
			t.Errorf("%s = %+v, want %d users", label, got, w.users)
		}
		if got.InProgress != w.inProgress || got.Dropped != w.drop {
			t.Errorf("%s in progress/dropped = %d/%d, want %d/%d", label, got.InProgress, got.Dropped, w.inProgress, w.drop)
		}
		checkFloat(t, label+" conversion from previous", got.ConversionFromPrevious, w.fromPrev)
		checkFloat(t, label+" conversion from first", got.ConversionFromFirst, w.fromFirst)
	}
	if rep.Entered != 6 || rep.Completed != 1 || rep.InProgress != 1 || rep.Dropped != 4 {
		t.Errorf("entered/completed/in progress/dropped = %d/%d/%d/%d, want 6/1/1/4", rep.Entered, rep.Completed, rep.InProgress, rep.Dropped)
	}
	checkFloat(t, "checkout conversion", rep.Conversion, v(20))
}

func TestFunnelWindowAndOrder(t *testing.T) {
	e, defs := newFunnelEngine(t)
	loc := defs.Workspace.Location

	// With February's events, l completes: a, b and l of the six.
	s := series(t, e, defs, "purchase", timegrain.Month, "2026-01-01", "2026-02-20")
	p := checkPoint(t, s, loc, "2026-01-01 00:00", v(50), "")
	if p.Details["entered"] != 6 || p.Details["completed"] != 3 {
		t.Errorf("purchase January details = %v, want 6 entered and 3 completed", p.Details)
	}

	// Up to January 31, l's purchase is not known yet and l is in progress.
	s = series(t, e, defs, "purchase", timegrain.Month, "2026-01-01", "2026-01-31")
	checkPoint(t, s, loc, "2026-01-01 00:00", v(40), "")
}

func TestFunnelUserInsideWindow(t *testing.T) {
	e, defs := newFunnelEngine(t)
	loc := defs.Workspace.Location

	// i and k are in progress, so they are left out: g and j of g, h, j.
	s := series(t, e, defs, "purchase", timegrain.Month, "2026-02-01", "2026-02-20")
	p := checkPoint(t, s, loc, "2026-02-01 00:00", v(200.0/3), "")
	wantDetails := map[string]float64{"entered": 5, "completed": 2, "in_progress": 2, "dropped": 1}
	for name, want := range wantDetails {
		if p.Details[name] != want {
			t.Errorf("purchase February %s = %v, want %v", name, p.Details[name], want)
		}
	}

	rep, err := e.FunnelSteps(context.Background(), defs, "purchase", Range{From: date("2026-02-01"), To: date("2026-02-20")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.InProgress != 2 || rep.Dropped != 1 || rep.Steps[0].InProgress != 2 || rep.Steps[0].Dropped != 1 {
		t.Errorf("in progress/dropped = %d/%d (first step %d/%d), want 2/1", rep.InProgress, rep.Dropped, rep.Steps[0].InProgress, rep.Steps[0].Dropped)
	}
	checkFloat(t, "buy conversion from previous", rep.Steps[1].ConversionFromPrevious, v(200.0/3))

	// On February 18 only i entered, and the window is open.
	s = series(t, e, defs, "purchase", timegrain.Day, "2026-02-18", "2026-02-18")
	checkPoint(t, s, loc, "2026-02-18 00:00", nil, "every user who entered (1) is still inside the 7-day conversion window")
}

func TestFunnelNoEntries(t *testing.T) {
	e, defs := newFunnelEngine(t)
	loc := defs.Workspace.Location

	s := series(t, e, defs, "purchase", timegrain.Month, "2025-12-01", "2025-12-31")
	checkPoint(t, s, loc, "2025-12-01 00:00", nil, `no users did "view" (the first step) in this period`)
}

func TestFunnelUnknownStepWarns(t *testing.T) {
	e, defs := newFunnelEngine(t)

	s := series(t, e, defs, "purchase_typo", timegrain.Month, "2026-01-01", "2026-01-31")
	want := `no "bye" events (step 2) in this range, and none in the database (known events: buy, view)`
	if got := strings.Join(s.Warnings, "; "); !strings.Contains(got, want) {
		t.Errorf("warnings = %q, want %q", got, want)
	}
}

func TestFunnelOneStepRejected(t *testing.T) {
	kpis := `  - id: lonely
    name: One step
    metric: {kind: funnel, steps: [view], window: 7}
`
	_, err := kpi.Parse("test.yaml", []byte(kpiFile("UTC", "monday", kpis)))
	if err == nil {
		t.Fatal("a funnel with one step loaded without error")
	}
	if want := `a funnel needs at least two steps, found one ("view")`; !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
}

// dayResolutionActivity is counted by hand in TestFunnelDayResolution (New
// York time). p buys an hour before viewing on the same day. q buys 6 days
// and 90 minutes after viewing, but on the 8th day. r buys in the last
// minute of the 7th day. s views once and buys. t views twice and buys
// before both views on the same day.
var dayResolutionActivity = []activity{
	{"buy", "p", "2026-01-05 09:00", nil},
	{"view", "p", "2026-01-05 10:00", nil},
	{"view", "q", "2026-01-05 23:00", nil},
	{"buy", "q", "2026-01-12 00:30", nil},
	{"view", "r", "2026-01-05 08:00", nil},
	{"buy", "r", "2026-01-11 23:59", nil},
	{"view", "s", "2026-01-06 10:00", nil},
	{"buy", "s", "2026-01-06 11:00", nil},
	{"buy", "t", "2026-01-06 09:00", nil},
	{"view", "t", "2026-01-06 10:00", nil},
	{"view", "t", "2026-01-06 11:00", nil},
}

func TestFunnelDayResolution(t *testing.T) {
	e, defs := newActivityEngine(t, kpiFile("America/New_York", "monday", funnelKPIs), "2026-02-20 12:00", dayResolutionActivity)
	loc := defs.Workspace.Location
	ix := NewActivityIndex(e.events.(IndexStore), loc, DeclaredFor(defs), nil)
	if err := ix.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	indexed := NewWithIndex(e.events, ix, e.now)

	cases := []struct {
		kpi, path string
		engine    *Engine
		completed float64
	}{
		// p, r, s and t complete; q's buy falls on the 8th day.
		{"purchase", PathSQL, e, 4},
		{"purchase", PathIndex, indexed, 4},
		// Only t has two views; one view cannot complete both view steps.
		{"checkout", PathSQL, e, 1},
		{"checkout", PathSQL, indexed, 1},
	}
	for _, c := range cases {
		s := series(t, c.engine, defs, c.kpi, timegrain.Month, "2026-01-01", "2026-01-31")
		if s.Path != c.path {
			t.Errorf("%s on %s: path = %q", c.kpi, c.path, s.Path)
		}
		p := checkPoint(t, s, loc, "2026-01-01 00:00", v(100*c.completed/5), "")
		want := map[string]float64{"entered": 5, "completed": c.completed, "in_progress": 0, "dropped": 5 - c.completed}
		for name, w := range want {
			if p.Details[name] != w {
				t.Errorf("%s on %s: %s = %v, want %v", c.kpi, c.path, name, p.Details[name], w)
			}
		}
	}
}
