package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// filterableKinds names the kinds that filterable accepts, for error messages.
const filterableKinds = "active_users, stickiness, new_users, churn, retention, funnel and nps"

// filterable reports whether a metric of kind k takes where filters on its
// events, so that a breakdown can evaluate it once per segment with one more
// filter on the property.
func filterable(k kpi.MetricKind) bool {
	switch k {
	case kpi.ActiveUsers, kpi.Stickiness, kpi.NewUsers, kpi.Churn, kpi.Retention, kpi.Funnel, kpi.NPS:
		return true
	}
	return false
}

// rangeTotal reports whether a metric of kind k has a value over a whole
// range of periods. Active users count a rolling window that ends with the
// interval, and churn compares the interval with the period before it, so
// neither means anything over a range of several periods.
func rangeTotal(k kpi.MetricKind) bool {
	return k != kpi.ActiveUsers && k != kpi.Churn
}

// rankedSegment is one segment of a filtered breakdown: the events that
// share one property value in the range.
type rankedSegment struct {
	name   string
	events int64

	// values are the property's stored values that the name stands for:
	// a string, a number, or both true and "true" for the name "true".
	values []any
}

// filteredBreakdown computes a breakdown of a metric that takes where
// filters. Segments are ranked by the number of the metric's events (its
// cohort event for retention, every step for a funnel) in the range. Each of
// the first limit segments is the metric evaluated with the extra filter
// "property eq value". OtherSegment is the metric with "property neq value"
// for every shown value, so it includes NoneSegment, which a filter cannot
// select exactly and which is therefore never shown on its own.
func (e *Engine) filteredBreakdown(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, property string, limit int, grain timegrain.Grain, periods []timegrain.Period, view *indexView, notes *pathNotes, out *Breakdown) (*Breakdown, error) {
	from, to := periods[0].Start, periods[len(periods)-1].Cutoff
	ranker := newEvaluator(e.events, defs, grain, nil)
	paths := map[string]bool{}
	ranked, ok, err := indexRankFiltered(ctx, view, ranker, k.ID, k.Metric, property, from, to, notes)
	if err != nil {
		return nil, err
	}
	if ok {
		paths[PathIndex] = true
	} else {
		paths[PathSQL] = true
		if ranked, err = rankFiltered(ctx, ranker, k.ID, k.Metric, property, from, to); err != nil {
			return nil, err
		}
	}

	var top, pooled []*rankedSegment
	for _, seg := range ranked {
		if seg.name != NoneSegment && len(top) < limit {
			top = append(top, seg)
		} else {
			pooled = append(pooled, seg)
		}
	}

	intervals := make([]store.Interval, 0, len(periods)+1)
	for _, p := range periods {
		intervals = append(intervals, store.Interval{Start: p.Start, End: p.Cutoff})
	}
	if rangeTotal(k.Metric.Kind) {
		intervals = append(intervals, store.Interval{Start: from, End: to})
	}

	for _, seg := range top {
		filter := kpi.Filter{Property: property, Op: kpi.OpIn, Values: seg.values}
		s, err := e.filteredSegment(ctx, defs, k.Metric, grain, intervals, len(periods), out.To, view, paths, notes, filter)
		if err != nil {
			return nil, err
		}
		s.Name = seg.name
		out.Segments = append(out.Segments, s)
	}
	if len(pooled) > 0 {
		var filters []kpi.Filter
		for _, seg := range top {
			for _, v := range seg.values {
				filters = append(filters, kpi.Filter{Property: property, Op: kpi.OpNeq, Value: v})
			}
		}
		s, err := e.filteredSegment(ctx, defs, k.Metric, grain, intervals, len(periods), out.To, view, paths, notes, filters...)
		if err != nil {
			return nil, err
		}
		s.Name, s.Pooled = OtherSegment, len(pooled)
		out.Segments = append(out.Segments, s)
	}
	out.Warnings = ranker.warnings
	out.Path = pathOf(paths)
	out.PathNotes = *notes
	return out, nil
}

