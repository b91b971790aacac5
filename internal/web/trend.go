package web

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/northstar-kpi/northstar/internal/analysis"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/trend"
)

// maxTrendWindow bounds the moving average window a request may set.
const maxTrendWindow = 365

// trendOptions reads the query parameters of the trend analysis: by (the
// property to find the top contributor by) and window (the moving average
// window in periods).
func trendOptions(q url.Values) (trend.Options, error) {
	var opts trend.Options
	if v, ok := q["by"]; ok {
		opts.Property = strings.TrimSpace(v[0])
		if opts.Property == "" {
			return opts, kpi.Errorf(kpi.EINVALID, "query parameter by is empty (name the property to break the change down by, as in ?by=country)")
		}
	}
	if v := q.Get("window"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTrendWindow {
			return opts, kpi.Errorf(kpi.EINVALID, "query parameter window: %q is not valid (want a number of periods from 1 to %d)", v, maxTrendWindow)
		}
		opts.Window = n
	}
	return opts, nil
}

// computeTrend analyses series, the series of k.
func (s *Server) computeTrend(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, series *engine.Series, opts trend.Options) (*trend.Trend, error) {
	return trend.Compute(ctx, s.in(ctx).series, defs, k, series, opts)
}

// trendView is the trend section of the KPI page.
type trendView struct {
	Change        string // "+5% from 2026-02-10 (1,200)"
	YearOverYear  string
	MovingAverage string
	Forecast      string
	ForecastNote  string
	Pace          *paceView
	Anomalies     []anomalyView
	Contributor   string
	Notes         []string
}

// paceView shows pace with a status colour, a symbol and words.
type paceView struct {
	Class string
	Icon  string
	Label string
	Text  string
}

type anomalyView struct {
	Period   string
	Value    string
	Expected string
	High     bool
}

// newTrendView formats t for the KPI page.
func newTrendView(k *kpi.KPI, series *engine.Series, t *trend.Trend) *trendView {
	g := series.Grain
	v := &trendView{Notes: t.Notes}

	if c := t.Change; c != nil {
		v.Change = comparisonText(k, series, c, "from "+formatPeriod(c.PreviousStart, g))
	}
	if c := t.YearOverYear; c != nil {
		v.YearOverYear = comparisonText(k, series, c, "from "+formatPeriod(c.PreviousStart, g)+", a year before")
	}
	ma := t.MovingAverage
	for i := len(ma.Values) - 1; i >= 0; i-- {
		if ma.Values[i] != nil {
			v.MovingAverage = fmt.Sprintf("%s, the mean of the %d %ss to %s", formatKPIValue(ma.Values[i], k), ma.Window, g, formatPeriod(series.Points[i].Start, g))
			break
		}
	}

	if f := t.Forecast; f != nil {
		v.Forecast = fmt.Sprintf("%s for %s (%.0f%% prediction interval %s to %s)",
			formatKPIValue(&f.Value, k), formatPeriod(f.At, g), f.Level*100, formatKPIValue(&f.Low, k), formatKPIValue(&f.High, k))
		v.ForecastNote = forecastMethodText(f.Method, f.Observations)
	} else {
		v.ForecastNote = "No forecast: " + t.ForecastError + "."
	}

	if p := t.Pace; p != nil {
		v.Pace = &paceView{Label: p.Label, Class: "status-on_track", Icon: "✓"}
		if p.Status == analysis.BehindPace {
			v.Pace.Class, v.Pace.Icon = "status-off_track", "✕"
		}
		v.Pace.Text = fmt.Sprintf("forecast %s against the target %s by %s", formatKPIValue(&p.Forecast, k), formatKPIValue(&p.Target, k), p.By)
		if p.Likely {
			v.Pace.Text += fmt.Sprintf("; the whole %.0f%% interval is on this side", t.Forecast.Level*100)
		}
	}

	for _, a := range t.Anomalies {
		v.Anomalies = append(v.Anomalies, anomalyView{
			Period:   formatPeriod(a.At, g),
			Value:    formatKPIValue(&a.Value, k),
			Expected: formatKPIValue(&a.Expected, k),
			High:     a.Score > 0,
		})
	}

	if c := t.TopContributor; c != nil {
		v.Contributor = fmt.Sprintf("%s = %s: %s to %s (%s)", c.Property, c.Name,
			formatKPIValue(&c.Previous, k), formatKPIValue(&c.Current, k), signedValue(c.Difference, k))
		if c.Share != nil {
			v.Contributor += fmt.Sprintf(", %s%% of the total change", formatNumber(*c.Share*100))
		}
	}
	return v
}

