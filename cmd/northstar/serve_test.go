package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// serveTestNow is the clock of the end-to-end tests: 12:00 UTC on 2026-03-10.
var serveTestNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const serveTestKPIs = `
workspace:
  name: Test shop
  time_zone: UTC
  week_start: monday
objectives:
  - id: growth
    name: Grow the shop
kpis:
  - id: signups
    name: Signups
    objective: growth
    owner: ana@example.com
    unit: signups
    direction: up
    grain: day
    metric: {kind: count, event: signup}
    baseline: {value: 2, date: 2026-03-01}
    target: {value: 10, by: 2026-03-31}
  - id: revenue
    name: Revenue
    objective: growth
    owner: bo@example.com
    unit: USD
    direction: up
    grain: month
    metric: {kind: sum, event: order, property: amount}
`

// serveTestEvents are the events the values below are computed from by hand.
func serveTestEvents() []store.Event {
	at := func(month time.Month, day, hour int) time.Time {
		return time.Date(2026, month, day, hour, 0, 0, 0, time.UTC)
	}
	events := []store.Event{
		{Name: "signup", DistinctID: "u1", Timestamp: at(3, 8, 9)},
		{Name: "signup", DistinctID: "u2", Timestamp: at(3, 8, 15)},
		{Name: "signup", DistinctID: "u3", Timestamp: at(3, 9, 8)},
		{Name: "signup", DistinctID: "u4", Timestamp: at(3, 9, 13)},
		{Name: "signup", DistinctID: "u5", Timestamp: at(3, 9, 18)},
		{Name: "signup", DistinctID: "u6", Timestamp: at(3, 10, 7)},
		{Name: "signup", DistinctID: "u7", Timestamp: at(3, 10, 11)},
		{Name: "signup", DistinctID: "u8", Timestamp: at(3, 10, 13)}, // after now: not counted
		{Name: "order", DistinctID: "u1", Timestamp: at(2, 10, 9), Properties: map[string]any{"amount": 100.0}},
		{Name: "order", DistinctID: "u2", Timestamp: at(2, 20, 9), Properties: map[string]any{"amount": 50.5}},
		{Name: "order", DistinctID: "u1", Timestamp: at(3, 2, 9), Properties: map[string]any{"amount": 200.0}},
		{Name: "order", DistinctID: "u3", Timestamp: at(3, 9, 9), Properties: map[string]any{"amount": 25.25}},
	}
	for i := range events {
		events[i].Source = "test"
		events[i].MessageID = "m" + string(rune('a'+i))
		events[i].ReceivedAt = serveTestNow
	}
	return events
}

