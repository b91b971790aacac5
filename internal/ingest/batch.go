package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// Limits bounds what one ingestion request may contain.
type Limits struct {
	MaxBodyBytes  int // request body after decompression
	MaxItemBytes  int // one event, call or measurement in its JSON form
	MaxBatchItems int // items in one request
}

// DefaultLimits are the limits of Segment's HTTP tracking API: 500 KB per
// request, 32 KB per event and 2,500 events per batch.
var DefaultLimits = Limits{
	MaxBodyBytes:  500 << 10,
	MaxItemBytes:  32 << 10,
	MaxBatchItems: 2500,
}

// WithDefaults returns l with each zero field replaced by its DefaultLimits value.
func (l Limits) WithDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultLimits.MaxBodyBytes
	}
	if l.MaxItemBytes <= 0 {
		l.MaxItemBytes = DefaultLimits.MaxItemBytes
	}
	if l.MaxBatchItems <= 0 {
		l.MaxBatchItems = DefaultLimits.MaxBatchItems
	}
	return l
}

// DecodeOptions holds what every decoder needs besides the body.
type DecodeOptions struct {
	// ReceivedAt is when the server received the request. It is stored on
	// every event and anchors the clock-skew correction of timestamps.
	ReceivedAt time.Time

	// Limits bounds the request. Zero fields take their DefaultLimits value.
	Limits Limits
}

// Batch is the records that a decoder found in one request body, with the
// items it rejected. Each item of the request either is rejected with
// one ItemError or adds one or more records. Records carry no Source until
// SetSource is called with the source of the authenticated write key.
type Batch struct {
	// WriteKey is the write key found in the body, or "" when the body has
	// none. It is not authenticated.
	WriteKey string

	Items        int // items in the request, rejected ones included
	Events       []store.Event
	Identifies   []store.Identify
	Aliases      []store.Alias
	Measurements []store.Measurement
	Errors       []ItemError
}

// ItemError is an item of a batch that was rejected.
type ItemError struct {
	Index   int    `json:"index"` // position of the item in the request, from 0
	Message string `json:"message"`
}

// Error returns the message with the item's index.
func (e ItemError) Error() string { return fmt.Sprintf("item %d: %s", e.Index, e.Message) }

// SetSource sets the Source of every event and measurement in b.
func (b *Batch) SetSource(source string) {
	for i := range b.Events {
		b.Events[i].Source = source
	}
	for i := range b.Measurements {
		b.Measurements[i].Source = source
	}
}

// AllRejected reports whether the request had items and every one of them was
// rejected.
func (b *Batch) AllRejected() bool { return b.Items > 0 && len(b.Errors) == b.Items }

// reject records that the item at index was rejected for the given reason.
func (b *Batch) reject(index int, format string, args ...any) {
	b.Errors = append(b.Errors, ItemError{Index: index, Message: fmt.Sprintf(format, args...)})
}

// checkBody returns a kpi.ETOOLARGE error when body exceeds the limit, and a
// kpi.EINVALID error when it is empty.
func checkBody(body []byte, limits Limits) error {
	if len(body) > limits.MaxBodyBytes {
		return kpi.Errorf(kpi.ETOOLARGE, "the request body is %d bytes, over the limit of %d bytes; send fewer events per request",
			len(body), limits.MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return kpi.Errorf(kpi.EINVALID, "the request body is empty; send a JSON object or array")
	}
	return nil
}

// checkBatchLength returns a kpi.ETOOLARGE error when a request holds more
// items than the limit allows.
func checkBatchLength(n int, limits Limits) error {
	if n > limits.MaxBatchItems {
		return kpi.Errorf(kpi.ETOOLARGE, "the batch has %d items, over the limit of %d; split it into smaller batches",
			n, limits.MaxBatchItems)
	}
	return nil
}

// itemTooLarge returns the reason an item is rejected for its size, or "".
func itemTooLarge(raw []byte, limits Limits) string {
	if len(raw) > limits.MaxItemBytes {
		return fmt.Sprintf("the item is %d bytes of JSON, over the limit of %d bytes", len(raw), limits.MaxItemBytes)
	}
	return ""
}

// jsonError returns a kpi.EINVALID error for a body that is not valid JSON
// or whose top level has the wrong shape, with the position of the problem.
func jsonError(body []byte, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		line, col := position(body, syntax.Offset)
		return kpi.Errorf(kpi.EINVALID, "the body is not valid JSON: %v at line %d, column %d (byte %d)",
			syntax, line, col, syntax.Offset)
	}

	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		line, col := position(body, typeErr.Offset)
		where := "the body"
		if typeErr.Field != "" {
			where = fmt.Sprintf("field %q", typeErr.Field)
		}
		return kpi.Errorf(kpi.EINVALID, "%s is a JSON %s, but must be %s (line %d, column %d)",
			where, typeErr.Value, jsonKind(typeErr.Type.Kind().String()), line, col)
	}
	return kpi.Errorf(kpi.EINVALID, "the body is not valid JSON: %v", err)
}

// jsonKind names a Go kind as the JSON type that decodes into it.
func jsonKind(goKind string) string {
	switch goKind {
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	}
	return "a " + goKind
}

// position returns the 1-based line and column of the byte at offset, which
// encoding/json reports as the count of bytes read so far.
func position(body []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(body)))
	before := body[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

// generatedMessageID returns a message ID for an item that has none: a hash
// of the protocol, the call and the item's JSON with the named keys removed
// (the keys that an SDK changes when it retries, such as sentAt). Object keys
// are sorted first, so the ID does not depend on their order. A retried item
// thus gets the same ID and is stored once, but so do two identical items
// without a timestamp.
func generatedMessageID(protocol, call string, fields map[string]json.RawMessage, drop ...string) string {
	canonical := make(map[string]any, len(fields))
	for k, raw := range fields {
		if slices.Contains(drop, k) {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			v = string(raw)
		}
		canonical[k] = v
	}
	data, err := json.Marshal(canonical)
	if err != nil {
		data = fmt.Appendf(nil, "%v", canonical) // json.Unmarshal output always marshals; this is a fallback
	}

	h := sha256.New()
	writeField(h, protocol)
	writeField(h, call)
	h.Write(data)
	return "gen-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// correctClockSkew returns when an event happened on the server's clock. A
// client stamps the event at clientTime and sends it at sentAt on its own
// clock, and the server receives it at receivedAt. The time between stamp and
// send is kept, and the client's clock offset dropped:
// receivedAt − (sentAt − clientTime).
func correctClockSkew(receivedAt, sentAt, clientTime time.Time) time.Time {
	return receivedAt.Add(-sentAt.Sub(clientTime)).UTC()
}
