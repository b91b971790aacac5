package engine

import (
	"slices"
	"sort"
	"time"

	"github.com/northstar-kpi/northstar/internal/store"
)

// timeline cuts time at a sorted set of instants into consecutive segments
// [bounds[i], bounds[i+1]). When the instants include the start and end of
// every interval a metric needs, each interval is a run of whole segments,
// and an event falls in at most one segment however the intervals overlap.
// Metrics then bucket each event once, into its segment, and add segments up
// per interval.
type timeline struct {
	bounds []time.Time
}

// newTimeline returns the timeline cut at instants, which may repeat and come
// in any order.
func newTimeline(instants []time.Time) timeline {
	bounds := slices.Clone(instants)
	slices.SortFunc(bounds, func(a, b time.Time) int { return a.Compare(b) })
	bounds = slices.CompactFunc(bounds, func(a, b time.Time) bool { return a.Equal(b) })
	return timeline{bounds: bounds}
}

// segments returns the number of segments.
func (tl timeline) segments() int { return max(len(tl.bounds)-1, 0) }

// first returns the earliest bound, or the zero time for an empty timeline.
func (tl timeline) first() time.Time {
	if len(tl.bounds) == 0 {
		return time.Time{}
	}
	return tl.bounds[0]
}

// last returns the latest bound, or the zero time for an empty timeline.
func (tl timeline) last() time.Time {
	if len(tl.bounds) == 0 {
		return time.Time{}
	}
	return tl.bounds[len(tl.bounds)-1]
}

// segment returns the index of the segment that contains t, or -1 when t is
// before the first bound or not before the last.
func (tl timeline) segment(t time.Time) int {
	i := sort.Search(len(tl.bounds), func(i int) bool { return tl.bounds[i].After(t) }) - 1
	if i < 0 || i >= tl.segments() {
		return -1
	}
	return i
}

// bound returns the index of the bound equal to t, or -1 when t is not a bound.
func (tl timeline) bound(t time.Time) int {
	i := sort.Search(len(tl.bounds), func(i int) bool { return !tl.bounds[i].Before(t) })
	if i < len(tl.bounds) && tl.bounds[i].Equal(t) {
		return i
	}
	return -1
}

// span returns the segments [from, to) that make up iv. Both ends of iv must
// be bounds of the timeline; an empty or inverted iv gives an empty span.
func (tl timeline) span(iv store.Interval) (from, to int) {
	from, to = tl.bound(iv.Start), tl.bound(iv.End)
	if from < 0 || to < 0 {
		panic("engine: interval end is not a timeline bound")
	}
	if to < from {
		to = from
	}
	return from, to
}
