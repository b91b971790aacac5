package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

var eventTests = []test{
	{"duplicates", testInsertEventsDuplicates},
	{"stores fields", testInsertEventsStoresFields},
	{"rejects batch", testInsertEventsRejectsBatch},
	{"users", testInsertEventsUsers},
	{"large batch", testInsertEventsLargeBatch},
	{"batch order", testInsertEventsBatchOrder},
	{"concurrent batches", testInsertEventsConcurrent},
	{"batches in one transaction", testInsertEventBatches},
	{"invalid batch in a group", testInsertEventBatchesInvalid},
	{"event span", testEventSpan},
	{"ping", testPing},
}

func testInsertEventsDuplicates(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
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

func testInsertEventsStoresFields(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
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
	queryRow(t, db, `SELECT name, distinct_id, ts, received_at, properties, source, message_id FROM events`,
		&name, &distinctID, &micros, &receivedMicros, &props, &source, &msgID)
	if name != "order" || distinctID != "alice" || source != "test" || msgID != "m1" {
		t.Errorf("stored name %q, distinct_id %q, source %q, message_id %q", name, distinctID, source, msgID)
	}
	if want := time.Date(2026, time.March, 1, 9, 30, 15, 123456000, time.UTC).UnixMicro(); micros != want {
		t.Errorf("ts = %d, want %d", micros, want)
	}
	if want := ts.Add(time.Minute).UnixMicro(); receivedMicros != want {
		t.Errorf("received_at = %d, want %d", receivedMicros, want)
	}
	assertJSON(t, "properties", props, map[string]any{"country": "US", "revenue": 12.5})
}

func testInsertEventsRejectsBatch(t *testing.T, open func(t *testing.T) Store) {
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
			db := open(t)
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
			if n := countRows(t, db, "SELECT count(*) FROM users"); n != 0 {
				t.Errorf("users table has %d rows after a rejected batch, want 0", n)
			}
		})
	}
}

func testInsertEventsUsers(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)

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
	wantIDs := map[string]int64{"alice": 1, "bob": 2, "carol": 3}
	for user, want := range wantIDs {
		if got := countRows(t, db, "SELECT id FROM users WHERE distinct_id = '"+user+"'"); got != want {
			t.Errorf("user %s has id %d, want %d", user, got, want)
		}
	}
	mismatched := countRows(t, db, `SELECT count(*) FROM events e JOIN users u ON u.id = e.user_id WHERE u.distinct_id <> e.distinct_id`)
	if mismatched != 0 {
		t.Errorf("%d events point at another user's id", mismatched)
	}

	// first_seen is the earliest event, even when it arrives later.
	firstSeen := countRows(t, db, "SELECT first_seen FROM users WHERE distinct_id = 'alice'")
	if want := at(1, 8, 0, 0).UnixMicro(); firstSeen != want {
		t.Errorf("alice first_seen = %s, want %s", time.UnixMicro(firstSeen).UTC(), at(1, 8, 0, 0))
	}
}

