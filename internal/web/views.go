package web

import (
	"math"
	"net/url"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// This file turns series into the formatted values that the page templates
// show, so that the templates only lay them out.

// statusView shows a status in words, with a symbol and a CSS class for its
// colour, so that colour is never the only signal.
type statusView struct {
	Class string
	Label string
	Icon  string

	// Period names the earlier period the status belongs to, when the
	// latest period is pending; "" when the status is the latest period's.
	Period string
}

func newStatusView(st kpi.Status) statusView {
	v := statusView{Class: "status-" + string(st), Label: st.Label()}
	switch st {
	case kpi.OnTrack:
		v.Icon = "✓"
	case kpi.AtRisk:
		v.Icon = "!"
	case kpi.OffTrack:
		v.Icon = "✕"
	case kpi.NoData:
		v.Icon = "–"
	case kpi.Pending:
		v.Class = "status-" + string(kpi.NoData)
		v.Icon = "…"
	default:
		v.Class = "status-" + string(kpi.NoTarget)
		v.Icon = "○"
	}
	return v
}

// changeView shows a period-over-period change, "↑ +12.5%", with what it is
// compared against. Class marks the change as good or bad for the KPI.
type changeView struct {
	Arrow    string
	Text     string
	Compared string
	Class    string
}

// newChangeView describes the change of p, or returns nil when p has none.
func newChangeView(p *engine.Point, changeUnit string, g timegrain.Grain, dir kpi.Direction) *changeView {
	if p == nil || p.Change == nil {
		return nil
	}
	c := *p.Change

	v := &changeView{Arrow: changeArrow(c), Text: formatChange(c, changeUnit), Class: "change-flat"}
	if formatNumber(c) == "0" {
		v.Arrow = changeArrow(0)
	}
	if p.Partial {
		v.Compared = "vs the same part of the previous " + string(g)
	} else {
		v.Compared = "vs the previous " + string(g)
	}

	switch {
	case v.Arrow == changeArrow(0):
	case (c > 0) == (dir != kpi.Down):
		v.Class = "change-good"
	default:
		v.Class = "change-bad"
	}
	return v
}

// progressView shows how far a KPI has come from its baseline to its target.
type progressView struct {
	Percent int
	Text    string
}

// newProgressView describes series' progress, or returns nil when the KPI
// has no target or no current value.
func newProgressView(k *kpi.KPI, series *engine.Series) *progressView {
	f := series.Progress()
	if f == nil {
		return nil
	}

	pct := int(math.Floor(*f * 100))
	text := formatNumber(float64(pct)) + "% of the way from " + formatKPIValue(&series.Baseline.Value, k) +
		" to " + formatKPIValue(&series.Goal.Value, k)
	if k.Target != nil && !k.Target.By.IsZero() {
		text += " by " + k.Target.By.String()
	}
	// Progress counts the latest complete period. When the card shows a
	// period that is not over, name the one that progress is about.
	if cur := series.Current(); cur != nil && cur.Partial {
		for i := len(series.Points) - 1; i >= 0; i-- {
			if q := series.Points[i]; !q.Partial {
				text += ", as of " + formatPeriod(q.Start, series.Grain)
				break
			}
		}
	}
	return &progressView{Percent: pct, Text: text}
}

// kpiCard is the summary of one KPI: its latest value, change, progress and
// status. The dashboard shows one per KPI, and the KPI page shows one on top.
type kpiCard struct {
	ID          string
	Name        string
	Description string
	Owner       string
	Href        string

	HasValue     bool
	PreviousZero bool // the previous period's value is 0, so there is no relative change
	Value        string
	Period       string // the latest period, "Mar 2026"
	PartialLabel string // "month to date" when the latest period is not over

	Change   *changeView
	Progress *progressView
	Status   statusView

	ChartKey string   // the sparkline's key in the page's chart data; "" for none
	Error    string   // the reason the series could not be computed
	Warnings []string // likely mistakes in the definition, such as an unknown event

	ReviewDue bool // the KPI's review cadence has passed since its latest review
	Retired   bool // a review retired the KPI
}

// newKPICard summarises k's series. When seriesErr is not nil the card shows
// the error's message instead.
func newKPICard(k *kpi.KPI, series *engine.Series, seriesErr error) kpiCard {
	c := kpiCard{
		ID:          k.ID,
		Name:        k.Name,
		Description: k.Description,
		Owner:       k.Owner,
		Href:        "/kpis/" + url.PathEscape(k.ID),
		Value:       noValue,
		Status:      newStatusView(kpi.NoData),
	}
	if c.Name == "" {
		c.Name = k.ID
	}
	if seriesErr != nil {
		c.Error = kpi.ErrorMessage(seriesErr)
		return c
	}

	p := series.Current()
	if p == nil {
		return c
	}
	c.HasValue = p.Value != nil
	c.PreviousZero = p.Previous != nil && *p.Previous == 0 && p.Change == nil
	c.Value = formatKPIValue(p.Value, k)
	c.Period = formatPeriod(p.Start, series.Grain)
	if p.Partial {
		c.PartialLabel = partialLabel(series.Grain)
	}
	c.Warnings = series.Warnings
	c.Change = newChangeView(p, series.ChangeUnit, series.Grain, k.Direction)
	c.Progress = newProgressView(k, series)
	c.Status = newStatusView(series.Status())
	if judged := series.Judged(); judged != nil && judged != p {
		// The latest period is pending, so the status is that of an earlier one.
		c.Status.Period = formatPeriod(judged.Start, series.Grain)
	}
	return c
}

// chartSpec is one chart's data for app.js. Only the last point of a series
// can be partial: the period that contains now or the end of the range.
type chartSpec struct {
	Kind         string     `json:"kind"` // "sparkline" or "series"
	Name         string     `json:"name"`
	Unit         string     `json:"unit"`
	Labels       []string   `json:"labels"`
	Values       []*float64 `json:"values"`
	Targets      []*float64 `json:"targets,omitempty"`
	Partial      bool       `json:"partial"`
	PartialLabel string     `json:"partial_label,omitempty"`

	// Annotations are the notes dated in the chart's periods, drawn as
	// markers on the period that contains their date.
	Annotations []chartAnnotation `json:"annotations,omitempty"`

	// Trend analysis of a series chart (addTrendToChart). The forecast arrays
	// cover Labels followed by ForecastLabels, the periods after the series.
	ForecastLabels      []string       `json:"forecast_labels,omitempty"`
	MovingAverage       []*float64     `json:"moving_average,omitempty"`
	MovingAverageWindow int            `json:"moving_average_window,omitempty"`
	Forecast            []*float64     `json:"forecast,omitempty"`
	ForecastLow         []*float64     `json:"forecast_low,omitempty"`
	ForecastHigh        []*float64     `json:"forecast_high,omitempty"`
	ForecastLevel       float64        `json:"forecast_level,omitempty"`
	Anomalies           []chartAnomaly `json:"anomalies,omitempty"`

	// Benchmarks and Milestones are drawn on series charts only.
	Benchmarks []chartLine `json:"benchmarks,omitempty"`
	Milestones []*float64  `json:"milestones,omitempty"`
}

// newChartSpec returns the chart data of series. A sparkline carries no
// target path.
func newChartSpec(kind string, k *kpi.KPI, series *engine.Series) chartSpec {
	spec := chartSpec{
		Kind:   kind,
		Name:   k.Name,
		Unit:   k.Unit,
		Labels: make([]string, len(series.Points)),
		Values: make([]*float64, len(series.Points)),
	}
	if spec.Name == "" {
		spec.Name = k.ID
	}

	hasTarget := false
	for _, p := range series.Points {
		hasTarget = hasTarget || p.Target != nil
	}
	if hasTarget && kind == "series" {
		spec.Targets = make([]*float64, len(series.Points))
	}

	for i, p := range series.Points {
		spec.Labels[i] = formatPeriod(p.Start, series.Grain)
		spec.Values[i] = p.Value
		// A partial period's target is its elapsed share of a period's, which
		// would draw the target path as a plunge; the table shows it instead.
		if spec.Targets != nil && !p.Partial {
			spec.Targets[i] = p.Target
		}
	}

	if p := series.Latest(); p != nil && p.Partial {
		if kind == "sparkline" {
			// The card shows the period so far; the sparkline shows the trend of
			// whole periods, which a period so far would end in a false drop.
			spec.Labels = spec.Labels[:len(spec.Labels)-1]
			spec.Values = spec.Values[:len(spec.Values)-1]
		} else {
			spec.Partial = true
			spec.PartialLabel = partialLabel(series.Grain)
		}
	}
	return spec
}
