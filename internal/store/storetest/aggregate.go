package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

var aggregateTests = []test{
	{"intervals", testAggregateIntervals},
	{"without property", testAggregateWithoutProperty},
	{"unknown event", testAggregateUnknownEvent},
	{"filters", testAggregateFilters},
	{"filtered sum", testAggregateFilteredSum},
	{"unknown operator", testAggregateUnknownOperator},
	{"many intervals", testAggregateManyIntervals},
	{"property types", testAggregatePropertyTypes},
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
func aggregateFixture(t *testing.T, open func(t *testing.T) Store) Store {
	db := open(t)
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

func testAggregateIntervals(t *testing.T, open func(t *testing.T) Store) {
	db := aggregateFixture(t, open)
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

func testAggregateWithoutProperty(t *testing.T, open func(t *testing.T) Store) {
	db := aggregateFixture(t, open)

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

func testAggregateUnknownEvent(t *testing.T, open func(t *testing.T) Store) {
	db := aggregateFixture(t, open)

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

func testAggregateFilters(t *testing.T, open func(t *testing.T) Store) {
	db := aggregateFixture(t, open)
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

func testAggregateFilteredSum(t *testing.T, open func(t *testing.T) Store) {
	db := aggregateFixture(t, open)
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

func testAggregateUnknownOperator(t *testing.T, open func(t *testing.T) Store) {
	db := aggregateFixture(t, open)

	_, err := db.Aggregate(context.Background(), store.AggregateQuery{
		Event:     "order",
		Filters:   []kpi.Filter{{Property: "items", Op: "between", Value: 1.0}},
		Intervals: []store.Interval{{Start: at(1, 0, 0, 0), End: at(9, 0, 0, 0)}},
	})

	if code := kpi.ErrorCode(err); code != kpi.EINVALID {
		t.Errorf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
	}
}

// A query over more intervals than SQLite takes in one statement (the SQLite
// store splits at 5000) returns every result in order.
func testAggregateManyIntervals(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	start := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	const n = 6200

	// One event in the first hour, around hour 5000, and in the last hour.
	marked := []int{0, 4999, 5000, n - 1}
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

// Property values of every JSON type compare and sum by their type: only
// numbers are summed and ordered, the text "7" never equals the number 7,
// true never equals 1, and large, negative and fractional numbers keep their
// value.
//
//	p1 v 3            w "a"
//	p2 v -1.25        w "b"
//	p3 v "7"          w 1
//	p4 v true         w true
//	p5 v null         w null
//	p6 v [1, 2]       w {"x": 1}
//	p7 v 1000000000000000 (10^15)
//	p8 (no v)         w "a"
func testAggregatePropertyTypes(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	insert(t, db,
		event("p1", "pay", "u1", at(1, 1, 0, 0), map[string]any{"v": 3, "w": "a"}),
		event("p2", "pay", "u2", at(1, 2, 0, 0), map[string]any{"v": -1.25, "w": "b"}),
		event("p3", "pay", "u3", at(1, 3, 0, 0), map[string]any{"v": "7", "w": 1}),
		event("p4", "pay", "u4", at(1, 4, 0, 0), map[string]any{"v": true, "w": true}),
		event("p5", "pay", "u5", at(1, 5, 0, 0), map[string]any{"v": nil, "w": nil}),
		event("p6", "pay", "u6", at(1, 6, 0, 0), map[string]any{"v": []any{1, 2}, "w": map[string]any{"x": 1}}),
		event("p7", "pay", "u7", at(1, 7, 0, 0), map[string]any{"v": int64(1000000000000000)}),
		event("p8", "pay", "u8", at(1, 8, 0, 0), map[string]any{"w": "a"}),
	)
	day := []store.Interval{{Start: at(1, 0, 0, 0), End: at(2, 0, 0, 0)}}

	got, err := db.Aggregate(ctx, store.AggregateQuery{Event: "pay", Property: "v", Intervals: day})
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	// 3 - 1.25 + 10^15 is exact in float64 (its spacing near 10^15 is 0.125).
	if want := (store.Aggregate{Events: 8, Users: 8, Sum: 1000000000000001.75, Values: 3}); got[0] != want {
		t.Errorf("sum of v = %+v, want %+v", got[0], want)
	}

	tests := []struct {
		name   string
		filter kpi.Filter
		want   int64
	}{
		{"eq negative", kpi.Filter{Property: "v", Op: kpi.OpEq, Value: -1.25}, 1},                  // p2
		{"eq number is not text", kpi.Filter{Property: "v", Op: kpi.OpEq, Value: 7.0}, 0},          // p3 is "7"
		{"eq text is not number", kpi.Filter{Property: "w", Op: kpi.OpEq, Value: "1"}, 0},          // p3 is 1
		{"eq number", kpi.Filter{Property: "w", Op: kpi.OpEq, Value: 1.0}, 1},                      // p3
		{"eq true is not 1", kpi.Filter{Property: "w", Op: kpi.OpEq, Value: true}, 1},              // p4 only
		{"neq text", kpi.Filter{Property: "w", Op: kpi.OpNeq, Value: "a"}, 6},                      // all but p1 p8
		{"in mixed types", kpi.Filter{Property: "w", Op: kpi.OpIn, Values: []any{"b", 1.0}}, 2},    // p2 p3
		{"lt negative", kpi.Filter{Property: "v", Op: kpi.OpLt, Value: 0.0}, 1},                    // p2
		{"gte ignores text and bool", kpi.Filter{Property: "v", Op: kpi.OpGte, Value: 1.0}, 2},     // p1 p7
		{"gt large integer", kpi.Filter{Property: "v", Op: kpi.OpGt, Value: 999999999999999.0}, 1}, // p7
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Aggregate(ctx, store.AggregateQuery{Event: "pay", Filters: []kpi.Filter{tt.filter}, Intervals: day})
			if err != nil {
				t.Fatalf("Aggregate: %v", err)
			}
			if got[0].Events != tt.want {
				t.Errorf("events = %d, want %d", got[0].Events, tt.want)
			}
		})
	}
}
