package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// fakeSeries is an in-memory SeriesComputer. It returns a copy of the series
// stored for a KPI id with the requested grain, the stored error, or a panic,
// and records every call.
type fakeSeries struct {
	mu     sync.Mutex
	series map[string]*engine.Series
	errs   map[string]error
	panics map[string]bool
	calls  []fakeCall

	// requestStart is the index in calls of the latest request's first call.
	requestStart int
}

type fakeCall struct {
	ID    string
	Grain timegrain.Grain
	Range engine.Range
}

var _ SeriesComputer = (*fakeSeries)(nil)

func (f *fakeSeries) Series(_ context.Context, defs *kpi.Definitions, id string, grain timegrain.Grain, r engine.Range) (*engine.Series, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{ID: id, Grain: grain, Range: r})
	f.mu.Unlock()

	if _, err := defs.KPI(id); err != nil {
		return nil, err
	}
	if f.panics[id] {
		panic("fake series: panic for " + id)
	}
	if err := f.errs[id]; err != nil {
		return nil, err
	}
	if !r.From.IsZero() && !r.To.IsZero() && r.From.In(time.UTC).After(r.To.In(time.UTC)) {
		return nil, kpi.Errorf(kpi.EINVALID, "the range from %s to %s is empty", r.From, r.To)
	}

	s, ok := f.series[id]
	if !ok {
		return &engine.Series{KPI: id, Grain: grain, ChangeUnit: "%"}, nil
	}
	c := *s
	c.Grain = grain
	c.Points = append([]engine.Point(nil), s.Points...)
	return &c, nil
}

// requestCall returns the latest request's first call, which computes the
// series the request shows. Trend analysis then makes more calls, such as
// for last year's period.
func (f *fakeSeries) requestCall(t *testing.T) fakeCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) <= f.requestStart {
		t.Fatal("the series computer was not called")
	}
	return f.calls[f.requestStart]
}

func fptr(v float64) *float64 { return &v }

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// testNow is the clock of every test server: 12:00 UTC on 2026-03-10.
var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// testDefinitions returns four KPIs. Signups is a daily count with an
// absolute target. Revenue is in USD by month, with a relative target and an
// objective the file does not list. Churn is a percentage without objective
// or target. The series of broken fails with an EINVALID error.
func testDefinitions() *kpi.Definitions {
	return &kpi.Definitions{
		Path:       "testdata/kpis.yaml",
		Workspace:  kpi.Workspace{Name: "Acme", Location: time.UTC, WeekStart: time.Monday},
		Objectives: []kpi.Objective{{ID: "growth", Name: "Grow engagement", Description: "More people use Acme every day."}},
		KPIs: []*kpi.KPI{
			{
				ID: "signups", Name: "Signups", Description: "Accounts created", Objective: "growth", Owner: "Ana",
				Direction: kpi.Up, Grain: timegrain.Day, Metric: kpi.Metric{Kind: kpi.Count, Event: "signup"},
				Target: &kpi.Target{Value: fptr(100), By: timegrain.Date{Year: 2026, Month: 12, Day: 31}},
			},
			{
				ID: "revenue", Name: "Revenue", Objective: "revenue", Owner: "Bo", Unit: "USD",
				Direction: kpi.Up, Grain: timegrain.Month, Metric: kpi.Metric{Kind: kpi.Sum, Event: "order", Property: "amount"},
				Target: &kpi.Target{Change: fptr(0.2), By: timegrain.Date{Year: 2026, Month: 6, Day: 30}},
			},
			{
				ID: "churn", Name: "Churn", Unit: "%", Direction: kpi.Down, Grain: timegrain.Month,
				Metric: kpi.Metric{Kind: kpi.Formula, Formula: "cancels / customers * 100"},
			},
			{
				ID: "broken", Name: "Broken", Objective: "growth", Direction: kpi.Up, Grain: timegrain.Week,
				Metric: kpi.Metric{Kind: kpi.Average, Event: "rating", Property: "score"},
			},
		},
	}
}

