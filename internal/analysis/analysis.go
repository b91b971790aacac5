// Package analysis holds pure functions on KPI values and series: change
// between periods, the path from baseline to target, status against that
// path, year-over-year change, moving averages, forecasts with prediction
// intervals, pace against a target, anomaly detection and the breakdown
// segment that drove a change. It does no I/O and reads no clock: callers
// pass the points, the grain and the dates.
package analysis

import (
	"math"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Change returns the change from previous to value: in percent, or in
// percentage points when points is set (for KPIs whose unit is a percentage).
// A relative change from 0 is undefined unless value is 0 too, so ok is false.
// NOTE: points assumes values written in percent (40 for 40 %). A formula that
// returns a fraction such as 0.4 gets changes 100 times too small.
func Change(value, previous float64, points bool) (change float64, ok bool) {
	if points {
		return value - previous, true
	}
	if previous == 0 {
		if value == 0 {
			return 0, true
		}
		return 0, false
	}
	return (value - previous) / math.Abs(previous) * 100, true
}

// PathValue returns the value expected at t on the straight line from base at
// t0 to goal at t1. Before t0 it is base and after t1 it is goal.
func PathValue(base, goal float64, t0, t1, t time.Time) float64 {
	if !t1.After(t0) || !t.Before(t1) {
		return goal
	}
	if !t.After(t0) {
		return base
	}
	f := float64(t.Sub(t0)) / float64(t1.Sub(t0))
	return base + (goal-base)*f
}

// Judge returns the status of value against expected, the value on the path
// to the target. The shortfall is how far value falls behind expected, in the
// KPI's direction, as a fraction of |expected|: up to th.AtRisk is on track,
// up to th.OffTrack is at risk, beyond is off track. Being ahead of the path
// is on track. When expected is 0 there is no scale, so any shortfall is off
// track.
func Judge(value, expected float64, dir kpi.Direction, th kpi.Thresholds) kpi.Status {
	gap := expected - value // how far below the path
	if dir == kpi.Down {
		gap = value - expected // how far above the path
	}
	if gap <= 0 {
		return kpi.OnTrack
	}
	if expected == 0 {
		return kpi.OffTrack
	}

	shortfall := gap / math.Abs(expected)
	switch {
	case shortfall <= th.AtRisk:
		return kpi.OnTrack
	case shortfall <= th.OffTrack:
		return kpi.AtRisk
	default:
		return kpi.OffTrack
	}
}

// PathPoint is a value the path to a target passes through at an instant:
// the baseline, a milestone or the target.
type PathPoint struct {
	At    time.Time
	Value float64
}

// PathValueThrough returns the value expected at t on the path of straight
// segments through points, which must be in time order. Before the first
// point it is the first value and after the last point the last value. It
// returns 0 for no points.
func PathValueThrough(points []PathPoint, t time.Time) float64 {
	if len(points) == 0 {
		return 0
	}
	for i := 1; i < len(points); i++ {
		if t.Before(points[i].At) {
			a, b := points[i-1], points[i]
			return PathValue(a.Value, b.Value, a.At, b.At, t)
		}
	}
	if t.Before(points[0].At) {
		return points[0].Value
	}
	return points[len(points)-1].Value
}
