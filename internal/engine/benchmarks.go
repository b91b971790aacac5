package engine

import (
	"context"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// benchmarks adds k's benchmark lines to s. A last-year line holds, for each
// period, the KPI's value over the same span a year earlier: 52 weeks
// earlier at the week grain, so weeks keep their weekday, and the same dates
// a year earlier at the other grains. A baseline line takes the baseline of
// the target in force at the end of the range.
func (e *Engine) benchmarks(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, s *Series, periods []timegrain.Period) error {
	s.Benchmarks = []BenchmarkLine{}
	for _, b := range k.Benchmarks {
		line := BenchmarkLine{Name: b.Name, Kind: b.Kind}
		switch b.Kind {
		case kpi.IndustryBenchmark:
			line.Value = ptr(b.Value)
		case kpi.BaselineBenchmark:
			if k.Baseline == nil {
				continue // the loader rejects a baseline benchmark without a baseline
			}
			if s.Baseline == nil {
				base, err := e.baseline(ctx, defs, k, nil)
				if err != nil {
					return err
				}
				line.Value = ptr(base.Value)
			} else {
				line.Value = ptr(s.Baseline.Value)
			}
		case kpi.LastYearBenchmark:
			points, err := e.lastYear(ctx, defs, k, s.Grain, periods)
			if err != nil {
				return err
			}
			line.Points = points
		}
		s.Benchmarks = append(s.Benchmarks, line)
	}
	return nil
}

// lastYear computes k's value over each period shifted back a year.
func (e *Engine) lastYear(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, grain timegrain.Grain, periods []timegrain.Period) ([]BenchmarkPoint, error) {
	if len(periods) == 0 {
		return []BenchmarkPoint{}, nil
	}
	cal := defs.Workspace.Calendar()
	loc := calendarLocation(cal)
	shift := func(t time.Time) time.Time {
		if grain == timegrain.Week {
			return t.In(loc).AddDate(0, 0, -364)
		}
		return t.In(loc).AddDate(-1, 0, 0)
	}

	intervals := make([]store.Interval, 0, len(periods))
	for _, p := range periods {
		intervals = append(intervals, store.Interval{Start: shift(p.Start), End: shift(p.Cutoff)})
	}
	ev := newEvaluator(e.events, defs, grain, intervals)
	ev.cutoff = shift(periods[len(periods)-1].Cutoff)
	vals, err := ev.metric(ctx, k.Metric)
	if err != nil {
		return nil, err
	}

	out := make([]BenchmarkPoint, len(periods))
	for i, p := range periods {
		out[i] = BenchmarkPoint{Start: p.Start}
		if vals[i].ok {
			out[i].Value = ptr(vals[i].v)
		}
	}
	return out, nil
}
