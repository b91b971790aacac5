package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// indexFormat is the version of the persisted records; a stored index of
// another version is rebuilt. Version 2 keeps objects and arrays under
// their own value key, apart from missing values.
const indexFormat = 2

// IndexStore is the storage the activity index reads events from and keeps
// its records in.
type IndexStore interface {
	EventScanner

	// LoadIndexBlobs calls fn with the stored meta record first, then every
	// other record.
	LoadIndexBlobs(ctx context.Context, fn func(store.IndexBlob) error) error

	// SaveIndexBlobs stores records in one transaction. It returns a
	// kpi.ECONFLICT error when the stored meta is not IndexSave.Expect.
	SaveIndexBlobs(ctx context.Context, s store.IndexSave) error
}

// indexMeta describes a persisted index.
type indexMeta struct {
	Format      int      `json:"format"`
	TimeZone    string   `json:"time_zone"`
	Declared    Declared `json:"declared"`
	LastEventID int64    `json:"last_event_id"`
}

// ActivityIndex keeps, per (day in the workspace time zone, event name), the
// dense ids of the users who did the event, the number of events, sums of
// declared numeric properties and one such slice per value of declared
// dimensions. It is safe for concurrent use.
//
// The index follows the store by event id: Sync reads the events stored
// since the largest id it has seen, so inserts from any process reach it,
// late events included. Save persists the changed entries with that id, so
// a restart loads them and reads only newer events.
//
// NOTE: this assumes that ids are committed in increasing order. SQLite
// commits one writer at a time, so they are. With PostgreSQL, two
// transactions committing out of id order can hide the lower ids from a
// Sync that runs between the commits. The server serializes the inserts
// of one process, but not those of several processes.
type ActivityIndex struct {
	mu       sync.RWMutex
	store    IndexStore
	loc      *time.Location
	declared Declared
	log      *slog.Logger

	entries map[dayKey]*dayEntry
	dirty   map[dayKey]bool
	lastID  int64

	// stale is set when stored events changed in a way Sync cannot follow
	// (an alias moved events to another user id): the next Sync rebuilds.
	stale bool
	reset bool // the next Save replaces every stored record

	// storedMeta is the meta record last loaded or saved, for Save's check.
	storedMeta []byte

	// cache keeps what queries computed from whole days of the entries.
	cache *rangeCache

	// firstDay and lastDay are the first and last days with events, when
	// hasDays is set.
	firstDay, lastDay int32
	hasDays           bool

	rebuilds int
}

// NewActivityIndex returns an empty index of st's events for the time zone
// loc, keeping the properties and dimensions of declared. Call Load or
// Rebuild before use.
func NewActivityIndex(st IndexStore, loc *time.Location, declared Declared, log *slog.Logger) *ActivityIndex {
	if loc == nil {
		loc = time.UTC
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	slices.Sort(declared.Properties)
	slices.Sort(declared.Dimensions)
	return &ActivityIndex{store: st, loc: loc, declared: declared, log: log, entries: map[dayKey]*dayEntry{}, dirty: map[dayKey]bool{}, cache: newRangeCache()}
}

// Location returns the time zone whose days the index counts.
func (ix *ActivityIndex) Location() *time.Location { return ix.loc }

// Rebuilds returns how many times the index has read every stored event.
func (ix *ActivityIndex) Rebuilds() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.rebuilds
}

// LastEventID returns the largest event id the index contains.
func (ix *ActivityIndex) LastEventID() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.lastID
}

