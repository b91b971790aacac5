package engine

import (
	"context"
	"strconv"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// subscriptionFlow counts the subscriptions started and cancelled in one
// timeline segment.
type subscriptionFlow struct {
	started, cancelled int64
}

// subscriptionState is the count and monthly amount of the subscriptions
// active at one instant: those started before it and not cancelled before it.
type subscriptionState struct {
	active int64
	mrr    float64
}

// subscriptions computes the kinds that follow subscriptions through their
// start and cancel events. A subscription is identified by the text of its
// m.SubscriptionKey property, or by the user when the key is empty. It starts
// with m.StartEvent and ends with m.CancelEvent. A start after a cancel
// begins a new subscription. A start while the subscription is active does
// not: it sets the monthly amount (an upgrade or downgrade). A cancel of a
// subscription that is not active is ignored with a warning. The scan starts
// at the first stored event, so subscriptions started before the range count.
//
// A subscription is active at instant t when it started before t and was not
// cancelled before t. For an interval [s, e):
//
//   - MRR: the sum of the monthly amounts (m.Property on the start event; 0
//     with a warning when the start event has none) of the subscriptions
//     active at e.
//   - ActiveSubscriptions: the number of subscriptions active at e.
//   - SubscriptionChurn: 100 × the subscriptions cancelled in [s, e) ÷ those
//     active at s. A subscription started and cancelled within the interval
//     counts among the cancelled, so the rate can pass 100 %. No value when
//     none was active at s.
//
// Every point's details hold active_start, started, cancelled and active_end,
// and active_start + started − cancelled = active_end holds exactly.
func (ev *evaluator) subscriptions(ctx context.Context, m kpi.Metric) ([]value, error) {
	if len(ev.intervals) == 0 {
		return nil, nil
	}
	if m.StartEvent == m.CancelEvent {
		return nil, kpi.Errorf(kpi.EINVALID, "%s metric: start_event and cancel_event are both %q (want two different events)", m.Kind, m.StartEvent)
	}
	scanner, err := ev.scanner(m.Kind)
	if err != nil {
		return nil, err
	}

	instants := make([]time.Time, 0, 2*len(ev.intervals))
	for _, iv := range ev.intervals {
		instants = append(instants, iv.Start, iv.End)
	}
	tl := newTimeline(instants)

	ledger := &subscriptionLedger{
		metric:   m,
		amounts:  map[string]float64{},
		flows:    make([]subscriptionFlow, tl.segments()),
		states:   make([]subscriptionState, len(tl.bounds)),
		timeline: tl,
	}
	q := store.ScanQuery{Events: []string{m.StartEvent, m.CancelEvent}, To: tl.last()}
	if m.Kind == kpi.MRR {
		q.Property = m.Property
	}
	if m.SubscriptionKey != "" {
		q.Keys = []string{m.SubscriptionKey}
	}
	if err := scanner.ScanEvents(ctx, q, ledger.apply); err != nil {
		return nil, err
	}
	ledger.recordUntil(time.Time{})
	ledger.warn(ctx, ev)

	out := make([]value, len(ev.intervals))
	for i, iv := range ev.intervals {
		out[i] = ledger.value(iv)
	}
	return out, nil
}

// subscriptionLedger replays start and cancel events in time order. It
// records the state at each timeline bound as the replay passes it, and the
// starts and cancels in each segment.
type subscriptionLedger struct {
	metric   kpi.Metric
	timeline timeline

	amounts map[string]float64 // monthly amount of each active subscription
	current subscriptionState

	flows  []subscriptionFlow  // per segment
	states []subscriptionState // per bound, before the events at the bound
	next   int                 // the first bound not recorded yet

	events, noKey, noAmount, strayCancels int
}

// recordUntil records the current state at every bound up to and including t,
// or at every remaining bound when t is zero.
func (l *subscriptionLedger) recordUntil(t time.Time) {
	for l.next < len(l.timeline.bounds) && (t.IsZero() || !l.timeline.bounds[l.next].After(t)) {
		l.states[l.next] = l.current
		l.next++
	}
}

func (l *subscriptionLedger) apply(row store.EventRow) error {
	l.recordUntil(row.Timestamp)
	l.events++

	key := strconv.FormatInt(row.UserID, 10)
	if l.metric.SubscriptionKey != "" {
		key = row.Keys[0]
		if key == "" {
			l.noKey++
			return nil
		}
	}
	seg := l.timeline.segment(row.Timestamp)
	old, active := l.amounts[key]

	if row.Event == l.metric.CancelEvent {
		if !active {
			l.strayCancels++
			return nil
		}
		delete(l.amounts, key)
		l.current.active--
		l.current.mrr -= old
		if l.current.active == 0 {
			l.current.mrr = 0 // drop the rounding left by adding and subtracting
		}
		if seg >= 0 {
			l.flows[seg].cancelled++
		}
		return nil
	}

	amount := row.Value
	if l.metric.Kind == kpi.MRR && !row.HasValue {
		l.noAmount++
		amount = 0
	}
	l.amounts[key] = amount
	l.current.mrr += amount - old
	if !active {
		l.current.active++
		if seg >= 0 {
			l.flows[seg].started++
		}
	}
	return nil
}

func (l *subscriptionLedger) warn(ctx context.Context, ev *evaluator) {
	m := l.metric
	if l.events == 0 {
		ev.warnf("no %q or %q events up to the end of this range%s", m.StartEvent, m.CancelEvent, ev.knownEvents(ctx, m.StartEvent))
	}
	if l.noKey > 0 {
		ev.warnf("skipped %d %q or %q events without a %q property, which identifies the subscription", l.noKey, m.StartEvent, m.CancelEvent, m.SubscriptionKey)
	}
	if l.noAmount > 0 {
		ev.warnf("%d %q events have no numeric %q, so their subscriptions add 0 to MRR (import it with --prop NAME=COLUMN:number)", l.noAmount, m.StartEvent, m.Property)
	}
	if l.strayCancels > 0 {
		ev.warnf("ignored %d %q events of subscriptions that were not active", l.strayCancels, m.CancelEvent)
	}
}

// value returns the metric's value over iv.
func (l *subscriptionLedger) value(iv store.Interval) value {
	from, to := l.timeline.span(iv)
	var flow subscriptionFlow
	for _, f := range l.flows[from:to] {
		flow.started += f.started
		flow.cancelled += f.cancelled
	}
	start, end := l.states[from], l.states[to]
	details := map[string]float64{
		"active_start": float64(start.active),
		"started":      float64(flow.started),
		"cancelled":    float64(flow.cancelled),
		"active_end":   float64(end.active),
	}

	switch l.metric.Kind {
	case kpi.MRR:
		return value{v: end.mrr, ok: true, details: details}
	case kpi.ActiveSubscriptions:
		return value{v: float64(end.active), ok: true, details: details}
	default:
		if start.active == 0 {
			return value{reason: "no active subscriptions at the start of the period", details: details}
		}
		return value{v: 100 * float64(flow.cancelled) / float64(start.active), ok: true, details: details}
	}
}
