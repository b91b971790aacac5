package ingest

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

func decodePostHog(t *testing.T, body string) *Batch {
	t.Helper()
	b, err := DecodePostHog([]byte(body), PostHogOptions{DecodeOptions: testOptions()})
	if err != nil {
		t.Fatalf("DecodePostHog: %v", err)
	}
	return b
}

func TestPostHogCapture(t *testing.T) {
	b := decodePostHog(t, `{
		"api_key": "phc_1", "event": "order placed", "distinct_id": "u1",
		"uuid": "0190a9f0-0000-7000-8000-000000000001", "timestamp": "2024-05-01T10:00:00Z",
		"properties": {"amount": 12.5, "token": "phc_1", "$lib": "posthog-go"}}`)

	ev := onlyEvent(t, b)
	if b.WriteKey != "phc_1" {
		t.Errorf("write key %q, want phc_1", b.WriteKey)
	}
	if ev.Name != "order placed" || ev.DistinctID != "u1" {
		t.Errorf("event %q of %q, want order placed of u1", ev.Name, ev.DistinctID)
	}
	if ev.MessageID != "0190a9f0-0000-7000-8000-000000000001" {
		t.Errorf("message id %q, want the uuid", ev.MessageID)
	}
	if !ev.Timestamp.Equal(at(10, 0, 0)) {
		t.Errorf("timestamp %v, want 10:00", ev.Timestamp)
	}
	if ev.Properties["amount"] != 12.5 || ev.Properties["$lib"] != "posthog-go" {
		t.Errorf("properties %v, want amount and $lib kept", ev.Properties)
	}
	if _, ok := ev.Properties["token"]; ok {
		t.Errorf("properties %v keep the token, which is the write key", ev.Properties)
	}
}

func TestPostHogShapes(t *testing.T) {
	tests := []struct {
		name string
		body string
		key  string
	}{
		{"bare array", `[{"event": "a", "properties": {"distinct_id": "u1", "token": "phc_js"}}, {"event": "b", "distinct_id": "u2"}]`, "phc_js"},
		{"batch object", `{"batch": [{"event": "a", "distinct_id": "u1"}, {"event": "b", "distinct_id": "u2"}], "token": "phc_t"}`, "phc_t"},
		{"api_key and batch", `{"api_key": "phc_k", "batch": [{"event": "a", "distinct_id": "u1"}, {"event": "b", "distinct_id": "u2"}]}`, "phc_k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := decodePostHog(t, tt.body)
			if len(b.Errors) > 0 {
				t.Fatalf("errors %v", b.Errors)
			}
			if b.Items != 2 || len(b.Events) != 2 {
				t.Fatalf("items %d, events %d; want 2 and 2", b.Items, len(b.Events))
			}
			if b.Events[0].DistinctID != "u1" || b.Events[1].DistinctID != "u2" {
				t.Errorf("distinct ids %q and %q, want u1 and u2", b.Events[0].DistinctID, b.Events[1].DistinctID)
			}
			if b.WriteKey != tt.key {
				t.Errorf("write key %q, want %q", b.WriteKey, tt.key)
			}
		})
	}
}

func TestPostHogTokenMismatch(t *testing.T) {
	b := decodePostHog(t, `{"api_key": "phc_a", "batch": [
		{"event": "x", "distinct_id": "u1", "properties": {"token": "phc_a"}},
		{"event": "y", "distinct_id": "u2", "properties": {"token": "phc_b"}}]}`)
	if msg := onlyError(t, b); !strings.Contains(msg, "token differs") {
		t.Errorf("error %q, want a token mismatch", msg)
	}
	if b.Errors[0].Index != 1 {
		t.Errorf("error at index %d, want 1", b.Errors[0].Index)
	}
	if len(b.Events) != 1 || b.Events[0].Name != "x" {
		t.Errorf("events %+v, want only x", b.Events)
	}
}

