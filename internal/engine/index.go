package engine

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// allEvents is the event name of the index entries that cover every event,
// for the metrics whose event is empty ("any event"). Stored events always
// have a name, so it cannot clash.
const allEvents = ""

// dayKey names one entry of the activity index: a calendar day in the
// workspace's time zone, counted from 1970-01-01, and an event name.
type dayKey struct {
	day   int32
	event string
}

// propertySum is the sum of a numeric property over events that have it as
// a JSON number, and the number of those events.
type propertySum struct {
	sum    float64
	values int64
}

// activitySlice is the record the index stores about a set of events: the
// dense ids of their users, their number and the sums of declared properties.
type activitySlice struct {
	users  *roaring.Bitmap
	events int64
	sums   map[string]propertySum
}

func newActivitySlice() *activitySlice {
	return &activitySlice{users: roaring.New(), sums: map[string]propertySum{}}
}

// dayEntry is the index entry of one (day, event): the slice of all its
// events, and one slice per value of each declared dimension. The value key
// "" holds the events whose dimension is missing or null, and the key
// objectKey those where it is an object or an array.
type dayEntry struct {
	activitySlice
	dimensions map[string]map[string]*activitySlice
}

func newDayEntry() *dayEntry {
	return &dayEntry{activitySlice: *newActivitySlice(), dimensions: map[string]map[string]*activitySlice{}}
}

// Declared lists the event properties the index keeps: numeric properties
// to sum, and dimensions to keep one slice per value of.
type Declared struct {
	Properties []string `json:"properties"`
	Dimensions []string `json:"dimensions"`
}

// DeclaredFor returns the properties and dimensions that defs use: the
// property of every sum and average, the property of every eq, neq and in
// filter, and the dimensions the KPI file lists for breakdowns. Range
// filters (gt, lt, ...) are left to the store.
func DeclaredFor(defs *kpi.Definitions) Declared {
	var d Declared
	for _, dim := range defs.Dimensions {
		if !slices.Contains(d.Dimensions, dim) {
			d.Dimensions = append(d.Dimensions, dim)
		}
	}
	add := func(m kpi.Metric) {
		if (m.Kind == kpi.Sum || m.Kind == kpi.Average) && m.Property != "" && !slices.Contains(d.Properties, m.Property) {
			d.Properties = append(d.Properties, m.Property)
		}
		for _, f := range m.Filters {
			if (f.Op == kpi.OpEq || f.Op == kpi.OpNeq || f.Op == kpi.OpIn) && !slices.Contains(d.Dimensions, f.Property) {
				d.Dimensions = append(d.Dimensions, f.Property)
			}
		}
	}
	for _, m := range defs.Metrics {
		add(m)
	}
	for _, k := range defs.KPIs {
		add(k.Metric)
	}
	slices.Sort(d.Properties)
	slices.Sort(d.Dimensions)
	return d
}

// missing returns the properties and dimensions that other keeps and d
// does not.
func (d Declared) missing(other Declared) (properties, dimensions []string) {
	for _, p := range other.Properties {
		if !slices.Contains(d.Properties, p) {
			properties = append(properties, p)
		}
	}
	for _, p := range other.Dimensions {
		if !slices.Contains(d.Dimensions, p) {
			dimensions = append(dimensions, p)
		}
	}
	return properties, dimensions
}

// objectKey is the value key of every object and array. Filters cannot
// select them, and a breakdown that meets one reads the store, which names
// the segment after the value's JSON text.
const objectKey = "j:"

// valueKey returns the key of a property value in a dimension's slices. Keys
// keep the JSON type, as the stores' filters do: the text "10" never equals
// the number 10. Numbers are spelled in their shortest form, so 10 and 10.0
// share a key. A missing or null value has the key "".
func valueKey(v any) string {
	switch v := v.(type) {
	case string:
		return "s:" + v
	case float64:
		return "n:" + strconv.FormatFloat(v, 'g', -1, 64)
	case int:
		return "n:" + strconv.FormatFloat(float64(v), 'g', -1, 64)
	case int64:
		return "n:" + strconv.FormatFloat(float64(v), 'g', -1, 64)
	case bool:
		return "b:" + strconv.FormatBool(v)
	case map[string]any, []any:
		return objectKey
	}
	return ""
}

