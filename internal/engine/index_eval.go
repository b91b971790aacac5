package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Paths that compute a metric, as Series.Path reports them.
const (
	PathIndex = "index" // the activity index
	PathSQL   = "sql"   // the store's queries and scans
	PathMixed = "mixed" // parts took each path: a formula's inputs, or a breakdown's ranking and values
)

// fromIndex computes m from the activity index. It returns false when the
// index cannot give the same result as the store: an unsupported kind,
// filter or property, or an interval that starts inside a day.
func (ev *evaluator) fromIndex(ctx context.Context, m kpi.Metric) ([]value, bool, error) {
	v := ev.index
	if v == nil {
		return nil, false, nil
	}
	f, ok := v.filterFor(m.Filters)
	if !ok {
		return nil, false, nil
	}

	switch m.Kind {
	case kpi.Count, kpi.UniqueUsers, kpi.Sum, kpi.Average:
		if m.Event == "" {
			return nil, false, nil
		}
		if m.Property != "" && !containsString(v.ix.declared.Properties, m.Property) {
			return nil, false, nil
		}
		aggs := make([]store.Aggregate, len(ev.intervals))
		for i, iv := range ev.intervals {
			a, ok, err := v.aggregate(ctx, m.Event, m.Property, f, iv)
			if !ok || err != nil {
				return nil, ok, err
			}
			aggs[i] = a
		}
		vals, err := ev.aggregateValues(ctx, m, aggs)
		return vals, err == nil, err
	case kpi.ActiveUsers, kpi.Stickiness, kpi.Churn:
		return ev.indexUserActivity(ctx, m, f)
	case kpi.NewUsers:
		return ev.indexNewUsers(ctx, m, f)
	case kpi.Retention:
		return ev.indexRetention(ctx, m, f)
	case kpi.Funnel:
		return ev.indexFunnel(ctx, m, f)
	}
	return nil, false, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// indexUserActivity is userActivity on the index.
func (ev *evaluator) indexUserActivity(ctx context.Context, m kpi.Metric, f sliceFilter) ([]value, bool, error) {
	if len(ev.intervals) == 0 || (m.Kind == kpi.ActiveUsers && m.Window < 1) {
		return nil, false, nil
	}
	v := ev.index
	count := func(iv store.Interval) (int, bool, error) {
		return v.userCount(ctx, m.Event, f, iv)
	}
	// Rolling windows of consecutive days overlap in all but one day, so a
	// counter moved from window to window does less work than a union each.
	// At coarser grains consecutive windows overlap less or not at all, and
	// a union of each window's days is faster.
	var rolling *windowCounter
	if m.Kind == kpi.ActiveUsers && m.Window > 1 && ev.grain == timegrain.Day {
		rolling = newWindowCounter(v, m.Event, f)
	}

	out := make([]value, len(ev.intervals))
	hull := store.Interval{}
	widen := func(iv store.Interval) {
		if hull.Start.IsZero() || iv.Start.Before(hull.Start) {
			hull.Start = iv.Start
		}
		hull.End = later(hull.End, iv.End)
	}
	// The counter moves forward through the windows in time order: the
	// previous periods come after the current ones in ev.intervals, and
	// going back to the first of them would empty and refill the counter.
	order := make([]int, len(ev.intervals))
	for i := range order {
		order[i] = i
	}
	if rolling != nil {
		slices.SortStableFunc(order, func(a, b int) int { return ev.intervals[a].Start.Compare(ev.intervals[b].Start) })
	}
	for _, i := range order {
		iv := ev.intervals[i]
		widen(iv)
		switch m.Kind {
		case kpi.ActiveUsers:
			w := ev.rollingWindow(iv, m.Window)
			widen(w)
			var n int
			var ok bool
			var err error
			if rolling != nil {
				n, ok, err = rolling.count(ctx, w)
			} else {
				n, ok, err = count(w)
			}
			if !ok || err != nil {
				return nil, ok, err
			}
			out[i] = value{v: float64(n), ok: true}
		case kpi.Stickiness:
			users, ok, err := count(iv)
			if !ok || err != nil {
				return nil, ok, err
			}
			if users == 0 {
				out[i] = value{reason: "no active users in the period"}
				continue
			}
			days := ev.days(iv)
			daily := 0
			for _, day := range days {
				n, ok, err := count(day)
				if !ok || err != nil {
					return nil, ok, err
				}
				daily += n
			}
			mean := float64(daily) / float64(len(days))
			out[i] = value{v: mean / float64(users) * 100, ok: true,
				details: map[string]float64{"mean_daily_users": mean, "users": float64(users)}}
		case kpi.Churn:
			prev := ev.previousSpan(iv)
			widen(prev)
			before, ok, err := v.users(ctx, m.Event, f, prev)
			if !ok || err != nil {
				return nil, ok, err
			}
			if before.IsEmpty() {
				out[i] = value{reason: "no active users in the previous period"}
				continue
			}
			now, ok, err := v.users(ctx, m.Event, f, iv)
			if !ok || err != nil {
				return nil, ok, err
			}
			churned := roaring.AndNot(before, now).GetCardinality()
			out[i] = value{v: float64(churned) / float64(before.GetCardinality()) * 100, ok: true,
				details: map[string]float64{"previous_users": float64(before.GetCardinality()), "churned_users": float64(churned)}}
		}
	}

	n, ok, err := v.events(ctx, m.Event, f, hull)
	if !ok || err != nil {
		return nil, ok, err
	}
	if n == 0 {
		ev.warnNoEvents(ctx, m)
	}
	return out, true, nil
}

// indexNewUsers is newUsers on the index.
func (ev *evaluator) indexNewUsers(ctx context.Context, m kpi.Metric, f sliceFilter) ([]value, bool, error) {
	v := ev.index
	cuts := make([]time.Time, 0, len(ev.intervals))
	for _, iv := range ev.intervals {
		if !v.aligned(iv.Start) {
			return nil, false, nil
		}
		cuts = append(cuts, iv.End)
	}
	nc, err := v.firstUsers(ctx, m.Event, f, cuts)
	if err != nil {
		return nil, false, err
	}

	out := make([]value, len(ev.intervals))
	end := store.Interval{}
	for i, iv := range ev.intervals {
		n := uint64(0)
		for _, u := range nc.in(iv, v.ix.loc) {
			n += u.GetCardinality()
		}
		out[i] = value{v: float64(n), ok: true}
		end.End = later(end.End, iv.End)
	}

	// The store path warns when no user has a first event before the end.
	any := len(nc.byDay) > 0
	if u := nc.byCut[end.End.UnixNano()]; u != nil && !u.IsEmpty() {
		any = true
	}
	if !any {
		ev.warnNoEvents(ctx, m)
	}
	return out, true, nil
}

// indexRetention is retention on the index, in calendar mode. Rolling mode,
// and period 0 with a return event other than the cohort event, need the
// time of day of each event, so they fall back to the store.
func (ev *evaluator) indexRetention(ctx context.Context, m kpi.Metric, f sliceFilter) ([]value, bool, error) {
	clock, err := newRetentionClock(ev.cal, m, ev.grain)
	if err != nil || clock.mode != kpi.CalendarRetention {
		return nil, false, nil
	}
	if m.Offset == 0 && !returnsByDefinition(m, 0) {
		return nil, false, nil
	}
	v := ev.index
	cutoff := ev.dataCutoff()

	effective := make([]store.Interval, len(ev.intervals))
	cuts := []time.Time{cutoff}
	for i, iv := range ev.intervals {
		if !v.aligned(iv.Start) {
			return nil, false, nil
		}
		effective[i] = store.Interval{Start: iv.Start, End: earlier(iv.End, cutoff)}
		cuts = append(cuts, effective[i].End)
	}
	nc, err := v.firstUsers(ctx, m.CohortEvent, f, cuts)
	if err != nil {
		return nil, false, err
	}

	returnEvent := m.ReturnEvent
	if returnEvent == "" {
		returnEvent = allEvents
	}
	returns := map[int64]*roaring.Bitmap{} // by the start of the cohort's period
	out := make([]value, len(ev.intervals))
	for i, iv := range ev.intervals {
		cohort := nc.in(effective[i], v.ix.loc)
		if !effective[i].Start.Before(effective[i].End) {
			cohort = nil
		}
		size := uint64(0)
		for _, u := range cohort {
			size += u.GetCardinality()
		}
		out[i].details = map[string]float64{"cohort_size": float64(size)}

		if over, ends := clock.periodOver(iv.End, m.Offset, cutoff); !over {
			out[i].reason = fmt.Sprintf("cohort period %d is not over (it ends %s)", m.Offset, formatInstant(ends, ev.cal))
			out[i].pending = true
			continue
		}
		if size == 0 {
			out[i].reason = "no users in this cohort"
			continue
		}

		retained := size
		if !returnsByDefinition(m, m.Offset) {
			retained = 0
			for d, u := range cohort {
				first := dayStart(d, v.ix.loc)
				periodStart := ev.cal.Start(clock.grain, first)
				back := returns[periodStart.UnixNano()]
				if back == nil {
					start, end := clock.period(first, m.Offset)
					var ok bool
					back, ok, err = v.users(ctx, returnEvent, sliceFilter{}, store.Interval{Start: start, End: earlier(end, cutoff)})
					if !ok || err != nil {
						return nil, ok, err
					}
					returns[periodStart.UnixNano()] = back
				}
				retained += roaring.And(u, back).GetCardinality()
			}
		}
		out[i].ok = true
		out[i].v = 100 * float64(retained) / float64(size)
		out[i].details["retained"] = float64(retained)
	}

	// The same warnings as firstCohortEvents.
	anyMember := len(nc.byDay) > 0
	if u := nc.byCut[cutoff.UnixNano()]; u != nil && !u.IsEmpty() {
		anyMember = true
	}
	switch {
	case !anyMember && len(m.Filters) == 0:
		ev.warnf("no %q events to form cohorts with%s", m.CohortEvent, ev.knownEvents(ctx, m.CohortEvent))
	case !anyMember:
		ev.warnf("no %q events match the where filters, so every cohort is empty", m.CohortEvent)
	}
	if m.ReturnEvent != "" && m.ReturnEvent != m.CohortEvent {
		if known := ev.knownEvents(ctx, m.ReturnEvent); known != "" {
			ev.warnf("no %q events to count returns with%s", m.ReturnEvent, known)
		}
	}
	return out, true, nil
}
