// Package store declares the records and queries shared by the storage
// implementations (store/sqlite now; PostgreSQL and ClickHouse later). Callers
// declare the small interfaces they need; implementations satisfy them.
package store

import (
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Event is one thing a user did.
type Event struct {
	Name       string
	DistinctID string
	Timestamp  time.Time      // stored in UTC
	Properties map[string]any // JSON-compatible values
	Source     string         // where the event came from: "csv", a write key's source name, ...
	MessageID  string         // unique per Source; a repeated (Source, MessageID) is a duplicate
	ReceivedAt time.Time
}

// InsertResult counts what one InsertEvents call did.
type InsertResult struct {
	Inserted   int
	Duplicates int // events whose (Source, MessageID) was already stored
}

// Interval is the half-open time span [Start, End).
type Interval struct {
	Start time.Time
	End   time.Time
}

// AggregateQuery asks for the aggregates of one event, filtered, over each of
// several intervals. Property names the numeric property to sum; it may be empty.
type AggregateQuery struct {
	Event     string
	Property  string
	Filters   []kpi.Filter
	Intervals []Interval
}

// Aggregate holds the aggregates of one interval of an AggregateQuery.
type Aggregate struct {
	Events int64   // number of matching events
	Users  int64   // distinct users among them
	Sum    float64 // sum of the numeric property
	Values int64   // events on which the property is a number
}

// Span is the time range covered by stored events.
type Span struct {
	First time.Time
	Last  time.Time
	Empty bool
}
