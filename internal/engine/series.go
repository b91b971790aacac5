package engine

import (
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Point is one period of a KPI series.
type Point struct {
	Start time.Time `json:"period_start"`
	End   time.Time `json:"period_end"`

	// Value is nil when the period has no value: a formula divided by zero, an
	// average over no events, or a referenced metric without a value.
	Value         *float64 `json:"value"`
	NoValueReason string   `json:"no_value_reason,omitempty"`

	// Previous is the value of the period before. For a partial period it
	// covers the same days and hours from the start of the period before, so
	// that "month to date" is compared with the same days of the previous month.
	Previous *float64 `json:"previous"`

	// Change is the relative change from Previous in percent, or the
	// difference in percentage points when the KPI's unit is a percentage or
	// the KPI is a Net Promoter Score (Series.ChangeUnit names the unit). It is nil when Value or Previous is
	// nil, and for a change in percent also when Previous is 0 and Value is
	// not. From 0 to 0 the change is 0.
	Change *float64 `json:"change"`

	// Target is the value expected at the end of this period on the straight
	// path from the baseline to the target, pro-rated for additive metrics
	// when the period is shorter or longer than the KPI's grain.
	Target *float64   `json:"target"`
	Status kpi.Status `json:"status"`

	Partial bool `json:"partial"`

	// Details are counts behind the value, named by the metric kind: an NPS
	// point has promoters, passives, detractors and responses.
	Details map[string]float64 `json:"details,omitempty"`
}

// Series is a KPI's values over a range at one grain.
type Series struct {
	KPI        string          `json:"kpi"`
	Grain      timegrain.Grain `json:"grain"`
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	ChangeUnit string          `json:"change_unit"` // "%" or "pp"
	Points     []Point         `json:"points"`

	// Warnings point at likely mistakes in the KPI's definition, such as an
	// event name that matches no event.
	Warnings []string `json:"warnings,omitempty"`

	// Path names what computed the values: PathIndex (the activity index),
	// PathSQL (the store) or PathMixed (a formula whose inputs took both).
	Path string `json:"path,omitempty"`

	// Baseline and Goal describe the KPI's path to its target. Goal is nil
	// when the KPI has no target, and Baseline when it has no baseline.
	Baseline *PathPoint `json:"baseline"`
	Goal     *PathPoint `json:"goal"`

	// Milestones are the intermediate values of the target in force at the
	// end of the range, each at the end of its date.
	Milestones []Milestone `json:"milestones"`

	// Benchmarks are the KPI's reference lines: a constant Value (industry,
	// baseline) or one value per period of Points (last year).
	Benchmarks []BenchmarkLine `json:"benchmarks"`
}

// Milestone is an intermediate value on the path to the target, due by the
// end of Date (YYYY-MM-DD).
type Milestone struct {
	Date  string  `json:"date"`
	Value float64 `json:"value"`
}

// BenchmarkLine is one benchmark of a series.
type BenchmarkLine struct {
	Name   string            `json:"name"`
	Kind   kpi.BenchmarkKind `json:"kind"`
	Value  *float64          `json:"value,omitempty"`
	Points []BenchmarkPoint  `json:"points,omitempty"`
}

// BenchmarkPoint is the value of a benchmark for the period starting at
// Start: for last year's line, the KPI's value over the same span a year
// earlier. Value is nil when that span has no value.
type BenchmarkPoint struct {
	Start time.Time `json:"period_start"`
	Value *float64  `json:"value"`
}

// PathPoint is one end of the path from baseline to target.
type PathPoint struct {
	Value float64   `json:"value"`
	At    time.Time `json:"at"`
}

// Latest returns the last point of the series, or nil for an empty series.
func (s *Series) Latest() *Point {
	if len(s.Points) == 0 {
		return nil
	}
	return &s.Points[len(s.Points)-1]
}

// Current returns the point to show as the KPI's current value: the latest
// point, or, when the latest points are pending without a value (cohorts whose
// period is not over), the latest point before them. It returns nil for an
// empty series.
func (s *Series) Current() *Point {
	for i := len(s.Points) - 1; i >= 0; i-- {
		p := &s.Points[i]
		if p.Value != nil || p.Status != kpi.Pending {
			return p
		}
	}
	return s.Latest()
}

// Judged returns the point that gives the KPI its current status: the latest
// point, or the one before it when the latest is pending. It returns nil when
// no point has a status.
func (s *Series) Judged() *Point {
	for i := len(s.Points) - 1; i >= 0; i-- {
		if s.Points[i].Status != kpi.Pending {
			return &s.Points[i]
		}
	}
	return nil
}

// Status returns the KPI's current status, that of the Judged point.
func (s *Series) Status() kpi.Status {
	if p := s.Judged(); p != nil {
		return p.Status
	}
	return kpi.NoData
}

// Progress returns how far the KPI has come from the baseline to the target,
// as a fraction clamped to [0, 1], or nil when it cannot be computed. It uses
// the latest complete period, because the value of a period so far (a month
// to date) is not comparable with a target for the whole period.
func (s *Series) Progress() *float64 {
	if s.Baseline == nil || s.Goal == nil || s.Goal.Value == s.Baseline.Value {
		return nil
	}
	var p *Point
	for i := len(s.Points) - 1; i >= 0 && p == nil; i-- {
		if !s.Points[i].Partial {
			p = &s.Points[i]
		}
	}
	if p == nil || p.Value == nil {
		return nil
	}
	f := (*p.Value - s.Baseline.Value) / (s.Goal.Value - s.Baseline.Value)
	f = min(max(f, 0), 1)
	return &f
}
