package engine

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func TestIndexRestartAndLateEvents(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	events := generateEvents(7, 3000, 200, 60)
	db := openIndexDB(t, path, events)
	defs := parseIndexKPIs(t, "America/New_York", "monday")
	loc := defs.Workspace.Location

	first := NewActivityIndex(db, loc, DeclaredFor(defs), nil)
	if err := first.Load(ctx); err != nil {
		t.Fatalf("load empty index: %v", err)
	}
	if db.fullScans != 1 {
		t.Errorf("first load made %d full scans, want 1 (nothing was stored)", db.fullScans)
	}
	if err := first.Save(ctx); err != nil {
		t.Fatalf("save: %v", err)
	}

	// A restart loads the saved index without reading every event again.
	second := NewActivityIndex(db, loc, DeclaredFor(defs), nil)
	if err := second.Load(ctx); err != nil {
		t.Fatalf("load saved index: %v", err)
	}
	if db.fullScans != 1 {
		t.Errorf("loading the saved index made %d full scans in all, want still 1", db.fullScans)
	}

	// Two late visits, on a day long past, by a user who has none that day:
	// 21:30 in New York on Jan 10 is Jan 11 in UTC.
	day := time.Date(2026, time.January, 10, 0, 0, 0, 0, loc)
	iv := store.Interval{Start: day, End: day.AddDate(0, 0, 1)}
	before := countVisitors(t, db, iv)
	late := []store.Event{
		{Name: "visit", DistinctID: "late-user", Timestamp: time.Date(2026, time.January, 10, 21, 30, 0, 0, loc), Source: "late", MessageID: "1"},
		{Name: "visit", DistinctID: "late-user", Timestamp: time.Date(2026, time.January, 10, 22, 0, 0, 0, loc), Source: "late", MessageID: "2"},
	}
	if _, err := db.InsertEvents(ctx, late); err != nil {
		t.Fatalf("insert late events: %v", err)
	}

	now := time.Date(2026, time.March, 15, 0, 0, 0, 0, loc)
	e := NewWithIndex(db, second, func() time.Time { return now })
	r := Range{From: timegrain.DateOf(day), To: timegrain.DateOf(day)}
	s, err := e.Series(ctx, defs, "dau", timegrain.Day, r)
	if err != nil {
		t.Fatalf("series: %v", err)
	}
	if s.Path != PathIndex {
		t.Errorf("path = %q, want index", s.Path)
	}
	if got, want := *s.Points[0].Value, float64(before+1); got != want {
		t.Errorf("DAU on Jan 10 after late events = %v, want %v (one more than the %d before)", got, want, before)
	}
	if db.fullScans != 1 {
		t.Errorf("late events made %d full scans in all, want still 1", db.fullScans)
	}

	// Another time zone does not fit the stored index: loading rebuilds.
	utc := NewActivityIndex(db, time.UTC, DeclaredFor(defs), nil)
	if err := utc.Load(ctx); err != nil {
		t.Fatalf("load for UTC: %v", err)
	}
	if db.fullScans != 2 {
		t.Errorf("loading for another time zone made %d full scans in all, want 2", db.fullScans)
	}

	// A rebuild after an alias reads every event again.
	second.Invalidate()
	if err := second.Sync(ctx); err != nil {
		t.Fatalf("sync after invalidate: %v", err)
	}
	if second.Rebuilds() != 1 || db.fullScans != 3 {
		t.Errorf("after Invalidate and Sync: %d rebuilds and %d full scans, want 1 and 3", second.Rebuilds(), db.fullScans)
	}
}

// countVisitors counts with plain SQL the distinct users who visit in iv.
func countVisitors(t *testing.T, db *scanCounter, iv store.Interval) int {
	t.Helper()
	var n int
	err := db.SQL().QueryRow(`SELECT count(DISTINCT user_id) FROM events WHERE name = 'visit' AND ts >= ? AND ts < ?`,
		iv.Start.UnixMicro(), iv.End.UnixMicro()).Scan(&n)
	if err != nil {
		t.Fatalf("count visitors: %v", err)
	}
	return n
}