// filteredSegment evaluates m with extra filters over intervals: one per
// period, then the whole range when the kind has a value over it. It reads
// the index through view when it can, adds the path it took to paths, and
// adds to notes why it took the SQL path.
func (e *Engine) filteredSegment(ctx context.Context, defs *kpi.Definitions, m kpi.Metric, grain timegrain.Grain, intervals []store.Interval, periods int, cutoff time.Time, view *indexView, paths map[string]bool, notes *pathNotes, extra ...kpi.Filter) (Segment, error) {
	m.Filters = append(slices.Clone(m.Filters), extra...)
	ev := newEvaluator(e.events, defs, grain, intervals)
	ev.cutoff = cutoff
	ev.index = view
	vals, err := ev.metric(ctx, m)
	if err != nil {
		return Segment{}, err
	}
	for p := range ev.paths {
		paths[p] = true
	}
	if ev.paths[PathSQL] && view != nil && len(extra) > 0 {
		noteSegmentFallback(view, m, extra[0].Property, notes)
	}

	s := Segment{Values: make([]SegmentValue, periods)}
	for i := range periods {
		s.Values[i] = segmentValue(vals[i])
	}
	if len(vals) > periods {
		s.Total = segmentValue(vals[periods])
	} else {
		s.Total = SegmentValue{NoValueReason: fmt.Sprintf("a %s metric has a value per period only, not over the whole range", m.Kind)}
	}
	return s, nil
}

// rankedEvents returns the events whose property values rank the segments
// of m, or nil for every event.
func rankedEvents(m kpi.Metric) []string {
	switch m.Kind {
	case kpi.Retention:
		return []string{m.CohortEvent}
	case kpi.Funnel:
		var names []string
		for _, s := range m.Steps {
			if !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
		return names
	}
	return eventNames(m.Event)
}

// rankFiltered scans m's events in [from, to) that pass its filters, and
// returns their segments by property, most events first, ties in name order.
func rankFiltered(ctx context.Context, ev *evaluator, name string, m kpi.Metric, property string, from, to time.Time) ([]*rankedSegment, error) {
	scanner, err := ev.scanner(m.Kind)
	if err != nil {
		return nil, err
	}

	events := rankedEvents(m)
	q := store.ScanQuery{Events: events, Filters: m.Filters, From: from, To: to, Property: property, Keys: []string{property}}
	segments := map[string]*rankedSegment{}
	var total, withProperty int64
	err = scanner.ScanEvents(ctx, q, func(row store.EventRow) error {
		total++
		key := ""
		if len(row.Keys) > 0 {
			key = row.Keys[0]
		}
		if key == "" {
			key = NoneSegment
		} else {
			withProperty++
		}

		seg := segments[key]
		if seg == nil {
			seg = &rankedSegment{name: key}
			segments[key] = seg
		}
		seg.events++
		if key != NoneSegment {
			for _, v := range storedValues(key, row) {
				if !slices.Contains(seg.values, v) {
					seg.values = append(seg.values, v)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	scanned := "events"
	if len(events) > 0 {
		scanned = strings.Join(events, ", ") + " events"
	}
	switch {
	case total == 0:
		ev.warnf("metric %s: no %s in this range match its filters", name, scanned)
	case withProperty == 0:
		ev.warnf("metric %s: no %s in this range has the property %q, so every one is in %s", name, scanned, property, OtherSegment)
	}

	return sortRanked(segments), nil
}

// sortRanked returns the segments, most events first, ties in name order.
func sortRanked(segments map[string]*rankedSegment) []*rankedSegment {
	out := make([]*rankedSegment, 0, len(segments))
	for _, seg := range segments {
		out = append(out, seg)
	}
	slices.SortFunc(out, func(a, b *rankedSegment) int {
		if c := cmp.Compare(b.events, a.events); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// storedValues returns the stored property values that the key text of row
// can stand for, so that an eq or neq filter on them selects exactly the
// events of the key's segment. The scan returns a number as text and also
// as its numeric value, and a boolean as "true" or "false", which a string
// can also be.
//
// NOTE: the number 7 and the number 7.0 are different segments ("7" and
// "7.0") but the same filter value, so a property stored both ways puts the
// events of each segment in the other too.
func storedValues(key string, row store.EventRow) []any {
	switch {
	case row.HasValue:
		return []any{row.Value}
	case key == "true":
		return []any{true, key}
	case key == "false":
		return []any{false, key}
	}
	return []any{key}
}
