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
	entryDay int32     // the civil day of entered in the workspace time zone
	deadline time.Time // the start of the day Window days after entryDay, exclusive
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
	return funnelOutcomeOf(a.reached == steps, a.deadline, cutoff)
}

func funnelOutcomeOf(completed bool, deadline, cutoff time.Time) funnelOutcome {
	switch {
	case completed:
		return funnelCompleted
	case deadline.After(cutoff):
		return funnelInProgress
	default:
		return funnelDropped
	}
}

// funnelDeadline returns the end of the conversion window of an entry on
// civil day entryDay: the start of the day window days later.
func funnelDeadline(entryDay int32, window int, loc *time.Location) time.Time {
	return dayStart(entryDay+int32(window), loc)
}

// funnelUser is the scan's state for one user: the attempts not completed
// yet, and how many events of each step name the user did on day, the last
// day read so far.
type funnelUser struct {
	open    []*funnelAttempt
	day     int32
	counts  []int          // by index in funnelScan.names
	entered *funnelAttempt // the attempt whose entry event is on day, if any
}

// funnelScan follows users through a funnel at day resolution.
type funnelScan struct {
	steps  []int // the index in names of each step
	names  []string
	window int32
}

// advance moves a's steps forward with the events of one day. Used counts
// the day's events already taken by a, so that one event completes at most
// one step of an attempt.
func (fs *funnelScan) advance(a *funnelAttempt, counts, used []int) {
	for a.reached < len(fs.steps) {
		n := fs.steps[a.reached]
		if counts[n]-used[n] <= 0 {
			return
		}
		used[n]++
		a.reached++
	}
}

// flush applies the user's events of u.day to the user's open attempts and
// keeps the attempts that can still complete.
func (fs *funnelScan) flush(u *funnelUser) {
	used := make([]int, len(fs.names))
	open := u.open[:0]
	for _, a := range u.open {
		if u.day >= a.entryDay+fs.window {
			continue // the window closed before this day
		}
		clear(used)
		if a == u.entered {
			used[fs.steps[0]] = 1 // the entry event itself
		}
		fs.advance(a, u.counts, used)
		if a.reached < len(fs.steps) {
			open = append(open, a)
		}
	}
	u.open = open
	u.entered = nil
	clear(u.counts)
}

// funnelAttempts returns, for each interval, the attempt of each user who
// did Steps[0] in it, followed through the later steps up to the cut-off.
//
// Funnels count at day resolution, in the workspace time zone, so that the
// store and the activity index compute the same results. A user's attempt
// starts at their first Steps[0] event in the interval, on the entry day.
// Each later step counts when an event of it falls on the day of the step
// before or a later day, and no later than Window-1 days after the entry
// day: a window of 7 is the entry day and the 6 days after it. Within one
// day the order of the events does not count. One event completes at most
// one step of an attempt, so a repeated step, as in [view, view, buy],
// needs two distinct view events.
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

	loc := calendarLocation(ev.cal)
	cutoff := ev.dataCutoff()
	index := newIntervalIndex(ev.intervals)
	entries := make([]map[int64]*funnelAttempt, len(ev.intervals))
	for i := range entries {
		entries[i] = map[int64]*funnelAttempt{}
	}
	if len(index.bounds) == 0 {
		return entries, nil
	}

	fs := &funnelScan{window: int32(m.Window)}
	for _, s := range m.Steps {
		n := slices.Index(fs.names, s)
		if n < 0 {
			n = len(fs.names)
			fs.names = append(fs.names, s)
		}
		fs.steps = append(fs.steps, n)
	}
	seen := map[string]bool{}
	users := map[int64]*funnelUser{}
	first, last := index.bounds[0], index.bounds[len(index.bounds)-1]
	q := store.ScanQuery{
		Events:  fs.names,
		Filters: m.Filters,
		From:    dayStart(civilDayOf(first, loc), loc),
		To:      earlier(funnelDeadline(civilDayOf(last, loc), m.Window, loc), cutoff),
	}

	err = scanner.ScanEvents(ctx, q, func(row store.EventRow) error {
		seen[row.Event] = true
		day := civilDayOf(row.Timestamp, loc)
		u := users[row.UserID]
		if u == nil {
			u = &funnelUser{day: day, counts: make([]int, len(fs.names))}
			users[row.UserID] = u
		}
		if u.day != day {
			fs.flush(u)
			u.day = day
		}
		u.counts[slices.Index(fs.names, row.Event)]++

		if row.Event != m.Steps[0] {
			return nil
		}
		for _, i := range index.containing(row.Timestamp) {
			if entries[i][row.UserID] != nil {
				continue
			}
			if u.entered == nil {
				u.entered = &funnelAttempt{entered: row.Timestamp, entryDay: day, deadline: funnelDeadline(day, m.Window, loc), reached: 1}
				u.open = append(u.open, u.entered)
			}
			entries[i][row.UserID] = u.entered
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		fs.flush(u)
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
		out[i] = funnelValue(m, len(attempts), counts)
	}
	return out, nil
}

// funnelValue returns an interval's value from the number of users who
// entered it and the counts of each funnelOutcome.
func funnelValue(m kpi.Metric, entered int, counts [3]int) value {
	completed, inProgress, dropped := counts[funnelCompleted], counts[funnelInProgress], counts[funnelDropped]
	out := value{details: map[string]float64{
		"entered":     float64(entered),
		"completed":   float64(completed),
		"in_progress": float64(inProgress),
		"dropped":     float64(dropped),
	}}
	switch decided := completed + dropped; {
	case entered == 0:
		out.reason = fmt.Sprintf("no users did %q (the first step) in this period", m.Steps[0])
	case decided == 0:
		out.reason = fmt.Sprintf("every user who entered (%d) is still inside the %d-day conversion window", inProgress, m.Window)
		out.pending = true
	default:
		out.v, out.ok = 100*float64(completed)/float64(decided), true
	}
	return out
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

	// Path is the path that computed the report: PathIndex or PathSQL.
	Path string `json:"path"`
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
	view, release := e.indexView(ctx, cal)
	defer release()
	from, to, err := e.spanWith(ctx, cal, k.Grain, r, view)
	if err != nil {
		return nil, err
	}
	ev := newEvaluator(e.events, defs, k.Grain, []store.Interval{{Start: from, End: to}})
	ev.cutoff = to
	ev.index = view

	rep := &FunnelReport{KPI: k.ID, From: from, To: to, WindowDays: m.Window, Steps: make([]FunnelStep, len(m.Steps)), Path: PathIndex}
	for j, s := range m.Steps {
		rep.Steps[j] = FunnelStep{Step: j + 1, Event: s}
	}
	indexed, err := ev.indexFunnelSteps(ctx, m, rep)
	if err != nil {
		return nil, err
	}
	if !indexed {
		rep.Path = PathSQL
		if err := ev.scanFunnelSteps(ctx, m, rep); err != nil {
			return nil, err
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

// scanFunnelSteps fills the user counts of rep, whose steps are set, from
// a scan of the store over the interval of ev.
func (ev *evaluator) scanFunnelSteps(ctx context.Context, m kpi.Metric, rep *FunnelReport) error {
	entries, err := ev.funnelAttempts(ctx, m)
	if err != nil {
		return err
	}
	rep.Warnings = ev.warnings
	for _, a := range entries[0] {
		rep.Entered++
		for j := range a.reached {
			rep.Steps[j].Users++
		}
		switch a.outcome(len(m.Steps), rep.To) {
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
	return nil
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
