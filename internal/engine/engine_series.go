package engine

import (
	"context"
	"time"

	"github.com/northstar-kpi/northstar/internal/analysis"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Series computes the KPI id at grain over r. It returns an ENOTFOUND error
// for an unknown KPI and EINVALID for a bad range.
func (e *Engine) Series(ctx context.Context, defs *kpi.Definitions, id string, grain timegrain.Grain, r Range) (*Series, error) {
	k, err := defs.KPI(id)
	if err != nil {
		return nil, err
	}
	if _, err := timegrain.ParseGrain(string(grain)); err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "%v", err)
	}

	cal := defs.Workspace.Calendar()
	view, release := e.indexView(ctx, cal)
	defer release()
	from, to, err := e.spanWith(ctx, cal, grain, r, view)
	if err != nil {
		return nil, err
	}
	periods := cal.Periods(grain, from, to)
	if len(periods) > MaxPeriods {
		return nil, kpi.Errorf(kpi.EINVALID, "the range from %s holds %d %s periods, more than %d; choose a coarser grain or a shorter range",
			timegrain.DateOf(from), len(periods), grain, MaxPeriods)
	}

	// Each period is computed over [Start, Cutoff), and compared with the same
	// days and hours of the period before it. So 14 days and 12 hours into
	// March is compared with 14 days and 12 hours into February, even though
	// the DST change in March makes the first span an hour shorter.
	intervals := make([]store.Interval, 0, 2*len(periods))
	for _, p := range periods {
		intervals = append(intervals, store.Interval{Start: p.Start, End: p.Cutoff})
	}
	for _, p := range periods {
		prev := cal.Previous(grain, p.Start)
		end := p.Start
		if p.Partial {
			elapsed := wallClock(cal, p.Cutoff).Sub(wallClock(cal, p.Start))
			end = earlier(fromWallClock(cal, wallClock(cal, prev).Add(elapsed)), p.Start)
		}
		intervals = append(intervals, store.Interval{Start: prev, End: end})
	}

	ev := newEvaluator(e.events, defs, grain, intervals)
	ev.cutoff = to
	ev.index = view
	vals, err := ev.metric(ctx, k.Metric)
	if err != nil {
		return nil, err
	}

	s := &Series{KPI: k.ID, Grain: grain, From: from, To: to, ChangeUnit: "%", Points: make([]Point, len(periods)), Warnings: ev.warnings, Path: ev.path()}
	if k.ChangeInPoints() {
		s.ChangeUnit = "pp"
	}
	history, err := e.kpiHistory(ctx, k.ID)
	if err != nil {
		return nil, err
	}
	paths, err := e.paths(ctx, defs, k, history, view)
	if err != nil {
		return nil, err
	}
	retiredAt, retired := time.Time{}, false
	if d, ok := history.Retired(); ok {
		retiredAt, retired = d.In(calendarLocation(cal)), true
	}
	s.Milestones = []Milestone{}
	if current := paths.at(to); current != nil {
		s.Goal = &current.goal
		if k.Baseline != nil {
			s.Baseline = &current.base
		}
		s.Milestones = append(s.Milestones, current.milestones...)
	}

	for i, p := range periods {
		cur, prev := vals[i], vals[len(periods)+i]
		pt := Point{Start: p.Start, End: p.End, Partial: p.Partial, Status: kpi.NoTarget}
		if cur.ok {
			pt.Value = ptr(cur.v)
		} else {
			pt.NoValueReason = cur.reason
		}
		pt.Details = cur.details
		if prev.ok {
			pt.Previous = ptr(prev.v)
		}
		if cur.ok && prev.ok {
			if c, ok := analysis.Change(cur.v, prev.v, k.ChangeInPoints()); ok {
				pt.Change = ptr(c)
			}
		}

		// The path starts at the baseline: a period that starts on or before
		// the baseline date has no target yet. A period is judged against the
		// target in force when it is judged, at its cutoff, so a revision
		// changes the periods that end after it applies and no earlier ones.
		path := paths.at(p.Cutoff)
		if path != nil && p.Start.After(path.base.At) {
			expected := analysis.PathValueThrough(path.points, p.Cutoff)
			if k.Metric.Additive() {
				expected *= grainShare(cal, k.Grain, p.Start, p.Cutoff)
			}
			pt.Target = ptr(expected)
			switch {
			case p.Partial && !k.Metric.Additive():
				pt.Status = kpi.Pending
			case cur.ok:
				pt.Status = analysis.Judge(cur.v, expected, k.Direction, k.Thresholds)
			}
		}
		switch {
		case retired && retiredAt.Before(p.Cutoff):
			pt.Status, pt.Target = kpi.Retired, nil
		case !cur.ok && cur.pending:
			pt.Status = kpi.Pending
		case !cur.ok:
			pt.Status = kpi.NoData
		}
		s.Points[i] = pt
	}

	if err := e.benchmarks(ctx, defs, k, s, periods); err != nil {
		return nil, err
	}
	return s, nil
}

// grainShare returns how many periods of grain g the span [start, end)
// amounts to: the sum, over the periods of g it overlaps, of the overlapped
// fraction. A day in a 31-day month is 1/31 of a month, also on a DST day of
// 23 or 25 hours, because spans are measured in wall-clock time. A quarter
// is 3 months.
func grainShare(cal timegrain.Calendar, g timegrain.Grain, start, end time.Time) float64 {
	share := 0.0
	for p := cal.Start(g, start); p.Before(end); p = cal.Next(g, p) {
		next := cal.Next(g, p)
		overlap := wallClock(cal, earlier(next, end)).Sub(wallClock(cal, later(p, start)))
		share += float64(overlap) / float64(wallClock(cal, next).Sub(wallClock(cal, p)))
	}
	return share
}

// wallClock returns the date and clock reading of t in the calendar's time
// zone as the same reading in UTC. The difference of two such instants counts
// every calendar day as 24 hours, whatever DST does.
func wallClock(cal timegrain.Calendar, t time.Time) time.Time {
	local := t.In(calendarLocation(cal))
	y, mo, d := local.Date()
	h, mi, s := local.Clock()
	return time.Date(y, mo, d, h, mi, s, local.Nanosecond(), time.UTC)
}

// fromWallClock is the inverse of wallClock: it reads w's UTC date and clock
// as a time in the calendar's time zone.
func fromWallClock(cal timegrain.Calendar, w time.Time) time.Time {
	y, mo, d := w.Date()
	h, mi, s := w.Clock()
	return time.Date(y, mo, d, h, mi, s, w.Nanosecond(), calendarLocation(cal))
}

func calendarLocation(cal timegrain.Calendar) *time.Location {
	if cal.Location == nil {
		return time.UTC
	}
	return cal.Location
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func ptr(v float64) *float64 { return &v }
