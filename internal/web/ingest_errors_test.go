package web

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

func TestIngestBadRequests(t *testing.T) {
	item := `{"type":"track","event":"e","userId":"u"}`
	batchOf := func(n int) string {
		return `{"batch": [` + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + `]}`
	}
	bigEvent := `{"event": "e", "userId": "u", "properties": {"blob": "` + strings.Repeat("x", 33<<10) + `"}}`
	auth := []string{"Authorization", basic(webKey)}

	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		headers     []string
		status      int
		code        string
		message     string // part of the error message
		itemError   string // part of the first item error, when the response lists them
	}{
		{
			name: "invalid JSON", path: "/v1/track", contentType: "application/json", headers: auth,
			body:   "{\"event\": \"e\",\n \"userId\": }",
			status: http.StatusBadRequest, code: kpi.EINVALID, message: "not valid JSON: invalid character '}' looking for beginning of value at line 2, column 12",
		},
		{
			name: "body over the limit", path: "/v1/batch", contentType: "application/json", headers: auth,
			body:   `{"batch": [], "pad": "` + strings.Repeat("x", 600<<10) + `"}`,
			status: http.StatusRequestEntityTooLarge, code: kpi.ETOOLARGE, message: "over the limit of 512000 bytes",
		},
		{
			name: "event over 32 KB", path: "/v1/track", contentType: "application/json", headers: auth, body: bigEvent,
			status: http.StatusBadRequest, code: kpi.EINVALID, message: "only item was rejected: the item is", itemError: "over the limit of 32768 bytes",
		},
		{
			name: "batch of 2,501", path: "/v1/batch", contentType: "application/json", headers: auth, body: batchOf(2501),
			status: http.StatusRequestEntityTooLarge, code: kpi.ETOOLARGE, message: "2501 items, over the limit of 2500",
		},
		{
			name: "missing event name", path: "/v1/track", contentType: "application/json", headers: auth,
			body:   `{"userId": "u"}`,
			status: http.StatusBadRequest, code: kpi.EINVALID, message: "rejected", itemError: `no "event" name`,
		},
		{
			name: "missing user id", path: "/v1/batch", contentType: "application/json", headers: auth,
			body:   `{"batch": [{"type": "track", "event": "e"}, {"type": "page"}]}`,
			status: http.StatusBadRequest, code: kpi.EINVALID, message: `all 2 items of the request were rejected (the first: track call has neither "userId"`, itemError: `neither "userId" nor "anonymousId"`,
		},
		{
			name: "timestamp not a date", path: "/capture/", contentType: "application/json",
			body:   `{"api_key": "` + webKey + `", "event": "e", "distinct_id": "u", "timestamp": "tomorrow"}`,
			status: http.StatusBadRequest, code: kpi.EINVALID, message: "rejected", itemError: `"tomorrow" is not a date`,
		},
		{
			name: "wrong content type", path: "/v1/track", contentType: "application/xml", headers: auth, body: `<event/>`,
			status: http.StatusUnsupportedMediaType, code: kpi.EUNSUPPORTED, message: "Content-Type application/xml is not accepted",
		},
		{
			name: "form to Segment", path: "/v1/track", contentType: "application/x-www-form-urlencoded", headers: auth, body: `event=e`,
			status: http.StatusUnsupportedMediaType, code: kpi.EUNSUPPORTED, message: "application/json, text/plain",
		},
		{
			name: "NDJSON to PostHog", path: "/batch/", contentType: "application/x-ndjson", body: `{}`,
			status: http.StatusUnsupportedMediaType, code: kpi.EUNSUPPORTED, message: "not accepted",
		},
		{
			name: "unknown write key", path: "/v1/track", contentType: "application/json",
			headers: []string{"Authorization", basic("ns_wk_nobody")}, body: `{"event": "e", "userId": "u"}`,
			status: http.StatusUnauthorized, code: kpi.EUNAUTHORIZED, message: "unknown write key",
		},
		{
			name: "unknown write key in body", path: "/batch/", contentType: "application/json",
			body:   `{"api_key": "phc_other", "batch": [{"event": "e", "distinct_id": "u"}]}`,
			status: http.StatusUnauthorized, code: kpi.EUNAUTHORIZED, message: "unknown write key",
		},
		{
			name: "revoked key", path: "/api/v1/events", contentType: "application/json",
			headers: []string{"Authorization", "Bearer " + revokedKey}, body: `[{"event": "e", "distinct_id": "u"}]`,
			status: http.StatusUnauthorized, code: kpi.EUNAUTHORIZED, message: "revoked",
		},
		{
			name: "no write key", path: "/v1/track", contentType: "application/json", body: `{"event": "e", "userId": "u"}`,
			status: http.StatusUnauthorized, code: kpi.EUNAUTHORIZED, message: "no write key",
		},
		{
			name: "unknown Authorization scheme", path: "/api/v1/events", contentType: "application/json",
			headers: []string{"Authorization", "Digest abc"}, body: `[]`,
			status: http.StatusUnauthorized, code: kpi.EUNAUTHORIZED, message: `scheme "Digest"`,
		},
		{
			name: "Basic credentials not base64", path: "/v1/track", contentType: "application/json",
			headers: []string{"Authorization", "Basic %%%"}, body: `{}`,
			status: http.StatusUnauthorized, code: kpi.EUNAUTHORIZED, message: "not valid base64",
		},
		{
			name: "gzip that is not gzip", path: "/batch/", contentType: "application/json",
			headers: []string{"Content-Encoding", "gzip"}, body: `{"api_key": "` + webKey + `", "batch": []}`,
			status: http.StatusBadRequest, code: kpi.EINVALID, message: "marked as gzip but is not gzip data",
		},
		{
			name: "gzip-js that is not gzip", path: "/e/?compression=gzip-js", contentType: "text/plain", body: `[{"event": "e"}]`,
			status: http.StatusBadRequest, code: kpi.EINVALID, message: "not gzip data",
		},
		{
			name: "unsupported encoding", path: "/v1/track", contentType: "application/json", headers: append([]string{"Content-Encoding", "br"}, auth...),
			body:   `{}`,
			status: http.StatusUnsupportedMediaType, code: kpi.EUNSUPPORTED, message: `Content-Encoding "br"`,
		},
		{
			name: "unsupported PostHog compression", path: "/e/?compression=lz64", contentType: "text/plain", body: `x`,
			status: http.StatusUnsupportedMediaType, code: kpi.EUNSUPPORTED, message: `compression "lz64"`,
		},
		{
			name: "empty batch", path: "/api/v1/events", contentType: "application/json",
			headers: []string{"Authorization", "Bearer " + backendKey}, body: `[]`,
			status: http.StatusBadRequest, code: kpi.EINVALID, message: "no items",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newIngestServer(t)
			rec := s.post(tt.path, tt.contentType, tt.body, tt.headers...)
			body := responseJSON(t, rec, tt.status)

			detail, _ := body["error"].(map[string]any)
			if detail["code"] != tt.code {
				t.Errorf("error code %v, want %s; body: %v", detail["code"], tt.code, body)
			}
			if msg, _ := detail["message"].(string); !strings.Contains(msg, tt.message) {
				t.Errorf("error message %q, want it to contain %q", msg, tt.message)
			}
			if tt.itemError != "" {
				errs := itemErrors(t, body)
				if len(errs) == 0 || !strings.Contains(errs[0]["message"].(string), tt.itemError) {
					t.Errorf("item errors %v, want the first to contain %q", errs, tt.itemError)
				}
			}
			if tt.status == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 response has no WWW-Authenticate header")
			}
			if n := len(s.store.storedEvents()); n != 0 {
				t.Errorf("stored %d events from a rejected request", n)
			}
		})
	}
}

