package engine

import (
	"fmt"
	"slices"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// pathNotes collects, once each, the reasons why parts of a breakdown were
// computed by SQL on the store instead of the activity index.
type pathNotes []string

func (n *pathNotes) add(format string, args ...any) {
	note := fmt.Sprintf(format, args...)
	if !slices.Contains(*n, note) {
		*n = append(*n, note)
	}
}

// filterFallback returns why the index cannot apply the where filters of
// the metric named name in a breakdown by property, or "" when it can. The
// index applies eq, neq and in filters on one dimension at a time, so in a
// breakdown every filter must be on the property broken down by.
func filterFallback(v *indexView, name string, filters []kpi.Filter, property string) string {
	for _, f := range filters {
		switch {
		case f.Op != kpi.OpEq && f.Op != kpi.OpNeq && f.Op != kpi.OpIn:
			return fmt.Sprintf("metric %s: its where filter on %q uses %s, and the index applies only eq, neq and in", name, f.Property, f.Op)
		case f.Property != property:
			return fmt.Sprintf("metric %s: its where filter is on %q, another property than %q, and the index does not keep the two properties' values together", name, f.Property, property)
		}
	}
	if _, ok := v.filterFor(filters); !ok {
		return fmt.Sprintf("metric %s: its where filter on %q has a null, object or array value, which the index does not select", name, property)
	}
	return ""
}

// valueFallback returns the note for a breakdown by property that met a
// value whose segment name the index does not keep.
func valueFallback(name, property string) string {
	return fmt.Sprintf("metric %s: a value of %q in the range is an object, an array or a number that is not a whole number below 2^53, and the index does not keep the text that names its segment", name, property)
}

// daysFallback returns the note for a breakdown whose period could not be
// read from whole days of the index.
func daysFallback(name, property string) string {
	return fmt.Sprintf("metric %s: a period starts inside a day, or a day of the index was built before %q was a dimension", name, property)
}

// noteSegmentFallback adds to notes why the values of a filtered
// breakdown's segment, m with the extra filter on property, were computed
// by SQL on the store.
func noteSegmentFallback(v *indexView, m kpi.Metric, property string, notes *pathNotes) {
	metricName := fmt.Sprintf("the %s metric", m.Kind)
	reason := filterFallback(v, metricName, m.Filters, property)
	switch {
	case reason != "":
		notes.add("segment values: %s", reason)
	case m.Kind == kpi.NPS:
		notes.add("segment values: the index does not compute nps metrics, so each segment's values scan the events with a filter on %q", property)
	default:
		// fromIndex also declines rolling retention and funnels with a
		// repeated step.
		notes.add("segment values: the index does not compute this %s metric (such as a rolling retention or a funnel with a repeated step), so each segment's values scan the events with a filter on %q", m.Kind, property)
	}
}
