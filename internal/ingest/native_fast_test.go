package ingest

import (
	"reflect"
	"testing"

	"github.com/valyala/fastjson"
)

// fastEventItems are native events for the differential test: the fast
// decoder must give what the full decoder gives, or leave the item to it.
var fastEventItems = []string{
	`{"event":"signup","distinct_id":"u1","timestamp":"2024-04-30T10:00:00Z","properties":{"plan":"pro","country":"JP"},"message_id":"n-1"}`,
	`{"event":"order","distinct_id":42,"timestamp":"2024-04-30T12:00:00+0200","properties":{"amount":19.99,"items":[1,"two",null,true],"cart":{"n":2e3}},"message_id":"n-2"}`,
	`{"event":"visit","distinct_id":"u1","properties":null,"message_id":"n-3"}`,
	`{"event":"visit","distinct_id":"u1","timestamp":"","message_id":"n-4"}`,
	`{"event":"visit","distinct_id":"u1","timestamp":"0001-01-01T00:00:00Z","message_id":"n-5"}`,
	`{"event":"visit","distinct_id":"u1","timestamp":null,"message_id":"n-6","extra":{"ignored":1}}`,
	`{"event":"visit","distinct_id":"u1","properties":{"a":1,"a":2},"message_id":"n-7"}`,
	`{"event":"visit","event":"other","distinct_id":"u1","message_id":"n-8"}`,
	`{"event":"v\u00e9","distinct_id":"u1","message_id":"n-9"}`,
	`{"event":"vé \"quoted\" \\ \/","distinct_id":"ü","message_id":"n-10"}`,
	`{"event":"visit","distinct_id":"u1","properties":{"big":1e400},"message_id":"n-11"}`,
	`{"event":"visit","distinct_id":"u1","properties":{"n":-0.0,"m":12345678901234567890},"message_id":"n-12"}`,
	`{"event":"visit","distinct_id":"   ","message_id":"n-13"}`,
	`{"event":"visit","distinct_id":"u1"}`,
	`{"event":"visit","distinct_id":"u1","message_id":""}`,
	`{"event":"visit","distinct_id":"u1","message_id":5}`,
	`{"event":5,"distinct_id":"u1","message_id":"n-14"}`,
	`{"event":"visit","distinct_id":"u1","timestamp":"yesterday","message_id":"n-15"}`,
	`{"event":"visit","distinct_id":"u1","properties":[1],"message_id":"n-16"}`,
	`{"event":"visit","distinct_id":"u1","message_id":"n-17",}`,
	`{"event":"visit","distinct_id":nan,"message_id":"n-18"}`,
	"{\"event\":\"vis\xffit\",\"distinct_id\":\"u1\",\"message_id\":\"n-19\"}",
	`{"event":"visit","distinct_id":"u1","properties":{"p":+1},"message_id":"n-20"}`,
	`[{"event":"visit","distinct_id":"u1","message_id":"n-21"}]`,
	`{"event":"visit","distinct_id":1.50,"message_id":"n-22"}`,
}

func TestFastNativeEventMatchesFullDecoder(t *testing.T) {
	opts := testOptions()
	opts.Limits = opts.Limits.WithDefaults()
	var parser fastjson.Parser
	fastItems := 0
	for _, item := range fastEventItems {
		fast, ok := fastNativeEvent(&parser, []byte(item), opts)
		full, err := decodeNative([]byte(item), true, opts, nativeEvent, false)
		if !ok {
			continue
		}
		fastItems++
		if err != nil {
			t.Errorf("item %s: fast decoder accepted it, full decoder failed: %v", item, err)
			continue
		}
		if len(full.Events) != 1 {
			t.Errorf("item %s: fast decoder accepted it, full decoder rejected it: %v", item, full.Errors)
			continue
		}
		if !reflect.DeepEqual(fast, full.Events[0]) {
			t.Errorf("item %s:\nfast %#v\nfull %#v", item, fast, full.Events[0])
		}
	}
	// Most items are for the full decoder; these must take the fast path.
	if fastItems < 8 {
		t.Errorf("the fast decoder took %d items, want at least 8 of the well-formed ones", fastItems)
	}
}

// TestFastNativeEventLeavesItems checks that items with a problem or a
// detail that encoding/json decides are left to the full decoder.
func TestFastNativeEventLeavesItems(t *testing.T) {
	opts := testOptions()
	var parser fastjson.Parser
	for _, item := range []string{
		`{"event":"visit","event":"other","distinct_id":"u1","message_id":"n-8"}`,
		`{"event":"v\u00e9","distinct_id":"u1","message_id":"n-9"}`,
		`{"event":"visit","distinct_id":"u1","properties":{"big":1e400},"message_id":"n-11"}`,
		`{"event":"visit","distinct_id":"u1"}`,
		`{"event":"visit","distinct_id":"u1","message_id":"n-17",}`,
		`{"event":"visit","distinct_id":nan,"message_id":"n-18"}`,
		"{\"event\":\"vis\xffit\",\"distinct_id\":\"u1\",\"message_id\":\"n-19\"}",
		`{"event":"visit","distinct_id":"u1","properties":{"p":+1},"message_id":"n-20"}`,
	} {
		if _, ok := fastNativeEvent(&parser, []byte(item), opts); ok {
			t.Errorf("item %s: the fast decoder took it, want it left to the full decoder", item)
		}
	}
}

// FuzzFastNativeEvent checks on random items that the fast decoder gives
// what the full decoder gives whenever it takes an item.
func FuzzFastNativeEvent(f *testing.F) {
	for _, item := range fastEventItems {
		f.Add([]byte(item))
	}
	opts := testOptions()
	f.Fuzz(func(t *testing.T, item []byte) {
		var parser fastjson.Parser
		fast, ok := fastNativeEvent(&parser, item, opts)
		if !ok {
			return
		}
		full, err := decodeNative(item, true, opts, nativeEvent, false)
		if err != nil || len(full.Events) != 1 {
			t.Fatalf("item %q: fast decoder took it, full decoder gave %v, %+v", item, err, full)
		}
		if !reflect.DeepEqual(fast, full.Events[0]) {
			t.Fatalf("item %q:\nfast %#v\nfull %#v", item, fast, full.Events[0])
		}
	})
}
