package engine

import (
	"context"
	"sort"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// userActivity computes the kinds that count users by when they were active.
// A user is active at an instant when they do m.Event there (any event when
// m.Event is empty) and the event passes m.Filters. Days are calendar days in
// the workspace's time zone, and each interval is [s, e):
//
//   - ActiveUsers: the distinct users active in the rolling window of
//     m.Window days that ends with the interval, [D − (Window − 1) days, e),
//     where D is the start of the day that contains the interval's last
//     instant. Window 1, 7 and 30 at day grain give DAU, WAU and MAU. A
//     week's active users are distinct across the week, never a sum of daily
//     counts.
//   - Stickiness: 100 × (Σ over the days d of the interval of DAU(d) ÷ the
//     number of those days) ÷ the distinct users active in [s, e). DAU(d)
//     counts the users active in the part of day d inside the interval, so
//     the day a partial interval ends in counts as one day. Ten users who are
//     each active on all seven days of a week make that week 100 %. No value
//     when no user is active in the interval.
//   - NewUsers: the users whose first m.Event ever (the scan starts at the
//     first stored event, not at the range) falls in [s, e).
//   - Churn: 100 × |P \ C| ÷ |P|, where C is the set of users active in
//     [s, e) and P those active in the previous span: the whole previous
//     period of the series grain, [Previous(s), s), when the interval is a
//     whole period, or else the same elapsed wall-clock span from the
//     previous period's start (capped at s), as Series compares a month to
//     date with the same days of the month before. No value when P is empty.
func (ev *evaluator) userActivity(ctx context.Context, m kpi.Metric) ([]value, error) {
	if len(ev.intervals) == 0 {
		return nil, nil
	}
	if m.Kind == kpi.NewUsers {
		return ev.newUsers(ctx, m)
	}
	if m.Kind == kpi.ActiveUsers && m.Window < 1 {
		return nil, kpi.Errorf(kpi.EINVALID, "active_users metric on %q has window %d (want a number of days from 1)", m.Event, m.Window)
	}

	var instants []time.Time
	for _, iv := range ev.intervals {
		instants = append(instants, iv.Start, iv.End)
		switch m.Kind {
		case kpi.ActiveUsers:
			instants = append(instants, ev.rollingWindow(iv, m.Window).Start)
		case kpi.Stickiness:
			for _, day := range ev.days(iv) {
				instants = append(instants, day.Start, day.End)
			}
		case kpi.Churn:
			prev := ev.previousSpan(iv)
			instants = append(instants, prev.Start, prev.End)
		}
	}

	activity, err := ev.scanSegmentUsers(ctx, m, newTimeline(instants))
	if err != nil {
		return nil, err
	}

	out := make([]value, len(ev.intervals))
	for i, iv := range ev.intervals {
		switch m.Kind {
		case kpi.ActiveUsers:
			out[i] = value{v: float64(activity.count(ev.rollingWindow(iv, m.Window))), ok: true}
		case kpi.Stickiness:
			out[i] = ev.stickiness(activity, iv)
		case kpi.Churn:
			out[i] = churn(activity, ev.previousSpan(iv), iv)
		default:
			return nil, kpi.Errorf(kpi.EINVALID, "metric kind %q is not a user activity kind", m.Kind)
		}
	}
	return out, nil
}

// rollingWindow returns the window of the given number of calendar days that
// ends with iv: it starts days−1 days before the day of iv's last instant.
func (ev *evaluator) rollingWindow(iv store.Interval, days int) store.Interval {
	lastDay := ev.cal.Start(timegrain.Day, iv.End.Add(-time.Nanosecond)).In(calendarLocation(ev.cal))
	y, mo, d := lastDay.Date()
	start := time.Date(y, mo, d-(days-1), 0, 0, 0, 0, calendarLocation(ev.cal))
	return store.Interval{Start: start, End: iv.End}
}

// days returns the parts of iv that fall in each calendar day it overlaps.
func (ev *evaluator) days(iv store.Interval) []store.Interval {
	var out []store.Interval
	for d := ev.cal.Start(timegrain.Day, iv.Start); d.Before(iv.End); d = ev.cal.Next(timegrain.Day, d) {
		out = append(out, store.Interval{Start: later(d, iv.Start), End: earlier(ev.cal.Next(timegrain.Day, d), iv.End)})
	}
	return out
}

// previousSpan returns the span that churn compares iv with: the whole
// previous period when iv is a whole period of the grain, and otherwise the
// same elapsed wall-clock time from the previous period's start, capped at
// iv's start.
func (ev *evaluator) previousSpan(iv store.Interval) store.Interval {
	prev := ev.cal.Previous(ev.grain, iv.Start)
	if iv.End.Equal(ev.cal.Next(ev.grain, iv.Start)) {
		return store.Interval{Start: prev, End: iv.Start}
	}
	elapsed := wallClock(ev.cal, iv.End).Sub(wallClock(ev.cal, iv.Start))
	end := earlier(fromWallClock(ev.cal, wallClock(ev.cal, prev).Add(elapsed)), iv.Start)
	return store.Interval{Start: prev, End: end}
}

func (ev *evaluator) stickiness(activity *segmentUsers, iv store.Interval) value {
	users := activity.count(iv)
	if users == 0 {
		return value{reason: "no active users in the period"}
	}

	days := ev.days(iv)
	daily := 0
	for _, day := range days {
		daily += activity.count(day)
	}
	mean := float64(daily) / float64(len(days))
	return value{
		v:       mean / float64(users) * 100,
		ok:      true,
		details: map[string]float64{"mean_daily_users": mean, "users": float64(users)},
	}
}

func churn(activity *segmentUsers, previous, current store.Interval) value {
	before := activity.set(previous)
	if len(before) == 0 {
		return value{reason: "no active users in the previous period"}
	}
	now := activity.set(current)

	churned := 0
	for u := range before {
		if _, back := now[u]; !back {
			churned++
		}
	}
	return value{
		v:       float64(churned) / float64(len(before)) * 100,
		ok:      true,
		details: map[string]float64{"previous_users": float64(len(before)), "churned_users": float64(churned)},
	}
}

// newUsers counts, per interval, the users whose first m.Event falls in it.
// It scans from the first stored event, because "first" means first ever.
func (ev *evaluator) newUsers(ctx context.Context, m kpi.Metric) ([]value, error) {
	scanner, err := ev.scanner(m.Kind)
	if err != nil {
		return nil, err
	}
	end := ev.intervals[0].End
	for _, iv := range ev.intervals {
		end = later(end, iv.End)
	}

	// firsts is sorted, because the scan is in time order and each user is
	// appended at their first event.
	var firsts []time.Time
	seen := map[int64]struct{}{}
	q := store.ScanQuery{Events: eventNames(m.Event), Filters: m.Filters, To: end}
	err = scanner.ScanEvents(ctx, q, func(row store.EventRow) error {
		if _, ok := seen[row.UserID]; !ok {
			seen[row.UserID] = struct{}{}
			firsts = append(firsts, row.Timestamp)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(firsts) == 0 {
		ev.warnNoEvents(ctx, m)
	}

	out := make([]value, len(ev.intervals))
	for i, iv := range ev.intervals {
		from := sort.Search(len(firsts), func(j int) bool { return !firsts[j].Before(iv.Start) })
		to := sort.Search(len(firsts), func(j int) bool { return !firsts[j].Before(iv.End) })
		out[i] = value{v: float64(max(to-from, 0)), ok: true}
	}
	return out, nil
}

// segmentUsers holds, for each segment of a timeline, the distinct users
// active in it. Its size is at most users × segments, whatever the number of
// events.
type segmentUsers struct {
	tl    timeline
	users [][]int64
}

// scanSegmentUsers scans m's events over the timeline and records who was
// active in each segment.
func (ev *evaluator) scanSegmentUsers(ctx context.Context, m kpi.Metric, tl timeline) (*segmentUsers, error) {
	scanner, err := ev.scanner(m.Kind)
	if err != nil {
		return nil, err
	}

	activity := &segmentUsers{tl: tl, users: make([][]int64, tl.segments())}
	lastSegment := map[int64]int{} // 1 + the segment each user was last added to
	events := 0
	q := store.ScanQuery{Events: eventNames(m.Event), Filters: m.Filters, From: tl.first(), To: tl.last()}
	err = scanner.ScanEvents(ctx, q, func(row store.EventRow) error {
		events++
		seg := tl.segment(row.Timestamp)
		if seg < 0 || lastSegment[row.UserID] == seg+1 {
			return nil
		}
		// Events come in time order, so a user never returns to a segment
		// after leaving it, and one remembered segment per user is enough.
		lastSegment[row.UserID] = seg + 1
		activity.users[seg] = append(activity.users[seg], row.UserID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if events == 0 {
		ev.warnNoEvents(ctx, m)
	}
	return activity, nil
}

// set returns the distinct users active in iv.
func (a *segmentUsers) set(iv store.Interval) map[int64]struct{} {
	from, to := a.tl.span(iv)
	users := map[int64]struct{}{}
	for _, segment := range a.users[from:to] {
		for _, u := range segment {
			users[u] = struct{}{}
		}
	}
	return users
}

// count returns the number of distinct users active in iv.
func (a *segmentUsers) count(iv store.Interval) int {
	from, to := a.tl.span(iv)
	if to-from == 1 {
		return len(a.users[from]) // users are distinct within a segment
	}
	return len(a.set(iv))
}

// eventNames returns the event list of a scan: every event when name is empty.
func eventNames(name string) []string {
	if name == "" {
		return nil
	}
	return []string{name}
}

// warnNoEvents adds a warning that m's event matched nothing in the range
// scanned, naming the known events when the name looks wrong.
func (ev *evaluator) warnNoEvents(ctx context.Context, m kpi.Metric) {
	switch {
	case m.Event == "" && len(m.Filters) == 0:
		ev.warnf("no events in this range")
	case m.Event == "":
		ev.warnf("no events in this range match the where filters")
	case len(m.Filters) == 0:
		ev.warnf("no %q events in this range%s", m.Event, ev.knownEvents(ctx, m.Event))
	default:
		ev.warnf("no %q events in this range match the where filters", m.Event)
	}
}
