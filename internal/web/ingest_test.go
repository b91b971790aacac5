package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// Write key secrets of the fake store.
const (
	webKey     = "ns_wk_web"     // source "web"
	backendKey = "ns_wk_backend" // source "backend"
	revokedKey = "ns_wk_revoked" // a revoked key
)

// fakeIngest is an in-memory IngestStore. Like the SQL stores it keeps one
// event or measurement per (Source, MessageID).
type fakeIngest struct {
	mu           sync.Mutex
	events       []store.Event
	measurements []store.Measurement
	identifies   []store.Identify
	aliases      []store.Alias
	seen         map[string]bool

	insertErr error         // returned by InsertEvents when set
	pingErr   error         // returned by Ping when set
	entered   chan struct{} // when set, InsertEvents sends on it on entry
	release   chan struct{} // when set, InsertEvents waits for it to close
}

var _ IngestStore = (*fakeIngest)(nil)

func newFakeIngest() *fakeIngest { return &fakeIngest{seen: map[string]bool{}} }

func (f *fakeIngest) InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error) {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.release != nil {
		<-f.release
	}
	if f.insertErr != nil {
		return store.InsertResult{}, f.insertErr
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	var res store.InsertResult
	for _, ev := range events {
		if err := store.ValidateEvent(ev); err != nil {
			return store.InsertResult{}, err
		}
		key := ev.Source + "\x00" + ev.MessageID
		if f.seen[key] {
			res.Duplicates++
			continue
		}
		f.seen[key] = true
		f.events = append(f.events, ev)
		res.Inserted++
	}
	return res, nil
}

func (f *fakeIngest) InsertMeasurements(ctx context.Context, ms []store.Measurement) (store.InsertResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var res store.InsertResult
	for _, m := range ms {
		if err := store.ValidateMeasurement(m); err != nil {
			return store.InsertResult{}, err
		}
		key := "m\x00" + m.Source + "\x00" + m.MessageID
		if f.seen[key] {
			res.Duplicates++
			continue
		}
		f.seen[key] = true
		f.measurements = append(f.measurements, m)
		res.Inserted++
	}
	return res, nil
}

func (f *fakeIngest) Identify(ctx context.Context, calls []store.Identify) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.identifies = append(f.identifies, calls...)
	return nil
}

func (f *fakeIngest) Alias(ctx context.Context, calls []store.Alias) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aliases = append(f.aliases, calls...)
	return nil
}

func (f *fakeIngest) AuthenticateWriteKey(ctx context.Context, secret string) (store.WriteKey, error) {
	switch secret {
	case webKey:
		return store.WriteKey{ID: 1, WorkspaceID: 1, Name: "web"}, nil
	case backendKey:
		return store.WriteKey{ID: 2, WorkspaceID: 1, Name: "backend"}, nil
	case revokedKey:
		return store.WriteKey{}, kpi.Errorf(kpi.EUNAUTHORIZED, "write key ns_wk_rev… was revoked")
	}
	return store.WriteKey{}, kpi.Errorf(kpi.EUNAUTHORIZED, "unknown write key")
}

func (f *fakeIngest) Ping(ctx context.Context) error { return f.pingErr }

func (f *fakeIngest) storedEvents() []store.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.Event(nil), f.events...)
}

// ingestServer is a Server over a fakeIngest, with its log in a buffer.
type ingestServer struct {
	*Server
	store      *fakeIngest
	logs       *syncWriter
	adminToken string // for the routes that need a role, such as /metrics
}

func newIngestServer(t *testing.T) *ingestServer {
	t.Helper()
	fake := newFakeIngest()
	logs := &syncWriter{w: &bytes.Buffer{}}
	ta := newTestAuth(t)
	srv := NewServer(Config{
		Ingest: fake,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    func() time.Time { return testNow },
		Auth:   ta.store,
	})
	return &ingestServer{Server: srv, store: fake, logs: logs, adminToken: ta.adminToken}
}

func (s *ingestServer) logText() string {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return s.logs.w.(*bytes.Buffer).String()
}

