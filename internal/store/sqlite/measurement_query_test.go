package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// spend returns one ad_spend measurement of a channel.
func spend(msgID string, ts time.Time, value float64, channel string) store.Measurement {
	m := store.Measurement{Series: "ad_spend", Timestamp: ts, Value: value, Source: "test", MessageID: msgID}
	if channel != "" {
		m.Dimensions = map[string]string{"channel": channel, "region": "1"}
	}
	return m
}

func TestAggregateMeasurements(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	_, err := db.InsertMeasurements(ctx, []store.Measurement{
		spend("1", at(1, 0, 0, 0), 100, "search"),
		spend("2", at(1, 0, 0, 0), 40, "social"),
		spend("3", at(2, 0, 0, 0), 120, "search"),
		spend("4", at(2, 12, 0, 0), 15.5, ""),    // no dimensions
		spend("5", at(3, 0, 0, 0), 80, "search"), // stored before 6, same time
		spend("6", at(3, 0, 0, 0), 70, "social"), // so the latest value of March 3
		{Series: "headcount", Timestamp: at(2, 0, 0, 0), Value: 12, Source: "test", MessageID: "h1"},
	})
	if err != nil {
		t.Fatal(err)
	}

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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.AggregateMeasurements(ctx, store.MeasurementQuery{Series: "ad_spend", Filters: tt.filters, Intervals: days})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d aggregates, want %d", len(got), len(tt.want))
			}
			for i, want := range tt.want {
				g := got[i]
				if g.Sum != want.Sum || g.Count != want.Count || g.Last != want.Last || !g.LastAt.Equal(want.LastAt) {
					t.Errorf("interval %d = %s, want %s", i, describeAggregate(g), describeAggregate(want))
				}
			}
		})
	}
}

func describeAggregate(a store.MeasurementAggregate) string {
	return fmt.Sprintf("sum %g, count %d, last %g at %s", a.Sum, a.Count, a.Last, a.LastAt.Format(time.RFC3339))
}

func TestAggregateMeasurementsRejectsOrderFilter(t *testing.T) {
	db := openTestDB(t)

	_, err := db.AggregateMeasurements(context.Background(), store.MeasurementQuery{
		Series:    "ad_spend",
		Filters:   []kpi.Filter{{Property: "region", Op: kpi.OpGt, Value: 1.0}},
		Intervals: []store.Interval{{Start: at(1, 0, 0, 0), End: at(2, 0, 0, 0)}},
	})

	if kpi.ErrorCode(err) != kpi.EINVALID || !strings.Contains(err.Error(), "dimensions are text") {
		t.Errorf("error = %v, want an invalid-filter error saying dimensions are text", err)
	}
}
