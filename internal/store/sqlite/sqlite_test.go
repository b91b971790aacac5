package sqlite

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
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

func TestInsertEventsDuplicates(t *testing.T) {
	db := openTestDB(t)
	batch := []store.Event{
		event("m1", "order", "alice", at(1, 10, 0, 0), nil),
		event("m2", "order", "bob", at(1, 11, 0, 0), nil),
		event("m3", "signup", "carol", at(1, 12, 0, 0), map[string]any{"plan": "pro"}),
	}

	first := insert(t, db, batch...)
	second := insert(t, db, batch...)

	if first != (store.InsertResult{Inserted: 3, Duplicates: 0}) {
		t.Errorf("first insert = %+v, want 3 inserted, 0 duplicates", first)
	}
	if second != (store.InsertResult{Inserted: 0, Duplicates: 3}) {
		t.Errorf("second insert = %+v, want 0 inserted, 3 duplicates", second)
	}
	if n := countRows(t, db, "SELECT count(*) FROM events"); n != 3 {
		t.Errorf("events table has %d rows, want 3", n)
	}

	// The same message id from another source is a different event, and a
	// repeat inside one batch is a duplicate too.
	other := event("m1", "order", "alice", at(1, 10, 0, 0), nil)
	other.Source = "segment"
	third := insert(t, db,
		event("m1", "order", "alice", at(1, 10, 0, 0), nil),
		other,
		event("m4", "order", "dave", at(2, 9, 0, 0), nil),
		event("m4", "order", "dave", at(2, 9, 0, 0), nil),
	)
	if third != (store.InsertResult{Inserted: 2, Duplicates: 2}) {
		t.Errorf("mixed insert = %+v, want 2 inserted, 2 duplicates", third)
	}
	if n := countRows(t, db, "SELECT count(*) FROM events"); n != 5 {
		t.Errorf("events table has %d rows, want 5", n)
	}
}

func TestInsertEventsStoresFields(t *testing.T) {
	db := openTestDB(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("load Europe/Berlin: %v (install tzdata)", err)
	}
	// 10:30:15.123456 in Berlin (CET, +01:00) is 09:30:15.123456 UTC.
	ts := time.Date(2026, time.March, 1, 10, 30, 15, 123456000, berlin)
	e := event("m1", "order", "alice", ts, map[string]any{"revenue": 12.5, "country": "US"})

	insert(t, db, e)

	var (
		name, distinctID, props, source, msgID string
		micros, receivedMicros                 int64
	)
	err = db.SQL().QueryRow(`SELECT name, distinct_id, ts, received_at, properties, source, message_id FROM events`).
		Scan(&name, &distinctID, &micros, &receivedMicros, &props, &source, &msgID)
	if err != nil {
		t.Fatal(err)
	}
	if name != "order" || distinctID != "alice" || source != "test" || msgID != "m1" {
		t.Errorf("stored name %q, distinct_id %q, source %q, message_id %q", name, distinctID, source, msgID)
	}
	if want := time.Date(2026, time.March, 1, 9, 30, 15, 123456000, time.UTC).UnixMicro(); micros != want {
		t.Errorf("ts = %d, want %d", micros, want)
	}
	if want := ts.Add(time.Minute).UnixMicro(); receivedMicros != want {
		t.Errorf("received_at = %d, want %d", receivedMicros, want)
	}
	if props != `{"country":"US","revenue":12.5}` {
		t.Errorf("properties = %s", props)
	}
}

func TestInsertEventsRejectsBatch(t *testing.T) {
	tests := []struct {
		name string
		bad  store.Event
		want string
	}{
		{"no name", event("m2", " ", "bob", at(1, 0, 0, 0), nil), "event name is empty"},
		{"no distinct id", event("m2", "order", "", at(1, 0, 0, 0), nil), "no distinct_id"},
		{"no timestamp", event("m2", "order", "bob", time.Time{}, nil), "no timestamp"},
		{"no message id", event("", "order", "bob", at(1, 0, 0, 0), nil), "no source or message id"},
		{"infinite property", event("m2", "order", "bob", at(1, 0, 0, 0), map[string]any{"x": math.Inf(1)}), "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			good := event("m1", "order", "alice", at(1, 0, 0, 0), nil)

			_, err := db.InsertEvents(context.Background(), []store.Event{good, tt.bad})

			if err == nil {
				t.Fatal("InsertEvents returned no error")
			}
			if code := kpi.ErrorCode(err); code != kpi.EINVALID {
				t.Errorf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if n := countRows(t, db, "SELECT count(*) FROM events"); n != 0 {
				t.Errorf("events table has %d rows after a rejected batch, want 0", n)
			}
		})
	}
}

