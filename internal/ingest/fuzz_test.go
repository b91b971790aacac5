package ingest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Seeds of the fuzz targets. `go test` runs each target on its seeds; run
// `go test -fuzz FuzzSegment ./internal/ingest` to search for more inputs.
var (
	segmentSeeds = []string{
		`{"type": "track", "event": "Order Completed", "userId": "u1", "anonymousId": "a1", "messageId": "m-1", "timestamp": "2024-05-01T10:30:00Z", "properties": {"revenue": 42.5}, "context": {"ip": "203.0.113.7"}}`,
		`{"batch": [{"type": "identify", "userId": "u1", "anonymousId": "a1", "traits": {"plan": "pro"}}, {"type": "alias", "previousId": "a", "userId": "b"}, {"type": "group", "userId": 5, "groupId": 7}], "sentAt": "2024-05-01T12:05:00Z", "context": {"library": {"name": "x"}}}`,
		`{"batch": [{"type": "page", "anonymousId": "a", "name": "Home", "sentAt": "2024-05-01T12:05:00Z", "originalTimestamp": "2024-05-01T12:04:00+0200"}, 1, null, "x"], "writeKey": "k"}`,
		`{"batch": {}}`,
		`[1, 2]`,
		`{"event": "e", "userId": "u", "timestamp": 5}`,
	}
	postHogSeeds = []string{
		`{"api_key": "phc", "event": "order", "distinct_id": "u1", "uuid": "x", "timestamp": "2024-05-01T10:00:00Z", "properties": {"token": "phc"}}`,
		`[{"event": "$identify", "properties": {"distinct_id": "u1", "$anon_distinct_id": "a1"}, "$set": {"email": "e"}}, {"event": "$create_alias", "properties": {"distinct_id": "u1", "alias": 3}}]`,
		`{"batch": [{"event": "survey sent", "distinct_id": "u", "offset": 1500, "properties": {"$survey_response": 9}}], "sent_at": "2024-05-01T11:50:00Z"}`,
		`{"batch": "x"}`,
		`[]`,
		`{"event": "e", "distinct_id": "u", "offset": 1e300}`,
	}
	nativeSeeds = []string{
		`[{"event": "signup", "distinct_id": "u1", "timestamp": "2024-04-30T10:00:00Z", "properties": {"plan": "pro"}, "message_id": "n-1"}]`,
		"{\"event\": \"a\", \"distinct_id\": \"u1\"}\n\n{\"event\": \"b\", \"distinct_id\": }\n",
		`{"series": "ad_spend", "timestamp": "2024-04-30", "value": 1250.5, "dimensions": {"channel": "search", "n": 1}}`,
		`[{"series": "s", "value": "1"}, {"value": 1}]`,
		`"x"`,
	}
)

func FuzzSegment(f *testing.F) {
	calls := []string{SegmentTrack, SegmentIdentify, SegmentPage, SegmentScreen, SegmentGroup, SegmentAlias, SegmentBatch}
	for i, seed := range segmentSeeds {
		f.Add([]byte(seed), uint8(i))
	}
	f.Fuzz(func(t *testing.T, body []byte, callIndex uint8) {
		call := calls[int(callIndex)%len(calls)]
		b, err := DecodeSegment(body, call, testOptions())
		checkDecoded(t, b, err)
	})
}

func FuzzPostHog(f *testing.F) {
	for _, seed := range postHogSeeds {
		f.Add([]byte(seed), false, "")
	}
	f.Add([]byte("data=W3siZXZlbnQiOiAiZSIsICJkaXN0aW5jdF9pZCI6ICJ1In1d"), true, "1714564200000")
	f.Fuzz(func(t *testing.T, body []byte, form bool, querySentAt string) {
		b, err := DecodePostHog(body, PostHogOptions{DecodeOptions: testOptions(), Form: form, QuerySentAt: querySentAt})
		checkDecoded(t, b, err)
	})
}

func FuzzNative(f *testing.F) {
	for _, seed := range nativeSeeds {
		f.Add([]byte(seed), false, false)
		f.Add([]byte(seed), true, true)
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson, measurements bool) {
		decode := DecodeNativeEvents
		if measurements {
			decode = DecodeNativeMeasurements
		}
		b, err := decode(body, ndjson, testOptions())
		checkDecoded(t, b, err)
	})
}

// checkDecoded checks what every decoder promises: a request error with a
// user-facing code, or a batch whose records the stores accept and whose
// item errors name distinct items of the request.
func checkDecoded(t *testing.T, b *Batch, err error) {
	t.Helper()
	if err != nil {
		if b != nil {
			t.Errorf("decoder returned a batch with error %v", err)
		}
		if code := kpi.ErrorCode(err); code != kpi.EINVALID && code != kpi.ETOOLARGE && code != kpi.EUNSUPPORTED {
			t.Errorf("error %q has code %q, want %s, %s or %s", err, code, kpi.EINVALID, kpi.ETOOLARGE, kpi.EUNSUPPORTED)
		}
		return
	}

	if b.Items < 1 {
		t.Errorf("batch has %d items and no error", b.Items)
	}
	previous := -1
	for _, e := range b.Errors {
		if e.Index <= previous || e.Index >= b.Items {
			t.Errorf("error index %d after %d, with %d items", e.Index, previous, b.Items)
		}
		previous = e.Index
		if strings.TrimSpace(e.Message) == "" {
			t.Errorf("item %d rejected without a message", e.Index)
		}
	}
	if b.AllRejected() && len(b.Events)+len(b.Identifies)+len(b.Aliases)+len(b.Measurements) > 0 {
		t.Error("every item was rejected, yet the batch has records")
	}

	b.SetSource("fuzz")
	for _, ev := range b.Events {
		if isBlank(ev.Name) || isBlank(ev.DistinctID) || ev.Timestamp.IsZero() || ev.MessageID == "" || ev.Source == "" {
			t.Errorf("event lacks a field a store needs: %+v", ev)
		}
		if _, err := json.Marshal(ev.Properties); err != nil {
			t.Errorf("properties of %q do not marshal to JSON: %v", ev.Name, err)
		}
	}
	for _, id := range b.Identifies {
		if isBlank(id.DistinctID) || id.Timestamp.IsZero() || id.Traits == nil {
			t.Errorf("identify lacks a field: %+v", id)
		}
	}
	for _, a := range b.Aliases {
		if isBlank(a.PreviousID) || isBlank(a.DistinctID) || a.Timestamp.IsZero() || a.PreviousID == a.DistinctID {
			t.Errorf("alias is incomplete or from an ID to itself: %+v", a)
		}
	}
	for _, m := range b.Measurements {
		if isBlank(m.Series) || m.Timestamp.IsZero() || m.MessageID == "" || m.Source == "" {
			t.Errorf("measurement lacks a field a store needs: %+v", m)
		}
	}
}
