// Package engine computes KPI series: it compiles metric definitions into
// aggregate queries over the store, evaluates formulas, and judges each period
// against the KPI's target.
package engine

import (
	"context"
	"time"

	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// EventAggregator is the storage the engine reads. Aggregate returns one
// aggregate per interval of the query, in order.
type EventAggregator interface {
	Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.Aggregate, error)
	EventSpan(ctx context.Context) (store.Span, error)
}

// EventNamer is implemented by stores that can list the event names they
// hold. The engine uses it, when available, to suggest the right name for a
// metric whose event matches nothing.
type EventNamer interface {
	EventNames(ctx context.Context) ([]string, error)
}

// EventScanner is implemented by stores that stream events in time order.
// The metrics that follow users (retention, funnels, churn, rolling windows,
// NPS, subscriptions) need it.
type EventScanner interface {
	ScanEvents(ctx context.Context, q store.ScanQuery, fn func(store.EventRow) error) error
}

// MeasurementAggregator is implemented by stores that hold measurements.
type MeasurementAggregator interface {
	AggregateMeasurements(ctx context.Context, q store.MeasurementQuery) ([]store.MeasurementAggregate, error)
}

// Engine computes KPI series. It is safe for concurrent use.
type Engine struct {
	events EventAggregator
	index  *ActivityIndex
	now    func() time.Time

	history HistoryReader // nil when only the KPI file's targets count
}

// New returns an engine reading from events, with now as its clock.
func New(events EventAggregator, now func() time.Time) *Engine {
	return &Engine{events: events, now: now}
}

// NewWithIndex returns an engine that answers from the activity index ix
// what it can, and from events the rest. It uses ix only for workspaces in
// ix's time zone, and only when events also scans events.
func NewWithIndex(events EventAggregator, ix *ActivityIndex, now func() time.Time) *Engine {
	return &Engine{events: events, index: ix, now: now}
}

// indexView brings the index up to date with the store and returns a view
// of it, with the function that releases the view. The view is nil when
// there is no index for cal's time zone, or when the update failed, which
// is logged: the engine then reads the store.
func (e *Engine) indexView(ctx context.Context, cal timegrain.Calendar) (*indexView, func()) {
	scanner, ok := e.events.(EventScanner)
	if e.index == nil || !ok || calendarLocation(cal).String() != e.index.loc.String() {
		return nil, func() {}
	}
	if err := e.index.Sync(ctx); err != nil {
		e.index.log.Error("activity index: update failed, so the store computes this request", "error", err)
		return nil, func() {}
	}
	e.index.mu.RLock()
	return &indexView{ix: e.index, scanner: scanner}, e.index.mu.RUnlock
}