func TestInsertEventsUsers(t *testing.T) {
	db := openTestDB(t)

	insert(t, db,
		event("m1", "order", "alice", at(2, 10, 0, 0), nil),
		event("m2", "order", "bob", at(1, 10, 0, 0), nil),
		event("m3", "signup", "alice", at(1, 8, 0, 0), nil),
		event("m4", "order", "carol", at(3, 10, 0, 0), nil),
	)
	insert(t, db, event("m5", "order", "bob", at(4, 10, 0, 0), nil))

	if n := countRows(t, db, "SELECT count(*) FROM users"); n != 3 {
		t.Errorf("users table has %d rows, want 3 (alice, bob, carol)", n)
	}
	// Dense ids: 1, 2, 3 in order of first appearance.
	wantIDs := map[string]int{"alice": 1, "bob": 2, "carol": 3}
	for user, want := range wantIDs {
		if got := countRows(t, db, "SELECT id FROM users WHERE distinct_id = ?", user); got != want {
			t.Errorf("user %s has id %d, want %d", user, got, want)
		}
	}
	mismatched := countRows(t, db, `SELECT count(*) FROM events e JOIN users u ON u.id = e.user_id WHERE u.distinct_id <> e.distinct_id`)
	if mismatched != 0 {
		t.Errorf("%d events point at another user's id", mismatched)
	}

	// first_seen is the earliest event, even when it arrives later.
	var firstSeen int64
	if err := db.SQL().QueryRow("SELECT first_seen FROM users WHERE distinct_id = 'alice'").Scan(&firstSeen); err != nil {
		t.Fatal(err)
	}
	if want := at(1, 8, 0, 0).UnixMicro(); firstSeen != want {
		t.Errorf("alice first_seen = %s, want %s", time.UnixMicro(firstSeen).UTC(), at(1, 8, 0, 0))
	}
}

// aggregateFixture inserts the events that the Aggregate tests count by hand.
//
//	e1 order  alice 03-01 10:00     revenue 10    country US plan pro  items 1    paid true
//	e2 order  bob   03-01 12:00     revenue 20.5  country DE plan free items 10   paid false  a: {b: x}
//	e3 order  alice 03-02 09:00     revenue 5     country US           items 12   "unit price" 2.5  "a.b" x
//	e4 order  carol 03-02 23:59:59  revenue "n/a" country FR plan team items 9.5  paid true
//	e5 order  dave  03-03 00:00     (no revenue)  country US plan pro  items "10" "a.b" y
//	e6 signup alice 03-01 11:00     revenue 1000
//	e7 order  bob   03-04 08:00     revenue 100   country US plan pro  items 10   paid true  "unit price" 4
func aggregateFixture(t *testing.T) *DB {
	db := openTestDB(t)
	insert(t, db,
		event("e1", "order", "alice", at(1, 10, 0, 0), map[string]any{"revenue": 10, "country": "US", "plan": "pro", "items": 1, "paid": true}),
		event("e2", "order", "bob", at(1, 12, 0, 0), map[string]any{"revenue": 20.5, "country": "DE", "plan": "free", "items": 10, "paid": false, "a": map[string]any{"b": "x"}}),
		event("e3", "order", "alice", at(2, 9, 0, 0), map[string]any{"revenue": 5, "country": "US", "items": 12, "unit price": 2.5, "a.b": "x"}),
		event("e4", "order", "carol", at(2, 23, 59, 59), map[string]any{"revenue": "n/a", "country": "FR", "plan": "team", "items": 9.5, "paid": true}),
		event("e5", "order", "dave", at(3, 0, 0, 0), map[string]any{"country": "US", "plan": "pro", "items": "10", "a.b": "y"}),
		event("e6", "signup", "alice", at(1, 11, 0, 0), map[string]any{"revenue": 1000}),
		event("e7", "order", "bob", at(4, 8, 0, 0), map[string]any{"revenue": 100, "country": "US", "plan": "pro", "items": 10, "paid": true, "unit price": 4}),
	)
	return db
}

