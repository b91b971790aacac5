package engine

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// indexFunnel is funnel on the index, with the same day-resolution rule as
// funnelAttempts. It returns false when the index cannot compute the
// store's result (see newFunnelWalk).
func (ev *evaluator) indexFunnel(ctx context.Context, m kpi.Metric, f sliceFilter) ([]value, bool, error) {
	w, ok := newFunnelWalk(ev, m, f)
	if !ok {
		return nil, false, nil
	}
	out := make([]value, len(ev.intervals))
	last := len(m.Steps) - 1
	done := map[store.Interval]int{} // most previous periods are current ones too
	for i, iv := range ev.intervals {
		if j, ok := done[iv]; ok {
			out[i] = out[j]
			out[i].details = maps.Clone(out[j].details)
			continue
		}
		done[iv] = i
		var counts [3]int
		entered := 0
		err := w.entrants(ctx, iv, func(d int32, u *roaring.Bitmap) error {
			reached, err := w.reached(ctx, d)
			if err != nil {
				return err
			}
			n := int(u.GetCardinality())
			completed := int(u.AndCardinality(reached[last]))
			entered += n
			counts[funnelCompleted] += completed
			counts[funnelOutcomeOf(false, funnelDeadline(d, m.Window, w.loc), w.cutoff)] += n - completed
			return nil
		})
		if err != nil {
			return nil, false, err
		}
		out[i] = funnelValue(m, entered, counts)
	}

	if err := ev.warnFunnelSteps(ctx, m, f); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// funnelWalk computes a funnel from the index's days.
//
// A user's outcome depends only on their entry day d: they reach step k
// when it has an event on the day of step k-1 or later, up to day
// d+Window-1. So the users of each entry day who reach each step are
// computed once, walking the days of the window and moving users from step
// k-1 to step k with one intersection per day and step.
type funnelWalk struct {
	v      *indexView
	m      kpi.Metric
	f      sliceFilter
	loc    *time.Location
	cutoff time.Time
	name   string // the funnel's part of cache keys

	stepDays map[[2]int32]*roaring.Bitmap
	byDay    map[int32][]*roaring.Bitmap
	level    []int32 // walkSteps' buffers
	ids      []uint32
}

// newFunnelWalk returns false when the index cannot compute the store's
// result: a step that repeats (one event may complete only one of the
// repeats, and a day's bitmap cannot tell one event from two), or an
// interval that starts inside a day.
func newFunnelWalk(ev *evaluator, m kpi.Metric, f sliceFilter) (*funnelWalk, bool) {
	v := ev.index
	if v == nil || len(m.Steps) < 2 || m.Window < 1 {
		return nil, false // the store's path returns the error
	}
	for i, s := range m.Steps {
		if slices.Index(m.Steps, s) < i {
			return nil, false
		}
	}
	for _, iv := range ev.intervals {
		if iv.Start.Before(iv.End) && !v.aligned(iv.Start) {
			return nil, false
		}
	}
	return &funnelWalk{
		v: v, m: m, f: f, loc: v.ix.loc, cutoff: ev.dataCutoff(),
		name:     "\x00funnel\x00" + strconv.Itoa(m.Window) + "\x00" + strings.Join(m.Steps, "\x00"),
		stepDays: map[[2]int32]*roaring.Bitmap{},
		byDay:    map[int32][]*roaring.Bitmap{},
	}, true
}

// dayUsers returns the users of step k on day d, up to end. The bitmap may
// be shared: callers must not change it.
func (w *funnelWalk) dayUsers(ctx context.Context, k int, d int32, end time.Time) (*roaring.Bitmap, error) {
	u, _, err := w.v.users(ctx, w.m.Steps[k], w.f, store.Interval{Start: dayStart(d, w.loc), End: earlier(dayStart(d+1, w.loc), end)})
	return u, err
}

// stepUsers is dayUsers up to the cut-off, kept for the whole walk.
func (w *funnelWalk) stepUsers(ctx context.Context, k int, d int32) (*roaring.Bitmap, error) {
	key := [2]int32{int32(k), d}
	if u, ok := w.stepDays[key]; ok {
		return u, nil
	}
	u, err := w.dayUsers(ctx, k, d, w.cutoff)
	w.stepDays[key] = u
	return u, err
}

// entrants calls fn with each day of iv and the users whose first Steps[0]
// event in iv falls on it, up to the cut-off.
func (w *funnelWalk) entrants(ctx context.Context, iv store.Interval, fn func(d int32, u *roaring.Bitmap) error) error {
	end := earlier(iv.End, w.cutoff)
	seen := roaring.New()
	for d := civilDayOf(iv.Start, w.loc); iv.Start.Before(end) && dayStart(d, w.loc).Before(end); d++ {
		day, err := w.dayUsers(ctx, 0, d, end)
		if err != nil {
			return err
		}
		u := roaring.AndNot(day, seen)
		if u.IsEmpty() {
			continue
		}
		seen.Or(u)
		if err := fn(d, u); err != nil {
			return err
		}
	}
	return nil
}

// reached returns, for each step k, the users of Steps[0] on entry day d
// who reach step k. The result of d depends on the days [d, d+Window) up
// to the cut-off, so the index's cache keeps it unless the cut-off falls
// inside one of those days.
func (w *funnelWalk) reached(ctx context.Context, d int32) ([]*roaring.Bitmap, error) {
	if r, ok := w.byDay[d]; ok {
		return r, nil
	}
	window := int32(w.m.Window)
	cutoffDay := civilDayOf(w.cutoff, w.loc)
	cacheable := d+window <= cutoffDay || w.v.aligned(w.cutoff)
	keys := make([]rangeKey, len(w.m.Steps))
	for k := range keys {
		keys[k] = rangeKey{event: w.name + "\x00" + strconv.Itoa(k), filter: w.f.key(), from: d, to: min(d+window, cutoffDay)}
	}
	if cacheable {
		r := make([]*roaring.Bitmap, len(keys))
		for k, key := range keys {
			b, ok := w.v.ix.cache.bitmap(key)
			if !ok {
				r = nil
				break
			}
			r[k] = b
		}
		if r != nil {
			w.byDay[d] = r
			return r, nil
		}
	}

	first, err := w.stepUsers(ctx, 0, d)
	if err != nil {
		return nil, err
	}
	var stepsOn [][]*roaring.Bitmap
	for x := d; x < d+window && dayStart(x, w.loc).Before(w.cutoff); x++ {
		on := make([]*roaring.Bitmap, len(w.m.Steps)-1)
		for k := range on {
			if on[k], err = w.stepUsers(ctx, k+1, x); err != nil {
				return nil, err
			}
		}
		stepsOn = append(stepsOn, on)
	}
	r := w.walkSteps(first, stepsOn)
	w.byDay[d] = r
	if cacheable {
		for k, key := range keys {
			w.v.ix.cache.putBitmap(key, r[k])
		}
	}
	return r, nil
}

// walkSteps returns, for each step k, the users of first who reach step k,
// where stepsOn[i][k-1] is the users of step k on day i of the window.
//
// Users who start on the same day mostly have nearby IDs, because the index
// numbers users in the order of their first event. When first's IDs are
// not spread out (at most 8 IDs per user between its smallest and largest),
// it keeps each user's step in a slice indexed by ID − min(first). Then it
// reads only the users of each step and day whose IDs fall in that span,
// which are a few dozen a day in the generated benchmark data. Intersecting
// instead reads all of first for each day and step, and reads more of each
// day's users as events per user grow.
func (w *funnelWalk) walkSteps(first *roaring.Bitmap, stepsOn [][]*roaring.Bitmap) []*roaring.Bitmap {
	r := make([]*roaring.Bitmap, len(w.m.Steps))
	r[0] = first
	last := len(r) - 1
	span := 0
	var lo, hi uint32
	if !first.IsEmpty() {
		lo, hi = first.Minimum(), first.Maximum()
		span = int(hi-lo) + 1
	}
	if span == 0 || span > 8*int(first.GetCardinality()) {
		for k := 1; k <= last; k++ {
			r[k] = roaring.New()
		}
		for _, on := range stepsOn {
			for k := 1; k <= last && !r[k-1].IsEmpty(); k++ {
				r[k].Or(roaring.And(r[k-1], on[k-1]))
			}
		}
		return r
	}

	if cap(w.level) < span {
		w.level = make([]int32, span)
	}
	level := w.level[:span]
	for i := range level {
		level[i] = -1 // not in first
	}
	it := first.Iterator()
	for it.HasNext() {
		level[it.Next()-lo] = 0
	}
	var days roaring.IntIterator
	for _, on := range stepsOn {
		for k := 1; k <= last; k++ {
			days.Initialize(on[k-1])
			days.AdvanceIfNeeded(lo)
			for days.HasNext() {
				v := days.Next()
				if v > hi {
					break
				}
				if level[v-lo] == int32(k-1) {
					level[v-lo] = int32(k)
				}
			}
		}
	}

	for k := 1; k <= last; k++ {
		ids := w.ids[:0]
		for i, l := range level {
			if int(l) >= k {
				ids = append(ids, lo+uint32(i))
			}
		}
		r[k] = roaring.BitmapOf(ids...)
		w.ids = ids
	}
	return r
}

// indexFunnelSteps fills the user counts of rep, whose steps are set, from
// the index over the interval of ev. It returns false, with rep unchanged,
// when the index cannot compute the store's report.
func (ev *evaluator) indexFunnelSteps(ctx context.Context, m kpi.Metric, rep *FunnelReport) (bool, error) {
	if ev.index == nil {
		return false, nil
	}
	f, ok := ev.index.filterFor(m.Filters)
	if !ok {
		return false, nil
	}
	w, ok := newFunnelWalk(ev, m, f)
	if !ok {
		return false, nil
	}

	steps := make([]FunnelStep, len(rep.Steps))
	copy(steps, rep.Steps)
	var entered, completed, inProgress, dropped int64
	last := len(m.Steps) - 1
	err := w.entrants(ctx, ev.intervals[0], func(d int32, u *roaring.Bitmap) error {
		reached, err := w.reached(ctx, d)
		if err != nil {
			return err
		}
		open := funnelDeadline(d, m.Window, w.loc).After(w.cutoff)
		entered += int64(u.GetCardinality())
		prev := int64(u.GetCardinality())
		for k := range steps {
			n := prev
			if k > 0 {
				n = int64(u.AndCardinality(reached[k]))
			}
			steps[k].Users += n
			if k == last {
				completed += n
				break
			}
			// The users whose furthest step is k.
			stopped := n - int64(u.AndCardinality(reached[k+1]))
			if open {
				steps[k].InProgress += stopped
				inProgress += stopped
			} else {
				steps[k].Dropped += stopped
				dropped += stopped
			}
			prev = n
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if err := ev.warnFunnelSteps(ctx, m, f); err != nil {
		return false, err
	}
	rep.Steps = steps
	rep.Entered, rep.Completed, rep.InProgress, rep.Dropped = entered, completed, inProgress, dropped
	rep.Warnings = ev.warnings
	return true, nil
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