// startTestMain writes the KPI file, stores the test events in a fresh
// database and starts Main on a free loopback port.
func startTestMain(t *testing.T) (*Main, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	kpiPath := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(serveTestKPIs), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	dbPath := filepath.Join(dir, "northstar.db")
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.InsertEvents(ctx, serveTestEvents())
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != len(serveTestEvents()) {
		t.Fatalf("inserted %d events, want %d", res.Inserted, len(serveTestEvents()))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	logs := &syncBuffer{}
	m := &Main{
		Addr:    "127.0.0.1:0",
		DBPath:  dbPath,
		KPIPath: kpiPath,
		Now:     func() time.Time { return serveTestNow },
		Logger:  slog.New(slog.NewTextHandler(logs, nil)),
	}
	if err := m.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	registerAdminToken(t, m)
	return m, logs
}

// getJSON requests url and decodes its JSON body into v, checking the status.
func getJSON(t *testing.T, url string, wantStatus int, v any) {
	t.Helper()
	resp, err := authGet(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d, want %d; body:\n%s", url, resp.StatusCode, wantStatus, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: Content-Type %q, want application/json", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
}

// checkValue checks that got is want, to within rounding.
func checkValue(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	switch {
	case got == nil:
		t.Errorf("%s is null, want %v", name, want)
	case math.Abs(*got-want) > 1e-9:
		t.Errorf("%s = %v, want %v", name, *got, want)
	}
}

func TestServeKPIList(t *testing.T) {
	m, logs := startTestMain(t)
	if !strings.HasPrefix(m.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q, want http://127.0.0.1:PORT", m.URL())
	}
	if !strings.Contains(logs.String(), "server started") {
		t.Errorf("start not logged; log:\n%s", logs)
	}

	type summary struct {
		Value    *float64 `json:"value"`
		Previous *float64 `json:"previous"`
		Change   *float64 `json:"change"`
		Target   *float64 `json:"target"`
		Status   string   `json:"status"`
		Partial  bool     `json:"partial"`
		Progress *float64 `json:"progress"`
	}
	var list struct {
		KPIs []struct {
			ID      string   `json:"id"`
			Summary *summary `json:"summary"`
		} `json:"kpis"`
	}
	getJSON(t, m.URL()+"/api/v1/kpis", http.StatusOK, &list)
	if len(list.KPIs) != 2 || list.KPIs[0].ID != "signups" || list.KPIs[1].ID != "revenue" {
		t.Fatalf("KPIs = %+v, want signups and revenue", list.KPIs)
	}

	// Signups today, 2026-03-10 until 12:00, are u6 (07:00) and u7 (11:00).
	// u8 signs up at 13:00, after now. The same half of 2026-03-09 has u3 only.
	s := list.KPIs[0].Summary
	if s == nil {
		t.Fatal("signups has no summary")
	}
	checkValue(t, "signups value", s.Value, 2)
	checkValue(t, "signups previous", s.Previous, 1)
	checkValue(t, "signups change", s.Change, 100)
	if !s.Partial {
		t.Error("signups today is not partial")
	}
	// The path runs from 2 on 2026-03-01 to 10 at the end of 2026-03-31 (31
	// days). At 12:00 on 2026-03-10, 9.5 days in, it is at 2 + 8*9.5/31 signups
	// per day, and half a day is due: 1 + 38/31 = 2.2258. The value 2 falls
	// 10.1 % short, which is at risk (between 5 % and 15 %).
	checkValue(t, "signups target", s.Target, 1+38.0/31)
	if s.Status != "at_risk" {
		t.Errorf("signups status = %s, want at_risk", s.Status)
	}
	// Progress uses the latest complete day, 2026-03-09, with 3 signups
	// (u3, u4, u5): (3 - 2) / (10 - 2) of the way.
	checkValue(t, "signups progress", s.Progress, 0.125)

	// Revenue this month until now is 200 + 25.25.
	r := list.KPIs[1].Summary
	if r == nil {
		t.Fatal("revenue has no summary")
	}
	checkValue(t, "revenue value", r.Value, 225.25)
	if !r.Partial {
		t.Error("revenue this month is not partial")
	}
	if r.Status != "no_target" {
		t.Errorf("revenue status = %s, want no_target", r.Status)
	}
}

func TestServeSeries(t *testing.T) {
	m, _ := startTestMain(t)

	var series struct {
		KPI    string `json:"kpi"`
		Grain  string `json:"grain"`
		Points []struct {
			PeriodStart time.Time `json:"period_start"`
			Value       *float64  `json:"value"`
			Previous    *float64  `json:"previous"`
			Change      *float64  `json:"change"`
			Partial     bool      `json:"partial"`
		} `json:"points"`
	}
	getJSON(t, m.URL()+"/api/v1/kpis/revenue/series?grain=month&from=2026-02-01&to=2026-03-31", http.StatusOK, &series)
	if series.KPI != "revenue" || series.Grain != "month" {
		t.Errorf("kpi/grain = %s/%s", series.KPI, series.Grain)
	}
	if len(series.Points) != 2 {
		t.Fatalf("got %d points, want February and March", len(series.Points))
	}

	// February: 100 + 50.5. January had no orders, so there is no change.
	feb := series.Points[0]
	if !feb.PeriodStart.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first period starts %v, want 2026-02-01", feb.PeriodStart)
	}
	checkValue(t, "February value", feb.Value, 150.5)
	if feb.Partial {
		t.Error("February is partial")
	}
	if feb.Change != nil {
		t.Errorf("February change = %v, want none after a January without orders", *feb.Change)
	}
	// March to now: 200 + 25.25, against February up to the 10th at 12:00,
	// which holds the order of 100 on the 10th at 09:00: +125.25 %.
	mar := series.Points[1]
	checkValue(t, "March value", mar.Value, 225.25)
	checkValue(t, "March previous", mar.Previous, 100)
	checkValue(t, "March change", mar.Change, 125.25)
	if !mar.Partial {
		t.Error("March is not partial")
	}

	var daily struct {
		Points []struct {
			Value *float64 `json:"value"`
		} `json:"points"`
	}
	getJSON(t, m.URL()+"/api/v1/kpis/signups/series?grain=day&from=2026-03-08&to=2026-03-09", http.StatusOK, &daily)
	if len(daily.Points) != 2 {
		t.Fatalf("got %d daily points for 2026-03-08 to 2026-03-09, want 2", len(daily.Points))
	}
	checkValue(t, "signups on 2026-03-08", daily.Points[0].Value, 2)
	checkValue(t, "signups on 2026-03-09", daily.Points[1].Value, 3)
}

func TestServeErrors(t *testing.T) {
	m, _ := startTestMain(t)

	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	getJSON(t, m.URL()+"/api/v1/kpis/nope/series", http.StatusNotFound, &body)
	if body.Error.Code != "not_found" || !strings.Contains(body.Error.Message, `"nope"`) {
		t.Errorf("unknown KPI: error %+v", body.Error)
	}

	getJSON(t, m.URL()+"/api/v1/kpis/signups/series?grain=hourly", http.StatusBadRequest, &body)
	if body.Error.Code != "invalid" || !strings.Contains(body.Error.Message, `"hourly"`) {
		t.Errorf("bad grain: error %+v", body.Error)
	}

	getJSON(t, m.URL()+"/api/v1/kpis/signups/series?from=2026-03-09&to=2026-03-01", http.StatusBadRequest, &body)
	if body.Error.Code != "invalid" {
		t.Errorf("inverted range: error %+v", body.Error)
	}
}

func TestServePages(t *testing.T) {
	m, _ := startTestMain(t)

	for _, path := range []string{"/", "/kpis/signups", "/kpis/revenue?grain=week", "/assets/app.js"} {
		resp, err := authGet(m.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d; body:\n%s", path, resp.StatusCode, body)
		}
		if path == "/" && !strings.Contains(string(body), "$225.25") {
			t.Errorf("dashboard does not show revenue as $225.25")
		}
	}
}

func TestServeClose(t *testing.T) {
	m, logs := startTestMain(t)
	url := m.URL()

	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the server still answers after Close")
	}
	if !strings.Contains(logs.String(), "server stopped") {
		t.Errorf("stop not logged; log:\n%s", logs)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, ok := <-m.Done(); ok {
		t.Error("Done is not closed after Close")
	}
}

func TestServeRunErrors(t *testing.T) {
	dir := t.TempDir()

	m := &Main{Addr: "127.0.0.1:0", DBPath: filepath.Join(dir, "a.db"), KPIPath: filepath.Join(dir, "missing.yaml")}
	err := m.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Run with a missing KPI file: %v, want an error naming the file", err)
	}

	// A port already in use is reported with the address.
	busy, _ := startTestMain(t)
	kpiPath := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(serveTestKPIs), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(busy.URL(), "http://")
	m = &Main{Addr: addr, DBPath: filepath.Join(dir, "b.db"), KPIPath: kpiPath}
	err = m.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Run on a busy port: %v, want an error naming %s", err, addr)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close after a failed Run: %v", err)
	}
}

func TestServeCommandFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"serve"}, &stdout, &stderr)
	if code != exitInvalid || !strings.Contains(stderr.String(), "--kpis FILE is required") {
		t.Errorf("serve without --kpis: exit %d, stderr %q", code, stderr.String())
	}

	stderr.Reset()
	code = run(context.Background(), []string{"serve", "--kpis", "k.yaml", "--log-format", "xml"}, &stdout, &stderr)
	if code != exitInvalid || !strings.Contains(stderr.String(), `"xml"`) {
		t.Errorf("serve --log-format xml: exit %d, stderr %q", code, stderr.String())
	}
}

func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	kpiPath := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(serveTestKPIs), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--kpis", kpiPath, "--db", filepath.Join(dir, "n.db"), "--addr", "127.0.0.1:0"}, stdout, stderr)
	}()

	// Wait for the URL on stdout, then ask the server for its health.
	var url string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if out := stdout.String(); strings.Contains(out, "serving ") {
			url = strings.Fields(strings.SplitN(out, "serving ", 2)[1])[0]
			break
		}
	}
	if url == "" {
		t.Fatalf("serve printed no URL; stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: status %d", resp.StatusCode)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exited with %d after the context was cancelled; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s of the context being cancelled")
	}
	if !strings.Contains(stderr.String(), "server stopped") {
		t.Errorf("stop not logged; stderr:\n%s", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer that the command and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// An open dashboard's live-update stream must not hold Close until the
// shutdown timeout.
func TestServeCloseWithOpenDashboard(t *testing.T) {
	m, _ := startTestMain(t)
	m.ShutdownTimeout = 5 * time.Second

	token, _ := testTokens.Load(m.URL())
	req, err := http.NewRequest(http.MethodPost, m.URL()+"/api/v1/dashboards", strings.NewReader(`{"name": "Open"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token.(string))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		ID int64 `json:"id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	stream, err := authGet(m.URL() + "/api/v1/dashboards/" + strconv.FormatInt(d.ID, 10) + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("events: status %d, want 200", stream.StatusCode)
	}

	start := time.Now()
	if err := m.Close(); err != nil {
		t.Errorf("Close with an open stream: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %s with an open dashboard stream, want well under the 5 s timeout", took)
	}
}
