package report

import (
	"fmt"
	"math"
	"time"

	"github.com/northstar-kpi/northstar/internal/analysis"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/trend"
)

// TrendLines describes a trend analysis in lines of text: change, year over
// year, forecast, pace, anomalies, top contributor and the notes on what was
// left out. Dates are in loc.
func TrendLines(k *kpi.KPI, series *engine.Series, t *trend.Trend, loc *time.Location) []string {
	date := func(at time.Time) string { return at.In(loc).Format(time.DateOnly) }
	var lines []string

	lines = append(lines, "change: "+ComparisonText(t.Change, k, series.ChangeUnit, loc))
	lines = append(lines, "year over year: "+ComparisonText(t.YearOverYear, k, series.ChangeUnit, loc))
	lines = append(lines, "forecast: "+ForecastText(t, k, loc))
	if p := t.Pace; p != nil {
		lines = append(lines, "pace: "+PaceText(p, k))
	}
	if len(t.Anomalies) > 0 {
		text := "anomalies:"
		for i, a := range t.Anomalies {
			if i > 0 {
				text += ","
			}
			text += fmt.Sprintf(" %s (%s, expected %s)", date(a.At), Value(&a.Value, k.Unit), Value(&a.Expected, k.Unit))
		}
		lines = append(lines, text)
	}
	if c := t.TopContributor; c != nil {
		lines = append(lines, fmt.Sprintf("top contributor: %s = %s, %s to %s", c.Property, c.Name, Value(&c.Previous, k.Unit), Value(&c.Current, k.Unit)))
	}
	for _, note := range t.Notes {
		lines = append(lines, "note: "+note)
	}
	return lines
}

// ComparisonText describes a change: "+5.0% (1,200 on 2026-03-01 → 1,260 on
// 2026-03-02)", in percentage points when changeUnit is "pp", and as a
// difference ("+60") from 0. It returns "–" for no change.
func ComparisonText(c *analysis.Comparison, k *kpi.KPI, changeUnit string, loc *time.Location) string {
	if c == nil {
		return "–"
	}
	change := Change(c.Percent, changeUnit)
	switch {
	case changeUnit == "pp":
		change = Change(&c.Difference, changeUnit)
	case c.Percent == nil:
		// A change from 0 has no percentage: give the difference instead.
		difference := Value(&c.Difference, k.Unit)
		if c.Difference >= 0 {
			difference = "+" + difference
		}
		change = difference
	}
	return fmt.Sprintf("%s (%s on %s → %s on %s)", change,
		Value(&c.Previous, k.Unit), c.PreviousStart.In(loc).Format(time.DateOnly),
		Value(&c.Current, k.Unit), c.Start.In(loc).Format(time.DateOnly))
}

// ForecastText describes a forecast with its interval and method, or why
// there is none.
func ForecastText(t *trend.Trend, k *kpi.KPI, loc *time.Location) string {
	f := t.Forecast
	if f == nil {
		return "– (" + t.ForecastError + ")"
	}
	value, low, high := roundNoise(f.Value), roundNoise(f.Low), roundNoise(f.High)
	return fmt.Sprintf("%s for the period of %s (%.0f%% interval %s to %s, %s)", Value(&value, k.Unit),
		f.At.In(loc).Format(time.DateOnly), f.Level*100, Value(&low, k.Unit), Value(&high, k.Unit), f.Method)
}

// roundNoise rounds v to six decimals, so that a fitted 119.99999999999997
// reads as 120.
func roundNoise(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// PaceText describes pace: "On pace (forecast 113, target 100 by 2026-04-30)".
func PaceText(p *trend.Pace, k *kpi.KPI) string {
	forecast := roundNoise(p.Forecast)
	return fmt.Sprintf("%s (forecast %s, target %s by %s)", p.Label, Value(&forecast, k.Unit), Value(&p.Target, k.Unit), p.By)
}