// post sends body to target with the Content-Type and other headers given
// as name, value pairs.
func (s *ingestServer) post(target, contentType, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// basic returns the Authorization header value of HTTP Basic with the write
// key as user and an empty password, as Segment's SDKs send it.
func basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// gzipped returns s compressed with gzip.
func gzipped(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// responseJSON checks the status and JSON Content-Type of rec and decodes
// its body.
func responseJSON(t *testing.T, rec *httptest.ResponseRecorder, wantStatus int) map[string]any {
	t.Helper()
	if rec.Code != wantStatus {
		t.Fatalf("status %d, want %d; body:\n%s", rec.Code, wantStatus, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json; body:\n%s", ct, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, rec.Body)
	}
	return body
}

// itemErrors returns the "errors" list of a response body.
func itemErrors(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	list, ok := body["errors"].([]any)
	if !ok {
		t.Fatalf("body has no errors list: %v", body)
	}
	out := make([]map[string]any, len(list))
	for i, e := range list {
		out[i], _ = e.(map[string]any)
	}
	return out
}

func TestIngestSegmentTrack(t *testing.T) {
	s := newIngestServer(t)
	rec := s.post("/v1/track", "application/json",
		`{"event": "Order Completed", "userId": "u1", "messageId": "m1", "timestamp": "2026-03-10T09:00:00Z", "properties": {"revenue": 10}}`,
		"Authorization", basic(webKey))

	body := responseJSON(t, rec, http.StatusOK)
	if body["success"] != true {
		t.Errorf("body %v, want success true", body)
	}
	if _, ok := body["errors"]; ok {
		t.Errorf("body %v lists errors, but no item failed", body)
	}

	events := s.store.storedEvents()
	if len(events) != 1 {
		t.Fatalf("stored %d events, want 1", len(events))
	}
	ev := events[0]
	if ev.Name != "Order Completed" || ev.DistinctID != "u1" || ev.Source != "web" || ev.MessageID != "m1" {
		t.Errorf("stored %+v, want Order Completed of u1 from source web with id m1", ev)
	}
	if !ev.ReceivedAt.Equal(testNow) {
		t.Errorf("received at %v, want the server clock %v", ev.ReceivedAt, testNow)
	}
}

func TestIngestSegmentBodyKeyAndShortPath(t *testing.T) {
	s := newIngestServer(t)
	// Analytics.js posts text/plain to a one-letter path with the key in the body.
	rec := s.post("/v1/p", "text/plain;charset=UTF-8", `{"writeKey": "`+backendKey+`", "anonymousId": "a1", "name": "Home", "messageId": "p1"}`)
	responseJSON(t, rec, http.StatusOK)

	events := s.store.storedEvents()
	if len(events) != 1 || events[0].Name != "page" || events[0].Source != "backend" {
		t.Errorf("stored %+v, want one page event from source backend", events)
	}
}

func TestIngestSegmentIdentify(t *testing.T) {
	s := newIngestServer(t)
	rec := s.post("/v1/identify", "application/json", `{"userId": "u1", "anonymousId": "a1", "traits": {"plan": "pro"}}`,
		"Authorization", basic(webKey))
	responseJSON(t, rec, http.StatusOK)

	if len(s.store.identifies) != 1 || s.store.identifies[0].DistinctID != "u1" {
		t.Errorf("identifies %+v, want one of u1", s.store.identifies)
	}
	if len(s.store.aliases) != 1 || s.store.aliases[0].PreviousID != "a1" || s.store.aliases[0].DistinctID != "u1" {
		t.Errorf("aliases %+v, want a1 to u1", s.store.aliases)
	}
}

func TestIngestSegmentPartialBatch(t *testing.T) {
	s := newIngestServer(t)
	rec := s.post("/v1/batch", "application/json", `{"batch": [
		{"type": "track", "event": "ok", "userId": "u1", "messageId": "m1"},
		{"type": "track", "userId": "u2"},
		{"type": "track", "event": "late", "anonymousId": "a3", "timestamp": "last week"}
	]}`, "Authorization", basic(webKey))

	body := responseJSON(t, rec, http.StatusOK)
	if body["success"] != true {
		t.Errorf("body %v, want success true", body)
	}
	errs := itemErrors(t, body)
	if len(errs) != 2 {
		t.Fatalf("errors %v, want 2", errs)
	}
	if errs[0]["index"] != 1.0 || !strings.Contains(errs[0]["message"].(string), `no "event" name`) {
		t.Errorf("first error %v, want item 1 without an event name", errs[0])
	}
	if errs[1]["index"] != 2.0 || !strings.Contains(errs[1]["message"].(string), `"last week" is not a date`) {
		t.Errorf("second error %v, want item 2 with a bad timestamp", errs[1])
	}
	if events := s.store.storedEvents(); len(events) != 1 || events[0].MessageID != "m1" {
		t.Errorf("stored %+v, want only the valid item", events)
	}
	if !strings.Contains(s.logText(), "ingestion rejected items") {
		t.Errorf("log has no line about the rejected items:\n%s", s.logText())
	}
}

func TestIngestPostHogCapture(t *testing.T) {
	s := newIngestServer(t)
	for _, path := range []string{"/capture/", "/capture", "/i/v0/e/", "/i/v0/e"} {
		rec := s.post(path, "application/json",
			`{"api_key": "`+webKey+`", "event": "$pageview", "distinct_id": "u1", "uuid": "`+path+`"}`)
		body := responseJSON(t, rec, http.StatusOK)
		if body["status"] != 1.0 {
			t.Errorf("%s: body %v, want status 1", path, body)
		}
	}
	if n := len(s.store.storedEvents()); n != 4 {
		t.Errorf("stored %d events, want 4", n)
	}
}

func TestIngestPostHogGzip(t *testing.T) {
	s := newIngestServer(t)
	batch := `{"api_key": "` + webKey + `", "sent_at": "2026-03-10T12:00:00Z", "batch": [
		{"event": "clicked", "distinct_id": "u1", "uuid": "g1", "timestamp": "2026-03-10T11:00:00Z"}]}`

	// posthog-node marks the body with Content-Encoding.
	rec := s.post("/batch/", "application/json", gzipped(t, batch), "Content-Encoding", "gzip")
	responseJSON(t, rec, http.StatusOK)

	// posthog-js marks it with a query parameter and sends text/plain.
	array := `[{"event": "clicked", "properties": {"distinct_id": "u2", "token": "` + webKey + `"}, "uuid": "g2"}]`
	rec = s.post("/e/?compression=gzip-js&ver=1.200.0&_=1773144000000", "text/plain", gzipped(t, array))
	responseJSON(t, rec, http.StatusOK)

	// Older posthog-js versions send base64 in a form.
	form := url.Values{"data": {base64.StdEncoding.EncodeToString([]byte(`{"event": "clicked", "distinct_id": "u3", "uuid": "g3", "api_key": "` + webKey + `"}`))}}
	rec = s.post("/e?compression=base64", "application/x-www-form-urlencoded", form.Encode())
	responseJSON(t, rec, http.StatusOK)

	events := s.store.storedEvents()
	if len(events) != 3 {
		t.Fatalf("stored %d events, want 3", len(events))
	}
	for i, want := range []string{"u1", "u2", "u3"} {
		if events[i].DistinctID != want || events[i].Source != "web" {
			t.Errorf("event %d: %q from %q, want %q from web", i, events[i].DistinctID, events[i].Source, want)
		}
	}
	if !events[0].Timestamp.Equal(testNow.Add(-time.Hour)) {
		t.Errorf("first timestamp %v, want an hour before the server clock", events[0].Timestamp)
	}
}

func TestIngestNativeEvents(t *testing.T) {
	s := newIngestServer(t)
	batch := `[{"event": "signup", "distinct_id": "u1", "message_id": "n1"}, {"event": "signup", "distinct_id": "u2", "message_id": "n2"}]`

	body := responseJSON(t, s.post("/api/v1/events", "application/json", batch, "Authorization", "Bearer "+backendKey), http.StatusOK)
	if body["accepted"] != 2.0 || body["duplicates"] != 0.0 {
		t.Errorf("first send: %v, want 2 accepted and 0 duplicates", body)
	}
	if errs := itemErrors(t, body); len(errs) != 0 {
		t.Errorf("errors %v, want an empty list", errs)
	}

	body = responseJSON(t, s.post("/api/v1/events", "application/json", batch, "Authorization", "Bearer "+backendKey), http.StatusOK)
	if body["accepted"] != 0.0 || body["duplicates"] != 2.0 {
		t.Errorf("retry: %v, want 0 accepted and 2 duplicates", body)
	}
	if n := len(s.store.storedEvents()); n != 2 {
		t.Errorf("stored %d events after the retry, want 2", n)
	}
}

func TestIngestNativeNDJSON(t *testing.T) {
	s := newIngestServer(t)
	ndjson := "{\"event\": \"a\", \"distinct_id\": \"u1\"}\n{\"event\": \"b\"}\n"
	body := responseJSON(t, s.post("/api/v1/events", "application/x-ndjson", ndjson, "Authorization", basic(backendKey)), http.StatusOK)
	if body["accepted"] != 1.0 {
		t.Errorf("body %v, want 1 accepted", body)
	}
	errs := itemErrors(t, body)
	if len(errs) != 1 || errs[0]["index"] != 1.0 || !strings.HasPrefix(errs[0]["message"].(string), "line 2: ") {
		t.Errorf("errors %v, want line 2 rejected", errs)
	}
}

func TestIngestNativeMeasurements(t *testing.T) {
	s := newIngestServer(t)
	rec := s.post("/api/v1/measurements", "application/json",
		`[{"series": "ad_spend", "timestamp": "2026-03-09", "value": 120.5, "dimensions": {"channel": "search"}, "message_id": "s1"}]`,
		"Authorization", "Bearer "+backendKey)
	body := responseJSON(t, rec, http.StatusOK)
	if body["accepted"] != 1.0 {
		t.Errorf("body %v, want 1 accepted", body)
	}
	if len(s.store.measurements) != 1 || s.store.measurements[0].Source != "backend" || s.store.measurements[0].Value != 120.5 {
		t.Errorf("measurements %+v, want ad_spend 120.5 from backend", s.store.measurements)
	}
}

func TestIngestStoreFailure(t *testing.T) {
	s := newIngestServer(t)
	s.store.insertErr = errors.New("disk I/O error")

	rec := s.post("/v1/track", "application/json", `{"event": "e", "userId": "u"}`, "Authorization", basic(webKey))
	body := responseJSON(t, rec, http.StatusInternalServerError)
	detail, _ := body["error"].(map[string]any)
	if detail["code"] != kpi.EINTERNAL || detail["message"] != "internal error" {
		t.Errorf("error %v, want code internal and no details", detail)
	}
	if strings.Contains(rec.Body.String(), "disk") {
		t.Errorf("response shows the internal error: %s", rec.Body)
	}
	if !strings.Contains(s.logText(), "disk I/O error") || !strings.Contains(s.logText(), `source \"web\"`) {
		t.Errorf("log lacks the store error and source:\n%s", s.logText())
	}
}

func TestIngestWithoutStore(t *testing.T) {
	srv := NewServer(Config{Now: func() time.Time { return testNow }})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/track", strings.NewReader(`{}`)))
	if rec.Code != http.StatusNotFound {
		t.Errorf("status %d without an ingestion store, want 404", rec.Code)
	}
}

func TestIngestCORS(t *testing.T) {
	s := newIngestServer(t)

	req := httptest.NewRequest(http.MethodOptions, "/batch/", nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("preflight status %d, want 204", rec.Code)
	}
	h := rec.Header()
	if h.Get("Access-Control-Allow-Origin") != "https://shop.example" || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight headers %v, want the origin allowed with credentials", h)
	}
	if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight headers %v, want POST and Content-Type allowed", h)
	}

	rec = s.post("/v1/t", "text/plain", `{"writeKey": "`+webKey+`", "event": "e", "userId": "u"}`, "Origin", "https://shop.example")
	responseJSON(t, rec, http.StatusOK)
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("POST headers %v, want the origin allowed", rec.Header())
	}
}