func TestIngestOversizedEventInBatch(t *testing.T) {
	s := newIngestServer(t)
	big := `{"type": "track", "event": "e", "userId": "u", "properties": {"blob": "` + strings.Repeat("x", 33<<10) + `"}}`
	rec := s.post("/v1/batch", "application/json", `{"batch": [`+big+`, {"type": "track", "event": "small", "userId": "u"}]}`,
		"Authorization", basic(webKey))

	body := responseJSON(t, rec, http.StatusOK)
	errs := itemErrors(t, body)
	if len(errs) != 1 || errs[0]["index"] != 0.0 || !strings.Contains(errs[0]["message"].(string), "over the limit of 32768 bytes") {
		t.Errorf("errors %v, want item 0 over the event limit", errs)
	}
	if events := s.store.storedEvents(); len(events) != 1 || events[0].Name != "small" {
		t.Errorf("stored %+v, want only the small event", events)
	}
}

func TestIngestDecompressionBomb(t *testing.T) {
	// 10 MB of spaces compresses to about 10 KB, far below the body limit.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for range 10 {
		if _, err := zw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 100<<10 {
		t.Fatalf("compressed body is %d bytes, want a small one", buf.Len())
	}

	s := newIngestServer(t)
	rec := s.post("/batch/", "application/json", buf.String(), "Content-Encoding", "gzip")
	body := responseJSON(t, rec, http.StatusRequestEntityTooLarge)
	detail, _ := body["error"].(map[string]any)
	if msg, _ := detail["message"].(string); !strings.Contains(msg, "decompresses to more than the limit of 512000 bytes") {
		t.Errorf("error %v, want the decompressed size over the limit", detail)
	}
}

func TestIngestWrongMethodIsJSON(t *testing.T) {
	srv := newIngestServer(t)
	for _, path := range []string{"/v1/batch", "/batch/", "/capture", "/api/v1/events"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s status = %d, want 405", path, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET %s Content-Type = %q, want JSON", path, ct)
		}
	}
}