func TestPostHogIdentify(t *testing.T) {
	// posthog-js sends $set at the top level and the anonymous id in the properties.
	b := decodePostHog(t, `{"event": "$identify", "properties": {"distinct_id": "u1", "$anon_distinct_id": "anon-1", "token": "phc"},
		"$set": {"email": "ana@example.com"}, "timestamp": "2024-05-01T09:00:00Z"}`)
	if len(b.Events) != 0 || len(b.Errors) != 0 {
		t.Fatalf("$identify made events %v and errors %v, want neither", b.Events, b.Errors)
	}
	if len(b.Identifies) != 1 || b.Identifies[0].DistinctID != "u1" || b.Identifies[0].Traits["email"] != "ana@example.com" {
		t.Errorf("identifies %+v, want u1 with the email", b.Identifies)
	}
	want := store.Alias{PreviousID: "anon-1", DistinctID: "u1", Timestamp: at(9, 0, 0)}
	if len(b.Aliases) != 1 || b.Aliases[0] != want {
		t.Errorf("aliases %+v, want [%+v]", b.Aliases, want)
	}

	// posthog-node sends $set inside the properties.
	b = decodePostHog(t, `{"api_key": "phc", "batch": [{"event": "$identify", "distinct_id": "u2", "properties": {"$set": {"plan": "pro"}}}]}`)
	if len(b.Identifies) != 1 || b.Identifies[0].Traits["plan"] != "pro" {
		t.Errorf("identifies %+v, want u2 with plan pro", b.Identifies)
	}
	if len(b.Aliases) != 0 {
		t.Errorf("aliases %+v, want none without $anon_distinct_id", b.Aliases)
	}
}

func TestPostHogCreateAlias(t *testing.T) {
	// posthog-go puts both ids in the properties and none at the top level.
	b := decodePostHog(t, `{"api_key": "phc", "batch": [{"type": "alias", "event": "$create_alias",
		"properties": {"distinct_id": "u1", "alias": "legacy-7"}, "timestamp": "2024-05-01T08:00:00Z"}]}`)
	want := store.Alias{PreviousID: "legacy-7", DistinctID: "u1", Timestamp: at(8, 0, 0)}
	if len(b.Aliases) != 1 || b.Aliases[0] != want {
		t.Errorf("aliases %+v, want [%+v]", b.Aliases, want)
	}
	if len(b.Events) != 0 {
		t.Errorf("events %+v, want none", b.Events)
	}

	b = decodePostHog(t, `{"event": "$create_alias", "distinct_id": "u1", "properties": {}}`)
	if msg := onlyError(t, b); !strings.Contains(msg, `"alias"`) {
		t.Errorf("error %q, want it to name the alias property", msg)
	}
}

func TestPostHogEventsKept(t *testing.T) {
	b := decodePostHog(t, `[
		{"event": "$pageview", "distinct_id": "u1", "properties": {"$current_url": "https://shop.example/pricing"}},
		{"event": "survey sent", "distinct_id": "u1", "properties": {"$survey_id": "s-1", "$survey_response": 9, "$survey_response_1": "Fast checkout"}},
		{"event": "clicked", "distinct_id": "u1", "$set": {"plan": "pro"}, "$set_once": {"first_seen": "2024-01-01"}}
	]`)
	if len(b.Errors) != 0 || len(b.Events) != 3 {
		t.Fatalf("events %d, errors %v; want 3 events", len(b.Events), b.Errors)
	}
	if b.Events[0].Name != "$pageview" || b.Events[0].Properties["$current_url"] != "https://shop.example/pricing" {
		t.Errorf("pageview %+v, want $pageview with its URL", b.Events[0])
	}
	survey := b.Events[1]
	if survey.Name != "survey sent" || survey.Properties["$survey_response"] != 9.0 || survey.Properties["$survey_response_1"] != "Fast checkout" {
		t.Errorf("survey event %+v, want its answers kept", survey)
	}

	clicked := b.Events[2]
	if set, _ := clicked.Properties["$set"].(map[string]any); set["plan"] != "pro" {
		t.Errorf("clicked properties %v, want $set kept", clicked.Properties)
	}
	if once, _ := clicked.Properties["$set_once"].(map[string]any); once["first_seen"] != "2024-01-01" {
		t.Errorf("clicked properties %v, want $set_once kept", clicked.Properties)
	}
	if len(b.Identifies) != 1 || b.Identifies[0].DistinctID != "u1" || b.Identifies[0].Traits["plan"] != "pro" {
		t.Errorf("identifies %+v, want the $set of clicked as traits of u1", b.Identifies)
	}
}

