package analysis

import (
	"time"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Comparison compares a period's value with an earlier period's.
type Comparison struct {
	Start         time.Time `json:"period_start"`
	Current       float64   `json:"current"`
	PreviousStart time.Time `json:"previous_start"`
	Previous      float64   `json:"previous"`

	// Difference is Current − Previous, in the KPI's unit. For a KPI whose
	// unit is a percentage it is the change in percentage points.
	Difference float64 `json:"difference"`

	// Percent is 100·(Current − Previous)/|Previous|. It is nil when Previous
	// is 0, unless Current is 0 too, when it is 0.
	Percent *float64 `json:"percent"`
}

// Compare returns the change from previous to current, or nil when either has
// no value.
func Compare(previous, current Point) *Comparison {
	if previous.Value == nil || current.Value == nil {
		return nil
	}
	c := &Comparison{
		Start:         current.Start,
		Current:       *current.Value,
		PreviousStart: previous.Start,
		Previous:      *previous.Value,
		Difference:    *current.Value - *previous.Value,
	}
	if pct, ok := Change(c.Current, c.Previous, false); ok {
		c.Percent = &pct
	}
	return c
}

// PeriodChange returns the change of the last point from the point before it.
// It returns nil when the series has fewer than two points or either of the
// two has no value: an earlier period is never used in place of a period
// without a value.
func PeriodChange(points []Point) *Comparison {
	if len(points) < 2 {
		return nil
	}
	return Compare(points[len(points)-2], points[len(points)-1])
}

// YearAgo returns the start of the period a year before the period that
// starts at start. A day is compared with the same weekday 52 weeks (364
// days) earlier, because daily values follow the week. A week is compared
// with the week 52 weeks earlier, and a month or quarter with the same month
// or quarter of the year before.
func YearAgo(g timegrain.Grain, start time.Time) time.Time {
	switch g {
	case timegrain.Day:
		return start.AddDate(0, 0, -364)
	case timegrain.Week:
		return start.AddDate(0, 0, -52*7)
	default:
		return start.AddDate(-1, 0, 0)
	}
}

// YearOverYear returns the change of the last point of points from the point
// of lastYear that starts YearAgo of it. It returns nil when there is no such
// point or either has no value.
func YearOverYear(g timegrain.Grain, points, lastYear []Point) *Comparison {
	if len(points) == 0 {
		return nil
	}
	current := points[len(points)-1]
	want := YearAgo(g, current.Start)
	for _, p := range lastYear {
		if p.Start.Equal(want) {
			return Compare(p, current)
		}
	}
	return nil
}
