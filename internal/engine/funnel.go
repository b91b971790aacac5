package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// funnelAttempt is one user's way through a funnel, from an entry event
// (the first Steps[0] of the user in an interval) to the deadline.
type funnelAttempt struct {
	entered  time.Time
	deadline time.Time // entered + Window days of 24 hours, exclusive
	reached  int       // steps done, from 1 (the entry) to len(Steps)
}

// funnelOutcome sorts an attempt at the cut-off.
type funnelOutcome int

const (
	funnelCompleted  funnelOutcome = iota
	funnelInProgress               // not completed, and the window is still open
	funnelDropped                  // not completed, and the window has closed
)

func (a *funnelAttempt) outcome(steps int, cutoff time.Time) funnelOutcome {
	switch {
	case a.reached == steps:
		return funnelCompleted
	case a.deadline.After(cutoff):
		return funnelInProgress
	default:
		return funnelDropped
	}
}

// funnelAttempts returns, for each interval, the attempt of each user who
// did Steps[0] in it, followed through the later steps up to the cut-off.
//
// A user's attempt starts at their first Steps[0] event in the interval. Each
// later step must be done in order, by an event later in time order than the
// one of the step before (ties in insertion order), before the deadline. One
// event completes at most one step of an attempt, so a repeated step, as in
// [view, view, buy], needs two distinct view events. Taking the earliest
// matching event for each step never misses a completion.
func (ev *evaluator) funnelAttempts(ctx context.Context, m kpi.Metric) ([]map[int64]*funnelAttempt, error) {
	if len(m.Steps) < 2 {
		return nil, kpi.Errorf(kpi.EINVALID, "a funnel needs at least two steps, found %d", len(m.Steps))
	}
	if m.Window < 1 {
		return nil, kpi.Errorf(kpi.EINVALID, "a funnel needs a conversion window of at least one day, found %d", m.Window)
	}
	scanner, err := ev.scanner(m.Kind)
	if err != nil {
		return nil, err
	}

	window := time.Duration(m.Window) * 24 * time.Hour
	cutoff := ev.dataCutoff()
	index := newIntervalIndex(ev.intervals)
	entries := make([]map[int64]*funnelAttempt, len(ev.intervals))
	for i := range entries {
		entries[i] = map[int64]*funnelAttempt{}
	}
	if len(index.bounds) == 0 {
		return entries, nil
	}

	var names []string
	for _, s := range m.Steps {
		if !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	seen := map[string]bool{}
	open := map[int64][]*funnelAttempt{} // attempts not completed, by user
	q := store.ScanQuery{
		Events:  names,
		Filters: m.Filters,
		From:    index.bounds[0],
		To:      earlier(index.bounds[len(index.bounds)-1].Add(window), cutoff),
	}

	err = scanner.ScanEvents(ctx, q, func(row store.EventRow) error {
		seen[row.Event] = true

		// Advance the user's open attempts first, so that an entry event
		// does not also count as the second step of its own attempt.
		attempts := open[row.UserID][:0]
		for _, a := range open[row.UserID] {
			if !row.Timestamp.Before(a.deadline) {
				continue
			}
			if m.Steps[a.reached] == row.Event {
				a.reached++
			}
			if a.reached < len(m.Steps) {
				attempts = append(attempts, a)
			}
		}

		if row.Event == m.Steps[0] {
			var entry *funnelAttempt
			for _, i := range index.containing(row.Timestamp) {
				if entries[i][row.UserID] != nil {
					continue
				}
				if entry == nil {
					entry = &funnelAttempt{entered: row.Timestamp, deadline: row.Timestamp.Add(window), reached: 1}
					attempts = append(attempts, entry)
				}
				entries[i][row.UserID] = entry
			}
		}

		if len(attempts) == 0 {
			delete(open, row.UserID)
		} else {
			open[row.UserID] = attempts
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	for i, s := range m.Steps {
		if seen[s] || slices.Index(m.Steps, s) < i {
			continue
		}
		if len(m.Filters) > 0 {
			ev.warnf("no %q events (step %d) in this range match the where filters", s, i+1)
		} else {
			ev.warnf("no %q events (step %d) in this range%s", s, i+1, ev.knownEvents(ctx, s))
		}
	}
	return entries, nil
}

// funnel computes, for each interval, the share in percent of the users who
// entered the funnel in it who completed every step within the window.
// Users still inside their window at the cut-off who have not completed are
// in progress: they are left out of the share, and counted in the details.
func (ev *evaluator) funnel(ctx context.Context, m kpi.Metric) ([]value, error) {
	entries, err := ev.funnelAttempts(ctx, m)
	if err != nil {
		return nil, err
	}
	cutoff := ev.dataCutoff()

	out := make([]value, len(entries))
	for i, attempts := range entries {
		var counts [3]int
		for _, a := range attempts {
			counts[a.outcome(len(m.Steps), cutoff)]++
		}
		completed, inProgress, dropped := counts[funnelCompleted], counts[funnelInProgress], counts[funnelDropped]
		out[i].details = map[string]float64{
			"entered":     float64(len(attempts)),
			"completed":   float64(completed),
			"in_progress": float64(inProgress),
			"dropped":     float64(dropped),
		}

		switch decided := completed + dropped; {
		case len(attempts) == 0:
			out[i].reason = fmt.Sprintf("no users did %q (the first step) in this period", m.Steps[0])
		case decided == 0:
			out[i].reason = fmt.Sprintf("every user who entered (%d) is still inside the %d-day conversion window", inProgress, m.Window)
			out[i].pending = true
		default:
			out[i].v, out[i].ok = 100*float64(completed)/float64(decided), true
		}
	}
	return out, nil
}

// FunnelReport is a funnel KPI's steps over a range: each user who did the
// first step in the range is followed from their first such event.
type FunnelReport struct {
	KPI        string    `json:"kpi"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"` // the cut-off: no later event is used
	WindowDays int       `json:"window_days"`

	Entered    int64 `json:"entered"`
	Completed  int64 `json:"completed"`
	InProgress int64 `json:"in_progress"` // not completed, with time left in their window
	Dropped    int64 `json:"dropped"`     // not completed, window closed

	// Conversion is the KPI's value in percent: Completed / (Entered -
	// InProgress), nil when every user is in progress or none entered.
	Conversion *float64 `json:"conversion"`

	Steps    []FunnelStep `json:"steps"`
	Warnings []string     `json:"warnings,omitempty"`
}

// FunnelStep is one step of a FunnelReport. Conversions leave out the users
// still in progress at an earlier step, whose outcome is not known yet.
type FunnelStep struct {
	Step  int    `json:"step"` // from 1
	Event string `json:"event"`
	Users int64  `json:"users"` // users who reached this step

	// ConversionFromPrevious is Users / (users at the previous step - those
	// in progress there), in percent. It is nil for the first step and for a
	// zero denominator.
	ConversionFromPrevious *float64 `json:"conversion_from_previous"`

	// ConversionFromFirst is Users / (users at the first step - those in
	// progress at any step before this one), in percent.
	ConversionFromFirst *float64 `json:"conversion_from_first"`

	// InProgress and Dropped count the users whose furthest step is this
	// one, with time left in their window and without.
	InProgress int64 `json:"in_progress"`
	Dropped    int64 `json:"dropped"`
}

// FunnelSteps returns the steps of the funnel KPI id over r, taken as one
// span. It returns ENOTFOUND for an unknown KPI and EINVALID for a KPI of
// another kind or a bad range.
func (e *Engine) FunnelSteps(ctx context.Context, defs *kpi.Definitions, id string, r Range) (*FunnelReport, error) {
	k, err := defs.KPI(id)
	if err != nil {
		return nil, err
	}
	m := k.Metric
	if m.Kind != kpi.Funnel {
		return nil, kpi.Errorf(kpi.EINVALID, "kpi %q is a %s KPI; funnel steps are computed for funnel KPIs only", id, m.Kind)
	}

	cal := defs.Workspace.Calendar()
	from, to, err := e.span(ctx, cal, k.Grain, r)
	if err != nil {
		return nil, err
	}
	ev := newEvaluator(e.events, defs, k.Grain, []store.Interval{{Start: from, End: to}})
	ev.cutoff = to
	entries, err := ev.funnelAttempts(ctx, m)
	if err != nil {
		return nil, err
	}

	rep := &FunnelReport{KPI: k.ID, From: from, To: to, WindowDays: m.Window, Steps: make([]FunnelStep, len(m.Steps)), Warnings: ev.warnings}
	for j, s := range m.Steps {
		rep.Steps[j] = FunnelStep{Step: j + 1, Event: s}
	}
	for _, a := range entries[0] {
		rep.Entered++
		for j := range a.reached {
			rep.Steps[j].Users++
		}
		switch a.outcome(len(m.Steps), to) {
		case funnelCompleted:
			rep.Completed++
		case funnelInProgress:
			rep.InProgress++
			rep.Steps[a.reached-1].InProgress++
		case funnelDropped:
			rep.Dropped++
			rep.Steps[a.reached-1].Dropped++
		}
	}

	rep.Conversion = percent(rep.Completed, rep.Entered-rep.InProgress)
	inProgressBefore := int64(0)
	for j := range rep.Steps {
		st := &rep.Steps[j]
		if j > 0 {
			prev := rep.Steps[j-1]
			st.ConversionFromPrevious = percent(st.Users, prev.Users-prev.InProgress)
		}
		st.ConversionFromFirst = percent(st.Users, rep.Entered-inProgressBefore)
		inProgressBefore += st.InProgress
	}
	return rep, nil
}

// percent returns 100 × part / whole, or nil when whole is not positive.
func percent(part, whole int64) *float64 {
	if whole <= 0 {
		return nil
	}
	return ptr(100 * float64(part) / float64(whole))
}

// intervalIndex finds the intervals that contain an instant. The bounds of
// every interval, sorted, cut time into segments, and covering[j] lists the
// intervals that contain segment [bounds[j], bounds[j+1]).
type intervalIndex struct {
	bounds   []time.Time
	covering [][]int
}

func newIntervalIndex(intervals []store.Interval) *intervalIndex {
	x := &intervalIndex{}
	for _, iv := range intervals {
		if iv.Start.Before(iv.End) {
			x.bounds = append(x.bounds, iv.Start, iv.End)
		}
	}
	slices.SortFunc(x.bounds, func(a, b time.Time) int { return a.Compare(b) })
	x.bounds = slices.CompactFunc(x.bounds, func(a, b time.Time) bool { return a.Equal(b) })
	if len(x.bounds) == 0 {
		return x
	}

	x.covering = make([][]int, len(x.bounds)-1)
	for i, iv := range intervals {
		if !iv.Start.Before(iv.End) {
			continue
		}
		for j := x.segment(iv.Start); j < len(x.covering) && x.bounds[j].Before(iv.End); j++ {
			x.covering[j] = append(x.covering[j], i)
		}
	}
	return x
}

// segment returns the index of the segment that starts at or before t and
// is the last to do so.
func (x *intervalIndex) segment(t time.Time) int {
	return sort.Search(len(x.bounds), func(j int) bool { return x.bounds[j].After(t) }) - 1
}

// containing returns the indexes of the intervals that contain t.
func (x *intervalIndex) containing(t time.Time) []int {
	j := x.segment(t)
	if j < 0 || j >= len(x.covering) {
		return nil
	}
	return x.covering[j]
}