func TestIndexAddInsertedMatchesRebuild(t *testing.T) {
	ctx := context.Background()
	db := openIndexDB(t, filepath.Join(t.TempDir(), "index.db"), nil)
	defs := parseIndexKPIs(t, "America/New_York", "monday")
	loc := defs.Workspace.Location

	ix := NewActivityIndex(db, loc, DeclaredFor(defs), nil)
	if err := ix.Load(ctx); err != nil {
		t.Fatalf("load empty index: %v", err)
	}

	events := generateEvents(11, 4000, 150, 40)
	// An int and a nested object take the JSON round trip that the store's
	// copy of the properties took.
	events[5].Properties = map[string]any{"amount": 7, "plan": "pro"}
	events[6].Properties = map[string]any{"cart": map[string]any{"items": 2.0}}
	for start := 0; start < len(events); start += 700 {
		batch := events[start:min(start+700, len(events))]
		if start == 2100 {
			// Another writer's insert: the next batch's ids do not follow
			// the index's last id, so the index reads the store instead.
			if _, err := db.InsertEvents(ctx, batch); err != nil {
				t.Fatalf("insert events: %v", err)
			}
			continue
		}
		_, stored, err := db.InsertEventBatches(ctx, [][]store.Event{batch[:300], batch[300:]})
		if err != nil {
			t.Fatalf("insert events: %v", err)
		}
		if stored == nil {
			t.Fatalf("batch at %d: the store returned no stored events for new events", start)
		}
		if err := ix.AddInserted(ctx, stored); err != nil {
			t.Fatalf("AddInserted: %v", err)
		}
	}

	rebuilt := NewActivityIndex(db, loc, DeclaredFor(defs), nil)
	if err := rebuilt.Rebuild(ctx); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if ix.lastID != rebuilt.lastID {
		t.Errorf("last event id = %d, want %d as after a rebuild", ix.lastID, rebuilt.lastID)
	}
	if len(ix.entries) != len(rebuilt.entries) {
		t.Errorf("index has %d entries, want %d as after a rebuild", len(ix.entries), len(rebuilt.entries))
	}
	for k, want := range rebuilt.entries {
		got, ok := ix.entries[k]
		if !ok {
			t.Errorf("entry %s is missing", entryKey(k))
			continue
		}
		compareSlices(t, entryKey(k), &got.activitySlice, &want.activitySlice)
		if len(got.dimensions) != len(want.dimensions) {
			t.Errorf("entry %s has %d dimensions, want %d", entryKey(k), len(got.dimensions), len(want.dimensions))
		}
		for dim, values := range want.dimensions {
			for value, w := range values {
				g := got.dimensions[dim][value]
				if g == nil {
					t.Errorf("entry %s: dimension %s=%s is missing", entryKey(k), dim, value)
					continue
				}
				compareSlices(t, entryKey(k)+" "+dim+"="+value, g, w)
			}
		}
	}
}

// compareSlices compares users and counts exactly and sums to 1e-9, because
// a rebuild adds a day's values in another order.
func compareSlices(t *testing.T, label string, got, want *activitySlice) {
	t.Helper()
	if !got.users.Equals(want.users) {
		t.Errorf("%s: users differ (%d, want %d)", label, got.users.GetCardinality(), want.users.GetCardinality())
	}
	if got.events != want.events {
		t.Errorf("%s: %d events, want %d", label, got.events, want.events)
	}
	if len(got.sums) != len(want.sums) {
		t.Errorf("%s: %d sums, want %d", label, len(got.sums), len(want.sums))
	}
	for name, w := range want.sums {
		g := got.sums[name]
		if g.values != w.values || math.Abs(g.sum-w.sum) > 1e-9*math.Max(1, math.Abs(w.sum)) {
			t.Errorf("%s: sum of %s = %v over %d values, want %v over %d", label, name, g.sum, g.values, w.sum, w.values)
		}
	}
}