// add records one event of user with properties props.
func (s *activitySlice) add(user uint32, props map[string]any, declared Declared) {
	s.users.Add(user)
	s.events++
	for _, p := range declared.Properties {
		if v, ok := props[p].(float64); ok {
			ps := s.sums[p]
			ps.sum += v
			ps.values++
			s.sums[p] = ps
		}
	}
}

// add records one event in the entry and in the slice of each dimension's value.
func (e *dayEntry) add(user uint32, props map[string]any, declared Declared) {
	e.activitySlice.add(user, props, declared)
	for _, dim := range declared.Dimensions {
		values := e.dimensions[dim]
		if values == nil {
			values = map[string]*activitySlice{}
			e.dimensions[dim] = values
		}
		key := valueKey(props[dim])
		s := values[key]
		if s == nil {
			s = newActivitySlice()
			values[key] = s
		}
		s.add(user, props, declared)
	}
}

// decodeProperties parses an event's JSON properties, with numbers as float64.
func decodeProperties(raw []byte) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var props map[string]any
	if err := json.Unmarshal(raw, &props); err != nil {
		return nil, fmt.Errorf("event properties are not a JSON object: %w", err)
	}
	return props, nil
}

// civilDayOf returns the number of t's calendar date in loc.
func civilDayOf(t time.Time, loc *time.Location) int32 {
	return int32(civilDay(t.In(loc)))
}

// dayStart returns the first instant of civil day d in loc.
func dayStart(d int32, loc *time.Location) time.Time {
	y, m, dd := time.Unix(int64(d)*86400, 0).UTC().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// The binary form of an entry: the slice of all events, then per dimension
// its name and the slices of its values. A slice is its bitmap in roaring's
// portable format, the event count, and per property its name, sum (IEEE 754
// bits) and count. Integers are unsigned varints, strings length-prefixed.

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (s *activitySlice) appendBinary(b []byte) ([]byte, error) {
	bits, err := s.users.ToBytes()
	if err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(b, uint64(len(bits)))
	b = append(b, bits...)
	b = binary.AppendUvarint(b, uint64(s.events))
	b = binary.AppendUvarint(b, uint64(len(s.sums)))
	for _, name := range sortedNames(s.sums) {
		ps := s.sums[name]
		b = appendString(b, name)
		b = binary.AppendUvarint(b, math.Float64bits(ps.sum))
		b = binary.AppendUvarint(b, uint64(ps.values))
	}
	return b, nil
}

func (e *dayEntry) marshal() ([]byte, error) {
	b, err := e.activitySlice.appendBinary(nil)
	if err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(b, uint64(len(e.dimensions)))
	for _, dim := range sortedNames(e.dimensions) {
		values := e.dimensions[dim]
		b = appendString(b, dim)
		b = binary.AppendUvarint(b, uint64(len(values)))
		for _, key := range sortedNames(values) {
			b = appendString(b, key)
			if b, err = values[key].appendBinary(b); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// entryReader decodes the binary form of an entry; the first error sticks.
type entryReader struct {
	b   []byte
	err error
}

func (r *entryReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("truncated activity index record")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *entryReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = fmt.Errorf("truncated activity index record")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *entryReader) slice() *activitySlice {
	s := newActivitySlice()
	bits := r.bytes()
	if r.err != nil {
		return s
	}
	if _, err := s.users.FromUnsafeBytes(bits); err != nil {
		r.err = fmt.Errorf("activity index bitmap: %w", err)
		return s
	}
	s.users = s.users.Clone() // own the memory, so the record's buffer can go
	s.events = int64(r.uvarint())
	for n := r.uvarint(); n > 0 && r.err == nil; n-- {
		name := string(r.bytes())
		sum := math.Float64frombits(r.uvarint())
		s.sums[name] = propertySum{sum: sum, values: int64(r.uvarint())}
	}
	return s
}

func unmarshalEntry(b []byte) (*dayEntry, error) {
	r := &entryReader{b: b}
	e := &dayEntry{activitySlice: *r.slice(), dimensions: map[string]map[string]*activitySlice{}}
	for n := r.uvarint(); n > 0 && r.err == nil; n-- {
		dim := string(r.bytes())
		values := map[string]*activitySlice{}
		for m := r.uvarint(); m > 0 && r.err == nil; m-- {
			key := string(r.bytes())
			values[key] = r.slice()
		}
		e.dimensions[dim] = values
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("activity index record has %d trailing bytes", len(r.b))
	}
	return e, r.err
}
