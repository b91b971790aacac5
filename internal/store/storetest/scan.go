package storetest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

var scanTests = []test{
	{"order filters and keys", testScanEventsOrderFiltersKeys},
	{"ties in batch order", testScanEventsTies},
	{"key spelling", testScanEventsKeySpelling},
	{"stops on error", testScanEventsStopsOnError},
	{"event names", testEventNames},
}

var measurementQueryTests = []test{
	{"intervals and filters", testAggregateMeasurements},
	{"rejects order filter", testAggregateMeasurementsOrderFilter},
}

func scanAll(t *testing.T, s Store, q store.ScanQuery) []store.EventRow {
	t.Helper()
	var rows []store.EventRow
	err := s.ScanEvents(context.Background(), q, func(r store.EventRow) error {
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanEvents: %v", err)
	}
	return rows
}

func testScanEventsOrderFiltersKeys(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	insert(t, db,
		event("s1", "order", "b", at(1, 3, 0, 0), map[string]any{"amount": 20, "plan": "pro"}),
		event("s2", "order", "a", at(1, 1, 0, 0), map[string]any{"amount": 10.5, "plan": "free"}),
		event("s3", "signup", "a", at(1, 0, 0, 0), nil),
		event("s4", "order", "a", at(1, 5, 0, 0), map[string]any{"plan": "pro", "amount": "12"}),
		event("s5", "order", "c", at(1, 9, 0, 0), map[string]any{"amount": 99, "plan": "pro"}),
		event("s6", "order", "d", at(1, 4, 0, 0), map[string]any{"amount": 7, "plan": "team"}),
	)

	rows := scanAll(t, db, store.ScanQuery{
		Events:   []string{"order"},
		Filters:  []kpi.Filter{{Property: "plan", Op: kpi.OpIn, Values: []any{"pro", "free"}}},
		From:     at(1, 1, 0, 0),
		To:       at(1, 9, 0, 0),
		Property: "amount",
		Keys:     []string{"plan", "missing"},
	})

	// Orders at 01:00 (a, 10.5, free), 03:00 (b, 20, pro) and 05:00 (a,
	// "12" is text, pro). The signup is another event, d's plan is team,
	// and c's order at 09:00 is at the exclusive end.
	want := []struct {
		hour     int
		value    float64
		hasValue bool
		plan     string
	}{{1, 10.5, true, "free"}, {3, 20, true, "pro"}, {5, 0, false, "pro"}}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Event != "order" || !r.Timestamp.Equal(at(1, w.hour, 0, 0)) || r.Value != w.value || r.HasValue != w.hasValue {
			t.Errorf("row %d = %+v, want order at %02d:00 with value %v (%v)", i, r, w.hour, w.value, w.hasValue)
		}
		if !reflect.DeepEqual(r.Keys, []string{w.plan, ""}) {
			t.Errorf("row %d keys = %q, want [%q \"\"]", i, r.Keys, w.plan)
		}
	}
	// b comes first in the batch (s1), so b has user id 1 and a user id 2.
	if rows[0].UserID != 2 || rows[1].UserID != 1 || rows[2].UserID != 2 {
		t.Errorf("user ids %d, %d, %d; want 2, 1, 2", rows[0].UserID, rows[1].UserID, rows[2].UserID)
	}

	// Without events, bounds or filters the scan returns every event.
	if n := len(scanAll(t, db, store.ScanQuery{})); n != 6 {
		t.Errorf("an open scan returned %d events, want 6", n)
	}
}

// Events at the same time come back in the order they were stored, and an
// alias shows in the user ids of the scan.
func testScanEventsTies(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ts := at(2, 8, 0, 0)
	insert(t, db,
		event("m10", "signup", "anon-1", ts, nil),
		event("m9", "checkout", "anon-1", ts, nil),
		event("m1", "purchase", "alice", ts, nil),
	)
	alias(t, db, store.Alias{PreviousID: "anon-1", DistinctID: "alice", Timestamp: ts})

	rows := scanAll(t, db, store.ScanQuery{})

	var names []string
	for _, r := range rows {
		names = append(names, r.Event)
	}
	if got := strings.Join(names, ","); got != "signup,checkout,purchase" {
		t.Errorf("scan order = %s, want signup,checkout,purchase", got)
	}
	// anon-1 got id 1 and alice id 2; after the alias all three are alice's.
	for i, r := range rows {
		if r.UserID != 2 {
			t.Errorf("row %d (%s) has user id %d, want 2", i, r.Event, r.UserID)
		}
	}
}