func TestPostHogTimestamps(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		query string
		want  time.Time
	}{
		{
			// The client's clock is 10 minutes behind: it stamped the event
			// at 11:45 and sent it at 11:50, and the server got it at 12:00.
			name: "sent_at", body: `{"sent_at": "2024-05-01T11:50:00Z", "batch": [{"event": "e", "distinct_id": "u", "timestamp": "2024-05-01T11:45:00Z"}]}`,
			want: at(11, 55, 0),
		},
		{
			name: "query _ as sent_at", body: `[{"event": "e", "distinct_id": "u", "timestamp": "2024-05-01T11:45:00Z"}]`,
			query: "1714564200000", // 2024-05-01T11:50:00Z
			want:  at(11, 55, 0),
		},
		{
			name: "body sent_at over query", body: `{"sent_at": "2024-05-01T11:46:00Z", "batch": [{"event": "e", "distinct_id": "u", "timestamp": "2024-05-01T11:45:00Z"}]}`,
			query: "1714564200000",
			want:  at(11, 59, 0),
		},
		{name: "offset", body: `[{"event": "e", "distinct_id": "u", "offset": 1500}]`, want: at(11, 59, 58).Add(500 * time.Millisecond)},
		{name: "timestamp only", body: `[{"event": "e", "distinct_id": "u", "timestamp": "2024-04-02T03:04:05+01:00"}]`, want: time.Date(2024, 4, 2, 2, 4, 5, 0, time.UTC)},
		{name: "none", body: `[{"event": "e", "distinct_id": "u"}]`, want: testReceivedAt},
		{name: "query _ not a number", body: `[{"event": "e", "distinct_id": "u", "timestamp": "2024-05-01T11:45:00Z"}]`, query: "abc", want: at(11, 45, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodePostHog([]byte(tt.body), PostHogOptions{DecodeOptions: testOptions(), QuerySentAt: tt.query})
			if err != nil {
				t.Fatal(err)
			}
			ev := onlyEvent(t, b)
			if !ev.Timestamp.Equal(tt.want) {
				t.Errorf("timestamp %v, want %v", ev.Timestamp, tt.want)
			}
		})
	}
}

func TestPostHogForm(t *testing.T) {
	payload := `[{"event": "$pageview", "properties": {"distinct_id": "u1", "token": "phc_form"}}]`

	for name, data := range map[string]string{
		"base64":     base64.StdEncoding.EncodeToString([]byte(payload)),
		"raw base64": base64.RawStdEncoding.EncodeToString([]byte(payload + " ")),
		"plain JSON": payload,
	} {
		t.Run(name, func(t *testing.T) {
			body := url.Values{"data": {data}}.Encode()
			b, err := DecodePostHog([]byte(body), PostHogOptions{DecodeOptions: testOptions(), Form: true})
			if err != nil {
				t.Fatal(err)
			}
			ev := onlyEvent(t, b)
			if ev.Name != "$pageview" || ev.DistinctID != "u1" || b.WriteKey != "phc_form" {
				t.Errorf("event %q of %q with key %q, want $pageview of u1 with phc_form", ev.Name, ev.DistinctID, b.WriteKey)
			}
		})
	}

	for _, tt := range []struct {
		body, code, want string
	}{
		{"other=1", kpi.EINVALID, `no "data" field`},
		{"data=%%%", kpi.EINVALID, "form body is not valid"},
		{"data=not*base64", kpi.EINVALID, "neither JSON nor base64"},
		{"data=abc&compression=lz64", kpi.EUNSUPPORTED, `"lz64" is not supported`},
	} {
		_, err := DecodePostHog([]byte(tt.body), PostHogOptions{DecodeOptions: testOptions(), Form: true})
		if kpi.ErrorCode(err) != tt.code || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("form %q: error %v, want %s containing %q", tt.body, err, tt.code, tt.want)
		}
	}
}

