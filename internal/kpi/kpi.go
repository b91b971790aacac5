// Package kpi holds Northstar's domain types: objectives, metrics, KPIs, targets
// and statuses, their validation, and the loading of KPI definitions from YAML.
// It imports no storage or HTTP package.
package kpi

import (
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Direction is whether higher or lower values of a KPI are better.
type Direction string

// Directions.
const (
	Up   Direction = "up"
	Down Direction = "down"
)

// MetricKind names a computation over events.
type MetricKind string

// Metric kinds.
const (
	Count       MetricKind = "count"        // number of events
	UniqueUsers MetricKind = "unique_users" // distinct users doing the event
	Sum         MetricKind = "sum"          // sum of a numeric property
	Average     MetricKind = "average"      // mean of a numeric property over events that have it
	Formula     MetricKind = "formula"      // arithmetic over other metrics

	// The kinds below are computed from each user's activity; see
	// docs/metrics.md for the formula of each.
	ActiveUsers         MetricKind = "active_users"         // distinct users in a rolling window of Window days ending with the period
	Stickiness          MetricKind = "stickiness"           // mean daily active users over the period / distinct users in the period
	NewUsers            MetricKind = "new_users"            // users whose first Event ever falls in the period
	Churn               MetricKind = "churn"                // users active in the previous period and not in this one / active in the previous period
	Retention           MetricKind = "retention"            // share of a cohort active again Offset periods after its first event
	Funnel              MetricKind = "funnel"               // share of users entering Steps[0] who complete every step in order within Window days
	NPS                 MetricKind = "nps"                  // % promoters (9-10) - % detractors (0-6) of a 0-10 score Property
	MRR                 MetricKind = "mrr"                  // monthly amount of subscriptions active at the end of the period
	ActiveSubscriptions MetricKind = "active_subscriptions" // subscriptions active at the end of the period
	SubscriptionChurn   MetricKind = "subscription_churn"   // subscriptions cancelled in the period / active at its start
	Measurement         MetricKind = "measurement"          // a measurement series, summed (a flow) or its last value (a level)
)

// RetentionMode is the way retention periods are counted.
type RetentionMode string

// Retention modes.
const (
	// CalendarRetention numbers periods by calendar: a user who signs up at
	// 23:45 and returns at 00:01 is back on day 1.
	CalendarRetention RetentionMode = "calendar"
	// RollingRetention ("N-day") numbers 24-hour periods from each user's
	// first event: the same user is still in day 0.
	RollingRetention RetentionMode = "rolling"
)

// MeasurementAggregate is the way a measurement series combines over a period.
type MeasurementAggregate string

// Measurement aggregates.
const (
	FlowSum   MeasurementAggregate = "sum"  // a flow, such as spend: the period's values add up
	LevelLast MeasurementAggregate = "last" // a level, such as headcount: the period's last value
)

// Additive reports whether the metric's value over a span is the sum of its
// values over the parts of that span. Targets of additive metrics are pro-rated
// when a period is shorter or longer than the KPI's grain. A measurement is
// additive when it is a flow, which Metric.Additive checks.
func (k MetricKind) Additive() bool { return k == Count || k == Sum || k == NewUsers }

// FilterOp is a comparison in a property filter.
type FilterOp string

// Filter operators.
const (
	OpEq  FilterOp = "eq"
	OpNeq FilterOp = "neq"
	OpIn  FilterOp = "in"
	OpGt  FilterOp = "gt"
	OpGte FilterOp = "gte"
	OpLt  FilterOp = "lt"
	OpLte FilterOp = "lte"
)

// Filter keeps the events whose property compares true with Value (or, for
// OpIn, equals one of Values). Values are strings or float64.
type Filter struct {
	Property string
	Op       FilterOp
	Value    any
	Values   []any
}

// Metric is a named computation over events, or a formula over other metrics.
type Metric struct {
	Kind     MetricKind
	Event    string   // for every kind but Formula
	Property string   // for Sum and Average
	Filters  []Filter // for every kind but Formula
	Formula  string   // for Formula: an expression over metric and KPI ids

	// Compiled is the compiled Formula, set by loading and by CompileFormula.
	Compiled *CompiledFormula

	// Window is the length in days of an ActiveUsers window, and of a Funnel's
	// conversion window.
	Window int

	// Retention: the cohort is the users whose first CohortEvent falls in a
	// period of RetentionGrain; they are back in period k when they do
	// ReturnEvent (any event when empty) in the k-th period after it. The
	// KPI's value for a cohort period is the share back at Offset.
	CohortEvent    string
	ReturnEvent    string
	RetentionGrain timegrain.Grain
	Offset         int
	Mode           RetentionMode

	// Funnel: the events of each step, in order.
	Steps []string

	// MRR, ActiveSubscriptions and SubscriptionChurn: a subscription starts
	// with StartEvent and ends with CancelEvent; SubscriptionKey names the
	// property that identifies it (the user when empty), and Property the
	// monthly amount for MRR.
	StartEvent      string
	CancelEvent     string
	SubscriptionKey string

	// Measurement: the series, how it combines over a period, and the
	// dimensions to keep (Filters on dimensions, compared as text).
	Series    string
	Aggregate MeasurementAggregate
}

// Additive reports whether m's value over a span is the sum of its values
// over the parts of that span.
func (m Metric) Additive() bool {
	if m.Kind == Measurement {
		return m.Aggregate == FlowSum
	}
	return m.Kind.Additive()
}

// Objective is a business goal that KPIs serve.
type Objective struct {
	ID          string
	Name        string
	Description string
}

// Baseline is the starting point of a KPI's path to its target. When Value is
// nil it is the KPI's value in the period of the KPI's grain containing Date.
type Baseline struct {
	Value *float64
	Date  timegrain.Date
}

// Target is the value a KPI should reach by a date: either an absolute Value
// or a Change relative to the baseline (0.2 for "+20%").
type Target struct {
	Value  *float64
	Change *float64
	By     timegrain.Date

	// Milestones are intermediate values by dates before By, in date order.
	Milestones []Milestone
}

// Thresholds set how far a value may fall short of the path to its target,
// as a fraction of the expected value, before the KPI is at risk or off track.
type Thresholds struct {
	AtRisk   float64
	OffTrack float64
}

// DefaultThresholds apply when a KPI sets none: up to 5 % short of the path is
// on track, up to 15 % short is at risk, and more is off track.
var DefaultThresholds = Thresholds{AtRisk: 0.05, OffTrack: 0.15}

// KPI is a metric that is tracked against a target.
type KPI struct {
	ID          string
	Name        string
	Description string
	Objective   string
	Owner       string
	Unit        string
	Direction   Direction
	Grain       timegrain.Grain // the grain that baseline and target values refer to
	Metric      Metric
	Baseline    *Baseline
	Target      *Target
	Thresholds  Thresholds

	// ManagedBy is the place the definition is kept: the KPI file (ManagedByCode,
	// also the zero value's meaning) or the database (ManagedByUI).
	ManagedBy ManagedBy

	// Targets are the later revisions of Target that the KPI file lists,
	// in the order written. Revisions made through the API are stored apart
	// (see History).
	Targets []TargetRevision

	// Benchmarks are reference lines drawn beside the KPI's values.
	Benchmarks []Benchmark

	// Review is the KPI's review cadence, or NoCadence when the definition
	// sets none.
	Review Cadence

	// Breakdown is the event property that trend analysis breaks the KPI down
	// by to name the segment behind a change, such as "country". Empty means
	// none.
	Breakdown string
}

// ManagedBy is the place a KPI's definition is kept and edited.
type ManagedBy string

// Places a KPI is managed.
const (
	ManagedByCode ManagedBy = "code" // the KPI file, read-only in the UI
	ManagedByUI   ManagedBy = "ui"   // the database, edited in the UI and the API
)

// IsManagedByUI reports whether k was made in the UI and may be edited there.
func (k *KPI) IsManagedByUI() bool { return k.ManagedBy == ManagedByUI }

// IsPercentage reports whether the KPI's unit is a percentage, whose changes
// are shown in percentage points.
func (k *KPI) IsPercentage() bool { return k.Unit == "%" || k.Unit == "percent" }

// ChangeInPoints reports whether the KPI's changes are differences in points
// rather than relative changes: for percentages, and for Net Promoter Scores,
// which are a difference of two percentages (from 20 to 30 is +10 points,
// not +50 %).
func (k *KPI) ChangeInPoints() bool { return k.IsPercentage() || k.Metric.Kind == NPS }

// Workspace holds the settings every computation depends on.
type Workspace struct {
	Name      string
	Location  *time.Location
	WeekStart time.Weekday
}

// Calendar returns the workspace's calendar for bucketing time.
func (w Workspace) Calendar() timegrain.Calendar {
	return timegrain.Calendar{Location: w.Location, WeekStart: w.WeekStart}
}

// Definitions is the content of one KPI file.
type Definitions struct {
	Path       string
	Workspace  Workspace
	Objectives []Objective
	Metrics    map[string]Metric // named metrics that formulas may use
	KPIs       []*KPI

	// Dimensions are the event properties that the activity index keeps
	// one slice per value of, so that breakdowns by them read the index.
	Dimensions []string
}

// KPI returns the KPI with the given id, or a not-found error.
func (d *Definitions) KPI(id string) (*KPI, error) {
	for _, k := range d.KPIs {
		if k.ID == id {
			return k, nil
		}
	}
	if len(d.KPIs) == 0 {
		return nil, Errorf(ENOTFOUND, "KPI %q not found: this workspace has no KPIs yet", id)
	}
	ids := make([]string, 0, len(d.KPIs))
	for _, k := range d.KPIs {
		ids = append(ids, k.ID)
	}
	return nil, Errorf(ENOTFOUND, "KPI %q not found (known KPIs: %s)", id, strings.Join(ids, ", "))
}

// ResolveMetric returns the metric a formula name refers to: a named metric or
// the metric of a KPI.
func (d *Definitions) ResolveMetric(name string) (Metric, bool) {
	if m, ok := d.Metrics[name]; ok {
		return m, true
	}
	for _, k := range d.KPIs {
		if k.ID == name {
			return k.Metric, true
		}
	}
	return Metric{}, false
}

// Status is a KPI's standing against its target.
type Status string

// Statuses.
const (
	OnTrack  Status = "on_track"
	AtRisk   Status = "at_risk"
	OffTrack Status = "off_track"
	NoData   Status = "no_data"   // the period has no value
	NoTarget Status = "no_target" // the KPI has no target to judge against

	// Pending marks a period that is not over, of a KPI whose value cannot be
	// pro-rated (unique users, averages, formulas): the users of a whole month
	// cannot be compared with those of its first week. It is judged when it ends.
	Pending Status = "pending"

	// Retired marks a period after a review retired the KPI: it is shown,
	// but not judged against a target.
	Retired Status = "retired"
)

// Label returns the status as words for people.
func (s Status) Label() string {
	switch s {
	case OnTrack:
		return "on track"
	case AtRisk:
		return "at risk"
	case OffTrack:
		return "off track"
	case NoData:
		return "no data"
	case Pending:
		return "pending"
	case Retired:
		return "retired"
	default:
		return "no target"
	}
}