// Load reads the persisted index and then the events stored after it. When
// nothing is stored, or the stored index was built for another time zone,
// another format, or fewer properties and dimensions, it rebuilds from every
// event instead.
func (ix *ActivityIndex) Load(ctx context.Context) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()

	ix.entries, ix.dirty, ix.lastID = map[dayKey]*dayEntry{}, map[dayKey]bool{}, 0
	ix.hasDays = false
	ix.cache.Reset()
	usable := false
	err := ix.store.LoadIndexBlobs(ctx, func(b store.IndexBlob) error {
		if b.Key == "meta" {
			ix.storedMeta = slices.Clone(b.Data)
			var meta indexMeta
			if err := json.Unmarshal(b.Data, &meta); err != nil {
				ix.log.Warn("activity index: unreadable meta record; rebuilding", "error", err)
				return nil
			}
			reasons := ix.rebuildReasons(meta)
			usable = len(reasons) == 0
			if !usable {
				ix.log.Info("activity index: rebuilding the stored index, because "+strings.Join(reasons, ", and "),
					"stored_format", meta.Format, "format", indexFormat, "stored_time_zone", meta.TimeZone, "time_zone", ix.loc.String())
				return nil
			}
			ix.declared = meta.Declared
			ix.lastID = meta.LastEventID
			return nil
		}
		if !usable {
			return nil
		}
		key, err := parseEntryKey(b.Key)
		if err != nil {
			return err
		}
		e, err := unmarshalEntry(b.Data)
		if err != nil {
			return fmt.Errorf("activity index record %q: %w", b.Key, err)
		}
		ix.entries[key] = e
		if key.event == allEvents {
			ix.noteDay(key.day)
		}
		return nil
	})
	if err != nil {
		return err
	}

	if !usable {
		return ix.rebuildLocked(ctx)
	}
	return ix.syncLocked(ctx)
}

// rebuildReasons returns why the stored index described by meta cannot
// serve this index, or nothing when it can.
func (ix *ActivityIndex) rebuildReasons(meta indexMeta) []string {
	var reasons []string
	if meta.Format != indexFormat {
		reasons = append(reasons, fmt.Sprintf("its format changed from version %d to %d", meta.Format, indexFormat))
	}
	if meta.TimeZone != ix.loc.String() {
		reasons = append(reasons, fmt.Sprintf("the time zone changed from %s to %s", meta.TimeZone, ix.loc))
	}
	properties, dimensions := meta.Declared.missing(ix.declared)
	if len(dimensions) > 0 {
		reasons = append(reasons, "the KPI file adds the dimensions or filtered properties "+strings.Join(dimensions, ", "))
	}
	if len(properties) > 0 {
		reasons = append(reasons, "the KPI file adds the summed properties "+strings.Join(properties, ", "))
	}
	return reasons
}

// DimensionsWithoutValues returns the names in dims that the index keeps as
// dimensions but that no indexed event has a value for, such as a misspelt
// name under dimensions: in the KPI file. Null values count as none.
func (ix *ActivityIndex) DimensionsWithoutValues(dims []string) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()

	var out []string
	for _, dim := range dims {
		if !slices.Contains(ix.declared.Dimensions, dim) || ix.hasValueLocked(dim) {
			continue
		}
		out = append(out, dim)
	}
	return out
}

// hasValueLocked reports whether an entry keeps a value of dimension dim
// other than the missing one.
func (ix *ActivityIndex) hasValueLocked(dim string) bool {
	for key, e := range ix.entries {
		if key.event != allEvents {
			continue
		}
		for value := range e.dimensions[dim] {
			if value != "" {
				return true
			}
		}
	}
	return false
}

// Rebuild empties the index and reads every stored event. The next Save
// replaces the persisted records.
func (ix *ActivityIndex) Rebuild(ctx context.Context) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.rebuildLocked(ctx)
}

func (ix *ActivityIndex) rebuildLocked(ctx context.Context) error {
	ix.entries, ix.dirty, ix.lastID = map[dayKey]*dayEntry{}, map[dayKey]bool{}, 0
	ix.hasDays = false
	ix.cache.Reset()
	ix.reset, ix.stale = true, false
	ix.rebuilds++
	start := time.Now()
	if err := ix.syncLocked(ctx); err != nil {
		return err
	}
	ix.log.Info("activity index: rebuilt", "entries", len(ix.entries), "last_event_id", ix.lastID, "duration", time.Since(start))
	return nil
}

