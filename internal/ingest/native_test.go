package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

func TestNativeEventsArray(t *testing.T) {
	b, err := DecodeNativeEvents([]byte(`[
		{"event": "signup", "distinct_id": "u1", "timestamp": "2024-04-30T10:00:00Z", "properties": {"plan": "pro"}, "message_id": "n-1"},
		{"event": "order", "distinct_id": 42, "properties": {"amount": 9.99}}
	]`), false, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Errors) != 0 || len(b.Events) != 2 {
		t.Fatalf("events %d, errors %v; want 2 events", len(b.Events), b.Errors)
	}

	first, second := b.Events[0], b.Events[1]
	if first.Name != "signup" || first.DistinctID != "u1" || first.MessageID != "n-1" || first.Properties["plan"] != "pro" {
		t.Errorf("first event %+v, want signup of u1 with id n-1 and plan pro", first)
	}
	if !first.Timestamp.Equal(time.Date(2024, 4, 30, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("first timestamp %v, want 2024-04-30 10:00", first.Timestamp)
	}
	if second.DistinctID != "42" {
		t.Errorf("numeric distinct_id became %q, want 42", second.DistinctID)
	}
	if !second.Timestamp.Equal(testReceivedAt) {
		t.Errorf("timestamp without one given %v, want the receive time", second.Timestamp)
	}
	if !strings.HasPrefix(second.MessageID, "gen-") {
		t.Errorf("message id %q, want a generated one", second.MessageID)
	}
	if b.WriteKey != "" {
		t.Errorf("write key %q from a native body, want none", b.WriteKey)
	}
}

func TestNativeSingleObject(t *testing.T) {
	b, err := DecodeNativeEvents([]byte(`{"event": "signup", "distinct_id": "u1"}`), false, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if ev := onlyEvent(t, b); ev.Name != "signup" {
		t.Errorf("event %q, want signup", ev.Name)
	}
}

func TestNativeNDJSON(t *testing.T) {
	body := strings.Join([]string{
		`{"event": "a", "distinct_id": "u1", "message_id": "1"}`,
		``,
		`{"event": "b", "distinct_id": }`,
		`{"event": "c"}`,
		`  {"event": "d", "distinct_id": "u4", "message_id": "4"}  `,
	}, "\n")
	b, err := DecodeNativeEvents([]byte(body), true, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if b.Items != 4 {
		t.Errorf("items %d, want 4 non-blank lines", b.Items)
	}
	if len(b.Events) != 2 || b.Events[0].Name != "a" || b.Events[1].Name != "d" {
		t.Errorf("events %+v, want a and d", b.Events)
	}
	if len(b.Errors) != 2 {
		t.Fatalf("errors %v, want 2", b.Errors)
	}
	if b.Errors[0].Index != 1 || !strings.HasPrefix(b.Errors[0].Message, "line 3: ") || !strings.Contains(b.Errors[0].Message, "not valid JSON") {
		t.Errorf("first error %+v, want index 1 on line 3 for invalid JSON", b.Errors[0])
	}
	if b.Errors[1].Index != 2 || b.Errors[1].Message != `line 4: event "c" has no "distinct_id"` {
		t.Errorf("second error %+v, want index 2 on line 4 for the missing distinct_id", b.Errors[1])
	}
}

func TestNativeEventErrors(t *testing.T) {
	tests := []struct {
		name, item, want string
	}{
		{"no event", `{"distinct_id": "u"}`, `no "event" name`},
		{"no distinct_id", `{"event": "e"}`, `has no "distinct_id"`},
		{"timestamp not a date", `{"event": "e", "distinct_id": "u", "timestamp": "31/12/2024"}`, `"31/12/2024" is not a date`},
		{"properties an array", `{"event": "e", "distinct_id": "u", "properties": []}`, `"properties" must be an object`},
		{"message_id a number", `{"event": "e", "distinct_id": "u", "message_id": 7}`, `"message_id" must be a string`},
		{"oversized", `{"event": "e", "distinct_id": "u", "properties": {"x": "` + strings.Repeat("z", 32<<10) + `"}}`, "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeNativeEvents([]byte(`[`+tt.item+`]`), false, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if msg := onlyError(t, b); !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want it to contain %q", msg, tt.want)
			}
			if !b.AllRejected() {
				t.Error("AllRejected is false for a batch of one bad item")
			}
		})
	}
}