// testSeries returns the fake's series for testDefinitions.
func testSeries() map[string]*engine.Series {
	return map[string]*engine.Series{
		"signups": {
			KPI: "signups", Grain: timegrain.Day, From: day(2026, 3, 8), To: testNow, ChangeUnit: "%",
			Baseline: &engine.PathPoint{Value: 10, At: day(2026, 1, 1)},
			Goal:     &engine.PathPoint{Value: 2980, At: day(2027, 1, 1)},
			Points: []engine.Point{
				{Start: day(2026, 3, 8), End: day(2026, 3, 9), Value: fptr(1250), Previous: fptr(1000), Change: fptr(25), Target: fptr(1200), Status: kpi.OnTrack},
				{Start: day(2026, 3, 9), End: day(2026, 3, 10), Value: fptr(1000), Previous: fptr(1250), Change: fptr(-20), Target: fptr(1210), Status: kpi.OffTrack},
				{Start: day(2026, 3, 10), End: day(2026, 3, 11), Value: fptr(40), Previous: fptr(50), Change: fptr(-20), Target: fptr(30), Status: kpi.OnTrack, Partial: true},
			},
		},
		"revenue": {
			KPI: "revenue", Grain: timegrain.Month, From: day(2026, 2, 1), To: testNow, ChangeUnit: "%",
			Baseline: &engine.PathPoint{Value: 10000, At: day(2026, 1, 1)},
			Goal:     &engine.PathPoint{Value: 12000, At: day(2026, 7, 1)},
			Points: []engine.Point{
				{Start: day(2026, 2, 1), End: day(2026, 3, 1), Value: fptr(10500), Target: fptr(10300), Status: kpi.OnTrack},
				{Start: day(2026, 3, 1), End: day(2026, 4, 1), Value: fptr(11234.5), Previous: fptr(10000), Change: fptr(12.345), Target: fptr(11800), Status: kpi.AtRisk, Partial: true},
			},
		},
		"churn": {
			KPI: "churn", Grain: timegrain.Month, From: day(2026, 2, 1), To: testNow, ChangeUnit: "pp",
			Points: []engine.Point{
				{Start: day(2026, 2, 1), End: day(2026, 3, 1), Value: fptr(3.5), Previous: fptr(4), Change: fptr(-0.5), Status: kpi.NoTarget},
				{Start: day(2026, 3, 1), End: day(2026, 4, 1), Value: fptr(4.25), Previous: fptr(3.5), Change: fptr(0.75), Status: kpi.NoTarget, Partial: true},
			},
		},
	}
}

// testServer is a Server over the fake, with its log in a buffer.
type testServer struct {
	*Server
	fake *fakeSeries
	logs *bytes.Buffer
	auth *testAuth

	// token is sent as "Authorization: Bearer" with every request of get
	// and do; set it to "" for anonymous requests.
	token string
}

// newAuthedServer returns a server for cfg with a fresh account store, whose
// requests carry an admin API token.
func newAuthedServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ta := newTestAuth(t)
	cfg.Auth = ta.store
	return &testServer{Server: NewServer(cfg), auth: ta, token: ta.adminToken}
}

func newTestServer(t *testing.T, defs *kpi.Definitions) *testServer {
	t.Helper()
	fake := &fakeSeries{
		series: testSeries(),
		errs:   map[string]error{"broken": kpi.Errorf(kpi.EINVALID, `kpi "broken": event "rating" has no property "score"`)},
		panics: map[string]bool{},
	}
	logs := &bytes.Buffer{}
	ts := newAuthedServer(t, Config{
		Definitions: func() *kpi.Definitions { return defs },
		Series:      fake,
		Logger:      slog.New(slog.NewTextHandler(&syncWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:         func() time.Time { return testNow },
	})
	ts.fake, ts.logs = fake, logs
	return ts
}

// syncWriter serialises writes to w, which the browser test's server makes
// from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// get serves a GET request for target and returns the recorded response.
func (ts *testServer) get(target string) *httptest.ResponseRecorder {
	return ts.do(http.MethodGet, target)
}

func (ts *testServer) do(method, target string) *httptest.ResponseRecorder {
	if ts.fake != nil {
		ts.fake.mu.Lock()
		ts.fake.requestStart = len(ts.fake.calls)
		ts.fake.mu.Unlock()
	}
	req := httptest.NewRequest(method, target, nil)
	if ts.token != "" {
		req.Header.Set("Authorization", "Bearer "+ts.token)
	}
	rec := httptest.NewRecorder()
	ts.ServeHTTP(rec, req)
	return rec
}

// decodeJSON decodes the response body into a generic value, failing the test
// when the response is not JSON.
func decodeJSON(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json; body:\n%s", ct, rec.Body)
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, rec.Body)
	}
	return v
}