func TestAggregateIntervals(t *testing.T) {
	db := aggregateFixture(t)
	intervals := []store.Interval{
		{Start: at(1, 0, 0, 0), End: at(2, 0, 0, 0)},   // e1, e2
		{Start: at(2, 0, 0, 0), End: at(3, 0, 0, 0)},   // e3, e4
		{Start: at(3, 0, 0, 0), End: at(4, 0, 0, 0)},   // e5
		{Start: at(5, 0, 0, 0), End: at(6, 0, 0, 0)},   // nothing
		{Start: at(1, 0, 0, 0), End: at(5, 0, 0, 0)},   // every order: overlaps the first three
		{Start: at(2, 9, 0, 0), End: at(3, 0, 0, 0)},   // e3 at its start, e4; e5 at its end is out
		{Start: at(2, 9, 0, 0), End: at(2, 9, 0, 0)},   // empty span
		{Start: at(1, 11, 0, 0), End: at(4, 12, 0, 0)}, // e2..e7 orders
	}
	want := []store.Aggregate{
		{Events: 2, Users: 2, Sum: 30.5, Values: 2},
		{Events: 2, Users: 2, Sum: 5, Values: 1},
		{Events: 1, Users: 1, Sum: 0, Values: 0},
		{},
		{Events: 6, Users: 4, Sum: 135.5, Values: 4},
		{Events: 2, Users: 2, Sum: 5, Values: 1},
		{},
		{Events: 5, Users: 4, Sum: 125.5, Values: 3},
	}

	got, err := db.Aggregate(context.Background(), store.AggregateQuery{Event: "order", Property: "revenue", Intervals: intervals})
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}

	if len(got) != len(want) {
		t.Fatalf("got %d aggregates, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("interval %d [%s, %s): got %+v, want %+v", i, intervals[i].Start.Format(time.DateTime), intervals[i].End.Format(time.DateTime), got[i], want[i])
		}
	}
}

func TestAggregateWithoutProperty(t *testing.T) {
	db := aggregateFixture(t)

	got, err := db.Aggregate(context.Background(), store.AggregateQuery{
		Event:     "signup",
		Intervals: []store.Interval{{Start: at(1, 0, 0, 0), End: at(2, 0, 0, 0)}},
	})
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}

	if want := (store.Aggregate{Events: 1, Users: 1}); len(got) != 1 || got[0] != want {
		t.Errorf("got %+v, want [%+v]", got, want)
	}
}

func TestAggregateUnknownEvent(t *testing.T) {
	db := aggregateFixture(t)

	got, err := db.Aggregate(context.Background(), store.AggregateQuery{
		Event:     "refund",
		Property:  "revenue",
		Intervals: []store.Interval{{Start: at(1, 0, 0, 0), End: at(9, 0, 0, 0)}},
	})
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}

	if len(got) != 1 || got[0] != (store.Aggregate{}) {
		t.Errorf("got %+v, want one zero aggregate", got)
	}
}

func TestAggregateFilters(t *testing.T) {
	db := aggregateFixture(t)
	all := []store.Interval{{Start: at(1, 0, 0, 0), End: at(9, 0, 0, 0)}}

	tests := []struct {
		name    string
		filters []kpi.Filter
		want    int64 // orders among e1, e2, e3, e4, e5, e7
	}{
		{"eq string", []kpi.Filter{{Property: "country", Op: kpi.OpEq, Value: "US"}}, 4},       // e1 e3 e5 e7
		{"eq number", []kpi.Filter{{Property: "items", Op: kpi.OpEq, Value: 10.0}}, 2},         // e2 e7, not e5's "10"
		{"eq number as text", []kpi.Filter{{Property: "items", Op: kpi.OpEq, Value: "10"}}, 1}, // e5
		{"eq missing property", []kpi.Filter{{Property: "coupon", Op: kpi.OpEq, Value: "X"}}, 0},
		{"neq string", []kpi.Filter{{Property: "plan", Op: kpi.OpNeq, Value: "pro"}}, 3},             // e2 free, e3 missing, e4 team
		{"neq missing everywhere", []kpi.Filter{{Property: "coupon", Op: kpi.OpNeq, Value: "X"}}, 6}, // all
		{"in", []kpi.Filter{{Property: "country", Op: kpi.OpIn, Values: []any{"DE", "FR"}}}, 2},      // e2 e4
		{"in one value", []kpi.Filter{{Property: "plan", Op: kpi.OpIn, Values: []any{"pro"}}}, 3},    // e1 e5 e7
		{"in numbers", []kpi.Filter{{Property: "items", Op: kpi.OpIn, Values: []any{1.0, 12.0}}}, 2}, // e1 e3
		{"in empty list", []kpi.Filter{{Property: "plan", Op: kpi.OpIn, Values: nil}}, 0},
		{"gt", []kpi.Filter{{Property: "items", Op: kpi.OpGt, Value: 10.0}}, 1},   // e3
		{"gte", []kpi.Filter{{Property: "items", Op: kpi.OpGte, Value: 10.0}}, 3}, // e2 e3 e7
		{"lt", []kpi.Filter{{Property: "items", Op: kpi.OpLt, Value: 10.0}}, 2},   // e1 e4
		{"lte", []kpi.Filter{{Property: "items", Op: kpi.OpLte, Value: 10.0}}, 4}, // e1 e2 e4 e7
		{"gt ignores text", []kpi.Filter{{Property: "country", Op: kpi.OpGt, Value: 0.0}}, 0},
		{"bool true", []kpi.Filter{{Property: "paid", Op: kpi.OpEq, Value: true}}, 3},                                                       // e1 e4 e7
		{"bool false", []kpi.Filter{{Property: "paid", Op: kpi.OpEq, Value: false}}, 1},                                                     // e2
		{"neq bool", []kpi.Filter{{Property: "paid", Op: kpi.OpNeq, Value: true}}, 3},                                                       // e2, e3 and e5 missing
		{"name with dot", []kpi.Filter{{Property: "a.b", Op: kpi.OpEq, Value: "x"}}, 1},                                                     // e3, not e2's nested a.b
		{"name with space", []kpi.Filter{{Property: "unit price", Op: kpi.OpGt, Value: 3.0}}, 1},                                            // e7
		{"two filters", []kpi.Filter{{Property: "country", Op: kpi.OpEq, Value: "US"}, {Property: "items", Op: kpi.OpGte, Value: 10.0}}, 2}, // e3 e7
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Aggregate(context.Background(), store.AggregateQuery{Event: "order", Filters: tt.filters, Intervals: all})
			if err != nil {
				t.Fatalf("Aggregate: %v", err)
			}
			if got[0].Events != tt.want {
				t.Errorf("events = %d, want %d", got[0].Events, tt.want)
			}
		})
	}
}