func testScanEventsKeySpelling(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	insert(t, db,
		event("k1", "flag", "c", at(1, 0, 0, 0), map[string]any{"paid": true, "n": 3, "tier": "gold"}),
		event("k2", "flag", "c", at(1, 1, 0, 0), map[string]any{"paid": false, "n": 2.5, "tier": nil}),
	)

	var got []string
	for _, r := range scanAll(t, db, store.ScanQuery{Events: []string{"flag"}, Keys: []string{"paid", "n", "tier"}}) {
		got = append(got, strings.Join(r.Keys, "/"))
	}

	if want := "true/3/gold,false/2.5/"; strings.Join(got, ",") != want {
		t.Errorf("keys = %v, want %s", got, want)
	}
}

func testScanEventsStopsOnError(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	insert(t, db,
		event("e1", "view", "u", at(1, 0, 0, 0), nil),
		event("e2", "view", "u", at(1, 1, 0, 0), nil),
		event("e3", "view", "u", at(1, 2, 0, 0), nil),
	)
	stop := errors.New("enough")

	calls := 0
	err := db.ScanEvents(context.Background(), store.ScanQuery{}, func(store.EventRow) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})

	if !errors.Is(err, stop) {
		t.Errorf("ScanEvents returned %v, want the error of fn", err)
	}
	if calls != 2 {
		t.Errorf("fn ran %d times, want 2", calls)
	}
	// The store still works after a scan stopped early.
	if err := db.Ping(context.Background()); err != nil {
		t.Errorf("Ping after a stopped scan: %v", err)
	}
}

// Names sort by their bytes: upper case before '_' before lower case.
func testEventNames(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	names, err := db.EventNames(context.Background())
	if err != nil {
		t.Fatalf("EventNames on an empty store: %v", err)
	}
	if len(names) != 0 {
		t.Errorf("EventNames on an empty store = %q, want none", names)
	}

	insert(t, db,
		event("n1", "b", "u", at(1, 0, 0, 0), nil),
		event("n2", "B", "u", at(1, 0, 0, 0), nil),
		event("n3", "a", "u", at(1, 0, 0, 0), nil),
		event("n4", "_x", "u", at(1, 0, 0, 0), nil),
		event("n5", "b", "u", at(1, 1, 0, 0), nil),
	)

	names, err = db.EventNames(context.Background())
	if err != nil {
		t.Fatalf("EventNames: %v", err)
	}
	if want := []string{"B", "_x", "a", "b"}; !reflect.DeepEqual(names, want) {
		t.Errorf("EventNames = %q, want %q", names, want)
	}
}

// spend returns one ad_spend measurement of a channel in region "1".
func spend(msgID string, ts time.Time, value float64, channel string) store.Measurement {
	m := measurement(msgID, "ad_spend", ts, value)
	if channel != "" {
		m.Dimensions = map[string]string{"channel": channel, "region": "1"}
	}
	return m
}

