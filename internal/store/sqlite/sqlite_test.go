package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/storetest"
)

// openTestDB opens a fresh, migrated database in the test's temporary
// directory and closes it when the test ends.
func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close test database: %v", err)
		}
	})
	return db
}

// at returns 2026-03-DD HH:MM:SS UTC.
func at(day, hour, minute, second int) time.Time {
	return time.Date(2026, time.March, day, hour, minute, second, 0, time.UTC)
}

func event(msgID, name, user string, ts time.Time, props map[string]any) store.Event {
	return store.Event{
		Name:       name,
		DistinctID: user,
		Timestamp:  ts,
		Properties: props,
		Source:     "test",
		MessageID:  msgID,
		ReceivedAt: ts.Add(time.Minute),
	}
}

func insert(t *testing.T, db *DB, events ...store.Event) store.InsertResult {
	t.Helper()
	res, err := db.InsertEvents(context.Background(), events)
	if err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
	return res
}

func countRows(t *testing.T, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// storeUnderTest adds the storetest.Inspector the shared suite checks with.
type storeUnderTest struct{ *DB }

func (s storeUnderTest) QueryRow(ctx context.Context, query string, dest ...any) error {
	return s.SQL().QueryRowContext(ctx, query).Scan(dest...)
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return storeUnderTest{openTestDB(t)} })
}

// More intervals than one statement takes are split over several queries;
// the results must still come back in order.
func TestAggregateManyIntervals(t *testing.T) {
	db := openTestDB(t)
	start := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	const n = maxIntervalsPerQuery + 1200

	// One event in the first hour, in the hour at the split, and in the last hour.
	marked := []int{0, maxIntervalsPerQuery - 1, maxIntervalsPerQuery, n - 1}
	var events []store.Event
	for _, h := range marked {
		events = append(events, event(fmt.Sprint("h", h), "tick", "u", start.Add(time.Duration(h)*time.Hour+time.Minute), nil))
	}
	insert(t, db, events...)

	intervals := make([]store.Interval, n)
	for i := range intervals {
		intervals[i] = store.Interval{Start: start.Add(time.Duration(i) * time.Hour), End: start.Add(time.Duration(i+1) * time.Hour)}
	}
	got, err := db.Aggregate(context.Background(), store.AggregateQuery{Event: "tick", Intervals: intervals})
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}

	if len(got) != n {
		t.Fatalf("got %d aggregates, want %d", len(got), n)
	}
	isMarked := map[int]bool{}
	for _, h := range marked {
		isMarked[h] = true
	}
	total := int64(0)
	for i, a := range got {
		total += a.Events
		if isMarked[i] && a.Events != 1 {
			t.Errorf("hour %d: %d events, want 1", i, a.Events)
		}
	}
	if total != int64(len(marked)) {
		t.Errorf("total events = %d, want %d", total, len(marked))
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "northstar.db")

	db, err := Open(context.Background(), path)

	if err == nil {
		db.Close()
		t.Fatal("Open succeeded in a missing directory")
	}
	if code := kpi.ErrorCode(err); code != kpi.EINVALID {
		t.Errorf("error code = %q, want %q", code, kpi.EINVALID)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path", err)
	}
	if !strings.Contains(err.Error(), "check the path") {
		t.Errorf("error %q does not say what to check", err)
	}
	if _, statErr := os.Stat(filepath.Dir(path)); !os.IsNotExist(statErr) {
		t.Errorf("Open created the missing directory (stat: %v)", statErr)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	_, err := Open(context.Background(), "")

	if code := kpi.ErrorCode(err); code != kpi.EINVALID {
		t.Errorf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
	}
}

func TestOpenAgainKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "northstar.db")

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	if _, err := db.InsertEvents(ctx, []store.Event{event("m1", "order", "alice", at(1, 0, 0, 0), nil)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer db.Close()
	if n := countRows(t, db, "SELECT count(*) FROM events"); n != 1 {
		t.Errorf("events after reopening = %d, want 1", n)
	}
	if n := countRows(t, db, "SELECT count(*) FROM workspaces"); n != 1 {
		t.Errorf("workspaces after reopening = %d, want 1 (migrations ran twice?)", n)
	}
}

// SQLite reads the path as a URI, where '#', '?' and '%' have a meaning; the
// file must still land in the directory as named.
func TestOpenPathWithURICharacters(t *testing.T) {
	for _, name := range []string{"C# projects", "what?", "100%41", "plain dir"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "northstar.db")

			db, err := Open(context.Background(), path)
			if err != nil {
				t.Fatalf("Open(%q): %v", path, err)
			}
			db.Close()

			if _, err := os.Stat(path); err != nil {
				t.Errorf("database file not at %s: %v", path, err)
			}
			entries, err := os.ReadDir(filepath.Dir(dir))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("parent directory contains %d entries, want only %q", len(entries), name)
			}
		})
	}
}

func (s storeUnderTest) InWorkspace(id int64) storetest.Store { return storeUnderTest{s.Workspace(id)} }
