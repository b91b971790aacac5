package engine

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// indexView reads an ActivityIndex for one computation, under its read lock.
//
// Intervals start at a day boundary (period starts are midnights), but may
// end inside a day: the current period is cut at now, and the periods it is
// compared with at the same elapsed time. The view answers the whole days
// from the index and the part of the last day before such a cut from a scan
// of the store over that part alone, built into entries like the index's.
// An interval that starts inside a day is not answered: the metric falls
// back to the store.
type indexView struct {
	ix      *ActivityIndex
	scanner EventScanner
	tails   map[int64]map[string]*dayEntry // by the cut's Unix nanoseconds, then event
}

// sliceFilter selects the slices of an entry that a metric's filters keep.
type sliceFilter struct {
	dimension string
	keys      []string // value keys kept; nil keeps the whole entry
	negate    bool     // keep every value key not in keys
}

// filterFor returns the slice filter of filters, or false when the index
// cannot apply them: filters on more than one property, a range operator,
// or a property that is not a declared dimension. Several eq, neq and in
// filters on one dimension combine into one set of value keys.
func (v *indexView) filterFor(filters []kpi.Filter) (sliceFilter, bool) {
	if len(filters) == 0 {
		return sliceFilter{}, true
	}
	dim := filters[0].Property
	if !slices.Contains(v.ix.declared.Dimensions, dim) {
		return sliceFilter{}, false
	}
	sf := sliceFilter{dimension: dim}
	for i, f := range filters {
		if f.Property != dim {
			return sliceFilter{}, false
		}
		keys, negate, ok := filterKeys(f)
		if !ok {
			return sliceFilter{}, false
		}
		if i == 0 {
			sf.keys, sf.negate = keys, negate
			continue
		}
		sf = sf.and(keys, negate)
	}
	return sf, true
}

