// Package trend computes the trend analysis of a KPI series for the API, the
// KPI page, reports and alerts. It picks the periods to analyse, fetches the
// extra data the analysis needs from the engine (last year's period, a
// breakdown), and calls the pure functions of package analysis.
package trend

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/northstar-kpi/northstar/internal/analysis"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// SeriesComputer computes a KPI's series, as engine.Engine does.
type SeriesComputer interface {
	Series(ctx context.Context, defs *kpi.Definitions, id string, grain timegrain.Grain, r engine.Range) (*engine.Series, error)
}

// BreakdownComputer computes a KPI's values per value of a property, as
// engine.Engine does.
type BreakdownComputer interface {
	Breakdown(ctx context.Context, defs *kpi.Definitions, id, property string, limit int, grain timegrain.Grain, r engine.Range) (*engine.Breakdown, error)
}

// EventSpanner returns the time range of the stored events, as
// engine.Engine does. Compute uses it to leave out periods that start before
// the first event.
type EventSpanner interface {
	EventSpan(ctx context.Context) (store.Span, error)
}

var (
	_ SeriesComputer    = (*engine.Engine)(nil)
	_ BreakdownComputer = (*engine.Engine)(nil)
	_ EventSpanner      = (*engine.Engine)(nil)
)

// DefaultWindows are the moving average windows, in periods, by grain: a
// week of days, four weeks, a quarter of months and half a year of quarters.
var DefaultWindows = map[timegrain.Grain]int{
	timegrain.Day:     7,
	timegrain.Week:    4,
	timegrain.Month:   3,
	timegrain.Quarter: 2,
}

// Options tune Compute. The zero value selects the defaults.
type Options struct {
	// Window is the moving average window in periods; 0 means the grain's
	// DefaultWindows entry.
	Window int

	// Property names the event property to find the top contributor by. Empty
	// means the KPI's own Breakdown property, if any.
	Property string

	// Level is the prediction interval's coverage; 0 means
	// analysis.DefaultLevel.
	Level float64
}

// Trend is the trend analysis of a KPI series.
type Trend struct {
	// Change compares the latest complete period with the one before.
	Change *analysis.Comparison `json:"change"`

	// YearOverYear compares the latest complete period with the same period a
	// year before (analysis.YearAgo).
	YearOverYear *analysis.Comparison `json:"year_over_year"`

	MovingAverage MovingAverage `json:"moving_average"`

	// Forecast is the value forecast for the period of the target's date, or
	// for the next period when the KPI has no target date ahead. The fit
	// uses the complete periods of the series except the Anomalies that the
	// series came back from (withoutAnomalies). It is nil when the
	// series is too short, and ForecastError then contains the reason.
	Forecast      *analysis.ForecastResult `json:"forecast"`
	ForecastError string                   `json:"forecast_error,omitempty"`

	// ForecastPath holds the forecasts of the periods after the latest
	// complete one, up to the forecast's period but at most as many periods
	// as the series has, for drawing.
	ForecastPath []analysis.ForecastResult `json:"forecast_path"`

	// Pace judges Forecast against the target. It is nil without a target
	// date ahead, or when the series' grain is not the KPI's grain, which the
	// target's value refers to.
	Pace *Pace `json:"pace"`

	// Anomalies are the complete periods flagged by analysis.Anomalies.
	Anomalies []analysis.Anomaly `json:"anomalies"`

	// TopContributor is the breakdown segment that moved most between the
	// two periods of Change. It is nil without a property to break down by.
	TopContributor *Contributor `json:"top_contributor"`

	// Notes explain analyses that were left out, such as a KPI kind that
	// cannot be broken down.
	Notes []string `json:"notes,omitempty"`
}

// MovingAverage is a moving average aligned with the series' points.
type MovingAverage struct {
	Window int        `json:"window"`
	Values []*float64 `json:"values"`
}

// Pace is analysis.PaceResult with the target's date and a label for people.
type Pace struct {
	analysis.PaceResult
	By    string `json:"by"` // the target's date, YYYY-MM-DD
	Label string `json:"label"`
}

// Contributor is the top contributing segment and the property it is a value of.
type Contributor struct {
	Property string `json:"property"`
	analysis.Contributor
}