// Invalidate marks the index as out of date with the stored events, so that
// the next Sync rebuilds it. Call it after an alias, which moves stored
// events to another user id.
func (ix *ActivityIndex) Invalidate() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.stale = true
}

// Sync reads the events stored since the last one the index contains.
func (ix *ActivityIndex) Sync(ctx context.Context) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.stale {
		return ix.rebuildLocked(ctx)
	}
	return ix.syncLocked(ctx)
}

// AddInserted adds events that were just stored, given with their ids in
// increasing order, without reading them back. When they do not follow the
// last event the index contains, because another writer stored events in
// between or the index needs a rebuild, it reads the store as Sync does.
func (ix *ActivityIndex) AddInserted(ctx context.Context, events []store.InsertedEvent) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.stale || len(events) == 0 || events[0].ID != ix.lastID+1 {
		return ix.syncLocked(ctx)
	}

	for i, ev := range events {
		if i > 0 && ev.ID != events[i-1].ID+1 {
			return ix.syncLocked(ctx)
		}
		if ev.UserID < 0 || ev.UserID > math.MaxUint32 {
			return kpi.Errorf(kpi.EINTERNAL, "user id %d does not fit the activity index (ids up to %d)", ev.UserID, uint32(math.MaxUint32))
		}
		props, err := storedProperties(ev.Event.Properties)
		if err != nil {
			ix.stale = true
			return fmt.Errorf("event %d: %w", ev.ID, err)
		}
		day := civilDayOf(ev.Event.Timestamp, ix.loc)
		ix.entry(dayKey{day, ev.Event.Name}).add(uint32(ev.UserID), props, ix.declared)
		ix.entry(dayKey{day, allEvents}).add(uint32(ev.UserID), props, ix.declared)
		ix.lastID = ev.ID
	}
	return nil
}

// storedProperties returns props as the store returns them after its JSON
// round trip. Valid UTF-8 strings, float64, booleans and nil come back
// unchanged, so a map of only those is used as it is. A map with any other
// value, such as an int or invalid UTF-8, is encoded and decoded.
func storedProperties(props map[string]any) (map[string]any, error) {
	for _, v := range props {
		switch v := v.(type) {
		case float64, bool, nil:
			continue
		case string:
			if utf8.ValidString(v) {
				continue
			}
		}
		data, err := json.Marshal(props)
		if err != nil {
			return nil, fmt.Errorf("event properties are not valid JSON: %w", err)
		}
		return decodeProperties(data)
	}
	return props, nil
}

