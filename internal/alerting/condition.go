package alerting

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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

// Reading is the result of one evaluation: the observation for the state
// machine, and the KPI's status, kept to detect status changes.
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
	case Anomaly:
		observeAnomaly(&r, k, series, i)
	case ForecastMiss:
		observeForecast(&r, k, series, at)
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

// minAnomalyValues is the fewest values analysis.Anomalies judges.
const minAnomalyValues = 7

// completePoints returns the series' points up to index last, as the
// analysis package takes them.
func completePoints(series *engine.Series, last int) []analysis.Point {
	out := make([]analysis.Point, 0, last+1)
	for _, p := range series.Points[:last+1] {
		out = append(out, analysis.Point{Start: p.Start, Value: p.Value})
	}
	return out
}

func observeAnomaly(r *Reading, k *kpi.KPI, series *engine.Series, i int) {
	if i < 0 || series.Points[i].Value == nil {
		r.NoData = true
		r.Detail = "no value in the latest period"
		return
	}
	points := completePoints(series, i)
	values := 0
	for _, p := range points {
		if p.Value != nil {
			values++
		}
	}
	if values < minAnomalyValues {
		r.NoData = true
		r.Detail = fmt.Sprintf("%d periods with a value, too few to judge anomalies (at least %d)", values, minAnomalyValues)
		return
	}

	latest := series.Points[i]
	r.Detail = fmt.Sprintf("%s %s in the period from %s is not anomalous", k.Name, formatValue(*latest.Value, k.Unit), latest.Start.Format(time.DateOnly))
	for _, a := range analysis.Anomalies(series.Grain, points) {
		if a.At.Equal(latest.Start) {
			r.Breached = true
			r.Detail = fmt.Sprintf("%s %s in the period from %s is anomalous: expected about %s (robust z-score %.1f)",
				k.Name, formatValue(a.Value, k.Unit), latest.Start.Format(time.DateOnly), formatValue(a.Expected, k.Unit), a.Score)
		}
	}
}

func observeForecast(r *Reading, k *kpi.KPI, series *engine.Series, at time.Time) {
	goal := series.Goal
	if goal == nil {
		r.NoData = true
		r.Detail = "the KPI has no target to forecast against"
		return
	}
	if !goal.At.After(at) {
		r.NoData = true
		r.Detail = fmt.Sprintf("the target date %s has passed", goal.At.Add(-time.Nanosecond).In(series.From.Location()).Format(time.DateOnly))
		return
	}
	i := pointIndex(series, PeriodComplete)
	if i < 0 {
		r.NoData = true
		r.Detail = "no complete period to forecast from"
		return
	}

	// goal.At is the end of the target's date, so the last instant before
	// it falls in the period the target is for.
	deadline := goal.At.Add(-time.Nanosecond).In(series.From.Location())
	f, err := analysis.Forecast(series.Grain, completePoints(series, i), deadline, 0)
	if err != nil {
		r.NoData = true
		r.Detail = "no forecast: " + err.Error()
		return
	}
	pace := analysis.Pace(*f, goal.Value, k.Direction)
	value := f.Value
	r.Value = &value
	r.Breached = pace.Status == analysis.BehindPace
	r.Detail = fmt.Sprintf("%s is forecast at %s by %s (%.0f %% interval %s to %s) against the target %s: %s",
		k.Name, formatValue(f.Value, k.Unit), deadline.Format(time.DateOnly), f.Level*100,
		formatValue(f.Low, k.Unit), formatValue(f.High, k.Unit), formatValue(goal.Value, k.Unit), strings.ReplaceAll(string(pace.Status), "_", " "))
}