func testAggregateMeasurements(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	insertMeasurements(t, db,
		spend("1", at(1, 0, 0, 0), 100, "search"),
		spend("2", at(1, 0, 0, 0), 40, "social"),
		spend("3", at(2, 0, 0, 0), 120, "search"),
		spend("4", at(2, 12, 0, 0), 15.5, ""),    // no dimensions
		spend("5", at(3, 0, 0, 0), 80, "search"), // stored before 6, at the same time,
		spend("6", at(3, 0, 0, 0), 70, "social"), // so 6 is the latest value of March 3
		measurement("h1", "headcount", at(2, 0, 0, 0), 12),
	)

	days := []store.Interval{
		{Start: at(1, 0, 0, 0), End: at(2, 0, 0, 0)},
		{Start: at(2, 0, 0, 0), End: at(3, 0, 0, 0)},
		{Start: at(3, 0, 0, 0), End: at(4, 0, 0, 0)},
		{Start: at(4, 0, 0, 0), End: at(5, 0, 0, 0)},
		{Start: at(1, 0, 0, 0), End: at(4, 0, 0, 0)},
	}
	tests := []struct {
		name    string
		filters []kpi.Filter
		want    []store.MeasurementAggregate
	}{
		{"all", nil, []store.MeasurementAggregate{
			{Sum: 140, Count: 2, Last: 40, LastAt: at(1, 0, 0, 0)},
			{Sum: 135.5, Count: 2, Last: 15.5, LastAt: at(2, 12, 0, 0)},
			{Sum: 150, Count: 2, Last: 70, LastAt: at(3, 0, 0, 0)},
			{},
			{Sum: 425.5, Count: 6, Last: 70, LastAt: at(3, 0, 0, 0)},
		}},
		{"eq", []kpi.Filter{{Property: "channel", Op: kpi.OpEq, Value: "search"}}, []store.MeasurementAggregate{
			{Sum: 100, Count: 1, Last: 100, LastAt: at(1, 0, 0, 0)},
			{Sum: 120, Count: 1, Last: 120, LastAt: at(2, 0, 0, 0)},
			{Sum: 80, Count: 1, Last: 80, LastAt: at(3, 0, 0, 0)},
			{},
			{Sum: 300, Count: 3, Last: 80, LastAt: at(3, 0, 0, 0)},
		}},
		{"neq keeps missing dimensions", []kpi.Filter{{Property: "channel", Op: kpi.OpNeq, Value: "search"}}, []store.MeasurementAggregate{
			{Sum: 40, Count: 1, Last: 40, LastAt: at(1, 0, 0, 0)},
			{Sum: 15.5, Count: 1, Last: 15.5, LastAt: at(2, 12, 0, 0)},
			{Sum: 70, Count: 1, Last: 70, LastAt: at(3, 0, 0, 0)},
			{},
			{Sum: 125.5, Count: 3, Last: 70, LastAt: at(3, 0, 0, 0)},
		}},
		{"in with a number as text", []kpi.Filter{
			{Property: "channel", Op: kpi.OpIn, Values: []any{"social", "display"}},
			{Property: "region", Op: kpi.OpEq, Value: 1.0},
		}, []store.MeasurementAggregate{
			{Sum: 40, Count: 1, Last: 40, LastAt: at(1, 0, 0, 0)},
			{},
			{Sum: 70, Count: 1, Last: 70, LastAt: at(3, 0, 0, 0)},
			{},
			{Sum: 110, Count: 2, Last: 70, LastAt: at(3, 0, 0, 0)},
		}},
		{"in empty list", []kpi.Filter{{Property: "channel", Op: kpi.OpIn}}, make([]store.MeasurementAggregate, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.AggregateMeasurements(ctx, store.MeasurementQuery{Series: "ad_spend", Filters: tt.filters, Intervals: days})
			if err != nil {
				t.Fatalf("AggregateMeasurements: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d aggregates, want %d", len(got), len(tt.want))
			}
			for i, want := range tt.want {
				g := got[i]
				if g.Sum != want.Sum || g.Count != want.Count || g.Last != want.Last || (want.Count > 0 && !g.LastAt.Equal(want.LastAt)) {
					t.Errorf("interval %d = sum %g, count %d, last %g at %s; want sum %g, count %d, last %g at %s",
						i, g.Sum, g.Count, g.Last, g.LastAt.Format(time.RFC3339), want.Sum, want.Count, want.Last, want.LastAt.Format(time.RFC3339))
				}
			}
		})
	}
}

func testAggregateMeasurementsOrderFilter(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)

	_, err := db.AggregateMeasurements(context.Background(), store.MeasurementQuery{
		Series:    "ad_spend",
		Filters:   []kpi.Filter{{Property: "region", Op: kpi.OpGt, Value: 1.0}},
		Intervals: []store.Interval{{Start: at(1, 0, 0, 0), End: at(2, 0, 0, 0)}},
	})

	if code := kpi.ErrorCode(err); code != kpi.EINVALID {
		t.Errorf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
	}
	if err != nil && !strings.Contains(err.Error(), "dimensions are text") {
		t.Errorf("error %q does not say that dimensions are text", err)
	}
}
