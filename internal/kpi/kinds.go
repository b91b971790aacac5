package kpi

import (
	"strings"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// metricKindList names every metric kind, for error messages.
const metricKindList = "count, unique_users, sum, average, formula, active_users, stickiness, new_users, churn, " +
	"retention, funnel, nps, mrr, active_subscriptions, subscription_churn or measurement"

// maxWindowDays bounds rolling and conversion windows: a year and a day.
const maxWindowDays = 366

// metricFields lists, per kind computed from user activity, the optional
// and required fields of its YAML; any other field set is an error.
var metricFields = map[MetricKind]struct{ required, optional []string }{
	ActiveUsers:         {required: []string{"window"}, optional: []string{"event", "where"}},
	Stickiness:          {optional: []string{"event", "where"}},
	NewUsers:            {required: []string{"event"}, optional: []string{"where"}},
	Churn:               {optional: []string{"event", "where"}},
	Retention:           {required: []string{"cohort_event", "offset"}, optional: []string{"return_event", "period", "mode", "where"}},
	Funnel:              {required: []string{"steps", "window"}, optional: []string{"where"}},
	NPS:                 {required: []string{"event", "property"}, optional: []string{"where"}},
	MRR:                 {required: []string{"start_event", "cancel_event", "property"}, optional: []string{"subscription_key"}},
	ActiveSubscriptions: {required: []string{"start_event", "cancel_event"}, optional: []string{"subscription_key"}},
	SubscriptionChurn:   {required: []string{"start_event", "cancel_event"}, optional: []string{"subscription_key"}},
	Measurement:         {required: []string{"series", "aggregate"}, optional: []string{"where"}},
}

// setFields returns the YAML names of the fields f sets, apart from kind.
func setFields(f *fileMetric) map[string]bool {
	set := map[string]bool{
		"event":            f.Event != "",
		"property":         f.Property != "",
		"where":            len(f.Where) > 0,
		"formula":          f.Formula != "",
		"window":           f.Window != 0,
		"cohort_event":     f.CohortEvent != "",
		"return_event":     f.ReturnEvent != "",
		"period":           f.Period != "",
		"offset":           f.Offset != nil,
		"mode":             f.Mode != "",
		"steps":            len(f.Steps) > 0,
		"start_event":      f.StartEvent != "",
		"cancel_event":     f.CancelEvent != "",
		"subscription_key": f.SubscriptionKey != "",
		"series":           f.Series != "",
		"aggregate":        f.Aggregate != "",
	}
	for k, v := range set {
		if !v {
			delete(set, k)
		}
	}
	return set
}

// activityMetric checks and converts the fields of the kinds computed from
// user activity and measurements.
func (l *loader) activityMetric(path, id, field string, f *fileMetric, m *Metric) {
	fields := metricFields[m.Kind]
	set := setFields(f)
	for _, name := range fields.required {
		if !set[name] {
			l.addf(path, id, field+"."+name, "missing (kind %s needs %s)", m.Kind, strings.Join(fields.required, ", "))
		}
		delete(set, name)
	}
	for _, name := range fields.optional {
		delete(set, name)
	}
	for _, name := range sortedKeys(set) {
		allowed := append(append([]string{}, fields.required...), fields.optional...)
		l.addf(path+"."+name, id, field+"."+name, "not used by kind %s (it takes %s)", m.Kind, strings.Join(allowed, ", "))
	}

	m.Window = f.Window
	if f.Window != 0 && (f.Window < 1 || f.Window > maxWindowDays) {
		l.addf(path+".window", id, field+".window", "%d is out of range (want a number of days from 1 to %d)", f.Window, maxWindowDays)
	}

	switch m.Kind {
	case Retention:
		m.CohortEvent, m.ReturnEvent = f.CohortEvent, f.ReturnEvent
		m.Mode = CalendarRetention
		if f.Mode != "" {
			m.Mode = RetentionMode(f.Mode)
			if m.Mode != CalendarRetention && m.Mode != RollingRetention {
				l.addf(path+".mode", id, field+".mode", "%q is not valid (want calendar, or rolling for N-day retention counted in 24-hour periods)", f.Mode)
			}
		}
		if f.Period != "" {
			g, err := timegrain.ParseGrain(f.Period)
			if err != nil || g == timegrain.Quarter {
				l.addf(path+".period", id, field+".period", "%q is not valid (want day, week or month)", f.Period)
			} else {
				m.RetentionGrain = g
			}
		}
		if f.Offset != nil {
			m.Offset = *f.Offset
			if m.Offset < 0 || m.Offset > 1000 {
				l.addf(path+".offset", id, field+".offset", "%d is out of range (want the number of periods after the first, from 0 to 1000)", m.Offset)
			}
		}
	case Funnel:
		m.Steps = f.Steps
		if len(f.Steps) == 1 {
			l.addf(path+".steps", id, field+".steps", "a funnel needs at least two steps, found one (%q)", f.Steps[0])
		}
		for i, s := range f.Steps {
			if strings.TrimSpace(s) == "" {
				l.addf(path+".steps", id, field+".steps", "step %d has no event name", i+1)
			}
		}
	case MRR, ActiveSubscriptions, SubscriptionChurn:
		m.StartEvent, m.CancelEvent, m.SubscriptionKey = f.StartEvent, f.CancelEvent, f.SubscriptionKey
	case Measurement:
		m.Series = f.Series
		m.Aggregate = MeasurementAggregate(f.Aggregate)
		if f.Aggregate != "" && m.Aggregate != FlowSum && m.Aggregate != LevelLast {
			l.addf(path+".aggregate", id, field+".aggregate", "%q is not valid (want sum for a flow such as spend, or last for a level such as headcount)", f.Aggregate)
		}
	}
}
