// Package engine computes KPI series: it compiles metric definitions into
// aggregate queries over the store, evaluates formulas, and judges each period
// against the KPI's target.
package engine

import (
	"context"
	"time"

	"github.com/northstar-kpi/northstar/internal/store"
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
	now    func() time.Time
}

// New returns an engine reading from events, with now as its clock.
func New(events EventAggregator, now func() time.Time) *Engine {
	return &Engine{events: events, now: now}
}
