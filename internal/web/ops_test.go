package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReady(t *testing.T) {
	s := newIngestServer(t)
	rec := s.get("/readyz")
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("GET /readyz: %d %q, want 200 ok", rec.Code, rec.Body)
	}

	s.store.pingErr = errors.New("database is locked")
	rec = s.get("/readyz")
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with a failing store: status %d, want 503", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "locked") {
		t.Errorf("GET /readyz shows the store error: %q", rec.Body)
	}
	if !strings.Contains(s.logText(), "database is locked") {
		t.Errorf("log lacks the ping error:\n%s", s.logText())
	}
}

func (s *ingestServer) get(target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+s.adminToken)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// scrape returns the samples of GET /metrics by their name and labels as
// written in the text format, such as `x_total{protocol="segment"}`.
func scrape(t *testing.T, s *ingestServer) map[string]float64 {
	t.Helper()
	rec := s.get("/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", rec.Code)
	}

	samples := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

func TestIngestMetrics(t *testing.T) {
	s := newIngestServer(t)
	before := scrape(t, s)
	if v, ok := before[`northstar_ingest_events_accepted_total{protocol="segment"}`]; !ok || v != 0 {
		t.Errorf("before any request, accepted for segment is %v (present %v), want 0", v, ok)
	}
	if _, ok := before["go_goroutines"]; !ok {
		t.Error("metrics lack the Go runtime collector's go_goroutines")
	}

	batch := `{"batch": [
		{"type": "track", "event": "a", "userId": "u1", "messageId": "m1"},
		{"type": "track", "event": "b", "userId": "u2", "messageId": "m2"},
		{"type": "track", "userId": "u3"}]}`
	for range 2 {
		responseJSON(t, s.post("/v1/batch", "application/json", batch, "Authorization", basic(webKey)), http.StatusOK)
	}
	responseJSON(t, s.post("/capture/", "application/json", `{"api_key": "`+webKey+`", "event": "e", "distinct_id": "u"}`), http.StatusOK)
	responseJSON(t, s.post("/api/v1/events", "application/json", `[]`, "Authorization", "Bearer nobody"), http.StatusUnauthorized)

	got := scrape(t, s)
	want := map[string]float64{
		`northstar_ingest_events_accepted_total{protocol="segment"}`:                               2,
		`northstar_ingest_events_rejected_total{protocol="segment"}`:                               2,
		`northstar_ingest_events_deduplicated_total{protocol="segment"}`:                           2,
		`northstar_ingest_events_accepted_total{protocol="posthog"}`:                               1,
		`northstar_ingest_events_accepted_total{protocol="native"}`:                                0,
		`northstar_ingest_request_duration_seconds_count{code="200",protocol="segment"}`:           2,
		`northstar_ingest_request_duration_seconds_count{code="200",protocol="posthog"}`:           1,
		`northstar_ingest_request_duration_seconds_count{code="401",protocol="native"}`:            1,
		`northstar_ingest_request_duration_seconds_bucket{code="401",protocol="native",le="+Inf"}`: 1,
	}
	for name, w := range want {
		v, ok := got[name]
		if !ok {
			t.Errorf("metrics lack %s", name)
			continue
		}
		if v != w {
			t.Errorf("%s = %v, want %v", name, v, w)
		}
	}
}

func TestMetricsPerServer(t *testing.T) {
	a, b := newIngestServer(t), newIngestServer(t)
	responseJSON(t, a.post("/capture/", "application/json", `{"api_key": "`+webKey+`", "event": "e", "distinct_id": "u"}`), http.StatusOK)

	if v := scrape(t, b)[`northstar_ingest_events_accepted_total{protocol="posthog"}`]; v != 0 {
		t.Errorf("second server counts %v accepted events sent to the first, want 0", v)
	}
}

// TestShutdownFinishesIngestion checks that http.Server.Shutdown, which Main
// calls on SIGTERM, waits for a request whose batch is being stored, and that
// the client gets its 200 only after the store returns.
func TestShutdownFinishesIngestion(t *testing.T) {
	s := newIngestServer(t)
	s.store.entered = make(chan struct{}, 1)
	s.store.release = make(chan struct{})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/v1/track",
			strings.NewReader(`{"event": "e", "userId": "u", "messageId": "m"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", basic(webKey))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		done <- result{status: resp.StatusCode, body: string(body), err: err}
	}()

	select {
	case <-s.store.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the store within 10 s")
	}

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown <- srv.Shutdown(ctx)
	}()

	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned (%v) while a batch was being stored", err)
	case r := <-done:
		t.Fatalf("the client got a response (%d %s) before the store returned", r.status, r.body)
	case <-time.After(300 * time.Millisecond):
	}

	close(s.store.release)
	r := <-done
	if r.err != nil {
		t.Fatalf("request failed: %v", r.err)
	}
	if r.status != http.StatusOK || !strings.Contains(r.body, `"success": true`) {
		t.Errorf("response %d %s, want 200 with success", r.status, r.body)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := len(s.store.storedEvents()); n != 1 {
		t.Errorf("stored %d events, want 1", n)
	}
}
