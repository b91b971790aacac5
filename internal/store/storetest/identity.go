package storetest

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

var identifyTests = []test{
	{"merges traits", testIdentifyMergesTraits},
	{"one batch", testIdentifyOneBatch},
	{"nested traits", testIdentifyNestedTraits},
	{"creates user", testIdentifyCreatesUser},
	{"rejects batch", testIdentifyRejectsBatch},
}

var aliasTests = []test{
	{"anonymous then identified", testAliasAnonymousThenIdentified},
	{"both ids active same day", testAliasBothActiveSameDay},
	{"self and repeat", testAliasSelfAndRepeat},
	{"chains", testAliasChains},
	{"unseen ids", testAliasUnseenIDs},
	{"traits", testAliasTraits},
	{"rejects batch", testAliasRejectsBatch},
	{"during inserts", testAliasDuringInserts},
}

func identify(t *testing.T, s Store, calls ...store.Identify) {
	t.Helper()
	if err := s.Identify(context.Background(), calls); err != nil {
		t.Fatalf("Identify: %v", err)
	}
}

func alias(t *testing.T, s Store, calls ...store.Alias) {
	t.Helper()
	if err := s.Alias(context.Background(), calls); err != nil {
		t.Fatalf("Alias: %v", err)
	}
}

// traitsOf returns the stored traits of the user row of distinctID.
func traitsOf(t *testing.T, s Store, distinctID string) string {
	t.Helper()
	var traits string
	queryRow(t, s, "SELECT traits FROM users WHERE distinct_id = '"+distinctID+"'", &traits)
	return traits
}

func testIdentifyMergesTraits(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)

	identify(t, db, store.Identify{DistinctID: "alice", Traits: map[string]any{"plan": "free", "name": "Ann"}, Timestamp: at(1, 10, 0, 0)})
	identify(t, db, store.Identify{DistinctID: "alice", Traits: map[string]any{"plan": "pro", "company": "Acme"}, Timestamp: at(2, 10, 0, 0)})
	assertJSON(t, "traits after two calls", traitsOf(t, db, "alice"),
		map[string]any{"plan": "pro", "name": "Ann", "company": "Acme"})

	// A call older than the stored traits only fills missing keys.
	identify(t, db, store.Identify{DistinctID: "alice", Traits: map[string]any{"plan": "trial", "age": 30}, Timestamp: at(1, 5, 0, 0)})
	assertJSON(t, "traits after an older call", traitsOf(t, db, "alice"),
		map[string]any{"plan": "pro", "name": "Ann", "company": "Acme", "age": 30.0})

	// A newer null removes the key; an older null removes nothing.
	identify(t, db, store.Identify{DistinctID: "alice", Traits: map[string]any{"company": nil}, Timestamp: at(3, 0, 0, 0)})
	identify(t, db, store.Identify{DistinctID: "alice", Traits: map[string]any{"name": nil, "zip": "10115"}, Timestamp: at(1, 0, 0, 0)})
	assertJSON(t, "traits after nulls", traitsOf(t, db, "alice"),
		map[string]any{"plan": "pro", "name": "Ann", "age": 30.0, "zip": "10115"})

	if n := countRows(t, db, "SELECT count(*) FROM users"); n != 1 {
		t.Errorf("users table has %d rows, want 1", n)
	}
}

// Calls in one batch apply in order, with the same rules as separate calls.
func testIdentifyOneBatch(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)

	identify(t, db,
		store.Identify{DistinctID: "bob", Traits: map[string]any{"plan": "pro"}, Timestamp: at(2, 0, 0, 0)},
		store.Identify{DistinctID: "carol", Traits: map[string]any{"plan": "team"}, Timestamp: at(2, 0, 0, 0)},
		store.Identify{DistinctID: "bob", Traits: map[string]any{"plan": "free", "seats": 3}, Timestamp: at(1, 0, 0, 0)},
		store.Identify{DistinctID: "bob", Traits: map[string]any{"seats": 5}, Timestamp: at(3, 0, 0, 0)},
	)

	assertJSON(t, "bob's traits", traitsOf(t, db, "bob"), map[string]any{"plan": "pro", "seats": 5.0})
	assertJSON(t, "carol's traits", traitsOf(t, db, "carol"), map[string]any{"plan": "team"})
}

