package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// TestServeEvaluatesAlerts creates an alert rule through the API of a
// running server and steps its scheduler to a fake time: the rule fires and
// the signed webhook arrives.
func TestServeEvaluatesAlerts(t *testing.T) {
	m, logs := startTestMain(t)

	var (
		mu     sync.Mutex
		bodies []map[string]any
	)
	const secret = "serve-test-secret"
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !notify.VerifySignature(secret, body, r.Header.Get(notify.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var v map[string]any
		_ = json.Unmarshal(body, &v)
		mu.Lock()
		bodies = append(bodies, v)
		mu.Unlock()
	}))
	defer hook.Close()

	// Signups on 2026-03-09, the latest complete day, are 3 by hand count.
	rule := `{"kpi_id": "signups", "condition": {"kind": "below", "threshold": 5},
		"notify": {"webhook": {"url": "` + hook.URL + `", "secret": "` + secret + `"}}}`
	// Changing alert rules needs the editor role.
	_, editorToken, err := m.Auth().CreateToken(context.Background(), auth.DefaultWorkspaceID, "test-editor", auth.RoleEditor, "test")
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, m.URL()+"/api/v1/alerts", strings.NewReader(rule))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+editorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/alerts: status %d", resp.StatusCode)
	}

	ran := m.Scheduler().RunDue(context.Background(), serveTestNow.Add(time.Minute))
	if strings.Join(ran, ",") != "alerts,reports" && strings.Join(ran, ",") != "reports,alerts" {
		t.Errorf("jobs run = %v, want alerts and reports", ran)
	}

	// Review reminders run daily at 09:00 in the workspace time zone (UTC).
	nextMorning := time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)
	if ran := m.Scheduler().RunDue(context.Background(), nextMorning); !slices.Contains(ran, "reviews") {
		t.Errorf("jobs run at %s = %v, want reviews among them", nextMorning, ran)
	}

	metrics, err := authGet(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if want := `northstar_scheduler_job_runs_total{job="alerts",result="ok"} 2`; !strings.Contains(string(text), want) {
		t.Errorf("/metrics lacks %s", want)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 {
		t.Fatalf("webhook received %d signed notifications, want 1; logs:\n%s", len(bodies), logs)
	}
	if bodies[0]["state"] != "firing" || bodies[0]["value"] != 3.0 {
		t.Errorf("notification = %v, want firing with value 3", bodies[0])
	}

	var history struct {
		History []struct {
			From, To string
			Value    *float64
		}
		Deliveries []struct{ Channel, Status string }
	}
	getJSON(t, m.URL()+"/api/v1/alerts/1/history", http.StatusOK, &history)
	if len(history.History) != 1 || history.History[0].From != "normal" || history.History[0].To != "firing" {
		t.Errorf("history = %+v, want normal -> firing", history.History)
	}
	if len(history.Deliveries) != 1 || history.Deliveries[0].Status != "ok" || history.Deliveries[0].Channel != "webhook" {
		t.Errorf("deliveries = %+v, want one ok webhook delivery", history.Deliveries)
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the logs contain the webhook secret")
	}
}

func TestDashboardKPIs(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	d, err := db.CreateDashboard(ctx, store.Dashboard{Name: "Growth"})
	if err != nil {
		t.Fatal(err)
	}
	for _, kpis := range [][]string{{"signups"}, {"revenue", "signups"}} {
		if _, err := db.AddWidget(ctx, store.Widget{DashboardID: d.ID, Kind: "kpi_card", KPIs: kpis, W: 3, H: 2, Y: len(kpis)}); err != nil {
			t.Fatal(err)
		}
	}
	empty, err := db.CreateDashboard(ctx, store.Dashboard{Name: "Empty"})
	if err != nil {
		t.Fatal(err)
	}

	list := dashboardKPIs(db)
	ids, err := list(ctx, strconv.FormatInt(d.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "signups,revenue" {
		t.Errorf("KPIs = %v, want signups then revenue, each once", ids)
	}
	if _, err := list(ctx, strconv.FormatInt(empty.ID, 10)); kpi.ErrorCode(err) != kpi.EINVALID {
		t.Errorf("a dashboard without KPIs: error %v, want an invalid error", err)
	}
	for _, id := range []string{"999", "growth"} {
		if _, err := list(ctx, id); kpi.ErrorCode(err) != kpi.ENOTFOUND {
			t.Errorf("dashboard %q: error %v, want not found", id, err)
		}
	}
}

// TestReviewsDueInEachZone checks the hour at which each workspace's review
// reminders go out: 09:00 in its own time zone.
func TestReviewsDueInEachZone(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Time
		loc  *time.Location
		want bool
	}{
		{time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC), time.UTC, true},
		{time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC), tokyo, false},
		// 00:00 UTC is 09:00 in Tokyo (UTC+9).
		{time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC), tokyo, true},
		{time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC), time.UTC, false},
		// On 11 March 2026 New York is on daylight time (UTC-4): 13:00 UTC.
		{time.Date(2026, 3, 11, 13, 0, 0, 0, time.UTC), newYork, true},
		{time.Date(2026, 3, 11, 14, 0, 0, 0, time.UTC), newYork, false},
		{time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC), nil, true},
	}
	for _, tt := range tests {
		if got := reviewsDue(tt.at, tt.loc); got != tt.want {
			t.Errorf("reviewsDue(%s, %v) = %v, want %v", tt.at, tt.loc, got, tt.want)
		}
	}
}
