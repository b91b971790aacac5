package analysis

import (
	"errors"
	"time"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Point is one period of a series. Value is nil when the period has no value;
// the functions here skip such periods and never read them as zero.
type Point struct {
	Start time.Time
	Value *float64
}

// ErrTooFewValues is returned when a series has too few periods with a value
// for the requested analysis.
var ErrTooFewValues = errors.New("too few periods with a value")

// civilDay returns the number of days from 1970-01-01 to t's calendar date in
// t's own location, so that DST days of 23 or 25 hours still count as one.
func civilDay(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// periodIndex numbers periods of grain so that consecutive periods differ by
// one. Week numbers count seven-day steps from origin, the start of a week.
func periodIndex(g timegrain.Grain, origin, t time.Time) int {
	switch g {
	case timegrain.Week:
		return floorDiv(civilDay(t)-civilDay(origin), 7)
	case timegrain.Month:
		return t.Year()*12 + int(t.Month()) - 1
	case timegrain.Quarter:
		return (t.Year()*12 + int(t.Month()) - 1) / 3
	default:
		return civilDay(t)
	}
}

// seasonLength is the number of seasons in one cycle at grain: the days of
// the week, the months or the quarters of the year. Weeks have no season,
// because a yearly cycle of 52 or 53 weeks needs years of data.
func seasonLength(g timegrain.Grain) int {
	switch g {
	case timegrain.Day:
		return 7
	case timegrain.Month:
		return 12
	case timegrain.Quarter:
		return 4
	default:
		return 1
	}
}

// seasonOf returns t's season at grain, from 0 to seasonLength(g)-1.
func seasonOf(g timegrain.Grain, t time.Time) int {
	switch g {
	case timegrain.Day:
		return int(t.Weekday())
	case timegrain.Month:
		return int(t.Month()) - 1
	case timegrain.Quarter:
		return (int(t.Month()) - 1) / 3
	default:
		return 0
	}
}

// observation is a period with a value, placed on the period axis.
type observation struct {
	at     time.Time
	index  int
	season int
	value  float64
}

// observations returns the points that have a value, numbered from the first
// point's period.
func observations(g timegrain.Grain, points []Point) []observation {
	var obs []observation
	if len(points) == 0 {
		return nil
	}
	origin := points[0].Start
	base := periodIndex(g, origin, origin)
	for _, p := range points {
		if p.Value == nil {
			continue
		}
		obs = append(obs, observation{
			at:     p.Start,
			index:  periodIndex(g, origin, p.Start) - base,
			season: seasonOf(g, p.Start),
			value:  *p.Value,
		})
	}
	return obs
}

// seasonsCovered reports whether every season of a cycle at grain g has at
// least min observations.
func seasonsCovered(g timegrain.Grain, obs []observation, min int) bool {
	s := seasonLength(g)
	if s < 2 {
		return false
	}
	counts := make([]int, s)
	for _, o := range obs {
		counts[o.season]++
	}
	for _, c := range counts {
		if c < min {
			return false
		}
	}
	return true
}