// A batch of several hundred events takes the bulk path of stores that have
// one (PostgreSQL's COPY); the results must be those of small batches.
func testInsertEventsLargeBatch(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	start := at(1, 0, 0, 0)

	// 50 events m0..m49 by u0..u9 (user i%10), one minute apart.
	var before []store.Event
	for i := range 50 {
		before = append(before, event(fmt.Sprint("m", i), "view", fmt.Sprint("u", i%10), start.Add(time.Duration(i)*time.Minute), nil))
	}
	insert(t, db, before...)

	// 300 events m0..m299 by u0..u39 (user i%40), then m250..m269 again
	// with another property. m0..m49 are stored already, and the second
	// m250..m269 repeat the first ones in the batch.
	var batch []store.Event
	for i := range 300 {
		batch = append(batch, event(fmt.Sprint("m", i), "view", fmt.Sprint("u", i%40), start.Add(time.Duration(i)*time.Minute), map[string]any{"copy": false, "i": i}))
	}
	for i := 250; i < 270; i++ {
		batch = append(batch, event(fmt.Sprint("m", i), "view", fmt.Sprint("u", i%40), start.Add(time.Duration(i)*time.Minute), map[string]any{"copy": true, "i": i}))
	}
	res, err := db.InsertEvents(ctx, batch)
	if err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}

	if want := (store.InsertResult{Inserted: 250, Duplicates: 70}); res != want {
		t.Errorf("insert = %+v, want %+v", res, want)
	}
	if n := countRows(t, db, "SELECT count(*) FROM events"); n != 300 {
		t.Errorf("events table has %d rows, want 300", n)
	}
	if n := countRows(t, db, "SELECT count(*) FROM users"); n != 40 {
		t.Errorf("users table has %d rows, want 40", n)
	}
	// u0..u9 got ids 1..10 in the first batch; u10..u39 first appear in
	// that order in the second, so they get 11..40.
	if n := countRows(t, db, "SELECT max(id) FROM users"); n != 40 {
		t.Errorf("max user id = %d, want 40 (dense ids)", n)
	}
	if n := countRows(t, db, "SELECT id FROM users WHERE distinct_id = 'u25'"); n != 26 {
		t.Errorf("u25 has id %d, want 26", n)
	}
	mismatched := countRows(t, db, `SELECT count(*) FROM events e JOIN users u ON u.id = e.user_id WHERE u.distinct_id <> e.distinct_id`)
	if mismatched != 0 {
		t.Errorf("%d events point at another user's id", mismatched)
	}
	// u5's first event is m5 at start+5m.
	if got, want := countRows(t, db, "SELECT first_seen FROM users WHERE distinct_id = 'u5'"), start.Add(5*time.Minute).UnixMicro(); got != want {
		t.Errorf("u5 first_seen = %d, want %d", got, want)
	}

	// The first of two repeats inside the batch is the one kept.
	copies, err := db.Aggregate(ctx, store.AggregateQuery{
		Event:     "view",
		Filters:   []kpi.Filter{{Property: "copy", Op: kpi.OpEq, Value: true}},
		Intervals: []store.Interval{{Start: start, End: at(2, 0, 0, 0)}},
	})
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	if copies[0].Events != 0 {
		t.Errorf("%d events of the second repeats were stored, want 0", copies[0].Events)
	}

	// 300 views by 40 users. The stored m0..m49 carry no "i" and m50..m299
	// carry i, so "i" sums to (50+299)*250/2 = 43625 over 250 values.
	got, err := db.Aggregate(ctx, store.AggregateQuery{
		Event: "view", Property: "i",
		Intervals: []store.Interval{{Start: start, End: at(2, 0, 0, 0)}},
	})
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	if want := (store.Aggregate{Events: 300, Users: 40, Sum: 43625, Values: 250}); got[0] != want {
		t.Errorf("aggregate = %+v, want %+v", got[0], want)
	}
}

// Event ids follow the order of the batch, not of the message ids, because
// events with equal timestamps are read back in id order.
func testInsertEventsBatchOrder(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ts := at(1, 12, 0, 0)

	insert(t, db, event("m5", "step", "alice", ts, nil))
	insert(t, db,
		event("m5", "step", "alice", ts, nil), // a duplicate, left out
		event("m10", "step", "alice", ts, nil),
		event("m9", "step", "alice", ts, nil),
		event("m1", "step", "alice", ts, nil),
	)

	ids := map[string]int64{}
	for _, msgID := range []string{"m5", "m10", "m9", "m1"} {
		ids[msgID] = countRows(t, db, "SELECT id FROM events WHERE message_id = '"+msgID+"'")
	}
	if !(ids["m5"] < ids["m10"] && ids["m10"] < ids["m9"] && ids["m9"] < ids["m1"]) {
		t.Errorf("ids m5 %d, m10 %d, m9 %d, m1 %d; want them increasing in that order", ids["m5"], ids["m10"], ids["m9"], ids["m1"])
	}
}

// Batches sent at once by several clients, all repeating the same events,
// store each event once and report the rest as duplicates.
func testInsertEventsConcurrent(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	const (
		clients = 3
		events  = 250
		users   = 25
	)

	batch := make([]store.Event, events)
	for i := range batch {
		batch[i] = event(fmt.Sprint("m", i), "view", fmt.Sprint("u", i%users), at(1, 0, i, 0), nil)
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		total   store.InsertResult
		failure error
	)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()

			// Each client sends the events in another order.
			own := append([]store.Event(nil), batch[c*50:]...)
			own = append(own, batch[:c*50]...)
			res, err := db.InsertEvents(context.Background(), own)

			mu.Lock()
			defer mu.Unlock()
			total.Inserted += res.Inserted
			total.Duplicates += res.Duplicates
			if err != nil {
				failure = err
			}
		}()
	}
	wg.Wait()

	if failure != nil {
		t.Fatalf("InsertEvents: %v", failure)
	}
	if want := (store.InsertResult{Inserted: events, Duplicates: (clients - 1) * events}); total != want {
		t.Errorf("insert results add up to %+v, want %+v", total, want)
	}
	if n := countRows(t, db, "SELECT count(*) FROM events"); n != events {
		t.Errorf("events table has %d rows, want %d", n, events)
	}
	if n := countRows(t, db, "SELECT count(*) FROM users"); n != users {
		t.Errorf("users table has %d rows, want %d", n, users)
	}
}

