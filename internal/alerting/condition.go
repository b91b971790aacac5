package alerting

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/northstar-kpi/northstar/internal/analysis"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// Condition kinds.
const (
	Above        = "above"
	Below        = "below"
	Change       = "change"
	StatusChange = "status"
	Anomaly      = "anomaly"
	ForecastMiss = "forecast_miss"
)

// Periods a threshold or change condition judges.
const (
	PeriodComplete = "complete" // the latest complete period (the default)
	PeriodCurrent  = "current"  // the current period so far, which may be partial
)

// Reading is what one evaluation found: the observation for the state
// machine and the KPI's status, kept to detect status changes.
type Reading struct {
	Observation
	KPIStatus kpi.Status
	Detail    string // the finding in words, for history and notifications
}

// Observe judges cond on series at time at. previous is the KPI status seen
// at the previous evaluation ("" for none), for the status condition.
func Observe(cond store.AlertCondition, k *kpi.KPI, series *engine.Series, previous string, at time.Time) Reading {
	r := Reading{Observation: Observation{At: at}, KPIStatus: series.Status()}

	i := pointIndex(series, cond.Period)
	var p *engine.Point
	if i >= 0 {
		p = &series.Points[i]
		r.Value = p.Value
	}

	switch cond.Kind {
	case Above, Below:
		observeThreshold(&r, cond, k, p)
	case Change:
		observeChange(&r, cond, k, series, i)
	case StatusChange:
		observeStatus(&r, cond, previous)
	default:
		r.NoData = true
		r.Detail = fmt.Sprintf("condition %q cannot be evaluated by this version", cond.Kind)
	}
	return r
}

// pointIndex returns the index of the point a condition judges, or -1.
func pointIndex(series *engine.Series, period string) int {
	for i := len(series.Points) - 1; i >= 0; i-- {
		if period == PeriodCurrent || !series.Points[i].Partial {
			return i
		}
	}
	return -1
}

func observeThreshold(r *Reading, cond store.AlertCondition, k *kpi.KPI, p *engine.Point) {
	if p == nil || p.Value == nil || cond.Threshold == nil {
		r.NoData = true
		r.Detail = "no value to compare with the threshold"
		return
	}
	v, th := *p.Value, *cond.Threshold
	if cond.Kind == Above {
		r.Breached = v > th
	} else {
		r.Breached = v < th
	}

	relation := "is not " + cond.Kind
	if r.Breached {
		relation = "is " + cond.Kind
	}
	r.Detail = fmt.Sprintf("%s %s %s the threshold %s (period from %s)", k.Name, formatValue(v, k.Unit), relation,
		formatValue(th, k.Unit), p.Start.Format(time.DateOnly))
}

func observeChange(r *Reading, cond store.AlertCondition, k *kpi.KPI, series *engine.Series, i int) {
	periods := max(cond.Periods, 1)
	if i < periods || series.Points[i].Value == nil || series.Points[i-periods].Value == nil || cond.Percent == nil {
		r.NoData = true
		r.Detail = fmt.Sprintf("no values %d period(s) apart to compare", periods)
		return
	}

	v, before := *series.Points[i].Value, *series.Points[i-periods].Value
	change, ok := analysis.Change(v, before, k.ChangeInPoints())
	if !ok {
		r.NoData = true
		r.Detail = "the change from 0 has no percentage"
		return
	}

	limit := *cond.Percent
	switch cond.Direction {
	case "up":
		r.Breached = change > limit
	case "down":
		r.Breached = change < -limit
	default:
		r.Breached = math.Abs(change) > limit
	}

	unit := "%"
	if k.ChangeInPoints() {
		unit = " points"
	}
	r.Detail = fmt.Sprintf("%s changed by %+.1f%s over %d period(s), from %s to %s (limit %s%s)", k.Name, change, unit, periods,
		formatValue(before, k.Unit), formatValue(v, k.Unit), strconv.FormatFloat(limit, 'f', -1, 64), unit)
}

func observeStatus(r *Reading, cond store.AlertCondition, previous string) {
	status := r.KPIStatus
	if status == kpi.NoData {
		r.NoData = true
		r.Detail = "the KPI has no status"
		return
	}

	if len(cond.Statuses) > 0 {
		r.Breached = slices.Contains(cond.Statuses, string(status))
		r.Detail = fmt.Sprintf("status is %s", status.Label())
		return
	}
	r.Breached = previous != "" && previous != string(status)
	if r.Breached {
		r.Detail = fmt.Sprintf("status changed from %s to %s", kpi.Status(previous).Label(), status.Label())
	} else {
		r.Detail = fmt.Sprintf("status is still %s", status.Label())
	}
}

// formatValue writes v with its unit for messages.
func formatValue(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if math.Abs(v) >= 100 || math.Abs(v-math.Round(v)) < 1e-9 {
		s = strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	} else {
		s = strconv.FormatFloat(v, 'g', 4, 64)
	}
	if unit == "" {
		return s
	}
	if unit == "%" {
		return s + " %"
	}
	return s + " " + unit
}
