package ingest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/url"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// PostHog event names with a meaning beyond an event.
const (
	PostHogIdentify    = "$identify"     // $set holds traits, properties.$anon_distinct_id an alias
	PostHogCreateAlias = "$create_alias" // properties.alias is another ID of distinct_id
)

// maxOffsetMillis bounds a PostHog event's "offset", about 31 years, so that a
// wild value is rejected rather than overflowing a time.Duration.
const maxOffsetMillis = 1e12

// PostHogOptions holds what DecodePostHog needs besides the body.
type PostHogOptions struct {
	DecodeOptions

	// Form means the body is application/x-www-form-urlencoded, with the JSON
	// or its base64 encoding in the "data" field, as posthog-js sends it when
	// its compression is base64.
	Form bool

	// QuerySentAt is the "_" query parameter: when the client sent the
	// request, in milliseconds since the Unix epoch. posthog-js sets it. A
	// "sent_at" in the body takes precedence.
	QuerySentAt string
}

// DecodePostHog decodes the body of a request to PostHog's capture endpoints
// (/capture/, /batch/, /e/, /i/v0/e/): a single event, an array of events, or
// an object with the events in "batch".
//
// Every event except $identify and $create_alias is stored as an event with
// its properties, without the "token" property, which is the write key. A
// $set object, at the top level of an event or in its properties, becomes a
// store.Identify of those traits. $identify with $anon_distinct_id, and
// $create_alias, become a store.Alias. The message ID is the event's "uuid".
//
// The write key is the body's "api_key" or "token", or else the "token" in
// the first event's properties. An event whose own token differs from it is
// rejected.
//
// DecodePostHog returns a kpi.EINVALID error for a body that is not JSON of
// that shape and a kpi.ETOOLARGE error for a body or batch over the limits.
// Every other problem rejects only its item.
func DecodePostHog(body []byte, opts PostHogOptions) (*Batch, error) {
	limits := opts.Limits.WithDefaults()
	if err := checkBody(body, limits); err != nil {
		return nil, err
	}
	if opts.Form {
		data, err := formData(body)
		if err != nil {
			return nil, err
		}
		body = data
		if err := checkBody(body, limits); err != nil {
			return nil, err
		}
	}

	envelope, items, err := postHogItems(body)
	if err != nil {
		return nil, err
	}
	if err := checkBatchLength(len(items), limits); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, kpi.Errorf(kpi.EINVALID, "the batch has no events")
	}

	env := fields{obj: envelope}
	d := postHogDecoder{receivedAt: opts.ReceivedAt.UTC(), limits: limits}
	b := &Batch{WriteKey: env.str("api_key")}
	if b.WriteKey == "" {
		b.WriteKey = env.str("token")
	}
	d.sentAt, d.hasSentAt = env.time("sent_at")
	if env.problem != "" {
		return nil, kpi.Errorf(kpi.EINVALID, "%s", env.problem)
	}
	if !d.hasSentAt {
		d.sentAt, d.hasSentAt = parseUnixMillis(opts.QuerySentAt)
	}
	if b.WriteKey == "" {
		b.WriteKey = firstEventToken(items)
	}

	b.Items = len(items)
	for i, raw := range items {
		d.item(b, i, raw)
	}
	return b, nil
}

// formData returns the JSON in the "data" field of a form-encoded body,
// decoding it from base64 unless it is JSON already.
func formData(body []byte) ([]byte, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "the form body is not valid: %v", err)
	}
	if c := form.Get("compression"); c != "" && c != "base64" {
		return nil, kpi.Errorf(kpi.EUNSUPPORTED, "compression %q is not supported; use gzip-js, base64 or none", c)
	}

	data := bytes.TrimSpace([]byte(form.Get("data")))
	if len(data) == 0 {
		return nil, kpi.Errorf(kpi.EINVALID, `the form body has no "data" field with the events`)
	}
	if data[0] == '{' || data[0] == '[' {
		return data, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if decoded, err := enc.DecodeString(string(data)); err == nil {
			return decoded, nil
		}
	}
	return nil, kpi.Errorf(kpi.EINVALID, `the form field "data" is neither JSON nor base64-encoded JSON`)
}

// postHogItems splits a body into its envelope (the object that may hold
// api_key and sent_at) and its events.
func postHogItems(body []byte) (object, []json.RawMessage, error) {
	var items []json.RawMessage
	if jsonType(body) == "array" {
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, nil, jsonError(body, err)
		}
		return object{}, items, nil
	}

	var top object
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, nil, jsonError(body, err)
	}
	rawBatch, ok := top["batch"]
	if !ok {
		return top, []json.RawMessage{body}, nil // a single event
	}
	if err := json.Unmarshal(rawBatch, &items); err != nil {
		return nil, nil, kpi.Errorf(kpi.EINVALID, `"batch" is a JSON %s, but must be an array of events`, jsonType(rawBatch))
	}
	return top, items, nil
}

