package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Rolling retention periods last 24 hours at day grain, 7×24 hours at week
// grain and 30×24 hours at month grain, counted from each user's first event.
var rollingPeriod = map[timegrain.Grain]time.Duration{
	timegrain.Day:   24 * time.Hour,
	timegrain.Week:  7 * 24 * time.Hour,
	timegrain.Month: 30 * 24 * time.Hour,
}

// retentionClock numbers the periods that follow a user's first cohort event.
// In calendar mode period 0 is the period of grain (in the workspace time
// zone) that contains the first event, and period k the k-th one after it.
// In rolling mode period k is [first + k×length, first + (k+1)×length) of
// elapsed time, so it ignores DST.
type retentionClock struct {
	cal    timegrain.Calendar
	grain  timegrain.Grain
	mode   kpi.RetentionMode
	length time.Duration // of a rolling period
}

// newRetentionClock resolves m's retention grain, using fallback (the grain
// of the series) when the metric sets none.
func newRetentionClock(cal timegrain.Calendar, m kpi.Metric, fallback timegrain.Grain) (retentionClock, error) {
	g := m.RetentionGrain
	if g == "" {
		g = fallback
	}
	if _, ok := rollingPeriod[g]; !ok {
		return retentionClock{}, kpi.Errorf(kpi.EINVALID, "retention is counted by day, week or month, not by %q; set the metric's period", g)
	}

	mode := m.Mode
	if mode == "" {
		mode = kpi.CalendarRetention
	}
	if mode != kpi.CalendarRetention && mode != kpi.RollingRetention {
		return retentionClock{}, kpi.Errorf(kpi.EINVALID, "retention mode %q is not valid (want calendar or rolling)", mode)
	}
	return retentionClock{cal: cal, grain: g, mode: mode, length: rollingPeriod[g]}, nil
}

// period returns the span [start, end) of period k for a user whose first
// cohort event is at first.
func (c retentionClock) period(first time.Time, k int) (time.Time, time.Time) {
	if c.mode == kpi.RollingRetention {
		start := first.Add(time.Duration(k) * c.length)
		return start, start.Add(c.length)
	}

	cohort := c.cal.Start(c.grain, first)
	y, m, d := cohort.Date()
	loc := cohort.Location()
	switch c.grain {
	case timegrain.Week:
		return time.Date(y, m, d+7*k, 0, 0, 0, 0, loc), time.Date(y, m, d+7*(k+1), 0, 0, 0, 0, loc)
	case timegrain.Month:
		return time.Date(y, m+time.Month(k), 1, 0, 0, 0, 0, loc), time.Date(y, m+time.Month(k+1), 1, 0, 0, 0, 0, loc)
	default:
		return time.Date(y, m, d+k, 0, 0, 0, 0, loc), time.Date(y, m, d+k+1, 0, 0, 0, 0, loc)
	}
}

// offset returns the number of the period that contains t, for a user whose
// first cohort event is at first. It is negative when t is before first.
func (c retentionClock) offset(first, t time.Time) int {
	if t.Before(first) {
		return -1
	}
	if c.mode == kpi.RollingRetention {
		return int(t.Sub(first) / c.length)
	}

	cohort := c.cal.Start(c.grain, first)
	switch c.grain {
	case timegrain.Week:
		return (civilDay(c.cal.Start(timegrain.Week, t)) - civilDay(cohort)) / 7
	case timegrain.Month:
		local := t.In(cohort.Location())
		return (local.Year()-cohort.Year())*12 + int(local.Month()-cohort.Month())
	default:
		return civilDay(t.In(cohort.Location())) - civilDay(cohort)
	}
}