func TestAggregateFilteredSum(t *testing.T) {
	db := aggregateFixture(t)
	all := []store.Interval{{Start: at(1, 0, 0, 0), End: at(9, 0, 0, 0)}}

	tests := []struct {
		name     string
		property string
		filters  []kpi.Filter
		want     store.Aggregate
	}{
		// e1 10 + e3 5 + e7 100; e5 has no revenue. Users: alice, dave, bob.
		{"revenue in US", "revenue", []kpi.Filter{{Property: "country", Op: kpi.OpEq, Value: "US"}}, store.Aggregate{Events: 4, Users: 3, Sum: 115, Values: 3}},
		// e3 2.5 + e7 4.
		{"property with space", "unit price", nil, store.Aggregate{Events: 6, Users: 4, Sum: 6.5, Values: 2}},
		// "a.b" holds text, so there is nothing to sum, and e2's nested a.b is not read.
		{"property with dot", "a.b", nil, store.Aggregate{Events: 6, Users: 4, Sum: 0, Values: 0}},
		// e1 1 + e2 10 + e3 12 + e4 9.5 + e7 10; e5's "10" is text.
		{"mixed numbers", "items", nil, store.Aggregate{Events: 6, Users: 4, Sum: 42.5, Values: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Aggregate(context.Background(), store.AggregateQuery{Event: "order", Property: tt.property, Filters: tt.filters, Intervals: all})
			if err != nil {
				t.Fatalf("Aggregate: %v", err)
			}
			if got[0] != tt.want {
				t.Errorf("got %+v, want %+v", got[0], tt.want)
			}
		})
	}
}

func TestAggregateUnknownOperator(t *testing.T) {
	db := aggregateFixture(t)

	_, err := db.Aggregate(context.Background(), store.AggregateQuery{
		Event:     "order",
		Filters:   []kpi.Filter{{Property: "items", Op: "between", Value: 1.0}},
		Intervals: []store.Interval{{Start: at(1, 0, 0, 0), End: at(9, 0, 0, 0)}},
	})

	if code := kpi.ErrorCode(err); code != kpi.EINVALID {
		t.Errorf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
	}
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

func TestEventSpan(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()

	span, err := db.EventSpan(ctx)
	if err != nil {
		t.Fatalf("EventSpan on empty db: %v", err)
	}
	if !span.Empty {
		t.Errorf("empty db span = %+v, want Empty", span)
	}

	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatalf("load Asia/Kolkata: %v (install tzdata)", err)
	}
	first := time.Date(2026, time.March, 1, 5, 0, 0, 500, kolkata) // 2026-02-28 23:30 UTC; the 500 ns are not stored
	last := time.Date(2026, time.March, 9, 17, 45, 30, 250000000, time.UTC)
	insert(t, db,
		event("b", "order", "bob", at(4, 0, 0, 0), nil),
		event("c", "signup", "carol", last, nil),
		event("a", "order", "alice", first, nil),
	)

	span, err = db.EventSpan(ctx)
	if err != nil {
		t.Fatalf("EventSpan: %v", err)
	}
	if span.Empty {
		t.Fatal("span is Empty after inserting events")
	}
	if want := time.Date(2026, time.February, 28, 23, 30, 0, 0, time.UTC); !span.First.Equal(want) {
		t.Errorf("First = %s, want %s", span.First, want)
	}
	if !span.Last.Equal(last) {
		t.Errorf("Last = %s, want %s", span.Last, last)
	}
	if span.First.Location() != time.UTC || span.Last.Location() != time.UTC {
		t.Errorf("span locations = %v, %v; want UTC", span.First.Location(), span.Last.Location())
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