// Compute analyses series, the series of k computed by src. It returns an
// error only for a failure of src that is not the KPI's or the request's
// fault, or for an explicitly requested property that cannot be broken down
// (kpi.EINVALID).
func Compute(ctx context.Context, src SeriesComputer, defs *kpi.Definitions, k *kpi.KPI, series *engine.Series, opts Options) (*Trend, error) {
	t := &Trend{Anomalies: []analysis.Anomaly{}}
	g := series.Grain
	cal := defs.Workspace.Calendar()

	complete := completePoints(series.Points)
	dataStart, err := dataStart(ctx, src, defs, k)
	if err != nil {
		return nil, fmt.Errorf("kpi %q: reading the span of stored events: %w", k.ID, err)
	}
	complete = withoutUncovered(complete, dataStart)

	window := opts.Window
	if window == 0 {
		window = DefaultWindows[g]
	}
	values, err := analysis.MovingAverage(complete, window)
	if err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "%v", err)
	}
	for len(values) < len(series.Points) {
		values = append(values, nil) // no average over a period so far
	}
	t.MovingAverage = MovingAverage{Window: window, Values: values}

	t.Change = analysis.PeriodChange(complete)
	if t.Change == nil && len(complete) >= 2 && complete[len(complete)-1].Value != nil {
		if previous := complete[len(complete)-2].Start; previous.Before(dataStart) {
			t.Notes = append(t.Notes, fmt.Sprintf("no change: the data starts on %s, after the start of the previous %s (%s)",
				timegrain.DateOf(dataStart), g, timegrain.DateOf(previous)))
		}
	}
	if err := t.addYearOverYear(ctx, src, defs, k, g, complete, dataStart, series.To); err != nil {
		return nil, err
	}
	if found := analysis.Anomalies(g, complete); found != nil {
		t.Anomalies = found
	}
	t.addForecast(cal, k, series, withoutAnomalies(complete, t.Anomalies), opts.Level)

	property := opts.Property
	if property == "" {
		property = k.Breakdown
	}
	if property != "" && t.Change != nil {
		if err := t.addContributor(ctx, src, defs, k, g, property, opts.Property != ""); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// points converts engine points to analysis points.
func points(in []engine.Point) []analysis.Point {
	out := make([]analysis.Point, len(in))
	for i, p := range in {
		out[i] = analysis.Point{Start: p.Start, Value: p.Value}
	}
	return out
}

// withoutAnomalies returns points with no value in the anomalous periods
// that the series came back from, so that a spike does not bend the
// forecast's trend or widen its interval. Anomalies after the last ordinary
// period with a value are kept: they may be the start of a real change, and
// the forecast should not ignore the newest periods.
func withoutAnomalies(in []analysis.Point, anomalies []analysis.Anomaly) []analysis.Point {
	if len(anomalies) == 0 {
		return in
	}
	anomalous := make(map[int64]bool, len(anomalies))
	for _, a := range anomalies {
		anomalous[a.At.UnixNano()] = true
	}
	lastOrdinary := -1
	for i, p := range in {
		if p.Value != nil && !anomalous[p.Start.UnixNano()] {
			lastOrdinary = i
		}
	}

	out := slices.Clone(in)
	for i := range out[:max(lastOrdinary, 0)] {
		if anomalous[out[i].Start.UnixNano()] {
			out[i].Value = nil
		}
	}
	return out
}

// completePoints returns the points up to the last one that is neither
// partial nor pending: a period so far, or a cohort period that is not over,
// would read as a drop.
func completePoints(in []engine.Point) []analysis.Point {
	end := len(in)
	for end > 0 && (in[end-1].Partial || in[end-1].Status == kpi.Pending) {
		end--
	}
	return points(in[:end])
}

// addYearOverYear compares the latest complete period with the same period a
// year before. The year-ago series ends a year before seriesEnd, not with
// its period, so funnels and retention judge it with the same lag after the
// period as the latest one. A range that ended with its period would leave
// every user who entered near its end in progress.
func (t *Trend) addYearOverYear(ctx context.Context, src SeriesComputer, defs *kpi.Definitions, k *kpi.KPI, g timegrain.Grain, complete []analysis.Point, dataStart, seriesEnd time.Time) error {
	if len(complete) == 0 {
		return nil
	}
	latest := complete[len(complete)-1]
	if latest.Value == nil {
		return nil
	}
	start := analysis.YearAgo(g, latest.Start)
	if start.Before(dataStart) {
		t.Notes = append(t.Notes, fmt.Sprintf("no year-over-year change: the data starts on %s, after the start of the %s a year before (%s)",
			timegrain.DateOf(dataStart), g, timegrain.DateOf(start)))
		return nil
	}
	cal := defs.Workspace.Calendar()
	end := cal.Next(g, start)
	if lag := analysis.YearAgo(g, seriesEnd); lag.After(end) {
		end = lag
	}
	r := engine.Range{From: timegrain.DateOf(start), To: timegrain.DateOf(end.Add(-time.Nanosecond).In(cal.Location))}

	lastYear, err := src.Series(ctx, defs, k.ID, g, r)
	if kpi.ErrorCode(err) == kpi.EINVALID {
		t.Notes = append(t.Notes, "no year-over-year change: "+kpi.ErrorMessage(err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("kpi %q: computing last year's %s: %w", k.ID, g, err)
	}
	t.YearOverYear = analysis.YearOverYear(g, complete, completePoints(lastYear.Points))
	return nil
}

func (t *Trend) addForecast(cal timegrain.Calendar, k *kpi.KPI, series *engine.Series, complete []analysis.Point, level float64) {
	g := series.Grain
	if len(complete) == 0 {
		t.ForecastError = "no complete period to forecast from"
		return
	}
	last := complete[len(complete)-1].Start
	next := cal.Next(g, last)

	// series.Goal is the target in force at the end of the series, and its At
	// is the end of the target's date.
	at := next
	targetAhead := false
	var byDate timegrain.Date
	if series.Goal != nil && !series.Goal.At.IsZero() {
		byDate = timegrain.DateOf(series.Goal.At.In(cal.Location).Add(-time.Nanosecond))
		if by := cal.Start(g, byDate.In(cal.Location)); by.After(last) {
			at, targetAhead = by, true
		}
	}

	model, err := analysis.FitForecast(g, complete, level)
	if err != nil {
		t.ForecastError = err.Error()
		return
	}
	lo, hi := valueBounds(k.Metric.Kind)
	f := boundForecast(model.Predict(at), lo, hi)
	t.Forecast = &f

	for p, i := next, 0; !p.After(at) && i < len(series.Points); p, i = cal.Next(g, p), i+1 {
		t.ForecastPath = append(t.ForecastPath, boundForecast(model.Predict(p), lo, hi))
	}

	switch {
	case !targetAhead:
	case g != k.Grain:
		t.Notes = append(t.Notes, fmt.Sprintf("no pace: the target is a value per %s, and this series is by %s", k.Grain, g))
	default:
		result := analysis.Pace(f, series.Goal.Value, k.Direction)
		t.Pace = &Pace{PaceResult: result, By: byDate.String(), Label: PaceLabel(result.Status)}
	}
}

// valueBounds returns the range that a value of a KPI of kind can take:
// counts of events, users and subscriptions and the shares of users are
// never negative, and NPS lies from -100 to 100. Sums, averages, formulas
// and measurements can take any value.
func valueBounds(kind kpi.MetricKind) (lo, hi float64) {
	switch kind {
	case kpi.Count, kpi.UniqueUsers, kpi.ActiveUsers, kpi.NewUsers, kpi.Stickiness, kpi.Churn,
		kpi.Retention, kpi.Funnel, kpi.MRR, kpi.ActiveSubscriptions, kpi.SubscriptionChurn:
		return 0, math.Inf(1)
	case kpi.NPS:
		return -100, 100
	}
	return math.Inf(-1), math.Inf(1)
}

// boundForecast keeps a forecast and its interval within [lo, hi], so that
// a falling count is forecast to reach 0, not -17.
func boundForecast(f analysis.ForecastResult, lo, hi float64) analysis.ForecastResult {
	bound := func(v float64) float64 { return math.Min(math.Max(v, lo), hi) }
	f.Value, f.Low, f.High = bound(f.Value), bound(f.Low), bound(f.High)
	return f
}

// PaceLabel returns a pace status in words.
func PaceLabel(s analysis.PaceStatus) string {
	if s == analysis.OnPace {
		return "On pace"
	}
	return "Behind pace"
}

// contributorLimit is the number of segments the breakdown behind the top
// contributor keeps by name.
const contributorLimit = engine.MaxBreakdownLimit

func (t *Trend) addContributor(ctx context.Context, src SeriesComputer, defs *kpi.Definitions, k *kpi.KPI, g timegrain.Grain, property string, requested bool) error {
	bc, ok := src.(BreakdownComputer)
	if !ok {
		t.Notes = append(t.Notes, "no top contributor: this server cannot compute breakdowns")
		return nil
	}
	cal := defs.Workspace.Calendar()
	r := engine.Range{
		From: timegrain.DateOf(t.Change.PreviousStart),
		To:   timegrain.DateOf(cal.Next(g, t.Change.Start).Add(-time.Nanosecond)),
	}
	b, err := bc.Breakdown(ctx, defs, k.ID, property, contributorLimit, g, r)
	if kpi.ErrorCode(err) == kpi.EINVALID {
		if requested {
			return err
		}
		t.Notes = append(t.Notes, "no top contributor: "+kpi.ErrorMessage(err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("kpi %q: breaking down by %q: %w", k.ID, property, err)
	}

	previous, current := -1, -1
	for i, p := range b.Periods {
		switch {
		case p.Start.Equal(t.Change.PreviousStart):
			previous = i
		case p.Start.Equal(t.Change.Start):
			current = i
		}
	}
	if previous < 0 || current < 0 {
		t.Notes = append(t.Notes, "no top contributor: the breakdown lacks the periods of the change")
		return nil
	}

	segments := make([]analysis.SegmentChange, 0, len(b.Segments))
	for _, s := range b.Segments {
		segments = append(segments, analysis.SegmentChange{Name: s.Name, Previous: s.Values[previous].Value, Current: s.Values[current].Value})
	}
	if c := analysis.TopContributor(segments); c != nil {
		t.TopContributor = &Contributor{Property: property, Contributor: *c}
	}
	return nil
}
