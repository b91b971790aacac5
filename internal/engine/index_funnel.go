package engine

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// indexFunnel is funnel on the index, with the same day-resolution rule as
// funnelAttempts. It returns false when the index cannot give the store's
// answer: a step that repeats (one event may complete only one of the
// repeats, and a day's bitmap cannot tell one event from two), or an
// interval that starts inside a day.
//
// A user's outcome depends only on their entry day d: they complete when
// each later step has an event on the day of the step before or later, up
// to day d+Window-1. So the completed users of each entry day are computed
// once, walking the days of the window and moving users from step k-1 to
// step k with one intersection per day and step.
func (ev *evaluator) indexFunnel(ctx context.Context, m kpi.Metric, f sliceFilter) ([]value, bool, error) {
	v := ev.index
	if len(m.Steps) < 2 || m.Window < 1 {
		return nil, false, nil // the store's path returns the error
	}
	for i, s := range m.Steps {
		if slices.Index(m.Steps, s) < i {
			return nil, false, nil
		}
	}
	for _, iv := range ev.intervals {
		if iv.Start.Before(iv.End) && !v.aligned(iv.Start) {
			return nil, false, nil
		}
	}

	loc := v.ix.loc
	cutoff := ev.dataCutoff()
	window := int32(m.Window)

	// dayUsers returns the users of step k on day d, up to end.
	stepDays := map[[2]int32]*roaring.Bitmap{}
	dayUsers := func(k int, d int32, end time.Time) (*roaring.Bitmap, error) {
		u, _, err := v.users(ctx, m.Steps[k], f, store.Interval{Start: dayStart(d, loc), End: earlier(dayStart(d+1, loc), end)})
		return u, err
	}
	stepUsers := func(k int, d int32) (*roaring.Bitmap, error) {
		key := [2]int32{int32(k), d}
		if u, ok := stepDays[key]; ok {
			return u, nil
		}
		u, err := dayUsers(k, d, cutoff)
		stepDays[key] = u
		return u, err
	}

	// The completions of entry day d depend on the days [d, d+Window) up to
	// the cut-off, so the cache keeps them unless the cut-off falls inside
	// one of those days.
	funnelName := "\x00funnel\x00" + strconv.Itoa(m.Window) + "\x00" + strings.Join(m.Steps, "\x00")
	cutoffDay, cutoffAligned := civilDayOf(cutoff, loc), v.aligned(cutoff)
	completedByDay := map[int32]*roaring.Bitmap{}
	completedFrom := func(d int32) (*roaring.Bitmap, error) {
		if done, ok := completedByDay[d]; ok {
			return done, nil
		}
		key := rangeKey{event: funnelName, filter: f.key(), from: d, to: min(d+window, cutoffDay)}
		cacheable := d+window <= cutoffDay || cutoffAligned
		if cacheable {
			if done, ok := v.ix.cache.bitmap(key); ok {
				completedByDay[d] = done
				return done, nil
			}
		}
		reached, err := stepUsers(0, d)
		if err != nil {
			return nil, err
		}
		reachedBy := make([]*roaring.Bitmap, len(m.Steps))
		reachedBy[0] = reached
		for k := 1; k < len(m.Steps); k++ {
			reachedBy[k] = roaring.New()
		}
		for x := d; x < d+window && dayStart(x, loc).Before(cutoff); x++ {
			for k := 1; k < len(m.Steps) && !reachedBy[k-1].IsEmpty(); k++ {
				u, err := stepUsers(k, x)
				if err != nil {
					return nil, err
				}
				reachedBy[k].Or(roaring.And(reachedBy[k-1], u))
			}
		}
		done := reachedBy[len(m.Steps)-1]
		completedByDay[d] = done
		if cacheable {
			v.ix.cache.putBitmap(key, done)
		}
		return done, nil
	}

	out := make([]value, len(ev.intervals))
	for i, iv := range ev.intervals {
		end := earlier(iv.End, cutoff)
		var counts [3]int
		entered := 0
		seen := roaring.New()
		for d := civilDayOf(iv.Start, loc); iv.Start.Before(end) && dayStart(d, loc).Before(end); d++ {
			day, err := dayUsers(0, d, end)
			if err != nil {
				return nil, false, err
			}
			u := roaring.AndNot(day, seen)
			if u.IsEmpty() {
				continue
			}
			seen.Or(u)
			done, err := completedFrom(d)
			if err != nil {
				return nil, false, err
			}
			n := int(u.GetCardinality())
			completed := int(u.AndCardinality(done))
			entered += n
			counts[funnelCompleted] += completed
			counts[funnelOutcomeOf(false, funnelDeadline(d, m.Window, loc), cutoff)] += n - completed
		}
		out[i] = funnelValue(m, entered, counts)
	}

	if err := ev.warnFunnelSteps(ctx, m, f); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// warnFunnelSteps adds the warnings of funnelAttempts for steps with no
// events in the days it reads.
func (ev *evaluator) warnFunnelSteps(ctx context.Context, m kpi.Metric, f sliceFilter) error {
	v := ev.index
	bounds := newIntervalIndex(ev.intervals).bounds
	if len(bounds) == 0 {
		return nil
	}
	loc := v.ix.loc
	span := store.Interval{
		Start: dayStart(civilDayOf(bounds[0], loc), loc),
		End:   earlier(funnelDeadline(civilDayOf(bounds[len(bounds)-1], loc), m.Window, loc), ev.dataCutoff()),
	}
	for i, s := range m.Steps {
		n, _, err := v.events(ctx, s, f, span)
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if len(m.Filters) > 0 {
			ev.warnf("no %q events (step %d) in this range match the where filters", s, i+1)
		} else {
			ev.warnf("no %q events (step %d) in this range%s", s, i+1, ev.knownEvents(ctx, s))
		}
	}
	return nil
}
