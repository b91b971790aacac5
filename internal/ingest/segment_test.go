package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// testReceivedAt is when the server received every request in these tests.
var testReceivedAt = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func testOptions() DecodeOptions { return DecodeOptions{ReceivedAt: testReceivedAt} }

// at returns 2024-05-01 at the given time of day in UTC.
func at(hour, minute, second int) time.Time {
	return time.Date(2024, 5, 1, hour, minute, second, 0, time.UTC)
}

func decodeSegment(t *testing.T, call, body string) *Batch {
	t.Helper()
	b, err := DecodeSegment([]byte(body), call, testOptions())
	if err != nil {
		t.Fatalf("DecodeSegment(%s): %v", call, err)
	}
	return b
}

// onlyEvent returns the one event of b, failing when b has errors or another
// number of events.
func onlyEvent(t *testing.T, b *Batch) store.Event {
	t.Helper()
	if len(b.Errors) > 0 {
		t.Fatalf("errors: %v", b.Errors)
	}
	if len(b.Events) != 1 {
		t.Fatalf("got %d events, want 1: %+v", len(b.Events), b.Events)
	}
	return b.Events[0]
}

// onlyError returns the message of the one item error of b.
func onlyError(t *testing.T, b *Batch) string {
	t.Helper()
	if len(b.Errors) != 1 {
		t.Fatalf("got %d item errors, want 1: %v", len(b.Errors), b.Errors)
	}
	return b.Errors[0].Message
}

func TestSegmentTrack(t *testing.T) {
	b := decodeSegment(t, SegmentTrack, `{
		"type": "track", "event": "Order Completed", "userId": "u1", "anonymousId": "a1",
		"messageId": "m-1", "timestamp": "2024-05-01T10:30:00Z", "writeKey": "wk_1",
		"properties": {"revenue": 42.5, "plan": "pro"},
		"context": {"library": {"name": "analytics-go"}}}`)

	ev := onlyEvent(t, b)
	if ev.Name != "Order Completed" {
		t.Errorf("name %q, want Order Completed", ev.Name)
	}
	if ev.DistinctID != "u1" {
		t.Errorf("distinct_id %q, want the userId u1", ev.DistinctID)
	}
	if ev.MessageID != "m-1" {
		t.Errorf("message id %q, want m-1", ev.MessageID)
	}
	if !ev.Timestamp.Equal(at(10, 30, 0)) {
		t.Errorf("timestamp %v, want 10:30 UTC", ev.Timestamp)
	}
	if !ev.ReceivedAt.Equal(testReceivedAt) {
		t.Errorf("received at %v, want %v", ev.ReceivedAt, testReceivedAt)
	}
	if ev.Properties["revenue"] != 42.5 || ev.Properties["plan"] != "pro" {
		t.Errorf("properties %v, want revenue 42.5 and plan pro at the top level", ev.Properties)
	}
	context, ok := ev.Properties[SegmentContextKey].(map[string]any)
	if !ok {
		t.Fatalf("properties have no %s object: %v", SegmentContextKey, ev.Properties)
	}
	if lib, _ := context["library"].(map[string]any); lib["name"] != "analytics-go" {
		t.Errorf("context %v, want library.name analytics-go", context)
	}
	if b.WriteKey != "wk_1" {
		t.Errorf("write key %q, want wk_1", b.WriteKey)
	}
	if ev.Source != "" {
		t.Errorf("source %q before SetSource, want empty", ev.Source)
	}
	b.SetSource("web")
	if b.Events[0].Source != "web" {
		t.Errorf("source %q after SetSource, want web", b.Events[0].Source)
	}
}

func TestSegmentAnonymousOnly(t *testing.T) {
	ev := onlyEvent(t, decodeSegment(t, SegmentTrack, `{"event": "Viewed", "anonymousId": "a1", "messageId": "m"}`))
	if ev.DistinctID != "a1" {
		t.Errorf("distinct_id %q, want the anonymousId a1", ev.DistinctID)
	}
	if len(ev.Properties) != 0 {
		t.Errorf("properties %v, want none", ev.Properties)
	}
}

func TestSegmentNumericUserID(t *testing.T) {
	ev := onlyEvent(t, decodeSegment(t, SegmentTrack, `{"event": "Viewed", "userId": 1234, "messageId": "m"}`))
	if ev.DistinctID != "1234" {
		t.Errorf("distinct_id %q, want 1234", ev.DistinctID)
	}
}