func testIdentifyNestedTraits(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)

	identify(t, db, store.Identify{DistinctID: "dana", Timestamp: at(1, 0, 0, 0),
		Traits: map[string]any{"address": map[string]any{"city": "Berlin", "zip": "10115"}, "tags": []any{"a", "b"}}})
	identify(t, db, store.Identify{DistinctID: "dana", Timestamp: at(2, 0, 0, 0),
		Traits: map[string]any{"address": map[string]any{"city": "Paris"}, "tags": []any{"c"}}})

	// Objects merge key by key at every level; arrays are replaced whole.
	assertJSON(t, "traits", traitsOf(t, db, "dana"), map[string]any{
		"address": map[string]any{"city": "Paris", "zip": "10115"},
		"tags":    []any{"c"},
	})
}

// Identify creates a user it has not seen, and that user's events later
// reuse its id, with first_seen moving back to the earliest event.
func testIdentifyCreatesUser(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)

	identify(t, db, store.Identify{DistinctID: "erin", Traits: nil, Timestamp: at(5, 0, 0, 0)})

	if n := countRows(t, db, "SELECT count(*) FROM users"); n != 1 {
		t.Fatalf("users table has %d rows, want 1", n)
	}
	assertJSON(t, "traits", traitsOf(t, db, "erin"), map[string]any{})
	if got, want := countRows(t, db, "SELECT first_seen FROM users WHERE distinct_id = 'erin'"), at(5, 0, 0, 0).UnixMicro(); got != want {
		t.Errorf("first_seen = %d, want %d", got, want)
	}

	insert(t, db, event("m1", "order", "erin", at(3, 0, 0, 0), nil))

	if n := countRows(t, db, "SELECT count(*) FROM users"); n != 1 {
		t.Errorf("users table has %d rows after an event, want 1", n)
	}
	if n := countRows(t, db, "SELECT user_id FROM events"); n != 1 {
		t.Errorf("event user_id = %d, want 1", n)
	}
	if got, want := countRows(t, db, "SELECT first_seen FROM users WHERE distinct_id = 'erin'"), at(3, 0, 0, 0).UnixMicro(); got != want {
		t.Errorf("first_seen after an earlier event = %d, want %d", got, want)
	}
}

func testIdentifyRejectsBatch(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		bad  store.Identify
		want string
	}{
		{"no distinct id", store.Identify{DistinctID: " ", Timestamp: at(1, 0, 0, 0)}, "no distinct_id"},
		{"no timestamp", store.Identify{DistinctID: "bob"}, "no timestamp"},
		{"NaN trait", store.Identify{DistinctID: "bob", Timestamp: at(1, 0, 0, 0), Traits: map[string]any{"x": math.NaN()}}, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			good := store.Identify{DistinctID: "alice", Traits: map[string]any{"plan": "pro"}, Timestamp: at(1, 0, 0, 0)}

			err := db.Identify(context.Background(), []store.Identify{good, tt.bad})

			if code := kpi.ErrorCode(err); code != kpi.EINVALID {
				t.Fatalf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if n := countRows(t, db, "SELECT count(*) FROM users"); n != 0 {
				t.Errorf("users table has %d rows after a rejected batch, want 0", n)
			}
		})
	}
}

