// Package timegrain does the calendar arithmetic behind every KPI series:
// grains (day, week, month, quarter), week starts, time zones with DST, and
// partial periods. It is pure: "now" is always passed in.
package timegrain

import (
	"fmt"
	"strings"
	"time"
)

// Grain is the length of the periods a series is bucketed into.
type Grain string

// Grains.
const (
	Day     Grain = "day"
	Week    Grain = "week"
	Month   Grain = "month"
	Quarter Grain = "quarter"
)

// Grains lists every grain from finest to coarsest.
var Grains = []Grain{Day, Week, Month, Quarter}

// ParseGrain returns the grain named s.
func ParseGrain(s string) (Grain, error) {
	switch g := Grain(strings.ToLower(strings.TrimSpace(s))); g {
	case Day, Week, Month, Quarter:
		return g, nil
	}
	return "", fmt.Errorf("grain %q is not valid (want day, week, month or quarter)", s)
}

// ParseWeekday returns the weekday named s ("monday", "Sun", ...).
func ParseWeekday(s string) (time.Weekday, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || (len(s) >= 3 && strings.HasPrefix(name, s)) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("week start %q is not a weekday (want monday or sunday, for example)", s)
}

// Calendar buckets instants into periods in one time zone with one week start.
type Calendar struct {
	Location  *time.Location
	WeekStart time.Weekday
}

// UTC is the calendar used when a workspace sets nothing: UTC, weeks from Monday.
var UTC = Calendar{Location: time.UTC, WeekStart: time.Monday}

func (c Calendar) loc() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// Start returns the start of the period of grain g that contains t, in the
// calendar's time zone.
func (c Calendar) Start(g Grain, t time.Time) time.Time {
	t = t.In(c.loc())
	y, m, d := t.Date()
	switch g {
	case Week:
		back := (int(t.Weekday()) - int(c.WeekStart) + 7) % 7
		return time.Date(y, m, d-back, 0, 0, 0, 0, c.loc())
	case Month:
		return time.Date(y, m, 1, 0, 0, 0, 0, c.loc())
	case Quarter:
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, c.loc())
	default:
		return time.Date(y, m, d, 0, 0, 0, 0, c.loc())
	}
}

// Next returns the start of the period of grain g that follows the one
// starting at start. Days are calendar days, so a DST day lasts 23 or 25 hours.
func (c Calendar) Next(g Grain, start time.Time) time.Time {
	start = start.In(c.loc())
	y, m, d := start.Date()
	switch g {
	case Week:
		return time.Date(y, m, d+7, 0, 0, 0, 0, c.loc())
	case Month:
		return time.Date(y, m+1, 1, 0, 0, 0, 0, c.loc())
	case Quarter:
		return time.Date(y, m+3, 1, 0, 0, 0, 0, c.loc())
	default:
		return time.Date(y, m, d+1, 0, 0, 0, 0, c.loc())
	}
}

// Previous returns the start of the period of grain g before the one starting
// at start.
func (c Calendar) Previous(g Grain, start time.Time) time.Time {
	start = start.In(c.loc())
	y, m, d := start.Date()
	switch g {
	case Week:
		return time.Date(y, m, d-7, 0, 0, 0, 0, c.loc())
	case Month:
		return time.Date(y, m-1, 1, 0, 0, 0, 0, c.loc())
	case Quarter:
		return time.Date(y, m-3, 1, 0, 0, 0, 0, c.loc())
	default:
		return time.Date(y, m, d-1, 0, 0, 0, 0, c.loc())
	}
}

// Period is the half-open span [Start, End) of one bucket. Partial marks a
// period that is not over: it contains the cut-off of the series (now, or the
// end of the requested range), and its data runs only to Cutoff.
type Period struct {
	Start   time.Time
	End     time.Time
	Partial bool
	Cutoff  time.Time // equal to End unless Partial
}

// Periods returns the periods of grain g that overlap [from, to), in order.
// A period that extends past to is marked partial with Cutoff = to.
func (c Calendar) Periods(g Grain, from, to time.Time) []Period {
	var periods []Period
	for start := c.Start(g, from); start.Before(to); start = c.Next(g, start) {
		p := Period{Start: start, End: c.Next(g, start)}
		p.Cutoff = p.End
		if p.End.After(to) {
			p.Partial = true
			p.Cutoff = to
		}
		periods = append(periods, p)
	}
	return periods
}

// Date is a calendar date with no time zone, as written in KPI files and
// query parameters.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses a date written as YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.Year == 0 }

// In returns the first instant of the date in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}