func TestSegmentPageScreenGroup(t *testing.T) {
	page := onlyEvent(t, decodeSegment(t, SegmentPage,
		`{"userId": "u1", "name": "Pricing", "category": "Docs", "properties": {"path": "/pricing"}}`))
	if page.Name != "page" {
		t.Errorf("page event named %q, want page", page.Name)
	}
	if page.Properties["name"] != "Pricing" || page.Properties["category"] != "Docs" || page.Properties["path"] != "/pricing" {
		t.Errorf("page properties %v, want name Pricing, category Docs and path /pricing", page.Properties)
	}

	kept := onlyEvent(t, decodeSegment(t, SegmentPage, `{"userId": "u1", "name": "Outer", "properties": {"name": "Inner"}}`))
	if kept.Properties["name"] != "Inner" {
		t.Errorf("page name property %v, want the properties' own Inner", kept.Properties["name"])
	}

	screen := onlyEvent(t, decodeSegment(t, SegmentScreen, `{"userId": "u1", "name": "Home"}`))
	if screen.Name != "screen" || screen.Properties["name"] != "Home" {
		t.Errorf("screen event %q with %v, want screen with name Home", screen.Name, screen.Properties)
	}

	group := onlyEvent(t, decodeSegment(t, SegmentGroup, `{"userId": "u1", "groupId": "acme", "traits": {"plan": "enterprise"}}`))
	if group.Name != "group" || group.Properties["groupId"] != "acme" {
		t.Errorf("group event %q with %v, want group with groupId acme", group.Name, group.Properties)
	}
	if traits, _ := group.Properties["traits"].(map[string]any); traits["plan"] != "enterprise" {
		t.Errorf("group traits %v, want plan enterprise", group.Properties["traits"])
	}
}

func TestSegmentIdentify(t *testing.T) {
	b := decodeSegment(t, SegmentIdentify, `{"userId": "u1", "anonymousId": "a1", "traits": {"email": "ana@example.com"}, "timestamp": "2024-05-01T09:00:00Z"}`)
	if len(b.Events) != 0 || len(b.Errors) != 0 {
		t.Fatalf("identify made events %v and errors %v, want neither", b.Events, b.Errors)
	}
	if len(b.Identifies) != 1 {
		t.Fatalf("got %d identifies, want 1", len(b.Identifies))
	}
	id := b.Identifies[0]
	if id.DistinctID != "u1" || id.Traits["email"] != "ana@example.com" || !id.Timestamp.Equal(at(9, 0, 0)) {
		t.Errorf("identify %+v, want u1 with the email at 09:00", id)
	}
	want := store.Alias{PreviousID: "a1", DistinctID: "u1", Timestamp: at(9, 0, 0)}
	if len(b.Aliases) != 1 || b.Aliases[0] != want {
		t.Errorf("aliases %+v, want [%+v]", b.Aliases, want)
	}
}

func TestSegmentIdentifyWithoutAlias(t *testing.T) {
	for _, body := range []string{
		`{"userId": "u1", "traits": {"plan": "pro"}}`,
		`{"anonymousId": "a1", "traits": {"plan": "pro"}}`,
		`{"userId": "u1", "anonymousId": "u1"}`,
	} {
		b := decodeSegment(t, SegmentIdentify, body)
		if len(b.Identifies) != 1 {
			t.Errorf("%s: got %d identifies, want 1", body, len(b.Identifies))
		}
		if len(b.Aliases) != 0 {
			t.Errorf("%s: got aliases %+v, want none", body, b.Aliases)
		}
	}
}

func TestSegmentAlias(t *testing.T) {
	b := decodeSegment(t, SegmentAlias, `{"previousId": "a1", "userId": "u1", "timestamp": "2024-05-01T08:00:00Z"}`)
	want := store.Alias{PreviousID: "a1", DistinctID: "u1", Timestamp: at(8, 0, 0)}
	if len(b.Aliases) != 1 || b.Aliases[0] != want {
		t.Errorf("aliases %+v, want [%+v]", b.Aliases, want)
	}

	b = decodeSegment(t, SegmentAlias, `{"userId": "u1"}`)
	if msg := onlyError(t, b); !strings.Contains(msg, "previousId") {
		t.Errorf("error %q, want it to name previousId", msg)
	}
}

