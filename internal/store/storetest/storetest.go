// Package storetest is the test suite every Northstar store passes: the
// same events, calls and hand-computed expectations run against SQLite and
// PostgreSQL, so both stores keep one meaning.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// Store is every method of a Northstar store.
type Store interface {
	InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error)
	Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.Aggregate, error)
	EventSpan(ctx context.Context) (store.Span, error)
	EventNames(ctx context.Context) ([]string, error)
	ScanEvents(ctx context.Context, q store.ScanQuery, fn func(store.EventRow) error) error
	AggregateMeasurements(ctx context.Context, q store.MeasurementQuery) ([]store.MeasurementAggregate, error)

	Identify(ctx context.Context, calls []store.Identify) error
	Alias(ctx context.Context, calls []store.Alias) error
	InsertMeasurements(ctx context.Context, measurements []store.Measurement) (store.InsertResult, error)

	CreateWriteKey(ctx context.Context, name string) (store.WriteKey, string, error)
	ListWriteKeys(ctx context.Context) ([]store.WriteKey, error)
	RevokeWriteKey(ctx context.Context, name string) error
	AuthenticateWriteKey(ctx context.Context, secret string) (store.WriteKey, error)

	AddTargetRevision(ctx context.Context, r kpi.TargetRevision) (kpi.TargetRevision, error)
	AddReview(ctx context.Context, r kpi.Review) (kpi.Review, error)
	SetReviewCadence(ctx context.Context, id string, c kpi.Cadence, at time.Time) error
	KPIHistory(ctx context.Context, id string) (kpi.History, error)
	DashboardStore

	Ping(ctx context.Context) error
	Close() error
}

// Inspector runs one plain SQL query and scans its single row into dest, so
// the suite can check what a method stored without trusting the methods
// under test. The suite's queries take no parameters and use only SQL that
// SQLite and PostgreSQL both accept. A backend's test file implements it on
// a wrapper of its store; the suite fails when the store lacks it.
type Inspector interface {
	QueryRow(ctx context.Context, query string, dest ...any) error
}

// Run runs the suite. open returns a fresh, empty, migrated store that also
// implements Inspector, and closes it when the test ends.
func Run(t *testing.T, open func(t *testing.T) Store) {
	suites := []struct {
		name  string
		tests []test
	}{
		{"InsertEvents", eventTests},
		{"Aggregate", aggregateTests},
		{"ScanEvents", scanTests},
		{"AggregateMeasurements", measurementQueryTests},
		{"Identify", identifyTests},
		{"Alias", aliasTests},
		{"InsertMeasurements", measurementTests},
		{"WriteKeys", writeKeyTests},
		{"KPIMeta", kpiMetaTests},
		{"TargetsAndReviews", targetTests},
		{"Dashboards", dashboardTests},
		{"Alerts", alertTests},
		{"Workspaces", workspaceTests},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			for _, tt := range s.tests {
				t.Run(tt.name, func(t *testing.T) { tt.run(t, open) })
			}
		})
	}
}

// test is one case of the suite.
type test struct {
	name string
	run  func(t *testing.T, open func(t *testing.T) Store)
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

func insert(t *testing.T, s Store, events ...store.Event) store.InsertResult {
	t.Helper()
	res, err := s.InsertEvents(context.Background(), events)
	if err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
	return res
}

// queryRow runs query on the store's database through its Inspector.
func queryRow(t *testing.T, s Store, query string, dest ...any) {
	t.Helper()
	in, ok := s.(Inspector)
	if !ok {
		t.Fatalf("store %T does not implement storetest.Inspector", s)
	}
	if err := in.QueryRow(context.Background(), query, dest...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// countRows returns the integer that query selects.
func countRows(t *testing.T, s Store, query string) int64 {
	t.Helper()
	var n int64
	queryRow(t, s, query, &n)
	return n
}

// aggregateAll returns the aggregate of event over March 2026.
func aggregateAll(t *testing.T, s Store, event string) store.Aggregate {
	t.Helper()
	got, err := s.Aggregate(context.Background(), store.AggregateQuery{
		Event:     event,
		Intervals: []store.Interval{{Start: at(1, 0, 0, 0), End: at(31, 0, 0, 0)}},
	})
	if err != nil {
		t.Fatalf("Aggregate %q: %v", event, err)
	}
	return got[0]
}
