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

// newCohortServer serves a real engine over a fresh SQLite database, in UTC:
//
//	u1 signup Jan 10, view Jan 10, buy Jan 12, visit Feb 3
//	u2 signup Jan 20, view Jan 21
//	u3 signup Feb 5,  view Feb 6,  buy Feb 20 (after the 7-day window)
//
// Monthly cohorts: January {u1, u2} with u1 back in February; February {u3}.
func newCohortServer(t *testing.T) *testServer {
	t.Helper()
	ctx := context.Background()

	defs, err := kpi.Parse("kpis.yaml", []byte(`workspace: {name: Acme}
kpis:
  - id: m1
    name: Month 1 retention
    unit: "%"
    metric: {kind: retention, cohort_event: signup, offset: 1}
  - id: purchase
    name: Viewed, then bought
    unit: "%"
    metric: {kind: funnel, steps: [view, buy], window: 7}
  - id: signups
    name: Signups
    metric: {kind: count, event: signup}
`))
	if err != nil {
		t.Fatal(err)
	}

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	var events []store.Event
	for i, e := range []struct{ name, user, day string }{
		{"signup", "u1", "2026-01-10"}, {"view", "u1", "2026-01-10"}, {"buy", "u1", "2026-01-12"}, {"visit", "u1", "2026-02-03"},
		{"signup", "u2", "2026-01-20"}, {"view", "u2", "2026-01-21"},
		{"signup", "u3", "2026-02-05"}, {"view", "u3", "2026-02-06"}, {"buy", "u3", "2026-02-20"},
	} {
		ts, err := time.Parse(time.DateOnly, e.day)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, store.Event{Name: e.name, DistinctID: e.user, Timestamp: ts.Add(12 * time.Hour), Source: "test", MessageID: fmt.Sprint(i)})
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

func TestKPICohorts(t *testing.T) {
	ts := newCohortServer(t)

	rec := ts.get("/api/v1/kpis/m1/cohorts?from=2026-01-01&to=2026-02-28")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	decodeJSON(t, rec)
	var body struct {
		KPI     string `json:"kpi"`
		Grain   string `json:"grain"`
		Mode    string `json:"mode"`
		Periods int    `json:"periods"`
		Cohorts []struct {
			Start    string `json:"cohort_start"`
			Size     int    `json:"size"`
			Retained []struct {
				Period  int      `json:"period"`
				Users   int      `json:"users"`
				Percent *float64 `json:"percent"`
			} `json:"retained"`
		} `json:"cohorts"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}

	if body.KPI != "m1" || body.Grain != "month" || body.Mode != "calendar" || body.Periods != 2 {
		t.Errorf("kpi/grain/mode/periods = %s/%s/%s/%d, want m1/month/calendar/2", body.KPI, body.Grain, body.Mode, body.Periods)
	}
	if len(body.Cohorts) != 2 {
		t.Fatalf("got %d cohorts, want January and February", len(body.Cohorts))
	}
	jan, feb := body.Cohorts[0], body.Cohorts[1]
	if jan.Start != "2026-01-01T00:00:00Z" || jan.Size != 2 || len(jan.Retained) != 2 {
		t.Fatalf("January cohort = %+v, want size 2 with periods 0 and 1", jan)
	}
	if jan.Retained[1].Users != 1 || jan.Retained[1].Percent == nil || *jan.Retained[1].Percent != 50 {
		t.Errorf("January period 1 = %+v, want 1 user, 50 %%", jan.Retained[1])
	}
	if feb.Size != 1 || len(feb.Retained) != 1 || feb.Retained[0].Users != 1 {
		t.Errorf("February cohort = %+v, want size 1 with period 0 only", feb)
	}
}

func TestKPIFunnel(t *testing.T) {
	ts := newCohortServer(t)

	rec := ts.get("/api/v1/kpis/purchase/funnel?from=2026-01-01&to=2026-02-28")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	decodeJSON(t, rec)
	var body struct {
		KPI        string   `json:"kpi"`
		WindowDays int      `json:"window_days"`
		Entered    int      `json:"entered"`
		Completed  int      `json:"completed"`
		Dropped    int      `json:"dropped"`
		InProgress int      `json:"in_progress"`
		Conversion *float64 `json:"conversion"`
		Steps      []struct {
			Event                  string   `json:"event"`
			Users                  int      `json:"users"`
			ConversionFromPrevious *float64 `json:"conversion_from_previous"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}

	// u1 buys in time; u2 never buys; u3 buys 14 days after viewing.
	if body.Entered != 3 || body.Completed != 1 || body.Dropped != 2 || body.InProgress != 0 || body.WindowDays != 7 {
		t.Errorf("entered/completed/dropped/in progress/window = %d/%d/%d/%d/%d, want 3/1/2/0/7",
			body.Entered, body.Completed, body.Dropped, body.InProgress, body.WindowDays)
	}
	if len(body.Steps) != 2 || body.Steps[1].Event != "buy" || body.Steps[1].Users != 1 {
		t.Fatalf("steps = %+v, want view then buy by 1 user", body.Steps)
	}
	if p := body.Steps[1].ConversionFromPrevious; p == nil || *p != 100.0/3 {
		t.Errorf("buy conversion from previous = %v, want 33.3…", p)
	}
}

func TestKPICohortsErrors(t *testing.T) {
	ts := newCohortServer(t)

	tests := []struct {
		path, code, message string
		status              int
	}{
		{"/api/v1/kpis/signups/cohorts", kpi.EINVALID, `kpi "signups" is a count KPI; cohort tables are computed for retention KPIs only`, http.StatusBadRequest},
		{"/api/v1/kpis/m1/funnel", kpi.EINVALID, `kpi "m1" is a retention KPI; funnel steps are computed for funnel KPIs only`, http.StatusBadRequest},
		{"/api/v1/kpis/nope/cohorts", kpi.ENOTFOUND, `KPI "nope" not found`, http.StatusNotFound},
		{"/api/v1/kpis/nope/funnel", kpi.ENOTFOUND, `KPI "nope" not found`, http.StatusNotFound},
		{"/api/v1/kpis/m1/cohorts?from=2026-13-01", kpi.EINVALID, `query parameter from: "2026-13-01" is not a date`, http.StatusBadRequest},
		{"/api/v1/kpis/purchase/funnel?from=2026-03-01&to=2026-01-01", kpi.EINVALID, "is empty", http.StatusBadRequest},
	}
	for _, tt := range tests {
		rec := ts.get(tt.path)
		if rec.Code != tt.status {
			t.Errorf("GET %s: status %d, want %d; body:\n%s", tt.path, rec.Code, tt.status, rec.Body)
			continue
		}
		if code, msg := apiError(t, rec); code != tt.code || !strings.Contains(msg, tt.message) {
			t.Errorf("GET %s: error %q %q, want %q containing %q", tt.path, code, msg, tt.code, tt.message)
		}
	}
}