func TestSegmentBatch(t *testing.T) {
	b := decodeSegment(t, SegmentBatch, `{
		"writeKey": "wk_batch",
		"context": {"library": {"name": "analytics-node"}, "ip": "203.0.113.7"},
		"batch": [
			{"type": "track", "event": "Signed Up", "userId": "u1", "messageId": "m1", "context": {"ip": "198.51.100.1"}},
			{"type": "identify", "userId": "u1", "traits": {"plan": "pro"}},
			{"type": "page", "anonymousId": "a2", "name": "Home", "messageId": "m3"},
			{"type": "alias", "previousId": "a2", "userId": "u2"}
		]}`)

	if b.Items != 4 || len(b.Errors) != 0 {
		t.Fatalf("items %d with errors %v, want 4 and none", b.Items, b.Errors)
	}
	if b.WriteKey != "wk_batch" {
		t.Errorf("write key %q, want wk_batch", b.WriteKey)
	}
	if len(b.Events) != 2 || len(b.Identifies) != 1 || len(b.Aliases) != 1 {
		t.Fatalf("got %d events, %d identifies, %d aliases; want 2, 1, 1", len(b.Events), len(b.Identifies), len(b.Aliases))
	}

	context := b.Events[0].Properties[SegmentContextKey].(map[string]any)
	if context["ip"] != "198.51.100.1" {
		t.Errorf("context ip %v, want the call's 198.51.100.1 over the batch's", context["ip"])
	}
	if lib, _ := context["library"].(map[string]any); lib["name"] != "analytics-node" {
		t.Errorf("context %v, want the batch's library", context)
	}
	second := b.Events[1].Properties[SegmentContextKey].(map[string]any)
	if second["ip"] != "203.0.113.7" {
		t.Errorf("second call's context ip %v, want the batch's 203.0.113.7", second["ip"])
	}
}

func TestSegmentWriteKeyFromItem(t *testing.T) {
	b := decodeSegment(t, SegmentBatch, `{"batch": [{"type": "track", "event": "x", "userId": "u", "writeKey": "wk_item"}]}`)
	if b.WriteKey != "wk_item" {
		t.Errorf("write key %q, want the item's wk_item", b.WriteKey)
	}
}

func TestSegmentTimestamps(t *testing.T) {
	tests := []struct {
		name  string
		batch string // fields added to the batch object
		call  string // fields added to the call
		want  time.Time
	}{
		{
			// The client's clock is 5 minutes ahead: it stamped the event at
			// 12:04 and sent it at 12:05 by its clock, one minute later, and
			// the server received it at 12:00 by its own.
			name: "sentAt and originalTimestamp", call: `"sentAt": "2024-05-01T12:05:00Z", "originalTimestamp": "2024-05-01T12:04:00Z"`,
			want: at(11, 59, 0),
		},
		{
			name: "batch sentAt", batch: `"sentAt": "2024-05-01T11:50:00Z",`, call: `"originalTimestamp": "2024-05-01T11:49:30Z"`,
			want: at(11, 59, 30),
		},
		{
			name: "call sentAt over the batch's", batch: `"sentAt": "2024-05-01T11:00:00Z",`,
			call: `"sentAt": "2024-05-01T12:10:00Z", "originalTimestamp": "2024-05-01T12:09:00Z"`,
			want: at(11, 59, 0),
		},
		{
			name: "timestamp without originalTimestamp", batch: `"sentAt": "2024-05-01T13:00:00Z",`, call: `"timestamp": "2024-04-30T08:00:00Z"`,
			want: time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC),
		},
		{
			name: "originalTimestamp without sentAt", call: `"originalTimestamp": "2024-05-01T07:00:00Z", "timestamp": "2024-05-01T06:00:00Z"`,
			want: at(6, 0, 0),
		},
		{name: "only originalTimestamp", call: `"originalTimestamp": "2024-05-01T07:00:00Z"`, want: at(7, 0, 0)},
		{name: "none", want: testReceivedAt},
		{name: "offset with colon", call: `"timestamp": "2024-05-01T14:00:00+02:00"`, want: at(12, 0, 0)},
		{name: "offset without colon", call: `"timestamp": "2024-05-01T14:00:00.250+0200"`, want: at(12, 0, 0).Add(250 * time.Millisecond)},
		{name: "fraction", call: `"timestamp": "2024-05-01T10:00:00.123456Z"`, want: at(10, 0, 0).Add(123456 * time.Microsecond)},
		{name: "no offset is UTC", call: `"timestamp": "2024-05-01T10:00:00"`, want: at(10, 0, 0)},
		{name: "space separator", call: `"timestamp": "2024-05-01 10:00:00Z"`, want: at(10, 0, 0)},
		{name: "date only", call: `"timestamp": "2024-05-01"`, want: at(0, 0, 0)},
		{name: "Go zero time is not set", call: `"timestamp": "0001-01-01T00:00:00Z"`, want: testReceivedAt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := `"type": "track", "event": "e", "userId": "u"`
			if tt.call != "" {
				call += ", " + tt.call
			}
			body := fmt.Sprintf(`{%s "batch": [{%s}]}`, tt.batch, call)
			ev := onlyEvent(t, decodeSegment(t, SegmentBatch, body))
			if !ev.Timestamp.Equal(tt.want) {
				t.Errorf("timestamp %v, want %v", ev.Timestamp, tt.want)
			}
			if ev.Timestamp.Location() != time.UTC {
				t.Errorf("timestamp in %v, want UTC", ev.Timestamp.Location())
			}
		})
	}
}

