package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// value is a metric's value over one interval; ok is false when there is none.
type value struct {
	v      float64
	ok     bool
	reason string

	// details are counts behind the value, copied to Point.Details.
	details map[string]float64

	// pending marks a value that does not exist yet but will: a cohort whose
	// period is not over, a funnel whose users are all inside their window.
	pending bool
}

// evaluator computes metric values over one list of intervals, remembering
// the values of named metrics so that a formula using a name twice, or two
// formulas sharing one, query it once.
//
// Each interval is one period of grain in the workspace calendar, or the
// elapsed part of one (a partial period, or the same span of the period
// before it): interval i starts at a period start of grain.
type evaluator struct {
	events    EventAggregator
	defs      *kpi.Definitions
	cal       timegrain.Calendar
	grain     timegrain.Grain
	intervals []store.Interval
	named     map[string][]value
	warnings  []string

	// index reads the activity index, when the engine has one that fits the
	// workspace; paths collects which paths computed the metrics.
	index *indexView
	paths map[string]bool

	// cutoff is the instant after which no data is used: the end of the
	// series, or now for a baseline. Retention and funnels need data after
	// an interval ends. The zero time means the latest interval end.
	cutoff time.Time
}

func newEvaluator(events EventAggregator, defs *kpi.Definitions, grain timegrain.Grain, intervals []store.Interval) *evaluator {
	return &evaluator{
		events:    events,
		defs:      defs,
		cal:       defs.Workspace.Calendar(),
		grain:     grain,
		intervals: intervals,
		named:     map[string][]value{},
		paths:     map[string]bool{},
	}
}

// metric returns m's value over each interval.
func (ev *evaluator) metric(ctx context.Context, m kpi.Metric) ([]value, error) {
	switch m.Kind {
	case kpi.Formula:
		return ev.formula(ctx, m)
	}

	vals, ok, err := ev.fromIndex(ctx, m)
	if err != nil {
		return nil, err
	}
	if ok {
		ev.paths[PathIndex] = true
		return vals, nil
	}
	ev.paths[PathSQL] = true

	switch m.Kind {
	case kpi.ActiveUsers, kpi.Stickiness, kpi.NewUsers, kpi.Churn:
		return ev.userActivity(ctx, m)
	case kpi.Retention:
		return ev.retention(ctx, m)
	case kpi.Funnel:
		return ev.funnel(ctx, m)
	case kpi.NPS:
		return ev.nps(ctx, m)
	case kpi.MRR, kpi.ActiveSubscriptions, kpi.SubscriptionChurn:
		return ev.subscriptions(ctx, m)
	case kpi.Measurement:
		return ev.measurement(ctx, m)
	}

	aggs, err := ev.events.Aggregate(ctx, store.AggregateQuery{
		Event:     m.Event,
		Property:  m.Property,
		Filters:   m.Filters,
		Intervals: ev.intervals,
	})
	if err != nil {
		return nil, err
	}
	if len(aggs) != len(ev.intervals) {
		return nil, fmt.Errorf("aggregate %q: got %d results for %d intervals", m.Event, len(aggs), len(ev.intervals))
	}
	return ev.aggregateValues(ctx, m, aggs)
}

// aggregateValues turns the aggregates of a count, unique_users, sum or
// average metric into its values, warning when none matched.
func (ev *evaluator) aggregateValues(ctx context.Context, m kpi.Metric, aggs []store.Aggregate) ([]value, error) {
	ev.checkEmpty(ctx, m, aggs)

	out := make([]value, len(aggs))
	for i, a := range aggs {
		switch m.Kind {
		case kpi.Count:
			out[i] = value{v: float64(a.Events), ok: true}
		case kpi.UniqueUsers:
			out[i] = value{v: float64(a.Users), ok: true}
		case kpi.Sum:
			out[i] = value{v: a.Sum, ok: true}
		case kpi.Average:
			if a.Values == 0 {
				out[i] = value{reason: fmt.Sprintf("no %s event with a numeric %s", m.Event, m.Property)}
			} else {
				out[i] = value{v: a.Sum / float64(a.Values), ok: true}
			}
		default:
			return nil, kpi.Errorf(kpi.EINVALID, "metric kind %q cannot be computed", m.Kind)
		}
	}
	return out, nil
}