func TestIndexCacheFollowsLateEvents(t *testing.T) {
	ctx := context.Background()
	db := openIndexDB(t, filepath.Join(t.TempDir(), "index.db"), generateEvents(11, 4000, 300, 90))
	defs := parseIndexKPIs(t, "America/New_York", "monday")
	loc := defs.Workspace.Location
	ix := NewActivityIndex(db, loc, DeclaredFor(defs), nil)
	if err := ix.Rebuild(ctx); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	now := time.Date(2026, time.April, 1, 0, 0, 0, 0, loc)
	plain := New(db, func() time.Time { return now })
	indexed := NewWithIndex(db, ix, func() time.Time { return now })
	r := Range{From: timegrain.DateOf(time.Date(2026, time.January, 1, 0, 0, 0, 0, loc))}
	ids := []string{"visitors", "mau", "wau_any", "stickiness", "churn", "new_users", "retention_w1", "funnel", "pro_mau"}

	compute := func(label string) {
		t.Helper()
		for _, id := range ids {
			for _, g := range []timegrain.Grain{timegrain.Week, timegrain.Month} {
				want, err := plain.Series(ctx, defs, id, g, r)
				if err != nil {
					t.Fatalf("%s %s: store: %v", label, id, err)
				}
				got, err := indexed.Series(ctx, defs, id, g, r)
				if err != nil {
					t.Fatalf("%s %s: index: %v", label, id, err)
				}
				if got.Path != PathIndex {
					t.Errorf("%s %s: path = %q, want index", label, id, got.Path)
				}
				compareSeries(t, fmt.Sprintf("%s/%s/%s", label, id, g), want, got)
			}
		}
	}
	compute("before")
	if ix.cache.entries() == 0 {
		t.Fatal("the index cached nothing, so this test checks nothing")
	}

	// A new user signs up, visits and buys on days long past, and an old
	// user visits on one of them: every cached range over those days must go.
	late := []store.Event{
		{Name: "signup", DistinctID: "late", Timestamp: time.Date(2026, time.January, 20, 9, 0, 0, 0, loc), Properties: map[string]any{"plan": "pro"}},
		{Name: "visit", DistinctID: "late", Timestamp: time.Date(2026, time.January, 21, 23, 30, 0, 0, loc), Properties: map[string]any{"plan": "pro"}},
		{Name: "purchase", DistinctID: "late", Timestamp: time.Date(2026, time.January, 22, 8, 0, 0, 0, loc), Properties: map[string]any{"plan": "pro", "amount": 10.0}},
		{Name: "visit", DistinctID: "u1", Timestamp: time.Date(2026, time.February, 27, 12, 0, 0, 0, loc)},
	}
	for i := range late {
		late[i].Source, late[i].MessageID = "late", fmt.Sprint(i)
	}
	if _, err := db.InsertEvents(ctx, late); err != nil {
		t.Fatalf("insert late events: %v", err)
	}
	compute("after")
}

// badPropertiesStore returns invalid JSON as the properties of the event
// with id badID.
type badPropertiesStore struct {
	*scanCounter
	badID int64
}

func (s *badPropertiesStore) ScanEvents(ctx context.Context, q store.ScanQuery, fn func(store.EventRow) error) error {
	return s.scanCounter.ScanEvents(ctx, q, func(row store.EventRow) error {
		if row.ID == s.badID {
			row.Properties = []byte("{not json")
		}
		return fn(row)
	})
}