func (ix *ActivityIndex) syncLocked(ctx context.Context) error {
	q := store.ScanQuery{AfterID: ix.lastID, Properties: len(ix.declared.Properties)+len(ix.declared.Dimensions) > 0}
	last := ix.lastID
	touched := map[int32]bool{}
	defer func() { ix.cache.invalidate(touched) }()

	// The store's scan and the decoding of properties each take about half
	// of a rebuild, so a second goroutine adds the rows to the entries while
	// the scan reads the next ones. Only that goroutine changes the entries.
	batches := make(chan []store.EventRow, 4)
	var applyErr atomic.Pointer[error]
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		for batch := range batches {
			if applyErr.Load() != nil {
				continue // keep receiving, so the scan does not block on a full channel
			}
			for _, row := range batch {
				if err := ix.apply(row, q.Properties, touched); err != nil {
					applyErr.Store(&err)
					break
				}
				last = max(last, row.ID)
			}
		}
	}()

	const batchSize = 256
	batch := make([]store.EventRow, 0, batchSize)
	err := ix.store.ScanEvents(ctx, q, func(row store.EventRow) error {
		if p := applyErr.Load(); p != nil {
			return *p
		}
		batch = append(batch, row)
		if len(batch) == batchSize {
			batches <- batch
			batch = make([]store.EventRow, 0, batchSize)
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	<-applied
	if p := applyErr.Load(); err == nil && p != nil {
		err = *p
	}
	if err != nil {
		// The entries may hold part of the events: start again next time.
		ix.stale = true
		return fmt.Errorf("update activity index: %w", err)
	}
	ix.lastID = last
	return nil
}

// apply adds one scanned event to the entries of its day and records the
// day in touched.
func (ix *ActivityIndex) apply(row store.EventRow, withProperties bool, touched map[int32]bool) error {
	if row.UserID < 0 || row.UserID > math.MaxUint32 {
		return kpi.Errorf(kpi.EINTERNAL, "user id %d does not fit the activity index (ids up to %d)", row.UserID, uint32(math.MaxUint32))
	}
	var props map[string]any
	if withProperties {
		var err error
		if props, err = decodeProperties(row.Properties); err != nil {
			return fmt.Errorf("event %d: %w", row.ID, err)
		}
	}
	day := civilDayOf(row.Timestamp, ix.loc)
	touched[day] = true
	ix.entry(dayKey{day, row.Event}).add(uint32(row.UserID), props, ix.declared)
	ix.entry(dayKey{day, allEvents}).add(uint32(row.UserID), props, ix.declared)
	return nil
}

func (ix *ActivityIndex) entry(k dayKey) *dayEntry {
	e := ix.entries[k]
	if e == nil {
		e = newDayEntry()
		ix.entries[k] = e
		if k.event == allEvents {
			ix.noteDay(k.day)
		}
	}
	ix.dirty[k] = true
	return e
}

// noteDay widens the span of days with events to d.
func (ix *ActivityIndex) noteDay(d int32) {
	if !ix.hasDays {
		ix.firstDay, ix.lastDay, ix.hasDays = d, d, true
		return
	}
	ix.firstDay, ix.lastDay = min(ix.firstDay, d), max(ix.lastDay, d)
}

// Save persists the entries changed since the last save, with the id of the
// last event they contain. It returns a kpi.ECONFLICT error, and persists
// nothing, when another process saved the index since this one loaded or
// saved it.
func (ix *ActivityIndex) Save(ctx context.Context) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if len(ix.dirty) == 0 && !ix.reset && ix.storedMeta != nil {
		return nil
	}

	meta, err := json.Marshal(indexMeta{Format: indexFormat, TimeZone: ix.loc.String(), Declared: ix.declared, LastEventID: ix.lastID})
	if err != nil {
		return err
	}
	save := store.IndexSave{Reset: ix.reset, Expect: ix.storedMeta, Meta: meta}
	for k := range ix.dirty {
		data, err := ix.entries[k].marshal()
		if err != nil {
			return fmt.Errorf("encode activity index entry %s: %w", entryKey(k), err)
		}
		save.Blobs = append(save.Blobs, store.IndexBlob{Key: entryKey(k), Data: data})
	}
	if err := ix.store.SaveIndexBlobs(ctx, save); err != nil {
		return err
	}
	ix.storedMeta, ix.reset, ix.dirty = meta, false, map[dayKey]bool{}
	return nil
}

// entryKey returns the record key of an entry: "d/" + day number + "/" +
// event name.
func entryKey(k dayKey) string {
	return "d/" + strconv.Itoa(int(k.day)) + "/" + k.event
}

func parseEntryKey(s string) (dayKey, error) {
	rest, ok := strings.CutPrefix(s, "d/")
	day, event, ok2 := strings.Cut(rest, "/")
	n, err := strconv.Atoi(day)
	if !ok || !ok2 || err != nil {
		return dayKey{}, fmt.Errorf("activity index record key %q is not valid (want d/DAY/EVENT)", s)
	}
	return dayKey{day: int32(n), event: event}, nil
}