// The common case: a visitor browses anonymously, signs up, and the SDK
// aliases the anonymous id to the new user id.
func testAliasAnonymousThenIdentified(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	insert(t, db,
		event("m1", "view", "anon-1", at(1, 9, 0, 0), nil),
		event("m2", "view", "anon-1", at(1, 10, 0, 0), nil),
		event("m3", "view", "alice", at(2, 10, 0, 0), nil),
	)
	if got := aggregateAll(t, db, "view"); got.Users != 2 {
		t.Fatalf("users before alias = %d, want 2", got.Users)
	}

	alias(t, db, store.Alias{PreviousID: "anon-1", DistinctID: "alice", Timestamp: at(2, 10, 0, 0)})

	if got, want := aggregateAll(t, db, "view"), (store.Aggregate{Events: 3, Users: 1}); got != want {
		t.Errorf("aggregate after alias = %+v, want %+v", got, want)
	}
	// anon-1 got id 1 and alice id 2; the person keeps alice's id.
	if n := countRows(t, db, "SELECT count(*) FROM events WHERE user_id = 2"); n != 3 {
		t.Errorf("%d events have alice's user id 2, want 3", n)
	}
	if got, want := countRows(t, db, "SELECT first_seen FROM users WHERE id = 2"), at(1, 9, 0, 0).UnixMicro(); got != want {
		t.Errorf("alice's first_seen = %d, want anon-1's first event %d", got, want)
	}

	// Events sent under the old id later belong to the person too.
	insert(t, db, event("m4", "view", "anon-1", at(3, 10, 0, 0), nil))
	if n := countRows(t, db, "SELECT user_id FROM events WHERE message_id = 'm4'"); n != 2 {
		t.Errorf("new event of anon-1 has user id %d, want 2", n)
	}
	if got, want := aggregateAll(t, db, "view"), (store.Aggregate{Events: 4, Users: 1}); got != want {
		t.Errorf("aggregate after a new event = %+v, want %+v", got, want)
	}
	if n := countRows(t, db, "SELECT count(*) FROM users"); n != 2 {
		t.Errorf("users table has %d rows, want 2 (both ids are kept)", n)
	}
}

// When both ids already have events, even in the same period, the person of
// PreviousID is merged into the person of DistinctID and every period,
// past ones included, counts one user.
func testAliasBothActiveSameDay(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	insert(t, db,
		event("m1", "view", "phone-7", at(1, 9, 0, 0), nil),
		event("m2", "view", "bob", at(1, 11, 0, 0), nil),
		event("m3", "view", "phone-7", at(2, 9, 0, 0), nil),
		event("m4", "view", "bob", at(2, 11, 0, 0), nil),
		event("m5", "view", "carol", at(2, 12, 0, 0), nil),
	)
	days := []store.Interval{
		{Start: at(1, 0, 0, 0), End: at(2, 0, 0, 0)},
		{Start: at(2, 0, 0, 0), End: at(3, 0, 0, 0)},
	}
	daily := func() []store.Aggregate {
		t.Helper()
		got, err := db.Aggregate(ctx, store.AggregateQuery{Event: "view", Intervals: days})
		if err != nil {
			t.Fatalf("Aggregate: %v", err)
		}
		return got
	}
	if got := daily(); got[0].Users != 2 || got[1].Users != 3 {
		t.Fatalf("users per day before alias = %d, %d; want 2, 3", got[0].Users, got[1].Users)
	}

	alias(t, db, store.Alias{PreviousID: "phone-7", DistinctID: "bob", Timestamp: at(3, 0, 0, 0)})

	got := daily()
	if want := (store.Aggregate{Events: 2, Users: 1}); got[0] != want {
		t.Errorf("day 1 after alias = %+v, want %+v", got[0], want)
	}
	if want := (store.Aggregate{Events: 3, Users: 2}); got[1] != want {
		t.Errorf("day 2 after alias = %+v, want %+v (bob and carol)", got[1], want)
	}
	if n := countRows(t, db, "SELECT count(DISTINCT user_id) FROM events"); n != 2 {
		t.Errorf("events carry %d user ids, want 2", n)
	}
}