// comparisonText describes a change in the KPI's change unit.
func comparisonText(k *kpi.KPI, series *engine.Series, c *analysis.Comparison, from string) string {
	previous := formatKPIValue(&c.Previous, k)
	if series.ChangeUnit == "pp" {
		return fmt.Sprintf("%s %s (%s)", formatChange(c.Difference, "pp"), from, previous)
	}
	if c.Percent == nil {
		return fmt.Sprintf("%s %s (%s)", signedValue(c.Difference, k), from, previous)
	}
	return fmt.Sprintf("%s %s (%s)", formatChange(*c.Percent, "%"), from, previous)
}

// signedValue formats a difference in the KPI's unit with its sign.
func signedValue(d float64, k *kpi.KPI) string {
	abs := d
	sign := "+"
	if d < 0 {
		abs, sign = -d, "−"
	}
	return sign + formatKPIValue(&abs, k)
}

// forecastMethodText names a forecast method in words.
func forecastMethodText(method string, observations int) string {
	var name string
	switch method {
	case analysis.MethodLinearSeasonal:
		name = "a linear trend with seasonal terms"
	case analysis.MethodLogLinear:
		name = "a constant growth rate (a linear trend of the logarithm)"
	case analysis.MethodLogLinearSeasonal:
		name = "a constant growth rate with seasonal factors"
	default:
		name = "a linear trend"
	}
	return fmt.Sprintf("Least-squares fit of %s on %d complete periods, anomalies left out.", name, observations)
}

// addTrendToChart extends a series chart with the moving average, the
// forecast path and its prediction interval after the last complete period,
// and the anomalies as marked points. Forecast periods after the series get
// their labels in ForecastLabels, so Labels and Values still end with the
// series' last (possibly partial) period.
func addTrendToChart(spec *chartSpec, series *engine.Series, t *trend.Trend) {
	g := series.Grain
	spec.MovingAverage = t.MovingAverage.Values
	spec.MovingAverageWindow = t.MovingAverage.Window

	index := make(map[int64]int, len(series.Points))
	for i, p := range series.Points {
		index[p.Start.Unix()] = i
	}
	for _, f := range t.ForecastPath {
		i, ok := index[f.At.Unix()]
		if !ok {
			spec.ForecastLabels = append(spec.ForecastLabels, formatPeriod(f.At, g))
			i = len(spec.Labels) + len(spec.ForecastLabels) - 1
			index[f.At.Unix()] = i
		}
		n := len(spec.Labels) + len(spec.ForecastLabels)
		spec.Forecast = growTo(spec.Forecast, n)
		spec.ForecastLow = growTo(spec.ForecastLow, n)
		spec.ForecastHigh = growTo(spec.ForecastHigh, n)
		spec.Forecast[i] = &f.Value
		spec.ForecastLow[i] = &f.Low
		spec.ForecastHigh[i] = &f.High
	}
	if len(t.ForecastPath) > 0 {
		// Start the dashed line at the last complete value, so it joins the series.
		first := index[t.ForecastPath[0].At.Unix()]
		if first > 0 && series.Points[first-1].Value != nil {
			v := series.Points[first-1].Value
			spec.Forecast[first-1], spec.ForecastLow[first-1], spec.ForecastHigh[first-1] = v, v, v
		}
		spec.ForecastLevel = t.ForecastPath[0].Level
	}

	for _, a := range t.Anomalies {
		if i, ok := index[a.At.Unix()]; ok {
			spec.Anomalies = append(spec.Anomalies, chartAnomaly{Index: i, Value: a.Value, Expected: a.Expected})
		}
	}
}

// growTo extends values with nils to length n.
func growTo(values []*float64, n int) []*float64 {
	for len(values) < n {
		values = append(values, nil)
	}
	return values
}

// chartAnomaly is an anomalous period on a chart, by its index in Labels.
type chartAnomaly struct {
	Index    int     `json:"index"`
	Value    float64 `json:"value"`
	Expected float64 `json:"expected"`
}
