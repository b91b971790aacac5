package engine

import (
	"context"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Range is an inclusive range of dates in the workspace's time zone. A zero
// From or To takes its default: To is the day of the newest event (or today
// when there are none), and From is a number of periods before To that suits
// the grain (DefaultPeriods).
type Range struct {
	From timegrain.Date
	To   timegrain.Date
}

// DefaultPeriods is how many periods a series shows when no start is given.
var DefaultPeriods = map[timegrain.Grain]int{
	timegrain.Day:     30,
	timegrain.Week:    13,
	timegrain.Month:   12,
	timegrain.Quarter: 8,
}

// MaxPeriods bounds one series, so that a day grain over decades is rejected
// with advice instead of computed slowly.
const MaxPeriods = 4000

// span returns the instants [from, to) that r covers. To never passes now:
// a period that now falls inside is partial.
func (e *Engine) span(ctx context.Context, cal timegrain.Calendar, grain timegrain.Grain, r Range) (time.Time, time.Time, error) {
	return e.spanWith(ctx, cal, grain, r, nil)
}

// spanWith is span, reading the day of the last event from view when it is
// not nil, in place of a query to the store.
func (e *Engine) spanWith(ctx context.Context, cal timegrain.Calendar, grain timegrain.Grain, r Range, view *indexView) (time.Time, time.Time, error) {
	now := e.now()
	for _, d := range []timegrain.Date{r.From, r.To} {
		if !d.IsZero() && (d.Year < 1970 || d.Year > 2200) {
			return time.Time{}, time.Time{}, kpi.Errorf(kpi.EINVALID, "date %s is out of range (want a year from 1970 to 2200)", d)
		}
	}

	var to time.Time
	switch {
	case !r.To.IsZero():
		to = cal.Next(timegrain.Day, r.To.In(cal.Location))
	default:
		var span store.Span
		var err error
		if view != nil {
			span = view.daySpan()
		} else if span, err = e.events.EventSpan(ctx); err != nil {
			return time.Time{}, time.Time{}, err
		}
		to = now
		if !span.Empty && span.Last.Before(now) {
			to = cal.Next(timegrain.Day, cal.Start(timegrain.Day, span.Last))
		}
	}
	if to.After(now) {
		to = now
	}

	var from time.Time
	switch {
	case !r.From.IsZero():
		from = r.From.In(cal.Location)
	default:
		from = cal.Start(grain, to.Add(-time.Nanosecond))
		for range DefaultPeriods[grain] - 1 {
			from = cal.Previous(grain, from)
		}
	}

	if !from.Before(to) {
		return time.Time{}, time.Time{}, kpi.Errorf(kpi.EINVALID, "the range from %s to %s is empty (from must be on or before to, and before today, %s)",
			timegrain.DateOf(from), timegrain.DateOf(to.Add(-time.Nanosecond)), timegrain.DateOf(now.In(cal.Location)))
	}
	return from, to, nil
}

// EventSpan returns the time range of the stored events.
func (e *Engine) EventSpan(ctx context.Context) (store.Span, error) {
	return e.events.EventSpan(ctx)
}