func testAliasSelfAndRepeat(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	insert(t, db,
		event("m1", "view", "anon-1", at(1, 9, 0, 0), nil),
		event("m2", "view", "alice", at(1, 10, 0, 0), nil),
	)

	alias(t, db, store.Alias{PreviousID: "alice", DistinctID: "alice", Timestamp: at(1, 11, 0, 0)})
	if got := aggregateAll(t, db, "view"); got.Users != 2 {
		t.Errorf("users after aliasing alice to herself = %d, want 2", got.Users)
	}
	if n := countRows(t, db, "SELECT count(*) FROM users"); n != 2 {
		t.Errorf("users table has %d rows after a self alias, want 2", n)
	}

	a := store.Alias{PreviousID: "anon-1", DistinctID: "alice", Timestamp: at(1, 11, 0, 0)}
	alias(t, db, a)
	alias(t, db, a, a)

	if got := aggregateAll(t, db, "view"); got.Users != 1 {
		t.Errorf("users after a repeated alias = %d, want 1", got.Users)
	}
	// Aliasing the other way round names ids of one person: nothing moves.
	alias(t, db, store.Alias{PreviousID: "alice", DistinctID: "anon-1", Timestamp: at(1, 12, 0, 0)})
	if n := countRows(t, db, "SELECT count(*) FROM events WHERE user_id = 2"); n != 2 {
		t.Errorf("%d events have alice's user id 2, want 2", n)
	}
	if n := countRows(t, db, "SELECT count(*) FROM users"); n != 2 {
		t.Errorf("users table has %d rows, want 2", n)
	}
}

// Merging a person that already absorbed another id moves every id and
// event of that person, and aliasing to an id that was merged reaches the
// person it was merged into.
func testAliasChains(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	insert(t, db,
		event("m1", "view", "a", at(1, 1, 0, 0), nil), // user 1
		event("m2", "view", "b", at(1, 2, 0, 0), nil), // user 2
		event("m3", "view", "c", at(1, 3, 0, 0), nil), // user 3
		event("m4", "view", "d", at(1, 4, 0, 0), nil), // user 4
	)

	alias(t, db, store.Alias{PreviousID: "a", DistinctID: "b", Timestamp: at(2, 0, 0, 0)})
	alias(t, db, store.Alias{PreviousID: "b", DistinctID: "c", Timestamp: at(2, 0, 0, 0)})

	if n := countRows(t, db, "SELECT count(*) FROM events WHERE user_id = 3"); n != 3 {
		t.Errorf("%d events have c's user id 3, want 3 (a, b, c)", n)
	}
	if n := countRows(t, db, "SELECT count(*) FROM users WHERE merged_into = 3"); n != 2 {
		t.Errorf("%d users are merged into c, want 2 (a, b)", n)
	}

	// d joins the person through a, which now names c's person.
	alias(t, db, store.Alias{PreviousID: "d", DistinctID: "a", Timestamp: at(2, 0, 0, 0)})

	if got, want := aggregateAll(t, db, "view"), (store.Aggregate{Events: 4, Users: 1}); got != want {
		t.Errorf("aggregate after the chain = %+v, want %+v", got, want)
	}
	if n := countRows(t, db, "SELECT count(*) FROM events WHERE user_id = 3"); n != 4 {
		t.Errorf("%d events have user id 3, want 4", n)
	}
	if got, want := countRows(t, db, "SELECT first_seen FROM users WHERE id = 3"), at(1, 1, 0, 0).UnixMicro(); got != want {
		t.Errorf("first_seen of the person = %d, want a's first event %d", got, want)
	}
}

func testAliasUnseenIDs(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)

	alias(t, db, store.Alias{PreviousID: "anon-9", DistinctID: "frank", Timestamp: at(4, 0, 0, 0)})

	if n := countRows(t, db, "SELECT count(*) FROM users"); n != 2 {
		t.Fatalf("users table has %d rows, want 2", n)
	}
	if got, want := countRows(t, db, "SELECT first_seen FROM users WHERE distinct_id = 'anon-9'"), at(4, 0, 0, 0).UnixMicro(); got != want {
		t.Errorf("first_seen = %d, want the alias timestamp %d", got, want)
	}

	insert(t, db,
		event("m1", "view", "anon-9", at(5, 0, 0, 0), nil),
		event("m2", "view", "frank", at(5, 1, 0, 0), nil),
	)
	if got, want := aggregateAll(t, db, "view"), (store.Aggregate{Events: 2, Users: 1}); got != want {
		t.Errorf("aggregate = %+v, want %+v", got, want)
	}
}