func TestSegmentItemErrors(t *testing.T) {
	tests := []struct {
		name string
		item string
		want string // part of the error message
	}{
		{"no user", `{"type": "track", "event": "e"}`, `neither "userId" nor "anonymousId"`},
		{"blank user", `{"type": "track", "event": "e", "userId": "  "}`, `neither "userId" nor "anonymousId"`},
		{"no event name", `{"type": "track", "userId": "u"}`, `no "event" name`},
		{"timestamp not a date", `{"type": "track", "event": "e", "userId": "u", "timestamp": "yesterday"}`, `"yesterday" is not a date`},
		{"timestamp out of range", `{"type": "track", "event": "e", "userId": "u", "timestamp": "2024-02-30T10:00:00Z"}`, `is not a date`},
		{"timestamp a number", `{"type": "track", "event": "e", "userId": "u", "timestamp": 1714557600}`, `must be a date string`},
		{"sentAt not a date", `{"type": "track", "event": "e", "userId": "u", "sentAt": "soon"}`, `"sentAt"`},
		{"no type", `{"event": "e", "userId": "u"}`, `"type" is missing`},
		{"unknown type", `{"type": "purchase", "userId": "u"}`, `"purchase", which is not a Segment call`},
		{"not an object", `"track"`, `JSON string, but must be an object`},
		{"properties not an object", `{"type": "track", "event": "e", "userId": "u", "properties": [1]}`, `"properties" must be an object`},
		{"event not a string", `{"type": "track", "event": 7, "userId": "u"}`, `"event" must be a string`},
		{"user a boolean", `{"type": "track", "event": "e", "userId": true}`, `"userId" must be a string or a number`},
		{"group without groupId", `{"type": "group", "userId": "u"}`, `no "groupId"`},
		{"oversized", `{"type": "track", "event": "e", "userId": "u", "properties": {"blob": "` + strings.Repeat("x", 33<<10) + `"}}`, "over the limit of 32768 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"batch": [{"type": "track", "event": "ok", "userId": "u0", "messageId": "m0"}, ` + tt.item + `]}`
			b := decodeSegment(t, SegmentBatch, body)
			if len(b.Errors) != 1 {
				t.Fatalf("got errors %v, want one", b.Errors)
			}
			if b.Errors[0].Index != 1 {
				t.Errorf("error at index %d, want 1", b.Errors[0].Index)
			}
			if !strings.Contains(b.Errors[0].Message, tt.want) {
				t.Errorf("error %q, want it to contain %q", b.Errors[0].Message, tt.want)
			}
			if len(b.Events) != 1 || b.Events[0].MessageID != "m0" {
				t.Errorf("events %+v, want the valid first item kept", b.Events)
			}
			if b.AllRejected() {
				t.Error("AllRejected is true with one valid item")
			}
		})
	}
}

func TestSegmentAllRejected(t *testing.T) {
	b := decodeSegment(t, SegmentTrack, `{"event": "e"}`)
	if !b.AllRejected() {
		t.Errorf("AllRejected false for a single call without a user; errors %v", b.Errors)
	}
	if b.Items != 1 {
		t.Errorf("items %d, want 1", b.Items)
	}
}

