package engine

import (
	"context"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/northstar-kpi/northstar/internal/store"
)

// maxCountedUser bounds the dense user ids that a windowCounter keeps a
// count for, so that its count array stays at or under 128 MiB. Beyond it,
// windowCounter.count unions each window's bitmaps instead.
//
// NOTE: dense ids are the users table's row ids, so this holds for up to
// about 32 million users. The limit is a guess at a reasonable memory cap,
// not a measured one.
const maxCountedUser = 1 << 25

// windowCounter counts the distinct users of an event, kept by a filter,
// over a range of whole days that moves along the series. It keeps, per
// dense user id, the number of the range's day slices that contain the user.
// Moving the range adds the days that enter it and removes the days that
// leave it, so a rolling window costs two passes over each day's users in
// place of one union of every day of every window.
type windowCounter struct {
	view   *indexView
	event  string
	filter sliceFilter

	from, to int32    // the counted days, [from, to)
	counts   []uint32 // by dense user id
	users    int      // ids whose count is positive
	overflow bool     // a user id is above maxCountedUser
	buffer   []uint32
}

func newWindowCounter(v *indexView, event string, f sliceFilter) *windowCounter {
	return &windowCounter{view: v, event: event, filter: f, buffer: make([]uint32, 256)}
}

// count returns the number of distinct users in iv, as
// users(iv).GetCardinality() does. It returns false when iv starts inside a
// day. Once a user id is above maxCountedUser, it counts each window with
// userCount.
func (c *windowCounter) count(ctx context.Context, iv store.Interval) (int, bool, error) {
	v := c.view
	if c.overflow {
		return v.userCount(ctx, c.event, c.filter, iv)
	}
	if !iv.Start.Before(iv.End) {
		return 0, true, nil
	}
	if !v.aligned(iv.Start) {
		return 0, false, nil
	}

	key, cacheable := v.cacheKey(c.event, c.filter, iv)
	if cacheable {
		if n, ok := v.ix.cache.count(key); ok {
			return n, true, nil
		}
	}
	from, to := civilDayOf(iv.Start, v.ix.loc), civilDayOf(iv.End, v.ix.loc)
	if !c.move(from, to) {
		c.overflow, c.counts = true, nil
		return v.userCount(ctx, c.event, c.filter, iv)
	}
	if cacheable {
		v.ix.cache.putCount(key, c.users)
		return c.users, true, nil
	}

	// The part of the last day before the cut: its users that no whole day
	// of the range contains.
	tail, err := v.tail(ctx, iv.End)
	if err != nil {
		return 0, false, err
	}
	extra := 0
	late := union(toBitmaps(c.filter.pick(nil, tail[c.event])))
	it := late.ManyIterator()
	for n := it.NextMany(c.buffer); n > 0; n = it.NextMany(c.buffer) {
		for _, u := range c.buffer[:n] {
			if int(u) >= len(c.counts) || c.counts[u] == 0 {
				extra++
			}
		}
	}
	return c.users + extra, true, nil
}

// move sets the counted days to [from, to). It returns false, leaving the
// counts wrong, when a user id is above maxCountedUser.
func (c *windowCounter) move(from, to int32) bool {
	for d := c.from; d < c.to; d++ {
		if d < from || d >= to {
			c.apply(d, -1)
		}
	}
	for d := from; d < to; d++ {
		if d < c.from || d >= c.to {
			if !c.apply(d, +1) {
				return false
			}
		}
	}
	c.from, c.to = from, to
	return true
}

// apply adds (delta +1) or removes (delta -1) the users of day d's slices.
func (c *windowCounter) apply(d int32, delta int) bool {
	for _, s := range c.filter.pick(nil, c.view.ix.entries[dayKey{d, c.event}]) {
		if !c.fit(s.users) {
			return false
		}
		it := s.users.ManyIterator()
		for n := it.NextMany(c.buffer); n > 0; n = it.NextMany(c.buffer) {
			for _, u := range c.buffer[:n] {
				if delta > 0 {
					c.counts[u]++
					if c.counts[u] == 1 {
						c.users++
					}
					continue
				}
				c.counts[u]--
				if c.counts[u] == 0 {
					c.users--
				}
			}
		}
	}
	return true
}

// fit grows the count array to hold every id of b.
func (c *windowCounter) fit(b *roaring.Bitmap) bool {
	if b.IsEmpty() {
		return true
	}
	top := b.Maximum()
	if top > maxCountedUser {
		return false
	}
	if int(top) >= len(c.counts) {
		grown := make([]uint32, min(max(int(top)+1, 2*len(c.counts)), maxCountedUser+1))
		copy(grown, c.counts)
		c.counts = grown
	}
	return true
}

// userCount returns the number of users of event kept by f over iv, as
// users(iv).GetCardinality() does, without building the union when one or
// two slices hold them.
func (v *indexView) userCount(ctx context.Context, event string, f sliceFilter, iv store.Interval) (int, bool, error) {
	key, cacheable := v.cacheKey(event, f, iv)
	if cacheable {
		if n, ok := v.ix.cache.count(key); ok {
			return n, true, nil
		}
	}
	parts, ok, err := v.slices(ctx, event, f, iv)
	if !ok || err != nil {
		return 0, ok, err
	}
	n := 0
	switch len(parts) {
	case 0:
	case 1:
		n = int(parts[0].users.GetCardinality())
	case 2:
		n = int(parts[0].users.OrCardinality(parts[1].users))
	default:
		// The union itself goes to the cache: the monthly users that one
		// card counts are the ones that churn and retention intersect.
		u := roaring.FastOr(toBitmaps(parts)...)
		n = int(u.GetCardinality())
		if cacheable {
			v.ix.cache.putBitmap(key, u)
			return n, true, nil
		}
	}
	if cacheable && len(parts) > 1 {
		v.ix.cache.putCount(key, n)
	}
	return n, true, nil
}