// civilDay returns the number of t's calendar date, in t's location, counted
// in days from 1970-01-01, whatever the length of the days in between.
func civilDay(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// periodOver reports whether period k of every user whose first event falls
// before end (exclusive) is over by cutoff, and returns when the latest one
// ends.
func (c retentionClock) periodOver(end time.Time, k int, cutoff time.Time) (bool, time.Time) {
	_, last := c.period(end.Add(-time.Nanosecond), k)
	return !last.After(cutoff), last
}

// dataCutoff returns the instant after which the evaluator uses no data.
func (ev *evaluator) dataCutoff() time.Time {
	if !ev.cutoff.IsZero() {
		return ev.cutoff
	}
	var last time.Time
	for _, iv := range ev.intervals {
		if iv.End.After(last) {
			last = iv.End
		}
	}
	return last
}

// cohortMember is one user of a retention cohort.
type cohortMember struct {
	user     int64
	first    time.Time // of the cohort event
	retained bool
}

// firstCohortEvents returns every user's first CohortEvent (passing the
// metric's filters) before cutoff, ordered by time. It warns when there is
// none, which is most often a misspelt event name.
func (ev *evaluator) firstCohortEvents(ctx context.Context, scanner EventScanner, m kpi.Metric, cutoff time.Time) ([]cohortMember, error) {
	seen := map[int64]bool{}
	var members []cohortMember
	q := store.ScanQuery{Events: []string{m.CohortEvent}, Filters: m.Filters, To: cutoff}
	err := scanner.ScanEvents(ctx, q, func(row store.EventRow) error {
		if !seen[row.UserID] {
			seen[row.UserID] = true
			members = append(members, cohortMember{user: row.UserID, first: row.Timestamp})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	switch {
	case len(members) == 0 && len(m.Filters) == 0:
		ev.warnf("no %q events to form cohorts with%s", m.CohortEvent, ev.knownEvents(ctx, m.CohortEvent))
	case len(members) == 0:
		ev.warnf("no %q events match the where filters, so every cohort is empty", m.CohortEvent)
	}
	if m.ReturnEvent != "" && m.ReturnEvent != m.CohortEvent {
		if known := ev.knownEvents(ctx, m.ReturnEvent); known != "" {
			ev.warnf("no %q events to count returns with%s", m.ReturnEvent, known)
		}
	}

	// The scan is in time order, so members are too.
	return members, nil
}

// returnsByDefinition reports whether every user is back in period 0: the
// cohort event itself is a return when ReturnEvent is empty or the same.
func returnsByDefinition(m kpi.Metric, k int) bool {
	return k == 0 && (m.ReturnEvent == "" || m.ReturnEvent == m.CohortEvent)
}

// returnQuery selects the events that count as a return. The metric's
// filters apply to the cohort event only.
func returnQuery(m kpi.Metric, from, to time.Time) store.ScanQuery {
	q := store.ScanQuery{From: from, To: to}
	if m.ReturnEvent != "" {
		q.Events = []string{m.ReturnEvent}
	}
	return q
}

// retention computes, for each interval, the share in percent of the users
// whose first CohortEvent falls in the interval who do ReturnEvent in period
// Offset after it. When the series grain is coarser than the retention
// grain, the interval pools several cohorts, and each user is followed from
// their own first event. An interval has no value until period Offset of the
// latest user it could contain is over at the cut-off, nor when it contains no user.
func (ev *evaluator) retention(ctx context.Context, m kpi.Metric) ([]value, error) {
	clock, err := newRetentionClock(ev.cal, m, ev.grain)
	if err != nil {
		return nil, err
	}
	scanner, err := ev.scanner(m.Kind)
	if err != nil {
		return nil, err
	}
	cutoff := ev.dataCutoff()

	members, err := ev.firstCohortEvents(ctx, scanner, m, cutoff)
	if err != nil {
		return nil, err
	}
	firstAt := func(i int) time.Time { return members[i].first }

	// Follow only the users of intervals whose period Offset is over.
	out := make([]value, len(ev.intervals))
	follow := make([]bool, len(members))
	spans := make([][2]int, len(ev.intervals))
	for i, iv := range ev.intervals {
		lo := sort.Search(len(members), func(j int) bool { return !firstAt(j).Before(iv.Start) })
		hi := sort.Search(len(members), func(j int) bool { return !firstAt(j).Before(iv.End) })
		spans[i] = [2]int{lo, hi}
		out[i].details = map[string]float64{"cohort_size": float64(hi - lo)}

		if over, ends := clock.periodOver(iv.End, m.Offset, cutoff); !over {
			out[i].reason = fmt.Sprintf("cohort period %d is not over (it ends %s)", m.Offset, formatInstant(ends, ev.cal))
			out[i].pending = true
			continue
		}
		if hi == lo {
			out[i].reason = "no users in this cohort"
			continue
		}
		out[i].ok = true
		for j := lo; j < hi; j++ {
			follow[j] = true
		}
	}

	if err := ev.markReturns(ctx, scanner, m, clock, cutoff, members, follow); err != nil {
		return nil, err
	}

	retainedBefore := make([]int, len(members)+1)
	for j, mb := range members {
		retainedBefore[j+1] = retainedBefore[j]
		if mb.retained {
			retainedBefore[j+1]++
		}
	}
	for i := range out {
		if !out[i].ok {
			continue
		}
		lo, hi := spans[i][0], spans[i][1]
		retained := retainedBefore[hi] - retainedBefore[lo]
		out[i].v = 100 * float64(retained) / float64(hi-lo)
		out[i].details["retained"] = float64(retained)
	}
	return out, nil
}

// markReturns sets retained on the followed members who do a return event in
// their period m.Offset.
func (ev *evaluator) markReturns(ctx context.Context, scanner EventScanner, m kpi.Metric, clock retentionClock,
	cutoff time.Time, members []cohortMember, follow []bool) error {
	type window struct {
		member     int
		start, end time.Time
	}

	windows := map[int64]window{}
	var from, to time.Time
	for j, mb := range members {
		if !follow[j] {
			continue
		}
		if returnsByDefinition(m, m.Offset) {
			members[j].retained = true
			continue
		}
		start, end := clock.period(mb.first, m.Offset)
		start = later(start, mb.first) // calendar period 0 starts before the first event
		windows[mb.user] = window{member: j, start: start, end: end}
		if from.IsZero() || start.Before(from) {
			from = start
		}
		to = later(to, end)
	}
	if len(windows) == 0 {
		return nil
	}

	return scanner.ScanEvents(ctx, returnQuery(m, from, earlier(to, cutoff)), func(row store.EventRow) error {
		w, ok := windows[row.UserID]
		if ok && !row.Timestamp.Before(w.start) && row.Timestamp.Before(w.end) {
			members[w.member].retained = true
			delete(windows, row.UserID)
		}
		return nil
	})
}

// formatInstant writes t in the calendar's time zone: a date alone at
// midnight, otherwise the date and the clock.
func formatInstant(t time.Time, cal timegrain.Calendar) string {
	local := t.In(calendarLocation(cal))
	if h, mi, s := local.Clock(); h == 0 && mi == 0 && s == 0 {
		return local.Format(time.DateOnly)
	}
	return local.Format("2006-01-02 15:04 MST")
}

// MaxCohorts bounds the rows of one cohort table, whose cells grow with the
// square of its rows.
const MaxCohorts = 1000

// CohortTable is a retention KPI's cohorts: for each cohort period, the users
// whose first cohort event falls in it, and how many of them return in each
// later period.
type CohortTable struct {
	KPI         string            `json:"kpi"`
	Grain       timegrain.Grain   `json:"grain"` // of cohorts and periods
	Mode        kpi.RetentionMode `json:"mode"`
	CohortEvent string            `json:"cohort_event"`
	ReturnEvent string            `json:"return_event"` // "" means any event
	Offset      int               `json:"offset"`       // the period the KPI's value is taken at
	From        time.Time         `json:"from"`
	To          time.Time         `json:"to"` // the cut-off: no later event is used

	// Periods is the number of period columns, 0 to Periods-1: the longest
	// row's.
	Periods  int         `json:"periods"`
	Cohorts  []CohortRow `json:"cohorts"`
	Warnings []string    `json:"warnings,omitempty"`

	// Path is the path that computed the table: PathIndex or PathSQL.
	Path string `json:"path"`
}

// CohortRow is one cohort of a CohortTable.
type CohortRow struct {
	Start   time.Time `json:"cohort_start"`
	End     time.Time `json:"cohort_end"`
	Partial bool      `json:"partial"` // the cohort period is not over, so the cohort may still grow
	Size    int64     `json:"size"`

	// Retained contains periods 0, 1, ... up to the last one that is over at
	// the table's cut-off for every user of the cohort.
	Retained []CohortCell `json:"retained"`
}

// CohortCell is the number of a cohort's users back in one period.
type CohortCell struct {
	Period  int      `json:"period"`
	Users   int64    `json:"users"`
	Percent *float64 `json:"percent"` // of the cohort's size, or nil for an empty cohort
}

// Cohorts returns the cohort table of the retention KPI id over r: one row
// per period of the KPI's retention grain, with the users back in each
// period after it. It returns ENOTFOUND for an unknown KPI and EINVALID for
// a KPI of another kind or a bad range.
func (e *Engine) Cohorts(ctx context.Context, defs *kpi.Definitions, id string, r Range) (*CohortTable, error) {
	k, err := defs.KPI(id)
	if err != nil {
		return nil, err
	}
	m := k.Metric
	if m.Kind != kpi.Retention {
		return nil, kpi.Errorf(kpi.EINVALID, "kpi %q is a %s KPI; cohort tables are computed for retention KPIs only", id, m.Kind)
	}

	cal := defs.Workspace.Calendar()
	clock, err := newRetentionClock(cal, m, k.Grain)
	if err != nil {
		return nil, err
	}
	from, to, err := e.span(ctx, cal, clock.grain, r)
	if err != nil {
		return nil, err
	}
	periods := cal.Periods(clock.grain, from, to)
	if len(periods) > MaxCohorts {
		return nil, kpi.Errorf(kpi.EINVALID, "the range from %s contains %d %s cohorts, more than the maximum of %d; choose a shorter range or a longer period",
			timegrain.DateOf(from), len(periods), clock.grain, MaxCohorts)
	}

	t := &CohortTable{
		KPI: k.ID, Grain: clock.grain, Mode: clock.mode, CohortEvent: m.CohortEvent, ReturnEvent: m.ReturnEvent,
		Offset: m.Offset, From: periods[0].Start, To: to, Cohorts: make([]CohortRow, len(periods)),
	}
	for i, p := range periods {
		t.Cohorts[i] = CohortRow{Start: p.Start, End: p.End, Partial: p.Partial}
		for n := 0; ; n++ {
			if over, _ := clock.periodOver(p.End, n, to); !over {
				break
			}
			t.Cohorts[i].Retained = append(t.Cohorts[i].Retained, CohortCell{Period: n})
		}
		t.Periods = max(t.Periods, len(t.Cohorts[i].Retained))
	}

	view, release := e.indexView(ctx, cal)
	defer release()
	ev := newEvaluator(e.events, defs, clock.grain, nil)
	ev.index = view
	indexed, err := ev.indexCohorts(ctx, m, clock, t)
	if err != nil {
		return nil, err
	}
	t.Path = PathIndex
	if !indexed {
		t.Path = PathSQL
		if err := ev.scanCohorts(ctx, m, clock, t, periods); err != nil {
			return nil, err
		}
	}

	for i := range t.Cohorts {
		row := &t.Cohorts[i]
		for j := range row.Retained {
			if returnsByDefinition(m, j) {
				row.Retained[j].Users = row.Size
			}
			if row.Size > 0 {
				row.Retained[j].Percent = ptr(100 * float64(row.Retained[j].Users) / float64(row.Size))
			}
		}
	}
	t.Warnings = ev.warnings
	return t, nil
}

// scanCohorts fills the sizes and return counts of t from scans of the
// store's events.
func (ev *evaluator) scanCohorts(ctx context.Context, m kpi.Metric, clock retentionClock, t *CohortTable, periods []timegrain.Period) error {
	scanner, err := ev.scanner(m.Kind)
	if err != nil {
		return err
	}
	members, err := ev.firstCohortEvents(ctx, scanner, m, t.To)
	if err != nil {
		return err
	}

	rowOf := map[int64]int{}
	for _, mb := range members {
		i := sort.Search(len(periods), func(i int) bool { return mb.first.Before(periods[i].End) })
		if i < len(periods) && !mb.first.Before(periods[i].Start) {
			rowOf[mb.user] = i
			t.Cohorts[i].Size++
		}
	}
	return countReturns(ctx, scanner, m, clock, t, members, rowOf)
}

// countReturns counts, for each cohort row and period, the users who do a
// return event in that period. Events arrive in time order, so a user's
// period number only grows: remembering the last one counted per user
// counts each user once per period.
func countReturns(ctx context.Context, scanner EventScanner, m kpi.Metric, clock retentionClock,
	t *CohortTable, members []cohortMember, rowOf map[int64]int) error {
	if len(rowOf) == 0 || t.Periods == 0 {
		return nil
	}

	first := make(map[int64]time.Time, len(rowOf))
	counted := make(map[int64]int, len(rowOf))
	for _, mb := range members {
		if _, ok := rowOf[mb.user]; ok {
			first[mb.user] = mb.first
			counted[mb.user] = -1
		}
	}

	return scanner.ScanEvents(ctx, returnQuery(m, t.From, t.To), func(row store.EventRow) error {
		at, ok := first[row.UserID]
		if !ok {
			return nil
		}
		k := clock.offset(at, row.Timestamp)
		if k <= counted[row.UserID] {
			return nil
		}
		counted[row.UserID] = k

		cells := t.Cohorts[rowOf[row.UserID]].Retained
		if k < len(cells) {
			cells[k].Users++
		}
		return nil
	})
}
