package engine

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// segmentName returns the name that the stores' scans give the value key of
// a dimension, and whether the value counts as having the property. It
// returns ok false when the name may differ between the stores or from the
// index's key: objects and arrays, whose names are their JSON text, and
// numbers other than integers of magnitude below 2^53. PostgreSQL returns
// the stored JSON text of a number, but SQLite (modernc.org/sqlite v1.62)
// writes 1e+21 as 1.0e+21 and 0.1234567890123456 with 17 digits.
func segmentName(key string) (name string, present bool, ok bool) {
	kind, text, _ := strings.Cut(key, ":")
	switch {
	case key == "" || key == "s:":
		return NoneSegment, false, true
	case kind == "s" || kind == "b":
		return text, true, true
	case kind == "n":
		v, err := strconv.ParseFloat(text, 64)
		if err != nil || v != math.Trunc(v) || math.Abs(v) >= 1<<53 || math.Signbit(v) && v == 0 {
			return "", false, false
		}
		return strconv.FormatInt(int64(v), 10), true, true
	}
	return "", false, false
}

// segmentSlices returns the slices of event over iv grouped by the value key
// of dimension dim, or false when iv starts inside a day or an entry lacks
// the dimension.
func (v *indexView) segmentSlices(ctx context.Context, event, dim string, iv store.Interval) (map[string][]*activitySlice, bool, error) {
	out := map[string][]*activitySlice{}
	if !iv.Start.Before(iv.End) {
		return out, true, nil
	}
	if !v.aligned(iv.Start) {
		return nil, false, nil
	}
	add := func(e *dayEntry) bool {
		if e == nil || e.events == 0 {
			return true
		}
		values, ok := e.dimensions[dim]
		if !ok {
			return false
		}
		for key, s := range values {
			out[key] = append(out[key], s)
		}
		return true
	}
	from, to := civilDayOf(iv.Start, v.ix.loc), civilDayOf(iv.End, v.ix.loc)
	for d := from; d < to; d++ {
		if !add(v.ix.entries[dayKey{d, event}]) {
			return nil, false, nil
		}
	}
	if !v.aligned(iv.End) {
		tail, err := v.tail(ctx, iv.End)
		if err != nil {
			return nil, false, err
		}
		if !add(tail[event]) {
			return nil, false, nil
		}
	}
	return out, true, nil
}

// namedSlices groups the slices of segmentSlices by segment name, keeping
// the value keys that f keeps. It returns false when a key has no name that
// the index can be sure of.
func namedSlices(groups map[string][]*activitySlice, f sliceFilter) (map[string][]*activitySlice, bool) {
	out := map[string][]*activitySlice{}
	for key, parts := range groups {
		if f.keys != nil && !f.keeps(key) {
			continue
		}
		name, _, ok := segmentName(key)
		if !ok {
			return nil, false
		}
		out[name] = append(out[name], parts...)
	}
	return out, true
}

// indexTable is table on the activity index. It returns false, with the
// reason added to b.notes, when the index cannot build the same table as
// the store's scan. That is the case
// when the property is not a declared dimension, the metric filters another
// property, its summed property is not kept, a period starts inside a day,
// or a value has a name the index cannot be sure of.
func (b *breakdowner) indexTable(ctx context.Context, name string, m kpi.Metric) (*segmentTable, bool, error) {
	v := b.view
	if v == nil || !slices.Contains(v.ix.declared.Dimensions, b.property) {
		// Breakdown adds one note for an undeclared property, which covers
		// every metric.
		return nil, false, nil
	}
	if m.Event == "" {
		b.notes.add("metric %s names no event, and the index keeps breakdowns per event name", name)
		return nil, false, nil
	}
	if m.Property != "" && (m.Kind == kpi.Sum || m.Kind == kpi.Average) && !slices.Contains(v.ix.declared.Properties, m.Property) {
		b.notes.add("metric %s: the index does not keep the sums of %q", name, m.Property)
		return nil, false, nil
	}
	f, ok := v.filterFor(m.Filters)
	if !ok || (f.keys != nil && f.dimension != b.property) {
		b.notes.add("%s", filterFallback(v, name, m.Filters, b.property))
		return nil, false, nil
	}

	t := &segmentTable{segments: map[string]*segmentAccumulators{}}
	users := m.Kind == kpi.UniqueUsers
	var events, withProperty int64
	for i, p := range b.periods {
		groups, ok, err := v.segmentSlices(ctx, m.Event, b.property, store.Interval{Start: p.Start, End: p.Cutoff})
		if err != nil {
			return nil, false, err
		}
		if !ok {
			b.notes.add("%s", daysFallback(name, b.property))
			return nil, false, nil
		}
		named, ok := namedSlices(groups, f)
		if !ok {
			b.notes.add("%s", valueFallback(name, b.property))
			return nil, false, nil
		}
		for seg, parts := range named {
			acc := sliceAccumulator(parts, m, users)
			s := t.segments[seg]
			if s == nil {
				s = &segmentAccumulators{periods: make([]*accumulator, len(b.periods))}
				t.segments[seg] = s
			}
			s.periods[i] = acc
			s.total.merge(acc)
			events += acc.events
			if seg != NoneSegment {
				withProperty += acc.events
			}
		}
	}

	// The same warnings as table.
	switch {
	case events == 0:
		b.ev.warnf("metric %s: no %q events in this range%s", name, m.Event, b.ev.knownEvents(ctx, m.Event))
	case withProperty == 0:
		b.ev.warnf("metric %s: no %q event in this range has the property %q, so every one is in %s", name, m.Event, b.property, NoneSegment)
	}
	return t, true, nil
}