// apiError returns the code and message of a JSON error body.
func apiError(t *testing.T, rec *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	body := decodeJSON(t, rec)
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("body has no error object: %s", rec.Body)
	}
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	return code, message
}

func TestUnknownPaths(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	rec := ts.get("/api/v1/nothing")
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /api/v1/nothing: status %d, want 404", rec.Code)
	}
	if code, msg := apiError(t, rec); code != kpi.ENOTFOUND || !strings.Contains(msg, "/api/v1/nothing") {
		t.Errorf("GET /api/v1/nothing: error %q %q, want not_found naming the path", code, msg)
	}

	rec = ts.get("/nothing")
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /nothing: status %d, want 404", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /nothing: Content-Type %q, want an HTML page", ct)
	}
	if !strings.Contains(rec.Body.String(), "no page or endpoint at /nothing") {
		t.Errorf("GET /nothing: page does not explain the error:\n%s", rec.Body)
	}
}

func TestWrongMethod(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	rec := ts.do(http.MethodPost, "/api/v1/kpis")
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /api/v1/kpis: status %d, want 405", rec.Code)
	}
	if allow := rec.Header().Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q, want it to list GET", allow)
	}
	if code, msg := apiError(t, rec); code != "method_not_allowed" || !strings.Contains(msg, "POST") {
		t.Errorf("error %q %q, want method_not_allowed naming POST", code, msg)
	}
}

func TestPanicRecovered(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	ts.fake.panics["signups"] = true

	rec := ts.get("/api/v1/kpis/signups/series")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	code, msg := apiError(t, rec)
	if code != kpi.EINTERNAL || msg != "internal error" {
		t.Errorf("error %q %q, want internal / internal error", code, msg)
	}
	if !strings.Contains(ts.logs.String(), "handler panicked") {
		t.Errorf("the panic was not logged; log:\n%s", ts.logs)
	}

	rec = ts.get("/kpis/signups")
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("page: status %d, want 500", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("page: Content-Type %q, want an HTML error page", ct)
	}
}

func TestInternalErrorLogged(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	ts.fake.errs["signups"] = io.ErrUnexpectedEOF

	rec := ts.get("/api/v1/kpis")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if _, msg := apiError(t, rec); msg != "internal error" {
		t.Errorf("message %q, want the generic %q", msg, "internal error")
	}
	if strings.Contains(rec.Body.String(), io.ErrUnexpectedEOF.Error()) {
		t.Errorf("the response shows the internal error's text: %s", rec.Body)
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, "request failed") || !strings.Contains(logs, io.ErrUnexpectedEOF.Error()) {
		t.Errorf("the internal error was not logged with its cause; log:\n%s", logs)
	}
}

func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	for _, path := range []string{"/", "/api/v1/kpis", "/nothing"} {
		rec := ts.get(path)
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy = %q, want script-src 'self'", path, csp)
		}
		if v := rec.Header().Get("X-Content-Type-Options"); v != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options = %q, want nosniff", path, v)
		}
	}
}

func TestHealth(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	rec := ts.get("/healthz")
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("GET /healthz: %d %q, want 200 \"ok\\n\"", rec.Code, rec.Body)
	}
}

func TestAssets(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	rec := ts.get("/assets/app.js")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /assets/app.js: status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("app.js Content-Type = %q, want JavaScript", ct)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("app.js has no ETag")
	}

	req := httptest.NewRequest(http.MethodGet, "/assets/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	ts.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("GET app.js with its ETag: status %d, want 304", rec.Code)
	}

	if rec := ts.get("/assets/app.css"); rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("GET /assets/app.css: %d %q, want 200 text/css", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, path := range []string{"/assets/", "/assets/vendor/", "/assets/missing.js"} {
		if rec := ts.get(path); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, rec.Code)
		}
	}
}