func testEventSpan(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
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

func testPing(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)

	if err := db.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// assertJSON checks that the JSON text got decodes to want.
func assertJSON(t *testing.T, label, got string, want map[string]any) {
	t.Helper()
	var decoded map[string]any
	if err := json.Unmarshal([]byte(got), &decoded); err != nil {
		t.Fatalf("%s %q is not JSON: %v", label, got, err)
	}
	if !reflect.DeepEqual(decoded, want) {
		t.Errorf("%s = %s, want %v", label, got, want)
	}
}

func testInsertEventBatches(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	insert(t, db, event("m1", "order", "alice", at(1, 10, 0, 0), nil))

	// Batch 0 repeats the stored m1; batch 1 repeats m2 of batch 0 and has
	// m3 twice. Each batch counts its own duplicates.
	batches := [][]store.Event{
		{
			event("m1", "order", "alice", at(1, 10, 0, 0), nil),
			event("m2", "signup", "bob", at(2, 9, 0, 0), map[string]any{"plan": "pro"}),
		},
		{
			event("m2", "signup", "bob", at(2, 9, 0, 0), nil),
			event("m3", "order", "carol", at(3, 8, 0, 0), nil),
			event("m3", "order", "carol", at(3, 8, 0, 0), nil),
		},
	}
	results, _, err := db.InsertEventBatches(context.Background(), batches)
	if err != nil {
		t.Fatalf("InsertEventBatches: %v", err)
	}
	if len(results) != 2 {
		t.Fatalf("InsertEventBatches returned %d results, want 2", len(results))
	}
	if results[0] != (store.InsertResult{Inserted: 1, Duplicates: 1}) {
		t.Errorf("batch 0 = %+v, want 1 inserted, 1 duplicate", results[0])
	}
	if results[1] != (store.InsertResult{Inserted: 1, Duplicates: 2}) {
		t.Errorf("batch 1 = %+v, want 1 inserted, 2 duplicates", results[1])
	}
	if n := countRows(t, db, "SELECT count(*) FROM events"); n != 3 {
		t.Errorf("events table has %d rows, want 3", n)
	}

	// A group of new events comes back with the ids and user ids that
	// plain SQL finds for them, when the store returns them at all.
	fresh := [][]store.Event{
		{event("m4", "order", "dave", at(4, 8, 0, 0), nil), event("m5", "order", "alice", at(4, 9, 0, 0), nil)},
		{event("m6", "signup", "erin", at(4, 10, 0, 0), nil)},
	}
	results, stored, err := db.InsertEventBatches(context.Background(), fresh)
	if err != nil {
		t.Fatalf("InsertEventBatches: %v", err)
	}
	if results[0].Inserted != 2 || results[1].Inserted != 1 {
		t.Errorf("results = %+v, want 2 and 1 inserted", results)
	}
	if stored == nil {
		return
	}
	if len(stored) != 3 {
		t.Fatalf("InsertEventBatches returned %d stored events, want 3", len(stored))
	}
	for _, ev := range stored {
		var id, userID int64
		queryRow(t, db, fmt.Sprintf("SELECT e.id, u.id FROM events e JOIN users u ON u.distinct_id = e.distinct_id WHERE e.message_id = '%s'",
			ev.Event.MessageID), &id, &userID)
		if ev.ID != id {
			t.Errorf("event %s: returned id %d, stored id %d", ev.Event.MessageID, ev.ID, id)
		}
		if ev.UserID != userID {
			t.Errorf("event %s: returned user id %d, stored user id %d", ev.Event.MessageID, ev.UserID, userID)
		}
	}
}

func testInsertEventBatchesInvalid(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	bad := event("m2", "order", "", at(1, 11, 0, 0), nil)
	_, _, err := db.InsertEventBatches(context.Background(), [][]store.Event{
		{event("m1", "order", "alice", at(1, 10, 0, 0), nil)},
		{bad},
	})
	if kpi.ErrorCode(err) != kpi.EINVALID {
		t.Errorf("InsertEventBatches with an invalid event: error %v, want code %s", err, kpi.EINVALID)
	}
	if n := countRows(t, db, "SELECT count(*) FROM events"); n != 0 {
		t.Errorf("events table has %d rows after a rejected group, want 0", n)
	}
}