func TestSegmentRequestErrors(t *testing.T) {
	tooMany := `{"batch": [` + strings.TrimSuffix(strings.Repeat(`{"type":"track","event":"e","userId":"u"},`, 2501), ",") + `]}`
	tooBig := `{"batch": [{}], "pad": "` + strings.Repeat("x", 500<<10) + `"}`

	tests := []struct {
		name string
		call string
		body string
		code string
		want string
	}{
		{"invalid JSON", SegmentTrack, "{\n  \"event\": \"e\",\n  \"userId\": u1\n}", kpi.EINVALID, "line 3, column 13"},
		{"truncated JSON", SegmentBatch, `{"batch": [`, kpi.EINVALID, "not valid JSON"},
		{"array body", SegmentTrack, `[{"event": "e"}]`, kpi.EINVALID, "JSON array, but must be an object"},
		{"empty body", SegmentTrack, "  \n", kpi.EINVALID, "empty"},
		{"no batch", SegmentBatch, `{"sentAt": "2024-05-01T12:00:00Z"}`, kpi.EINVALID, `no "batch" field`},
		{"batch not an array", SegmentBatch, `{"batch": {"type": "track"}}`, kpi.EINVALID, `"batch" is a JSON object`},
		{"batch sentAt not a date", SegmentBatch, `{"sentAt": "now", "batch": [{"type": "track"}]}`, kpi.EINVALID, `"now" is not a date`},
		{"empty batch", SegmentBatch, `{"batch": []}`, kpi.EINVALID, "no calls"},
		{"writeKey not a string", SegmentTrack, `{"writeKey": 5, "event": "e", "userId": "u"}`, kpi.EINVALID, `"writeKey" must be a string`},
		{"batch of 2,501", SegmentBatch, tooMany, kpi.ETOOLARGE, "2501 items, over the limit of 2500"},
		{"body over 500 KB", SegmentBatch, tooBig, kpi.ETOOLARGE, "over the limit of 512000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeSegment([]byte(tt.body), tt.call, testOptions())
			if got := kpi.ErrorCode(err); got != tt.code {
				t.Fatalf("error code %q (%v), want %q", got, err, tt.code)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSegmentBatchAtLimit(t *testing.T) {
	body := `{"batch": [` + strings.TrimSuffix(strings.Repeat(`{"type":"track","event":"e","userId":"u"},`, 2500), ",") + `]}`
	b := decodeSegment(t, SegmentBatch, body)
	if len(b.Events) != 2500 {
		t.Errorf("got %d events, want all 2500", len(b.Events))
	}
}

func TestSegmentGeneratedMessageID(t *testing.T) {
	id := func(body string) string {
		t.Helper()
		return onlyEvent(t, decodeSegment(t, SegmentBatch, body)).MessageID
	}

	first := id(`{"sentAt": "2024-05-01T12:00:00Z", "batch": [{"type": "track", "event": "e", "userId": "u", "timestamp": "2024-05-01T10:00:00Z", "properties": {"a": 1, "b": 2}}]}`)
	if !strings.HasPrefix(first, "gen-") || len(first) != len("gen-")+32 {
		t.Errorf("generated id %q, want gen- and 32 hex digits", first)
	}

	retried := id(`{"sentAt": "2024-05-01T12:00:09Z", "batch": [{"type": "track", "event": "e", "userId": "u", "timestamp": "2024-05-01T10:00:00Z", "properties": {"a": 1, "b": 2}}]}`)
	if retried != first {
		t.Errorf("a retry with a new sentAt got id %q, want %q", retried, first)
	}

	reordered := id(`{"batch": [{"properties": {"b": 2, "a": 1}, "timestamp": "2024-05-01T10:00:00Z", "userId": "u", "event": "e", "type": "track", "sentAt": "2024-05-01T12:00:00Z"}]}`)
	if reordered != first {
		t.Errorf("the same call with keys in another order got id %q, want %q", reordered, first)
	}

	other := id(`{"batch": [{"type": "track", "event": "e", "userId": "u", "timestamp": "2024-05-01T10:00:01Z", "properties": {"a": 1, "b": 2}}]}`)
	if other == first {
		t.Error("calls with different timestamps got the same id")
	}

	single := onlyEvent(t, decodeSegment(t, SegmentTrack, `{"event": "e", "userId": "u", "timestamp": "2024-05-01T10:00:00Z", "properties": {"a": 1, "b": 2}}`)).MessageID
	if single != first {
		t.Errorf("the call sent to /v1/track got id %q, want the batch's %q", single, first)
	}
	page := onlyEvent(t, decodeSegment(t, SegmentPage, `{"userId": "u", "timestamp": "2024-05-01T10:00:00Z", "properties": {"a": 1, "b": 2}}`)).MessageID
	if page == first {
		t.Error("a page call got the id of a track call with the same fields")
	}
}