// firstEventToken returns the write key of the first event that carries one,
// in "api_key", "token" or properties.token.
func firstEventToken(items []json.RawMessage) string {
	for _, raw := range items {
		var ev struct {
			APIKey     string `json:"api_key"`
			Token      string `json:"token"`
			Properties struct {
				Token string `json:"token"`
			} `json:"properties"`
		}
		if json.Unmarshal(raw, &ev) != nil {
			continue
		}
		for _, key := range []string{ev.APIKey, ev.Token, ev.Properties.Token} {
			if key != "" {
				return key
			}
		}
	}
	return ""
}

// postHogDecoder holds what the events of one request share.
type postHogDecoder struct {
	receivedAt time.Time
	limits     Limits
	sentAt     time.Time // when hasSentAt
	hasSentAt  bool
}

// item decodes one event.
func (d *postHogDecoder) item(b *Batch, index int, raw []byte) {
	if reason := itemTooLarge(raw, d.limits); reason != "" {
		b.reject(index, "%s", reason)
		return
	}
	obj, reason := parseObject(raw)
	if reason != "" {
		b.reject(index, "%s", reason)
		return
	}

	f := &fields{obj: obj}
	name := f.str("event")
	props := f.properties("properties")
	if props == nil {
		props = map[string]any{}
	}
	distinctID := f.id("distinct_id")
	ts := d.timestamp(f)
	uuid := f.str("uuid")
	set := f.properties("$set")
	setOnce := f.properties("$set_once")
	token := f.str("api_key")
	if token == "" {
		token = f.str("token")
	}
	if f.problem != "" {
		b.reject(index, "%s", f.problem)
		return
	}

	if token == "" {
		token, _ = props["token"].(string)
	}
	if b.WriteKey != "" && token != "" && token != b.WriteKey {
		b.reject(index, "the event's token differs from the request's api_key; send one project's events per request")
		return
	}
	delete(props, "token")

	if distinctID == "" {
		distinctID = idProperty(props, "distinct_id")
	}
	if isBlank(name) {
		b.reject(index, `the event has no "event" name`)
		return
	}
	if distinctID == "" {
		b.reject(index, `event %q has no "distinct_id", at the top level or in its properties`, truncate(name, 64))
		return
	}
	if set == nil {
		set, _ = props["$set"].(map[string]any)
	}

	switch name {
	case PostHogIdentify:
		if set == nil {
			set = map[string]any{}
		}
		b.Identifies = append(b.Identifies, store.Identify{DistinctID: distinctID, Traits: set, Timestamp: ts})
		if anon := idProperty(props, "$anon_distinct_id"); anon != "" && anon != distinctID {
			b.Aliases = append(b.Aliases, store.Alias{PreviousID: anon, DistinctID: distinctID, Timestamp: ts})
		}
		return

	case PostHogCreateAlias:
		alias := idProperty(props, "alias")
		if alias == "" {
			b.reject(index, `$create_alias event has no "alias" property naming the other ID`)
			return
		}
		if alias != distinctID {
			b.Aliases = append(b.Aliases, store.Alias{PreviousID: alias, DistinctID: distinctID, Timestamp: ts})
		}
		return
	}

	if len(set) > 0 {
		b.Identifies = append(b.Identifies, store.Identify{DistinctID: distinctID, Traits: set, Timestamp: ts})
		setIfMissing(props, "$set", set)
	}
	if len(setOnce) > 0 {
		setIfMissing(props, "$set_once", setOnce)
	}
	if uuid == "" {
		uuid = generatedMessageID("posthog", name, obj, "sent_at", "api_key", "token")
	}

	b.Events = append(b.Events, store.Event{
		Name:       name,
		DistinctID: distinctID,
		Timestamp:  ts,
		Properties: props,
		MessageID:  uuid,
		ReceivedAt: d.receivedAt,
	})
}

// timestamp returns when the event happened. With the request's sent_at (or
// its "_" query parameter) and the event's timestamp, that is receivedAt −
// (sent_at − timestamp). Otherwise it is receivedAt − offset milliseconds,
// or else the timestamp, or else receivedAt.
func (d *postHogDecoder) timestamp(f *fields) time.Time {
	ts, hasTimestamp := f.time("timestamp")
	offset, hasOffset := f.number("offset")
	if hasOffset && math.Abs(offset) > maxOffsetMillis {
		f.fail(`"offset" is %g milliseconds, which is out of range`, offset)
		hasOffset = false
	}

	switch {
	case hasTimestamp && d.hasSentAt:
		return correctClockSkew(d.receivedAt, d.sentAt, ts)
	case hasOffset:
		return d.receivedAt.Add(-time.Duration(offset * float64(time.Millisecond))).UTC()
	case hasTimestamp:
		return ts
	}
	return d.receivedAt
}

// idProperty returns the user ID in props[key], a string or a number, or ""
// when it is missing or of another type.
func idProperty(props map[string]any, key string) string {
	switch v := props[key].(type) {
	case string:
		if isBlank(v) {
			return ""
		}
		return v
	case float64:
		data, _ := json.Marshal(v)
		return string(data)
	}
	return ""
}

// setIfMissing sets props[key] to value unless the key is set.
func setIfMissing(props map[string]any, key string, value any) {
	if _, ok := props[key]; !ok {
		props[key] = value
	}
}
