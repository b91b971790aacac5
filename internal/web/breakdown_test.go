package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// breakdownBody mirrors the documented JSON of GET /api/v1/kpis/{id}/breakdown.
type breakdownBody struct {
	KPI      string `json:"kpi"`
	Property string `json:"property"`
	Grain    string `json:"grain"`
	Limit    int    `json:"limit"`
	Periods  []struct {
		Start   string `json:"period_start"`
		Partial bool   `json:"partial"`
	} `json:"periods"`
	Segments []struct {
		Name   string `json:"name"`
		Pooled int    `json:"pooled"`
		Total  struct {
			Value *float64 `json:"value"`
		} `json:"total"`
		Values []struct {
			Value         *float64 `json:"value"`
			NoValueReason string   `json:"no_value_reason"`
		} `json:"values"`
	} `json:"segments"`
}

// newBreakdownServer serves a real engine over a fresh SQLite database with
// six signups in UTC:
//
//	Jan 10 u1 plan pro     Feb 02 u1 plan pro
//	Jan 11 u2 plan free    Feb 03 u3 plan team
//	Jan 12 u3 (no plan)    Feb 04 u4 plan free
func newBreakdownServer(t *testing.T) *testServer {
	t.Helper()
	ctx := context.Background()

	defs, err := kpi.Parse("kpis.yaml", []byte(`workspace: {name: Acme}
kpis:
  - id: signups
    name: Signups
    metric: {kind: count, event: signup}
  - id: active
    name: Weekly active users
    metric: {kind: active_users, window: 7}
  - id: mrr
    name: MRR
    metric: {kind: mrr, start_event: subscribe, cancel_event: cancel, property: amount}
`))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	signups := []struct {
		user, plan string
		at         time.Time
	}{
		{"u1", "pro", day(2026, 1, 10)}, {"u2", "free", day(2026, 1, 11)}, {"u3", "", day(2026, 1, 12)},
		{"u1", "pro", day(2026, 2, 2)}, {"u3", "team", day(2026, 2, 3)}, {"u4", "free", day(2026, 2, 4)},
	}
	var events []store.Event
	for i, s := range signups {
		props := map[string]any{}
		if s.plan != "" {
			props["plan"] = s.plan
		}
		events = append(events, store.Event{Name: "signup", DistinctID: s.user, Timestamp: s.at, Properties: props, Source: "test", MessageID: fmt.Sprint(i)})
	}
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	return newAuthedServer(t, Config{
		Definitions: func() *kpi.Definitions { return defs },
		Series:      engine.New(db, func() time.Time { return testNow }),
		Logger:      slog.New(slog.DiscardHandler),
		Now:         func() time.Time { return testNow },
	})
}

func TestBreakdownEndpoint(t *testing.T) {
	ts := newBreakdownServer(t)

	rec := ts.get("/api/v1/kpis/signups/breakdown?by=plan&limit=1&grain=month&from=2026-01-01&to=2026-02-28")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	decodeJSON(t, rec)
	var body breakdownBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}

	if body.KPI != "signups" || body.Property != "plan" || body.Grain != "month" || body.Limit != 1 {
		t.Errorf("kpi/property/grain/limit = %s/%s/%s/%d", body.KPI, body.Property, body.Grain, body.Limit)
	}
	if len(body.Periods) != 2 || body.Periods[0].Start != "2026-01-01T00:00:00Z" || body.Periods[1].Partial {
		t.Errorf("periods %+v, want complete January and February", body.Periods)
	}

	// free has 2 signups (Jan, Feb); pro has 2 too but sorts after free;
	// other pools pro (Jan, Feb), team (Feb) and (none) (Jan).
	want := []struct {
		name          string
		pooled        int
		total, jan, f float64
	}{
		{"free", 0, 2, 1, 1},
		{engine.OtherSegment, 3, 4, 2, 2},
	}
	if len(body.Segments) != len(want) {
		t.Fatalf("segments %+v, want %d", body.Segments, len(want))
	}
	for i, w := range want {
		s := body.Segments[i]
		if s.Name != w.name || s.Pooled != w.pooled {
			t.Errorf("segment %d = %s pooling %d, want %s pooling %d", i, s.Name, s.Pooled, w.name, w.pooled)
		}
		if s.Total.Value == nil || *s.Total.Value != w.total {
			t.Errorf("segment %s total %v, want %g", s.Name, s.Total.Value, w.total)
		}
		if len(s.Values) != 2 || s.Values[0].Value == nil || *s.Values[0].Value != w.jan || s.Values[1].Value == nil || *s.Values[1].Value != w.f {
			t.Errorf("segment %s values %+v, want %g, %g", s.Name, s.Values, w.jan, w.f)
		}
	}
}

func TestBreakdownEndpointDefaults(t *testing.T) {
	ts := newBreakdownServer(t)

	rec := ts.get("/api/v1/kpis/signups/breakdown?by=plan&from=2026-02-01&to=2026-02-28")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	var body breakdownBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Limit != engine.DefaultBreakdownLimit || body.Grain != "month" {
		t.Errorf("limit/grain = %d/%s, want the default limit and the KPI's grain, month", body.Limit, body.Grain)
	}
	var names []string
	for _, s := range body.Segments {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "free,pro,team" {
		t.Errorf("segments %s, want free,pro,team (one signup each in February, in name order)", got)
	}
}

func TestBreakdownEndpointErrors(t *testing.T) {
	ts := newBreakdownServer(t)

	tests := []struct {
		target  string
		status  int
		message string
	}{
		{"/api/v1/kpis/signups/breakdown", http.StatusBadRequest, "query parameter by is missing"},
		{"/api/v1/kpis/signups/breakdown?by=plan&limit=0", http.StatusBadRequest, `query parameter limit: "0" is not valid`},
		{"/api/v1/kpis/signups/breakdown?by=plan&limit=ten", http.StatusBadRequest, `query parameter limit: "ten" is not valid`},
		{"/api/v1/kpis/signups/breakdown?by=plan&limit=500", http.StatusBadRequest, "limit 500 is out of range"},
		{"/api/v1/kpis/signups/breakdown?by=plan&grain=year", http.StatusBadRequest, "query parameter grain"},
		{"/api/v1/kpis/signups/breakdown?by=plan&from=2026-13-01", http.StatusBadRequest, "query parameter from"},
		{"/api/v1/kpis/nope/breakdown?by=plan", http.StatusNotFound, `KPI "nope" not found`},
		{"/api/v1/kpis/mrr/breakdown?by=plan", http.StatusBadRequest, "is of kind mrr, which cannot be broken down"},
	}
	for _, tc := range tests {
		rec := ts.get(tc.target)
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d; body:\n%s", tc.target, rec.Code, tc.status, rec.Body)
			continue
		}
		if _, message := apiError(t, rec); !strings.Contains(message, tc.message) {
			t.Errorf("%s: message %q, want it to contain %q", tc.target, message, tc.message)
		}
	}
}

func TestBreakdownEndpointWithoutComputer(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	rec := ts.get("/api/v1/kpis/signups/breakdown?by=plan")
	if rec.Code != http.StatusNotImplemented {
		t.Fatalf("status %d, want 501; body:\n%s", rec.Code, rec.Body)
	}
	if code, _ := apiError(t, rec); code != "not_implemented" {
		t.Errorf("code %q, want not_implemented", code)
	}
}