func TestNativeMeasurements(t *testing.T) {
	b, err := DecodeNativeMeasurements([]byte(`[
		{"series": "ad_spend", "timestamp": "2024-04-30", "value": 1250.5, "dimensions": {"channel": "search", "campaign": 1000000, "brand": true, "gone": null}, "message_id": "spend-1"},
		{"series": "headcount", "value": 42}
	]`), false, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Errors) != 0 || len(b.Measurements) != 2 {
		t.Fatalf("measurements %d, errors %v; want 2", len(b.Measurements), b.Errors)
	}

	spend := b.Measurements[0]
	if spend.Series != "ad_spend" || spend.Value != 1250.5 || spend.MessageID != "spend-1" {
		t.Errorf("measurement %+v, want ad_spend 1250.5 with id spend-1", spend)
	}
	if !spend.Timestamp.Equal(time.Date(2024, 4, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("timestamp %v, want 2024-04-30 00:00 UTC", spend.Timestamp)
	}
	wantDims := map[string]string{"channel": "search", "campaign": "1000000", "brand": "true"}
	if len(spend.Dimensions) != len(wantDims) {
		t.Errorf("dimensions %v, want %v", spend.Dimensions, wantDims)
	}
	for k, v := range wantDims {
		if spend.Dimensions[k] != v {
			t.Errorf("dimension %s = %q, want %q", k, spend.Dimensions[k], v)
		}
	}

	headcount := b.Measurements[1]
	if !headcount.Timestamp.Equal(testReceivedAt) || !strings.HasPrefix(headcount.MessageID, "gen-") {
		t.Errorf("measurement %+v, want the receive time and a generated id", headcount)
	}

	b.SetSource("billing")
	if b.Measurements[0].Source != "billing" || b.Measurements[1].Source != "billing" {
		t.Errorf("sources %q and %q after SetSource, want billing", b.Measurements[0].Source, b.Measurements[1].Source)
	}
}

func TestNativeMeasurementErrors(t *testing.T) {
	tests := []struct {
		name, item, want string
	}{
		{"no series", `{"value": 1}`, `no "series" name`},
		{"no value", `{"series": "s"}`, `has no "value"`},
		{"value a string", `{"series": "s", "value": "12"}`, `"value" must be a number`},
		{"value too large", `{"series": "s", "value": 1e400}`, `"value" must be a number`},
		{"nested dimension", `{"series": "s", "value": 1, "dimensions": {"b": 1, "a": {"x": 1}}}`, `dimension "a" must be a string, number or boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeNativeMeasurements([]byte(tt.item), false, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if msg := onlyError(t, b); !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want it to contain %q", msg, tt.want)
			}
		})
	}
}

func TestNativeRequestErrors(t *testing.T) {
	tooMany := strings.Repeat(`{"event":"e","distinct_id":"u"}`+"\n", 2501)
	tests := []struct {
		name   string
		body   string
		ndjson bool
		code   string
		want   string
	}{
		{"invalid JSON", `[{"event": "e",}]`, false, kpi.EINVALID, "line 1, column 16"},
		{"invalid object", `{"event": "e"`, false, kpi.EINVALID, "not valid JSON"},
		{"string body", `"event"`, false, kpi.EINVALID, "JSON string, but must be an array"},
		{"empty array", `[]`, false, kpi.EINVALID, "no items"},
		{"2,501 lines", tooMany, true, kpi.ETOOLARGE, "2501 items"},
		{"empty body", "", true, kpi.EINVALID, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeNativeEvents([]byte(tt.body), tt.ndjson, testOptions())
			if kpi.ErrorCode(err) != tt.code {
				t.Fatalf("error code %q (%v), want %q", kpi.ErrorCode(err), err, tt.code)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLimitsWithDefaults(t *testing.T) {
	got := Limits{MaxItemBytes: 100}.WithDefaults()
	want := Limits{MaxBodyBytes: 512000, MaxItemBytes: 100, MaxBatchItems: 2500}
	if got != want {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}

	b, err := DecodeNativeEvents([]byte(`[{"event": "e", "distinct_id": "u", "properties": {"x": "0123456789012345678901234567890123456789012345678901234567890123456789"}}]`),
		false, DecodeOptions{ReceivedAt: testReceivedAt, Limits: Limits{MaxItemBytes: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if msg := onlyError(t, b); !strings.Contains(msg, "over the limit of 100 bytes") {
		t.Errorf("error %q, want the 100-byte item limit", msg)
	}
}
