package ingest

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// The calls of Segment's tracking API. Each has its own endpoint, and a batch
// holds calls of any type, each named in its "type" field.
const (
	SegmentTrack    = "track"
	SegmentIdentify = "identify"
	SegmentPage     = "page"
	SegmentScreen   = "screen"
	SegmentGroup    = "group"
	SegmentAlias    = "alias"
	SegmentBatch    = "batch"
)

// segmentTypes lists the call types a batch item may have, for messages.
const segmentTypes = "track, identify, page, screen, group or alias"

// SegmentContextKey is the event property that holds a Segment call's
// context (library, page, user agent, ...), merged from the batch and the call.
const SegmentContextKey = "$context"

// DecodeSegment decodes the body of a call to Segment's HTTP tracking API.
// call is one of the Segment* constants: the endpoint the body was sent to.
//
// Track, page, screen and group calls become events named after the track
// call's "event", or "page", "screen" and "group". An identify call becomes
// a store.Identify of its traits, and also a store.Alias from anonymousId to
// userId when it has both. An alias call becomes a store.Alias from
// previousId to userId. The user ID of a record is userId, or anonymousId
// when userId is missing.
//
// DecodeSegment returns a kpi.EINVALID error for a body that is not a JSON
// object (or, for SegmentBatch, an object with a "batch" array) and a
// kpi.ETOOLARGE error for a body or batch over the limits. Every other
// problem rejects only its item, with an ItemError in the Batch.
func DecodeSegment(body []byte, call string, opts DecodeOptions) (*Batch, error) {
	limits := opts.Limits.WithDefaults()
	if err := checkBody(body, limits); err != nil {
		return nil, err
	}

	var top object
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, jsonError(body, err)
	}
	envelope := fields{obj: top}
	b := &Batch{WriteKey: envelope.str("writeKey")}
	d := segmentDecoder{receivedAt: opts.ReceivedAt.UTC(), limits: limits}

	switch call {
	case SegmentTrack, SegmentIdentify, SegmentPage, SegmentScreen, SegmentGroup, SegmentAlias:
		if envelope.problem != "" {
			return nil, kpi.Errorf(kpi.EINVALID, "%s", envelope.problem)
		}
		b.Items = 1
		d.item(b, 0, call, body, top)
		return b, nil
	case SegmentBatch:
	default:
		return nil, fmt.Errorf("decode Segment body: unknown call %q", call)
	}

	rawItems, ok := top["batch"]
	if !ok {
		return nil, kpi.Errorf(kpi.EINVALID, `the body has no "batch" field; send {"batch": [{"type": "track", ...}, ...]}`)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(rawItems, &items); err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, `"batch" is a JSON %s, but must be an array of calls`, jsonType(rawItems))
	}
	if err := checkBatchLength(len(items), limits); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, kpi.Errorf(kpi.EINVALID, "the batch has no calls")
	}

	d.sentAt, d.hasSentAt = envelope.time("sentAt")
	d.context = envelope.properties("context")
	if envelope.problem != "" {
		return nil, kpi.Errorf(kpi.EINVALID, "%s", envelope.problem)
	}
	if b.WriteKey == "" {
		b.WriteKey = firstItemWriteKey(items)
	}

	b.Items = len(items)
	for i, raw := range items {
		obj, reason := parseObject(raw)
		if reason != "" {
			b.reject(i, "%s", reason)
			continue
		}
		d.item(b, i, SegmentBatch, raw, obj)
	}
	return b, nil
}

// firstItemWriteKey returns the "writeKey" of the first batch item that has
// one, because some browser SDKs put it on each call and not on the batch.
func firstItemWriteKey(items []json.RawMessage) string {
	for _, raw := range items {
		var item struct {
			WriteKey string `json:"writeKey"`
		}
		if json.Unmarshal(raw, &item) == nil && item.WriteKey != "" {
			return item.WriteKey
		}
	}
	return ""
}

// segmentDecoder holds what the calls of one request share.
type segmentDecoder struct {
	receivedAt time.Time
	limits     Limits
	sentAt     time.Time // the batch's sentAt, when hasSentAt
	hasSentAt  bool
	context    map[string]any // the batch's context
}

// item decodes one call from its JSON, raw, and its parsed fields, obj.
// call is the endpoint's call type, or SegmentBatch when the type is in the item.
func (d *segmentDecoder) item(b *Batch, index int, call string, raw []byte, obj object) {
	if reason := itemTooLarge(raw, d.limits); reason != "" {
		b.reject(index, "%s", reason)
		return
	}

	f := &fields{obj: obj}
	typ := call
	if call == SegmentBatch {
		typ = f.str("type")
	}
	userID := f.id("userId")
	anonymousID := f.id("anonymousId")
	ts := d.timestamp(f)
	if f.problem != "" {
		b.reject(index, "%s", f.problem)
		return
	}

	switch typ {
	case SegmentTrack, SegmentPage, SegmentScreen, SegmentGroup, SegmentIdentify, SegmentAlias:
	case "":
		b.reject(index, `"type" is missing; want %s`, segmentTypes)
		return
	default:
		b.reject(index, `"type" is %q, which is not a Segment call; want %s`, truncate(typ, 64), segmentTypes)
		return
	}

	distinctID := userID
	if distinctID == "" {
		distinctID = anonymousID
	}
	if distinctID == "" {
		b.reject(index, `%s call has neither "userId" nor "anonymousId"; send at least one`, typ)
		return
	}

	switch typ {
	case SegmentIdentify:
		d.identify(b, index, f, userID, anonymousID, distinctID, ts)
	case SegmentAlias:
		d.alias(b, index, f, distinctID, ts)
	default:
		d.event(b, index, f, typ, distinctID, ts)
	}
}