func TestPostHogItemErrors(t *testing.T) {
	tests := []struct {
		name string
		item string
		want string
	}{
		{"no event", `{"distinct_id": "u"}`, `no "event" name`},
		{"no distinct_id", `{"event": "e", "properties": {}}`, `has no "distinct_id"`},
		{"distinct_id an object", `{"event": "e", "distinct_id": {"id": 1}}`, `"distinct_id" must be a string or a number`},
		{"timestamp not a date", `{"event": "e", "distinct_id": "u", "timestamp": "2024-13-01T00:00:00Z"}`, "is not a date"},
		{"offset not a number", `{"event": "e", "distinct_id": "u", "offset": "5"}`, `"offset" must be a number`},
		{"offset out of range", `{"event": "e", "distinct_id": "u", "offset": 1e300}`, "out of range"},
		{"$set not an object", `{"event": "e", "distinct_id": "u", "$set": "x"}`, `"$set" must be an object`},
		{"not an object", `[1, 2]`, "JSON array, but must be an object"},
		{"oversized", `{"event": "e", "distinct_id": "u", "properties": {"blob": "` + strings.Repeat("y", 32<<10) + `"}}`, "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := decodePostHog(t, `[{"event": "ok", "distinct_id": "u0", "uuid": "id-0"}, `+tt.item+`]`)
			if len(b.Errors) != 1 || b.Errors[0].Index != 1 {
				t.Fatalf("errors %v, want one at index 1", b.Errors)
			}
			if !strings.Contains(b.Errors[0].Message, tt.want) {
				t.Errorf("error %q, want it to contain %q", b.Errors[0].Message, tt.want)
			}
			if len(b.Events) != 1 || b.Events[0].MessageID != "id-0" {
				t.Errorf("events %+v, want the valid item kept", b.Events)
			}
		})
	}
}

func TestPostHogRequestErrors(t *testing.T) {
	tooMany := `[` + strings.TrimSuffix(strings.Repeat(`{"event":"e","distinct_id":"u"},`, 2501), ",") + `]`
	tests := []struct {
		name, body, code, want string
	}{
		{"invalid JSON", `{"event": "e", "distinct_id": }`, kpi.EINVALID, "line 1, column 31"},
		{"empty array", `[]`, kpi.EINVALID, "no events"},
		{"empty batch", `{"api_key": "k", "batch": []}`, kpi.EINVALID, "no events"},
		{"batch not an array", `{"batch": "x"}`, kpi.EINVALID, `"batch" is a JSON string`},
		{"string body", `"hello"`, kpi.EINVALID, "must be"},
		{"sent_at not a date", `{"sent_at": "later", "batch": [{"event": "e", "distinct_id": "u"}]}`, kpi.EINVALID, `"later" is not a date`},
		{"batch of 2,501", tooMany, kpi.ETOOLARGE, "2501 items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodePostHog([]byte(tt.body), PostHogOptions{DecodeOptions: testOptions()})
			if kpi.ErrorCode(err) != tt.code {
				t.Fatalf("error code %q (%v), want %q", kpi.ErrorCode(err), err, tt.code)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPostHogGeneratedMessageID(t *testing.T) {
	first := onlyEvent(t, decodePostHog(t, `{"api_key": "k", "sent_at": "2024-05-01T12:00:00Z", "batch": [{"event": "e", "distinct_id": "u", "timestamp": "2024-05-01T11:00:00Z"}]}`)).MessageID
	retry := onlyEvent(t, decodePostHog(t, `{"api_key": "k", "sent_at": "2024-05-01T12:00:30Z", "batch": [{"event": "e", "distinct_id": "u", "timestamp": "2024-05-01T11:00:00Z"}]}`)).MessageID
	if first != retry {
		t.Errorf("retry got id %q, want %q", retry, first)
	}
	other := onlyEvent(t, decodePostHog(t, `[{"event": "e", "distinct_id": "v", "timestamp": "2024-05-01T11:00:00Z"}]`)).MessageID
	if other == first {
		t.Error("events of different users got the same id")
	}
}
