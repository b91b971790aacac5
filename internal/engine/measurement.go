package engine

import (
	"context"
	"fmt"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// measurement computes a Measurement metric over the values of series
// m.Series whose dimensions pass m.Filters (compared as text):
//
//   - aggregate sum, a flow such as daily ad spend: the sum of the values
//     with timestamps in [s, e). A week is the sum of its days. An interval
//     with no value has no value, not 0, so that spend that was never
//     imported does not read as zero spend (and a CAC of 0).
//   - aggregate last, a level such as headcount: the value with the latest
//     timestamp in [s, e). Of two values at the same instant, the one stored
//     last wins. A week is its last value, never a sum. No value when the
//     interval has no measurement.
func (ev *evaluator) measurement(ctx context.Context, m kpi.Metric) ([]value, error) {
	if len(ev.intervals) == 0 {
		return nil, nil
	}
	source, ok := ev.events.(MeasurementAggregator)
	if !ok {
		return nil, fmt.Errorf("metric kind %s needs a store that holds measurements, and %T does not", m.Kind, ev.events)
	}
	if m.Aggregate != kpi.FlowSum && m.Aggregate != kpi.LevelLast {
		return nil, kpi.Errorf(kpi.EINVALID, "measurement of %q: aggregate %q is not valid (want sum or last)", m.Series, m.Aggregate)
	}

	aggs, err := source.AggregateMeasurements(ctx, store.MeasurementQuery{Series: m.Series, Filters: m.Filters, Intervals: ev.intervals})
	if err != nil {
		return nil, err
	}
	if len(aggs) != len(ev.intervals) {
		return nil, fmt.Errorf("aggregate measurements of %q: got %d results for %d intervals", m.Series, len(aggs), len(ev.intervals))
	}

	var count int64
	for _, a := range aggs {
		count += a.Count
	}
	switch {
	case count == 0 && len(m.Filters) == 0:
		ev.warnf("no measurements of series %q in this range (import them with northstar import measurements FILE --series %s)", m.Series, m.Series)
	case count == 0:
		ev.warnf("no measurements of series %q in this range match the where filters", m.Series)
	}

	out := make([]value, len(aggs))
	for i, a := range aggs {
		switch {
		case a.Count == 0:
			out[i] = value{reason: fmt.Sprintf("no %s measurement in the period", m.Series)}
		case m.Aggregate == kpi.FlowSum:
			out[i] = value{v: a.Sum, ok: true}
		default:
			out[i] = value{v: a.Last, ok: true}
		}
	}
	return out, nil
}
