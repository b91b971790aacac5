package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// DecodeNativeEvents decodes the body of Northstar's own event endpoint: a
// JSON array of events or a single event, or with ndjson one event per line.
// An event is {"event", "distinct_id", "timestamp", "properties",
// "message_id"}. "event" and "distinct_id" are required. A missing timestamp
// is the time the request was received, and a missing message_id is derived
// from the event's content.
//
// DecodeNativeEvents returns a kpi.EINVALID error for a body of another shape
// and a kpi.ETOOLARGE error for a body or batch over the limits. Every other
// problem, a malformed NDJSON line included, rejects only its item.
func DecodeNativeEvents(body []byte, ndjson bool, opts DecodeOptions) (*Batch, error) {
	return decodeNative(body, ndjson, opts, nativeEvent, true)
}

// DecodeNativeMeasurements decodes the body of Northstar's measurement
// endpoint, shaped like that of DecodeNativeEvents. A measurement is
// {"series", "timestamp", "value", "dimensions", "message_id"}. "series" and
// a finite number "value" are required. Dimensions are strings; numbers and
// booleans in them are kept in their JSON form.
func DecodeNativeMeasurements(body []byte, ndjson bool, opts DecodeOptions) (*Batch, error) {
	return decodeNative(body, ndjson, opts, nativeMeasurement, false)
}

// nativeItem is one item of a native request.
type nativeItem struct {
	raw  []byte
	line int // line in an NDJSON body, or 0
}

// nativeDecodeFunc adds the record of one item to b, or rejects it.
type nativeDecodeFunc func(b *Batch, index int, f *fields, opts DecodeOptions)

// decodeNative decodes the items of body with decode. With fastEvents, the
// items are events, and those that fastNativeEvent can decode skip decode.
func decodeNative(body []byte, ndjson bool, opts DecodeOptions, decode nativeDecodeFunc, fastEvents bool) (*Batch, error) {
	opts.Limits = opts.Limits.WithDefaults()
	opts.ReceivedAt = opts.ReceivedAt.UTC()
	if err := checkBody(body, opts.Limits); err != nil {
		return nil, err
	}

	var items []nativeItem
	var err error
	if ndjson {
		items = splitNDJSON(body)
	} else {
		items, err = jsonItems(body)
	}
	if err != nil {
		return nil, err
	}
	if err := checkBatchLength(len(items), opts.Limits); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, kpi.Errorf(kpi.EINVALID, "the request has no items")
	}

	b := &Batch{Items: len(items)}
	var parser fastjson.Parser
	if fastEvents {
		b.Events = make([]store.Event, 0, len(items))
	}
	for i, item := range items {
		tooLarge := itemTooLarge(item.raw, opts.Limits)
		if fastEvents && tooLarge == "" {
			if e, ok := fastNativeEvent(&parser, item.raw, opts); ok {
				b.Events = append(b.Events, e)
				continue
			}
		}

		where := ""
		if item.line > 0 {
			where = fmt.Sprintf("line %d: ", item.line)
		}
		if tooLarge != "" {
			b.reject(i, "%s%s", where, tooLarge)
			continue
		}
		obj, reason := parseObject(item.raw)
		if reason != "" {
			b.reject(i, "%s%s", where, reason)
			continue
		}

		errorsBefore := len(b.Errors)
		decode(b, i, &fields{obj: obj}, opts)
		if where != "" && len(b.Errors) > errorsBefore {
			b.Errors[len(b.Errors)-1].Message = where + b.Errors[len(b.Errors)-1].Message
		}
	}
	return b, nil
}

// jsonItems returns the items of a JSON array, or the body as one item when
// it is an object.
func jsonItems(body []byte) ([]nativeItem, error) {
	switch jsonType(body) {
	case "array":
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, jsonError(body, err)
		}
		items := make([]nativeItem, len(raws))
		for i, raw := range raws {
			items[i] = nativeItem{raw: raw}
		}
		return items, nil
	case "object":
		if !json.Valid(body) {
			var v any
			return nil, jsonError(body, json.Unmarshal(body, &v))
		}
		return []nativeItem{{raw: bytes.TrimSpace(body)}}, nil
	}

	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, jsonError(body, err)
	}
	return nil, kpi.Errorf(kpi.EINVALID, "the body is a JSON %s, but must be an array of objects or one object; "+
		"send one object per line with Content-Type application/x-ndjson", jsonType(body))
}

// splitNDJSON returns the non-blank lines of body, numbered from 1.
func splitNDJSON(body []byte) []nativeItem {
	var items []nativeItem
	for i, line := range bytes.Split(body, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			items = append(items, nativeItem{raw: line, line: i + 1})
		}
	}
	return items
}

// nativeEvent decodes one event.
func nativeEvent(b *Batch, index int, f *fields, opts DecodeOptions) {
	name := f.str("event")
	distinctID := f.id("distinct_id")
	ts, hasTimestamp := f.time("timestamp")
	props := f.properties("properties")
	messageID := f.str("message_id")
	if f.problem != "" {
		b.reject(index, "%s", f.problem)
		return
	}
	if isBlank(name) {
		b.reject(index, `the event has no "event" name`)
		return
	}
	if distinctID == "" {
		b.reject(index, `event %q has no "distinct_id"`, truncate(name, 64))
		return
	}

	if !hasTimestamp {
		ts = opts.ReceivedAt
	}
	if props == nil {
		props = map[string]any{}
	}
	if messageID == "" {
		messageID = generatedMessageID("native", "event", f.obj)
	}
	b.Events = append(b.Events, store.Event{
		Name:       name,
		DistinctID: distinctID,
		Timestamp:  ts,
		Properties: props,
		MessageID:  messageID,
		ReceivedAt: opts.ReceivedAt,
	})
}

// nativeMeasurement decodes one measurement.
func nativeMeasurement(b *Batch, index int, f *fields, opts DecodeOptions) {
	series := f.str("series")
	value, hasValue := f.number("value")
	ts, hasTimestamp := f.time("timestamp")
	dims := f.properties("dimensions")
	messageID := f.str("message_id")
	if f.problem != "" {
		b.reject(index, "%s", f.problem)
		return
	}
	if isBlank(series) {
		b.reject(index, `the measurement has no "series" name`)
		return
	}
	if !hasValue {
		b.reject(index, `measurement of %q has no "value"`, truncate(series, 64))
		return
	}
	dimensions, problem := stringDimensions(dims)
	if problem != "" {
		b.reject(index, "%s", problem)
		return
	}

	if !hasTimestamp {
		ts = opts.ReceivedAt
	}
	if messageID == "" {
		messageID = generatedMessageID("native", "measurement", f.obj)
	}
	b.Measurements = append(b.Measurements, store.Measurement{
		Series:     series,
		Timestamp:  ts,
		Value:      value,
		Dimensions: dimensions,
		MessageID:  messageID,
	})
}

// stringDimensions converts decoded dimensions to strings, or returns the
// first dimension, in key order, whose value is an object or array.
func stringDimensions(dims map[string]any) (map[string]string, string) {
	if len(dims) == 0 {
		return nil, ""
	}
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	out := make(map[string]string, len(dims))
	for _, k := range keys {
		switch v := dims[k].(type) {
		case string:
			out[k] = v
		case float64:
			data, _ := json.Marshal(v) // 1000000 stays 1000000, where %g would write 1e+06
			out[k] = string(data)
		case bool:
			out[k] = strconv.FormatBool(v)
		case nil:
			// A null dimension is left out.
		default:
			return nil, fmt.Sprintf("dimension %q must be a string, number or boolean", k)
		}
	}
	return out, ""
}