// timestamp returns when the call happened: receivedAt − (sentAt −
// originalTimestamp) when the call (or its batch) has sentAt and the call has
// originalTimestamp, else timestamp, else originalTimestamp, else receivedAt.
//
// NOTE: analytics-go 3.1 and @segment/analytics-node send "timestamp" and
// "sentAt" without "originalTimestamp", so the offset of their clock is kept.
func (d *segmentDecoder) timestamp(f *fields) time.Time {
	sentAt, hasSentAt := f.time("sentAt")
	if !hasSentAt {
		sentAt, hasSentAt = d.sentAt, d.hasSentAt
	}
	original, hasOriginal := f.time("originalTimestamp")
	ts, hasTimestamp := f.time("timestamp")

	switch {
	case hasSentAt && hasOriginal:
		return correctClockSkew(d.receivedAt, sentAt, original)
	case hasTimestamp:
		return ts
	case hasOriginal:
		return original
	}
	return d.receivedAt
}

// event adds the event of a track, page, screen or group call.
func (d *segmentDecoder) event(b *Batch, index int, f *fields, typ, distinctID string, ts time.Time) {
	props := f.properties("properties")
	if props == nil {
		props = map[string]any{}
	}

	name := typ
	switch typ {
	case SegmentTrack:
		name = f.str("event")
	case SegmentPage, SegmentScreen:
		for _, key := range []string{"name", "category"} {
			if value := f.str(key); value != "" {
				setIfMissing(props, key, value)
			}
		}
	case SegmentGroup:
		groupID := f.id("groupId")
		traits := f.properties("traits")
		if f.problem == "" && groupID == "" {
			f.fail(`group call has no "groupId"`)
		}
		props["groupId"] = groupID
		if traits != nil {
			props["traits"] = traits
		}
	}

	context := mergeContext(d.context, f.properties("context"))
	messageID := f.str("messageId")
	if f.problem != "" {
		b.reject(index, "%s", f.problem)
		return
	}
	if isBlank(name) {
		b.reject(index, `track call has no "event" name; name the action, such as "Order Completed"`)
		return
	}
	if len(context) > 0 {
		props[SegmentContextKey] = context
	}
	if messageID == "" {
		messageID = generatedMessageID("segment", typ, f.obj, "sentAt", "writeKey", "type")
	}

	b.Events = append(b.Events, store.Event{
		Name:       name,
		DistinctID: distinctID,
		Timestamp:  ts,
		Properties: props,
		MessageID:  messageID,
		ReceivedAt: d.receivedAt,
	})
}

// identify adds the traits of an identify call, and the alias from its
// anonymousId to its userId when it has both.
func (d *segmentDecoder) identify(b *Batch, index int, f *fields, userID, anonymousID, distinctID string, ts time.Time) {
	traits := f.properties("traits")
	if f.problem != "" {
		b.reject(index, "%s", f.problem)
		return
	}
	if traits == nil {
		traits = map[string]any{}
	}

	b.Identifies = append(b.Identifies, store.Identify{DistinctID: distinctID, Traits: traits, Timestamp: ts})
	if userID != "" && anonymousID != "" && userID != anonymousID {
		b.Aliases = append(b.Aliases, store.Alias{PreviousID: anonymousID, DistinctID: userID, Timestamp: ts})
	}
}

// alias adds the alias of an alias call from previousId to the user.
func (d *segmentDecoder) alias(b *Batch, index int, f *fields, distinctID string, ts time.Time) {
	previousID := f.id("previousId")
	if f.problem != "" {
		b.reject(index, "%s", f.problem)
		return
	}
	if previousID == "" {
		b.reject(index, `alias call has no "previousId"; send the ID the user had before, with the new one in "userId"`)
		return
	}
	if previousID != distinctID {
		b.Aliases = append(b.Aliases, store.Alias{PreviousID: previousID, DistinctID: distinctID, Timestamp: ts})
	}
}

// mergeContext returns the batch context with the call's context over it,
// key by key at the top level, so the call's value wins.
func mergeContext(batch, call map[string]any) map[string]any {
	if len(batch) == 0 {
		return call
	}
	merged := maps.Clone(batch)
	maps.Copy(merged, call)
	return merged
}