// sliceAccumulator adds up slices of the index into an accumulator of m.
func sliceAccumulator(parts []*activitySlice, m kpi.Metric, users bool) *accumulator {
	acc := &accumulator{}
	for _, s := range parts {
		acc.events += s.events
		if m.Property != "" {
			ps := s.sums[m.Property]
			acc.sum += ps.sum
			acc.values += ps.values
		}
	}
	if users {
		acc.bitmap = union(toBitmaps(parts))
	}
	return acc
}

// indexRankFiltered is rankFiltered on the activity index. It returns false,
// with the reason added to notes, when the index cannot rank the same
// segments. That is the case when the
// property is not a declared dimension, the metric filters another
// property, the range starts inside a day, or a value has a name the index
// cannot be sure of.
func indexRankFiltered(ctx context.Context, v *indexView, ev *evaluator, name string, m kpi.Metric, property string, from, to time.Time, notes *pathNotes) ([]*rankedSegment, bool, error) {
	if v == nil || !slices.Contains(v.ix.declared.Dimensions, property) {
		return nil, false, nil
	}
	f, ok := v.filterFor(m.Filters)
	if !ok || (f.keys != nil && f.dimension != property) {
		notes.add("ranking segments: %s", filterFallback(v, name, m.Filters, property))
		return nil, false, nil
	}

	events := rankedEvents(m)
	entryEvents := events
	if len(entryEvents) == 0 {
		entryEvents = []string{allEvents}
	}
	segments := map[string]*rankedSegment{}
	var total, withProperty int64
	for _, event := range entryEvents {
		groups, ok, err := v.segmentSlices(ctx, event, property, store.Interval{Start: from, End: to})
		if err != nil {
			return nil, false, err
		}
		if !ok {
			notes.add("ranking segments: %s", daysFallback(name, property))
			return nil, false, nil
		}
		for key, parts := range groups {
			if f.keys != nil && !f.keeps(key) {
				continue
			}
			segName, present, ok := segmentName(key)
			if !ok {
				notes.add("ranking segments: %s", valueFallback(name, property))
				return nil, false, nil
			}
			n := int64(0)
			for _, s := range parts {
				n += s.events
			}
			seg := segments[segName]
			if seg == nil {
				seg = &rankedSegment{name: segName}
				segments[segName] = seg
			}
			seg.events += n
			total += n
			if present {
				withProperty += n
				for _, val := range keyValues(segName, key) {
					if !slices.Contains(seg.values, val) {
						seg.values = append(seg.values, val)
					}
				}
			}
		}
	}

	// The same warnings and order as rankFiltered.
	scanned := "events"
	if len(events) > 0 {
		scanned = strings.Join(events, ", ") + " events"
	}
	switch {
	case total == 0:
		ev.warnf("metric %s: no %s in this range match its filters", name, scanned)
	case withProperty == 0:
		ev.warnf("metric %s: no %s in this range has the property %q, so every one is in %s", name, scanned, property, OtherSegment)
	}
	return sortRanked(segments), true, nil
}

// keyValues returns the stored values that the segment name represents, as
// storedValues returns them for a scan's row with value key key. The name
// "true" represents both the boolean and the text.
func keyValues(name, key string) []any {
	switch {
	case strings.HasPrefix(key, "n:"):
		v, _ := strconv.ParseFloat(strings.TrimPrefix(key, "n:"), 64)
		return []any{v}
	case name == "true":
		return []any{true, name}
	case name == "false":
		return []any{false, name}
	}
	return []any{name}
}

// userCount returns the number of distinct users in a, from the users of a
// scan's rows or from the index's bitmap, whichever a contains.
func (a *accumulator) userCount() int {
	n := len(a.users)
	if a.bitmap != nil {
		n += int(a.bitmap.GetCardinality())
	}
	return n
}

// mergeBitmap adds the users of o's bitmap to a's.
func (a *accumulator) mergeBitmap(o *accumulator) {
	if o.bitmap == nil {
		return
	}
	if a.bitmap == nil {
		a.bitmap = roaring.New()
	}
	a.bitmap.Or(o.bitmap)
}
