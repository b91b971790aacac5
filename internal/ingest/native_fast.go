package ingest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/northstar-kpi/northstar/internal/store"
)

// fastNativeEvent decodes a well-formed native event with fastjson, which
// parses an item into one reusable tree instead of a map of raw values that
// are each decoded again. It returns false when the item needs the full
// decoder, which gives the same result or the reason for a rejection. That
// is the case when the item is not valid JSON or not valid UTF-8, repeats a
// key the decoder reads, has no message_id, or has a field of another type
// than the event needs. An item with a \u escape goes there too, so that
// encoding/json's handling of lone surrogates applies.
func fastNativeEvent(p *fastjson.Parser, raw []byte, opts DecodeOptions) (store.Event, bool) {
	if !utf8.Valid(raw) || bytes.Contains(raw, []byte(`\u`)) || !json.Valid(raw) {
		return store.Event{}, false
	}
	v, err := p.ParseBytes(raw)
	if err != nil {
		return store.Event{}, false
	}
	obj, err := v.Object()
	if err != nil {
		return store.Event{}, false
	}

	var (
		e                                     = store.Event{ReceivedAt: opts.ReceivedAt}
		seen                                  [5]bool
		ok                                    = true
		hasName, hasUser, hasTime, hasMessage bool
	)
	field := func(i int) bool {
		if seen[i] {
			ok = false // a repeated key: encoding/json keeps the last one
		}
		seen[i] = true
		return ok
	}
	obj.Visit(func(key []byte, v *fastjson.Value) {
		if !ok {
			return
		}
		switch string(key) {
		case "event":
			if field(0) && v.Type() == fastjson.TypeString {
				e.Name, hasName = string(v.GetStringBytes()), true
			} else {
				ok = false
			}
		case "distinct_id":
			if !field(1) {
				return
			}
			switch v.Type() {
			case fastjson.TypeString:
				e.DistinctID, hasUser = string(v.GetStringBytes()), true
			case fastjson.TypeNumber:
				e.DistinctID, hasUser = string(v.MarshalTo(nil)), true
			default:
				ok = false
			}
		case "timestamp":
			if !field(2) {
				return
			}
			switch v.Type() {
			case fastjson.TypeNull:
			case fastjson.TypeString:
				s := string(v.GetStringBytes())
				if strings.TrimSpace(s) == "" {
					return
				}
				t, err := parseTimestamp(s)
				if err != nil {
					ok = false
					return
				}
				if !t.IsZero() {
					e.Timestamp, hasTime = t, true
				}
			default:
				ok = false
			}
		case "properties":
			if !field(3) {
				return
			}
			switch v.Type() {
			case fastjson.TypeNull:
			case fastjson.TypeObject:
				props, valid := jsonValue(v).(map[string]any)
				if !valid {
					ok = false
					return
				}
				e.Properties = props
			default:
				ok = false
			}
		case "message_id":
			if field(4) && v.Type() == fastjson.TypeString {
				e.MessageID, hasMessage = string(v.GetStringBytes()), true
			} else {
				ok = false
			}
		}
	})

	if !ok || !hasName || isBlank(e.Name) || !hasUser || strings.TrimSpace(e.DistinctID) == "" || !hasMessage || e.MessageID == "" {
		return store.Event{}, false
	}
	if !hasTime {
		e.Timestamp = opts.ReceivedAt
	}
	if e.Properties == nil {
		e.Properties = map[string]any{}
	}
	return e, true
}

// jsonValue converts a parsed value to what encoding/json decodes into an
// any: map[string]any, []any, float64, string, bool or nil. It returns an
// invalidNumber for a number that does not fit a float64, which
// encoding/json rejects.
func jsonValue(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		m := make(map[string]any, o.Len())
		var bad bool
		o.Visit(func(key []byte, v *fastjson.Value) {
			x := jsonValue(v)
			if _, invalid := x.(invalidNumber); invalid {
				bad = true
			}
			m[string(key)] = x
		})
		if bad {
			return invalidNumber{}
		}
		return m
	case fastjson.TypeArray:
		items, _ := v.Array()
		out := make([]any, len(items))
		for i, item := range items {
			x := jsonValue(item)
			if _, invalid := x.(invalidNumber); invalid {
				return x
			}
			out[i] = x
		}
		return out
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		f, err := strconv.ParseFloat(string(v.MarshalTo(nil)), 64)
		if err != nil {
			return invalidNumber{}
		}
		return f
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	}
	return nil
}

// invalidNumber marks a number that encoding/json would reject.
type invalidNumber struct{}