func (ev *evaluator) formula(ctx context.Context, m kpi.Metric) ([]value, error) {
	compiled := m.Compiled
	if compiled == nil {
		return nil, kpi.Errorf(kpi.EINVALID, "formula %q was not compiled; load the KPI file with kpi.LoadFile", m.Formula)
	}

	inputs := make(map[string][]value, len(compiled.Names()))
	for _, name := range compiled.Names() {
		vals, err := ev.name(ctx, name)
		if err != nil {
			return nil, err
		}
		inputs[name] = vals
	}

	out := make([]value, len(ev.intervals))
	env := make(map[string]float64, len(inputs))
	for i := range ev.intervals {
		out[i] = value{ok: true}
		for name, vals := range inputs {
			if !vals[i].ok {
				out[i] = value{reason: fmt.Sprintf("%s has no value", name)}
				break
			}
			env[name] = vals[i].v
		}
		if !out[i].ok {
			continue
		}
		v, ok, reason := compiled.Eval(env)
		out[i] = value{v: v, ok: ok, reason: reason}
	}
	return out, nil
}

// name returns the values of a named metric or KPI, computing them once.
func (ev *evaluator) name(ctx context.Context, name string) ([]value, error) {
	if vals, ok := ev.named[name]; ok {
		return vals, nil
	}
	m, ok := ev.defs.ResolveMetric(name)
	if !ok {
		return nil, kpi.Errorf(kpi.EINVALID, "formula uses %q, which is neither a metric nor a KPI", name)
	}
	vals, err := ev.metric(ctx, m)
	if err != nil {
		return nil, err
	}
	ev.named[name] = vals
	return vals, nil
}

// path returns which path computed the metrics so far: PathIndex, PathSQL,
// PathMixed, or "" when none was computed.
func (ev *evaluator) path() string {
	return pathOf(ev.paths)
}

// pathOf returns PathIndex, PathSQL or PathMixed for the set of paths that
// computed something, or "" for an empty set.
func pathOf(paths map[string]bool) string {
	switch {
	case paths[PathIndex] && paths[PathSQL]:
		return PathMixed
	case paths[PathIndex]:
		return PathIndex
	case paths[PathSQL]:
		return PathSQL
	}
	return ""
}

// checkEmpty adds a warning when m matches no event over all the intervals,
// or, for a sum or average, no event with a numeric property: a typo in an
// event or property name otherwise shows up only as zeros.
func (ev *evaluator) checkEmpty(ctx context.Context, m kpi.Metric, aggs []store.Aggregate) {
	var events, values int64
	for _, a := range aggs {
		events += a.Events
		values += a.Values
	}

	switch {
	case events == 0 && len(m.Filters) == 0:
		ev.warnf("no %q events in this range%s", m.Event, ev.knownEvents(ctx, m.Event))
	case events == 0:
		ev.warnf("no %q events in this range match the where filters", m.Event)
	case (m.Kind == kpi.Sum || m.Kind == kpi.Average) && values == 0:
		ev.warnf("no %q event in this range has a numeric %q property (import it with --prop NAME=COLUMN:number)", m.Event, m.Property)
	}
}

// knownEvents returns ", and none in the database (known events: ...)" when
// the store can list event names and name is not one of them.
func (ev *evaluator) knownEvents(ctx context.Context, name string) string {
	namer, ok := ev.events.(EventNamer)
	if !ok {
		return ""
	}
	names, err := namer.EventNames(ctx)
	if err != nil || slices.Contains(names, name) {
		return ""
	}
	if len(names) == 0 {
		return ", and the database has no events yet"
	}
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return fmt.Sprintf(", and none in the database (known events: %s)", strings.Join(names, ", "))
}

func (ev *evaluator) warnf(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if !slices.Contains(ev.warnings, w) {
		ev.warnings = append(ev.warnings, w)
	}
}

// scanner returns the store's EventScanner, or an error naming the metric
// kind that needs one.
func (ev *evaluator) scanner(kind kpi.MetricKind) (EventScanner, error) {
	s, ok := ev.events.(EventScanner)
	if !ok {
		return nil, fmt.Errorf("metric kind %s needs a store that scans events, and %T does not", kind, ev.events)
	}
	return s, nil
}