// filterKeys returns the value keys that one filter selects, with negate set
// when it keeps every other key, or false when the index cannot apply it.
func filterKeys(f kpi.Filter) (keys []string, negate bool, ok bool) {
	key := func(val any) (string, bool) {
		k := valueKey(val)
		// An invalid value, an object or an array: the store reports it.
		return k, k != "" && k != objectKey
	}
	switch f.Op {
	case kpi.OpEq, kpi.OpNeq:
		k, ok := key(f.Value)
		return []string{k}, f.Op == kpi.OpNeq, ok
	case kpi.OpIn:
		keys = []string{}
		for _, val := range f.Values {
			k, ok := key(val)
			if !ok {
				return nil, false, false
			}
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		return keys, false, true
	}
	return nil, false, false
}

// and returns the filter that keeps the value keys both f and the key set
// (keys, negate) keep.
func (f sliceFilter) and(keys []string, negate bool) sliceFilter {
	out := sliceFilter{dimension: f.dimension, keys: []string{}}
	switch {
	case f.negate && negate:
		out.negate = true
		out.keys = append(slices.Clone(f.keys), keys...)
		slices.Sort(out.keys)
		out.keys = slices.Compact(out.keys)
	case f.negate:
		for _, k := range keys {
			if !slices.Contains(f.keys, k) {
				out.keys = append(out.keys, k)
			}
		}
	default:
		for _, k := range f.keys {
			if slices.Contains(keys, k) != negate {
				out.keys = append(out.keys, k)
			}
		}
	}
	return out
}

// keeps reports whether f keeps the slice of value key k of f's dimension.
func (f sliceFilter) keeps(k string) bool {
	return slices.Contains(f.keys, k) != f.negate
}

// pick appends the slices of e that f keeps.
func (f sliceFilter) pick(out []*activitySlice, e *dayEntry) []*activitySlice {
	if e == nil {
		return out
	}
	if f.keys == nil {
		return append(out, &e.activitySlice)
	}
	values := e.dimensions[f.dimension]
	if f.negate {
		for key, s := range values {
			if !slices.Contains(f.keys, key) {
				out = append(out, s)
			}
		}
		return out
	}
	for _, key := range f.keys {
		if s := values[key]; s != nil {
			out = append(out, s)
		}
	}
	return out
}

// daySpan returns the span of the indexed events to the day: First and
// Last are the starts of the first and last days with events.
func (v *indexView) daySpan() store.Span {
	if !v.ix.hasDays {
		return store.Span{Empty: true}
	}
	return store.Span{First: dayStart(v.ix.firstDay, v.ix.loc), Last: dayStart(v.ix.lastDay, v.ix.loc)}
}

// aligned reports whether t is the start of a day in the index's time zone.
func (v *indexView) aligned(t time.Time) bool {
	return dayStart(civilDayOf(t, v.ix.loc), v.ix.loc).Equal(t)
}

// slices returns the slices of event kept by f over iv, or false when iv
// starts inside a day.
func (v *indexView) slices(ctx context.Context, event string, f sliceFilter, iv store.Interval) ([]*activitySlice, bool, error) {
	if !iv.Start.Before(iv.End) {
		return nil, true, nil
	}
	if !v.aligned(iv.Start) {
		return nil, false, nil
	}
	var out []*activitySlice
	from, to := civilDayOf(iv.Start, v.ix.loc), civilDayOf(iv.End, v.ix.loc)
	for d := from; d < to; d++ {
		out = f.pick(out, v.ix.entries[dayKey{d, event}])
	}
	if !v.aligned(iv.End) {
		tail, err := v.tail(ctx, iv.End)
		if err != nil {
			return nil, false, err
		}
		out = f.pick(out, tail[event])
	}
	return out, true, nil
}

// tail returns the entries of the events from the start of cut's day to cut,
// read from the store once per cut.
func (v *indexView) tail(ctx context.Context, cut time.Time) (map[string]*dayEntry, error) {
	if t, ok := v.tails[cut.UnixNano()]; ok {
		return t, nil
	}
	day := dayStart(civilDayOf(cut, v.ix.loc), v.ix.loc)
	entries := map[string]*dayEntry{}
	get := func(event string) *dayEntry {
		e := entries[event]
		if e == nil {
			e = newDayEntry()
			entries[event] = e
		}
		return e
	}
	withProps := len(v.ix.declared.Properties)+len(v.ix.declared.Dimensions) > 0
	err := v.scanner.ScanEvents(ctx, store.ScanQuery{From: day, To: cut, Properties: withProps}, func(row store.EventRow) error {
		var props map[string]any
		if withProps {
			var err error
			if props, err = decodeProperties(row.Properties); err != nil {
				return err
			}
		}
		get(row.Event).add(uint32(row.UserID), props, v.ix.declared)
		get(allEvents).add(uint32(row.UserID), props, v.ix.declared)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if v.tails == nil {
		v.tails = map[int64]map[string]*dayEntry{}
	}
	v.tails[cut.UnixNano()] = entries
	return entries, nil
}

// aggregate returns what store.Aggregate returns for event over iv.
func (v *indexView) aggregate(ctx context.Context, event, property string, f sliceFilter, iv store.Interval) (store.Aggregate, bool, error) {
	parts, ok, err := v.slices(ctx, event, f, iv)
	if !ok || err != nil {
		return store.Aggregate{}, ok, err
	}
	var a store.Aggregate
	for _, s := range parts {
		a.Events += s.events
		if property != "" {
			ps := s.sums[property]
			a.Sum += ps.sum
			a.Values += ps.values
		}
	}
	users, _, err := v.userCount(ctx, event, f, iv)
	a.Users = int64(users)
	return a, true, err
}

// cacheKey returns the key of event, f and iv in the index's cache, or
// false when iv is not a range of whole days.
func (v *indexView) cacheKey(event string, f sliceFilter, iv store.Interval) (rangeKey, bool) {
	if !iv.Start.Before(iv.End) || !v.aligned(iv.Start) || !v.aligned(iv.End) {
		return rangeKey{}, false
	}
	return rangeKey{event: event, filter: f.key(), from: civilDayOf(iv.Start, v.ix.loc), to: civilDayOf(iv.End, v.ix.loc)}, true
}

// users returns the users of event kept by f over iv. The bitmap may be
// shared with the index's cache: callers must not change it.
func (v *indexView) users(ctx context.Context, event string, f sliceFilter, iv store.Interval) (*roaring.Bitmap, bool, error) {
	key, cacheable := v.cacheKey(event, f, iv)
	if cacheable {
		if b, ok := v.ix.cache.bitmap(key); ok {
			return b, true, nil
		}
	}
	parts, ok, err := v.slices(ctx, event, f, iv)
	if !ok || err != nil {
		return nil, ok, err
	}
	if len(parts) == 1 {
		return parts[0].users, true, nil
	}
	bitmaps := make([]*roaring.Bitmap, len(parts))
	for i, s := range parts {
		bitmaps[i] = s.users
	}
	u := union(bitmaps)
	if cacheable && len(parts) > 1 {
		v.ix.cache.putBitmap(key, u)
	}
	return u, true, nil
}

// events returns the number of events of event kept by f over iv.
func (v *indexView) events(ctx context.Context, event string, f sliceFilter, iv store.Interval) (int64, bool, error) {
	parts, ok, err := v.slices(ctx, event, f, iv)
	n := int64(0)
	for _, s := range parts {
		n += s.events
	}
	return n, ok, err
}

func union(bitmaps []*roaring.Bitmap) *roaring.Bitmap {
	switch len(bitmaps) {
	case 0:
		return roaring.New()
	case 1:
		return bitmaps[0].Clone()
	}
	return roaring.FastOr(bitmaps...)
}

// newcomers holds, for one event and filter, the users whose first event
// ever falls on each day, and on the part of a day before each cut.
type newcomers struct {
	byDay map[int32]*roaring.Bitmap
	byCut map[int64]*roaring.Bitmap
}

// firstUsers finds the day of every user's first event, over the days before
// the day of the latest of cuts, and the users whose first event falls in
// the part of a cut's day before the cut.
func (v *indexView) firstUsers(ctx context.Context, event string, f sliceFilter, cuts []time.Time) (*newcomers, error) {
	loc := v.ix.loc
	end := int32(0)
	tailsByDay := map[int32][]time.Time{}
	for _, c := range cuts {
		d := civilDayOf(c, loc)
		end = max(end, d)
		if !v.aligned(c) {
			tailsByDay[d] = append(tailsByDay[d], c)
		}
	}

	// Looking up each day with events is faster than walking every entry:
	// there are as many entries per day as event names.
	var days []int32
	if v.ix.hasDays {
		for d := v.ix.firstDay; d < end && d <= v.ix.lastDay; d++ {
			if _, ok := v.ix.entries[dayKey{d, event}]; ok {
				days = append(days, d)
			}
		}
	}
	for d := range tailsByDay {
		days = append(days, d)
	}
	slices.Sort(days)
	days = slices.Compact(days)

	// Without cuts inside a day the result depends on the days before end
	// alone, so the cache can keep it.
	key := rangeKey{event: event, filter: f.key(), from: math.MinInt32, to: end}
	cacheable := len(tailsByDay) == 0
	if cacheable {
		if nc, ok := v.ix.cache.firstUsers(key); ok {
			return nc, nil
		}
	}

	nc := &newcomers{byDay: map[int32]*roaring.Bitmap{}, byCut: map[int64]*roaring.Bitmap{}}
	seen := roaring.New()
	for _, d := range days {
		for _, c := range tailsByDay[d] {
			tail, err := v.tail(ctx, c)
			if err != nil {
				return nil, err
			}
			u := union(toBitmaps(f.pick(nil, tail[event])))
			u.AndNot(seen)
			nc.byCut[c.UnixNano()] = u
		}
		if d >= end {
			continue
		}
		u := union(toBitmaps(f.pick(nil, v.ix.entries[dayKey{d, event}])))
		u.AndNot(seen)
		if !u.IsEmpty() {
			nc.byDay[d] = u
			seen.Or(u)
		}
	}
	if cacheable {
		v.ix.cache.putFirstUsers(key, nc)
	}
	return nc, nil
}

// in returns the newcomers of iv, whose start is a day start, by day (the
// newcomers of a cut are under the cut's day).
func (nc *newcomers) in(iv store.Interval, loc *time.Location) map[int32]*roaring.Bitmap {
	out := map[int32]*roaring.Bitmap{}
	from, to := civilDayOf(iv.Start, loc), civilDayOf(iv.End, loc)
	for d, u := range nc.byDay {
		if d >= from && d < to {
			out[d] = u
		}
	}
	if !dayStart(to, loc).Equal(iv.End) {
		if u := nc.byCut[iv.End.UnixNano()]; u != nil && !u.IsEmpty() {
			out[to] = u
		}
	}
	return out
}

func toBitmaps(parts []*activitySlice) []*roaring.Bitmap {
	out := make([]*roaring.Bitmap, len(parts))
	for i, s := range parts {
		out[i] = s.users
	}
	return out
}
