package engine

import (
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// Limits of a rangeCache. When an insert would pass one, the cache is
// emptied first. The entries of one dashboard fit many times over, so a full
// cache mostly contains old ranges that no query reads any more.
const (
	maxCachedBytes   = 64 << 20 // bitmaps, by roaring's GetSizeInBytes
	maxCachedEntries = 1 << 16
)

// rangeKey names a result computed from the index entries of the days
// [from, to) of one event (or a funnel), kept by one slice filter.
type rangeKey struct {
	event    string
	filter   string
	from, to int32
}

// rangeCache keeps results that queries computed from whole days of the
// index, so that the cards of a dashboard, and the dashboards computed
// after them, share the unions of the same months and weeks. The index
// removes an entry when it adds events to one of its days, and empties the
// cache when it rebuilds, so an entry always equals a fresh computation.
//
// Entries are read-only: callers must not change a returned bitmap.
type rangeCache struct {
	mu        sync.Mutex
	bitmaps   map[rangeKey]*roaring.Bitmap
	counts    map[rangeKey]int
	newcomers map[rangeKey]*newcomers
	bytes     uint64
}

func newRangeCache() *rangeCache {
	c := &rangeCache{}
	c.reset()
	return c
}

func (c *rangeCache) reset() {
	c.bitmaps = map[rangeKey]*roaring.Bitmap{}
	c.counts = map[rangeKey]int{}
	c.newcomers = map[rangeKey]*newcomers{}
	c.bytes = 0
}

// Reset empties the cache.
func (c *rangeCache) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reset()
}

func (c *rangeCache) entries() int {
	return len(c.bitmaps) + len(c.counts) + len(c.newcomers)
}

// makeRoom empties the cache when adding size bytes would pass a limit.
func (c *rangeCache) makeRoom(size uint64) {
	if c.bytes+size > maxCachedBytes || c.entries() >= maxCachedEntries {
		c.reset()
	}
}

func (c *rangeCache) bitmap(k rangeKey) (*roaring.Bitmap, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.bitmaps[k]
	return b, ok
}

func (c *rangeCache) putBitmap(k rangeKey, b *roaring.Bitmap) {
	size := b.GetSizeInBytes()
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.bitmaps[k]; ok {
		c.bytes -= old.GetSizeInBytes()
	}
	c.makeRoom(size)
	c.bitmaps[k] = b
	c.bytes += size
}

func (c *rangeCache) count(k rangeKey) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.counts[k]; ok {
		return n, true
	}
	if b, ok := c.bitmaps[k]; ok {
		return int(b.GetCardinality()), true
	}
	return 0, false
}

func (c *rangeCache) putCount(k rangeKey, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.makeRoom(0)
	c.counts[k] = n
}

func (c *rangeCache) firstUsers(k rangeKey) (*newcomers, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nc, ok := c.newcomers[k]
	return nc, ok
}

func (c *rangeCache) putFirstUsers(k rangeKey, nc *newcomers) {
	size := uint64(0)
	for _, b := range nc.byDay {
		size += b.GetSizeInBytes()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.makeRoom(size)
	c.newcomers[k] = nc
	c.bytes += size
}

// invalidate removes the entries whose days include one of days.
func (c *rangeCache) invalidate(days map[int32]bool) {
	if len(days) == 0 {
		return
	}
	lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
	for d := range days {
		lo, hi = min(lo, d), max(hi, d)
	}
	touched := func(k rangeKey) bool {
		if k.to <= lo || k.from > hi {
			return false
		}
		for d := range days {
			if d >= k.from && d < k.to {
				return true
			}
		}
		return false
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for k, b := range c.bitmaps {
		if touched(k) {
			c.bytes -= b.GetSizeInBytes()
			delete(c.bitmaps, k)
		}
	}
	for k := range c.counts {
		if touched(k) {
			delete(c.counts, k)
		}
	}
	for k, nc := range c.newcomers {
		if touched(k) {
			for _, b := range nc.byDay {
				c.bytes -= b.GetSizeInBytes()
			}
			delete(c.newcomers, k)
		}
	}
}

// key returns a text that differs between filters that keep different slices.
func (f sliceFilter) key() string {
	if f.keys == nil {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(f.dimension)
	sb.WriteString("\x00")
	sb.WriteString(strconv.FormatBool(f.negate))
	for _, k := range f.keys {
		sb.WriteString("\x00")
		sb.WriteString(k)
	}
	return sb.String()
}

// ClearCache empties the cache of results computed from whole days, so
// that the next queries compute them from the entries again. Benchmarks
// call it to time that computation.
func (ix *ActivityIndex) ClearCache() {
	ix.cache.Reset()
}
