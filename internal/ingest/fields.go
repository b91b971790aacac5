package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// object is one JSON object of a request, its values still encoded.
type object map[string]json.RawMessage

// parseObject decodes raw as a JSON object, or returns why it is not one.
func parseObject(raw []byte) (object, string) {
	if kind := jsonType(raw); kind != "object" {
		return nil, fmt.Sprintf("the item is a JSON %s, but must be an object", kind)
	}
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, "the item is not valid JSON: " + err.Error()
	}
	return o, ""
}

// jsonType names the JSON type of an encoded value from its first byte.
func jsonType(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty value"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// fields reads typed values from an object. The first value of the wrong
// type is kept in problem, and every later read still works, so a decoder can
// read all it needs and then check problem once.
type fields struct {
	obj     object
	problem string
}

// fail keeps the first problem.
func (f *fields) fail(format string, args ...any) {
	if f.problem == "" {
		f.problem = fmt.Sprintf(format, args...)
	}
}

// raw returns the encoded value at key, or nil when it is absent or null.
func (f *fields) raw(key string) json.RawMessage {
	v, ok := f.obj[key]
	if !ok || jsonType(v) == "null" {
		return nil
	}
	return v
}

// str returns the string at key, or "" when it is absent or null.
func (f *fields) str(key string) string {
	raw := f.raw(key)
	if raw == nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.fail("%q must be a string, not a JSON %s", key, jsonType(raw))
		return ""
	}
	return s
}

// id returns the user ID at key: a string, or a number in its JSON form. It
// returns "" when the value is absent, null or blank.
func (f *fields) id(key string) string {
	raw := f.raw(key)
	if raw == nil {
		return ""
	}
	if jsonType(raw) == "number" {
		return string(bytes.TrimSpace(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.fail("%q must be a string or a number, not a JSON %s", key, jsonType(raw))
		return ""
	}
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return s
}

// properties returns the object at key decoded, or nil when it is absent or
// null. Numbers become float64.
func (f *fields) properties(key string) map[string]any {
	raw := f.raw(key)
	if raw == nil {
		return nil
	}
	if kind := jsonType(raw); kind != "object" {
		f.fail("%q must be an object, not a JSON %s", key, kind)
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		f.fail("%q is not a valid object: %v", key, err)
		return nil
	}
	return m
}

// number returns the finite number at key, and false when it is absent or null.
func (f *fields) number(key string) (float64, bool) {
	raw := f.raw(key)
	if raw == nil {
		return 0, false
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		f.fail("%q must be a number, not a JSON %s", key, jsonType(raw))
		return 0, false
	}
	return v, true
}

// time returns the timestamp at key, and false when it is absent, null, ""
// or 0001-01-01T00:00:00Z.
func (f *fields) time(key string) (time.Time, bool) {
	raw := f.raw(key)
	if raw == nil {
		return time.Time{}, false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.fail("%q must be a date string such as 2024-05-01T12:00:00Z, not a JSON %s", key, jsonType(raw))
		return time.Time{}, false
	}
	if strings.TrimSpace(s) == "" {
		return time.Time{}, false
	}
	t, err := parseTimestamp(s)
	if err != nil {
		f.fail("%q: %s", key, err)
		return time.Time{}, false
	}
	if t.IsZero() {
		return time.Time{}, false // Go's zero time.Time, which Go SDKs send for "not set"
	}
	return t, true
}

// parseTimestamp parses an RFC 3339 or ISO 8601 date and time, such as
// 2024-05-01T12:00:00.123Z, 2024-05-01T14:00:00+0200 or 2024-05-01. A value
// without an offset is in UTC.
func parseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if separatorAfterDigits(s) == '-' {
		for _, layout := range isoLayouts {
			if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
				return t.UTC(), nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (want RFC 3339, such as 2024-05-01T12:00:00Z)", truncate(s, 64))
}

// parseUnixMillis parses a count of milliseconds since the Unix epoch, such
// as PostHog's "_" query parameter, and reports false when s is not one.
func parseUnixMillis(s string) (time.Time, bool) {
	ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || ms <= 0 || ms > math.MaxInt64/1000 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// isBlank reports whether s is empty or only white space.
func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// truncate shortens s to at most n bytes for an error message, without
// splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