// The merged person keeps DistinctID's traits and gains the keys only
// PreviousID had; identify calls on either id then update the person.
func testAliasTraits(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	identify(t, db,
		store.Identify{DistinctID: "anon-1", Traits: map[string]any{"referrer": "ad", "plan": "free"}, Timestamp: at(1, 0, 0, 0)},
		store.Identify{DistinctID: "alice", Traits: map[string]any{"plan": "pro"}, Timestamp: at(2, 0, 0, 0)},
	)

	alias(t, db, store.Alias{PreviousID: "anon-1", DistinctID: "alice", Timestamp: at(2, 0, 0, 0)})
	assertJSON(t, "traits after alias", traitsOf(t, db, "alice"), map[string]any{"referrer": "ad", "plan": "pro"})

	identify(t, db, store.Identify{DistinctID: "anon-1", Traits: map[string]any{"color": "red"}, Timestamp: at(3, 0, 0, 0)})
	assertJSON(t, "traits after identify of the old id", traitsOf(t, db, "alice"),
		map[string]any{"referrer": "ad", "plan": "pro", "color": "red"})
}

func testAliasRejectsBatch(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		bad  store.Alias
		want string
	}{
		{"no previous id", store.Alias{DistinctID: "bob", Timestamp: at(1, 0, 0, 0)}, "no previous id"},
		{"no distinct id", store.Alias{PreviousID: "anon-2", Timestamp: at(1, 0, 0, 0)}, "no distinct_id"},
		{"no timestamp", store.Alias{PreviousID: "anon-2", DistinctID: "bob"}, "no timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			insert(t, db,
				event("m1", "view", "anon-1", at(1, 9, 0, 0), nil),
				event("m2", "view", "alice", at(1, 10, 0, 0), nil),
			)
			good := store.Alias{PreviousID: "anon-1", DistinctID: "alice", Timestamp: at(1, 11, 0, 0)}

			err := db.Alias(context.Background(), []store.Alias{good, tt.bad})

			if code := kpi.ErrorCode(err); code != kpi.EINVALID {
				t.Fatalf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if got := aggregateAll(t, db, "view"); got.Users != 2 {
				t.Errorf("users after a rejected batch = %d, want 2", got.Users)
			}
			if n := countRows(t, db, "SELECT count(*) FROM users"); n != 2 {
				t.Errorf("users table has %d rows after a rejected batch, want 2", n)
			}
		})
	}
}

// An alias that runs while batches for the aliased id are being stored
// leaves no event under the old user id, whichever commits first.
func testAliasDuringInserts(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	insert(t, db,
		event("first", "view", "anon-1", at(1, 0, 0, 0), nil), // user 1
		event("second", "view", "alice", at(1, 0, 0, 1), nil), // user 2
	)
	const batches, perBatch = 20, 10

	aliasNow := make(chan struct{})
	aliasErr := make(chan error, 1)
	go func() {
		<-aliasNow
		aliasErr <- db.Alias(ctx, []store.Alias{{PreviousID: "anon-1", DistinctID: "alice", Timestamp: at(1, 1, 0, 0)}})
	}()

	for b := range batches {
		if b == batches/2 {
			close(aliasNow)
		}
		var events []store.Event
		for i := range perBatch {
			events = append(events, event(fmt.Sprintf("b%d-%d", b, i), "view", "anon-1", at(2, b, i, 0), nil))
		}
		insert(t, db, events...)
	}
	if err := <-aliasErr; err != nil {
		t.Fatalf("Alias: %v", err)
	}

	if n := countRows(t, db, "SELECT count(*) FROM events WHERE user_id <> 2"); n != 0 {
		t.Errorf("%d events kept a user id other than alice's 2", n)
	}
	if got, want := aggregateAll(t, db, "view"), (store.Aggregate{Events: 2 + batches*perBatch, Users: 1}); got != want {
		t.Errorf("aggregate = %+v, want %+v", got, want)
	}
}
