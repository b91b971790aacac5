package trend

import (
	"context"
	"slices"
	"time"

	"github.com/northstar-kpi/northstar/internal/analysis"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// dataStart returns the start of the day of the first stored event, in the
// workspace's time zone. It returns the zero time, which leaves every period
// in, when src cannot tell the span, when no event is stored, or when k reads
// measurements, which are stored apart from events and may start earlier.
func dataStart(ctx context.Context, src SeriesComputer, defs *kpi.Definitions, k *kpi.KPI) (time.Time, error) {
	spanner, ok := src.(EventSpanner)
	if !ok || !readsOnlyEvents(defs, k.Metric, 0) {
		return time.Time{}, nil
	}
	span, err := spanner.EventSpan(ctx)
	if err != nil || span.Empty {
		return time.Time{}, err
	}
	cal := defs.Workspace.Calendar()
	return cal.Start(timegrain.Day, span.First.In(cal.Location)), nil
}

// maxFormulaDepth bounds the walk through formulas that use other formulas.
const maxFormulaDepth = 16

// readsOnlyEvents reports whether m is computed from events alone: it is not
// a measurement, and no metric that a formula uses is one.
func readsOnlyEvents(defs *kpi.Definitions, m kpi.Metric, depth int) bool {
	switch {
	case m.Kind == kpi.Measurement:
		return false
	case m.Kind != kpi.Formula:
		return true
	case m.Compiled == nil || depth >= maxFormulaDepth:
		return false
	}
	for _, name := range m.Compiled.Names() {
		used, ok := defs.ResolveMetric(name)
		if !ok || !readsOnlyEvents(defs, used, depth+1) {
			return false
		}
	}
	return true
}

// withoutUncovered returns points with no value in the periods that start
// before dataStart. Such a period lies wholly or partly before the first
// stored event, so its value (0 for a count) would read as a real low.
func withoutUncovered(in []analysis.Point, dataStart time.Time) []analysis.Point {
	if dataStart.IsZero() || len(in) == 0 || !in[0].Start.Before(dataStart) {
		return in
	}
	out := slices.Clone(in)
	for i := range out {
		if out[i].Start.Before(dataStart) {
			out[i].Value = nil
		}
	}
	return out
}
