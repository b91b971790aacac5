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
	Source     string         // the event's origin: "csv", a write key's source name, ...
	MessageID  string         // unique per Source; a repeated (Source, MessageID) is a duplicate
	ReceivedAt time.Time
}

// InsertResult counts what one InsertEvents call did.
type InsertResult struct {
	Inserted   int
	Duplicates int // events whose (Source, MessageID) was already stored
}

// InsertedEvent is an event that an insert stored, with the id and the
// dense user id it was stored under.
type InsertedEvent struct {
	ID     int64
	UserID int64
	Event  *Event
}

// Interval is the half-open time span [Start, End).
type Interval struct {
	Start time.Time
	End   time.Time
}

// AggregateQuery is a request for the aggregates of one event, filtered, over each of
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

// Identify records traits of a user, from a Segment identify call or a
// PostHog $identify or $set. Traits are merged into the stored ones, key by
// key, the newer value winning.
type Identify struct {
	DistinctID string
	Traits     map[string]any
	Timestamp  time.Time
}

// Alias merges two ids of one person, from a Segment alias call or a PostHog
// $create_alias or $identify with an anonymous id: PreviousID (often an
// anonymous id) becomes another name of DistinctID. After it, both ids map to
// one dense user id, and events stored under either count as one user.
type Alias struct {
	PreviousID string
	DistinctID string
	Timestamp  time.Time
}

// Measurement is one value of a series that does not come from events, such
// as the ad spend of a day.
type Measurement struct {
	Series     string
	Timestamp  time.Time
	Value      float64
	Dimensions map[string]string
	Source     string
	MessageID  string // unique per Source, like an event's
}

// WriteKey is a credential that lets one source send events and nothing
// else. Only a hash of the secret is stored; the secret is shown once.
type WriteKey struct {
	ID          int64
	WorkspaceID int64
	Name        string // the source name stored on the events sent with the key
	Prefix      string // the first characters of the secret, to recognise it in lists
	CreatedAt   time.Time
	RevokedAt   *time.Time
}

// ScanQuery selects events to stream in time order, for the metrics that
// follow each user's activity (retention, funnels, churn, rolling windows).
type ScanQuery struct {
	Events   []string // event names; every event when empty
	Filters  []kpi.Filter
	From     time.Time // inclusive; the zero time means from the first event
	To       time.Time // exclusive; the zero time means through the last event
	Property string    // a numeric property to return as EventRow.Value
	Keys     []string  // properties to return as text in EventRow.Keys

	// AfterID keeps the events whose id is greater, when positive. Event ids
	// grow in insertion order, so a reader that remembers the largest id it
	// has seen can read only the events stored since.
	AfterID int64

	// Properties requests every event's properties as a JSON object in
	// EventRow.Properties.
	Properties bool
}

// EventRow is one event of a scan.
type EventRow struct {
	Event     string
	UserID    int64 // the dense user id, the same for every alias of a person
	Timestamp time.Time
	Value     float64 // ScanQuery.Property, when HasValue
	HasValue  bool
	Keys      []string // the text of each ScanQuery.Keys property; "" when missing

	ID         int64  // the event's id, growing in insertion order
	Properties []byte // the properties as a JSON object, when ScanQuery.Properties is set
}

// IndexBlob is one record of a persisted activity index: an opaque value
// under a key. The store keeps the bytes and never reads them.
type IndexBlob struct {
	Key  string
	Data []byte
}

// IndexSave replaces records of the persisted activity index in one
// transaction. Meta is the index's description (its time zone, declared
// properties and last event id). The save fails with a kpi.ECONFLICT error
// when the stored meta is not Expect (nil meaning none is stored), so that
// two processes never mix their records.
type IndexSave struct {
	Reset  bool // delete every stored record first
	Expect []byte
	Meta   []byte
	Blobs  []IndexBlob // a blob with nil Data deletes its key
}

// MeasurementQuery is a request for the aggregates of one measurement series over
// each of several intervals, keeping the values whose dimensions pass Filters.
type MeasurementQuery struct {
	Series    string
	Filters   []kpi.Filter
	Intervals []Interval
}

// MeasurementAggregate holds the aggregates of one interval of a
// MeasurementQuery.
type MeasurementAggregate struct {
	Sum    float64
	Count  int64
	Last   float64 // the value with the latest timestamp, when Count > 0
	LastAt time.Time
}