func TestIndexSyncBadPropertiesFails(t *testing.T) {
	ctx := context.Background()
	db := openIndexDB(t, filepath.Join(t.TempDir(), "index.db"), generateEvents(3, 2000, 100, 30))
	defs := parseIndexKPIs(t, "UTC", "monday")
	bad := &badPropertiesStore{scanCounter: db, badID: 1500}
	ix := NewActivityIndex(bad, time.UTC, DeclaredFor(defs), nil)

	err := ix.Rebuild(ctx)
	if err == nil || !strings.Contains(err.Error(), "event 1500: event properties are not a JSON object") {
		t.Fatalf("rebuild error = %v, want one naming event 1500's properties", err)
	}
	if ix.LastEventID() != 0 {
		t.Errorf("last event id after a failed rebuild = %d, want 0", ix.LastEventID())
	}

	// The next Sync starts again from every event.
	bad.badID = 0
	if err := ix.Sync(ctx); err != nil {
		t.Fatalf("sync after the failure: %v", err)
	}
	if ix.Rebuilds() != 2 || ix.LastEventID() != 2000 {
		t.Errorf("after the failure: %d rebuilds and last id %d, want 2 and 2000", ix.Rebuilds(), ix.LastEventID())
	}
}

func TestIndexConcurrentSeriesShareCache(t *testing.T) {
	ctx := context.Background()
	db := openIndexDB(t, filepath.Join(t.TempDir(), "index.db"), generateEvents(5, 4000, 300, 90))
	defs := parseIndexKPIs(t, "UTC", "monday")
	ix := NewActivityIndex(db, time.UTC, DeclaredFor(defs), nil)
	if err := ix.Rebuild(ctx); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	now := time.Date(2026, time.April, 1, 0, 0, 0, 0, time.UTC)
	plain := New(db, func() time.Time { return now })
	indexed := NewWithIndex(db, ix, func() time.Time { return now })
	ids := []string{"mau", "stickiness", "churn", "retention_w1", "new_users", "funnel", "visitors", "wau_any"}

	want := map[string]*Series{}
	for _, id := range ids {
		s, err := plain.Series(ctx, defs, id, timegrain.Month, Range{})
		if err != nil {
			t.Fatalf("%s: store: %v", id, err)
		}
		want[id] = s
	}

	// Four workers compute every KPI, as a dashboard's widgets do, so they
	// fill and read the index's cache at the same time.
	got := make([]map[string]*Series, 4)
	errs := make(chan error, len(got))
	for w := range got {
		got[w] = map[string]*Series{}
		go func() {
			for i := range ids {
				id := ids[(i+w)%len(ids)]
				s, err := indexed.Series(ctx, defs, id, timegrain.Month, Range{})
				if err != nil {
					errs <- fmt.Errorf("%s: index: %w", id, err)
					return
				}
				got[w][id] = s
			}
			errs <- nil
		}()
	}
	for range got {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for w := range got {
		for _, id := range ids {
			compareSeries(t, fmt.Sprintf("worker %d/%s", w, id), want[id], got[w][id])
		}
	}
}

func TestIndexRebuildLogsReason(t *testing.T) {
	ctx := context.Background()
	db := openIndexDB(t, filepath.Join(t.TempDir(), "index.db"), generateEvents(3, 500, 50, 20))
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}

	first := NewActivityIndex(db, ny, Declared{}, nil)
	if err := first.Load(ctx); err != nil {
		t.Fatalf("load empty index: %v", err)
	}
	if err := first.Save(ctx); err != nil {
		t.Fatalf("save: %v", err)
	}

	// Another time zone and two new dimensions, one of them misspelt.
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	second := NewActivityIndex(db, time.UTC, Declared{Dimensions: []string{"plan", "palan"}, Properties: []string{"amount"}}, logger)
	if err := second.Load(ctx); err != nil {
		t.Fatalf("load with new dimensions: %v", err)
	}
	for _, want := range []string{
		"rebuilding the stored index, because",
		"the time zone changed from America/New_York to UTC",
		"the KPI file adds the dimensions or filtered properties palan, plan",
		"the KPI file adds the summed properties amount",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "format changed") {
		t.Errorf("log names a format change, but the format is the same:\n%s", logs.String())
	}

	// Every generated event has a plan and none has palan. country is not
	// a dimension of the index, so the index cannot tell and leaves it out.
	got := second.DimensionsWithoutValues([]string{"plan", "palan", "country"})
	if !slices.Equal(got, []string{"palan"}) {
		t.Errorf("DimensionsWithoutValues = %q, want [palan]", got)
	}
}
