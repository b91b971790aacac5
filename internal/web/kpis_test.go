package web

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// kpiListBody mirrors the documented JSON of GET /api/v1/kpis, decoded with
// its own types so that a renamed field fails the test.
type kpiListBody struct {
	KPIs []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Objective   *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"objective"`
		Owner     string `json:"owner"`
		Unit      string `json:"unit"`
		Direction string `json:"direction"`
		Grain     string `json:"grain"`
		Target    *struct {
			Value  *float64 `json:"value"`
			Change *float64 `json:"change"`
			By     string   `json:"by"`
		} `json:"target"`
		Summary *struct {
			Grain       string   `json:"grain"`
			PeriodStart string   `json:"period_start"`
			Value       *float64 `json:"value"`
			Previous    *float64 `json:"previous"`
			Change      *float64 `json:"change"`
			ChangeUnit  string   `json:"change_unit"`
			Status      string   `json:"status"`
			Partial     bool     `json:"partial"`
			Progress    *float64 `json:"progress"`
		} `json:"summary"`
		SummaryError string `json:"summary_error"`
		Links        struct {
			Series string `json:"series"`
			Page   string `json:"page"`
		} `json:"links"`
	} `json:"kpis"`
}

func TestKPIList(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	rec := ts.get("/api/v1/kpis")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	decodeJSON(t, rec)
	var body kpiListBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}

	if len(body.KPIs) != 4 {
		t.Fatalf("got %d KPIs, want 4", len(body.KPIs))
	}
	var ids []string
	for _, k := range body.KPIs {
		ids = append(ids, k.ID)
	}
	if got := strings.Join(ids, ","); got != "signups,revenue,churn,broken" {
		t.Errorf("ids %s, want the file's order signups,revenue,churn,broken", got)
	}

	signups := body.KPIs[0]
	if signups.Name != "Signups" || signups.Description != "Accounts created" || signups.Owner != "Ana" {
		t.Errorf("signups name/description/owner = %q/%q/%q", signups.Name, signups.Description, signups.Owner)
	}
	if signups.Direction != "up" || signups.Grain != "day" {
		t.Errorf("signups direction/grain = %q/%q, want up/day", signups.Direction, signups.Grain)
	}
	if signups.Objective == nil || signups.Objective.ID != "growth" || signups.Objective.Name != "Grow engagement" {
		t.Errorf("signups objective = %+v, want growth / Grow engagement", signups.Objective)
	}
	if signups.Target == nil || signups.Target.Value == nil || *signups.Target.Value != 100 || signups.Target.By != "2026-12-31" || signups.Target.Change != nil {
		t.Errorf("signups target = %+v, want value 100 by 2026-12-31", signups.Target)
	}
	if signups.Links.Series != "/api/v1/kpis/signups/series" || signups.Links.Page != "/kpis/signups" {
		t.Errorf("signups links = %+v", signups.Links)
	}

	s := signups.Summary
	if s == nil {
		t.Fatalf("signups has no summary (error %q)", signups.SummaryError)
	}
	if s.Value == nil || *s.Value != 40 || s.Previous == nil || *s.Previous != 50 || s.Change == nil || *s.Change != -20 {
		t.Errorf("signups summary value/previous/change = %v/%v/%v, want 40/50/-20", s.Value, s.Previous, s.Change)
	}
	if s.Status != "on_track" || !s.Partial || s.ChangeUnit != "%" || s.Grain != "day" {
		t.Errorf("signups summary status/partial/change_unit/grain = %s/%v/%s/%s", s.Status, s.Partial, s.ChangeUnit, s.Grain)
	}
	if s.PeriodStart != "2026-03-10T00:00:00Z" {
		t.Errorf("signups summary period_start = %s, want 2026-03-10T00:00:00Z", s.PeriodStart)
	}
	// From the baseline 10 to the goal 2,980, the latest complete day (1,000)
	// is a third of the way; the partial day does not count.
	if s.Progress == nil || math.Abs(*s.Progress-1.0/3) > 1e-9 {
		t.Errorf("signups progress = %v, want 1/3", s.Progress)
	}

	revenue := body.KPIs[1]
	if revenue.Objective == nil || revenue.Objective.Name != "revenue" {
		t.Errorf("revenue objective = %+v, want its id as name since the file does not list it", revenue.Objective)
	}
	if revenue.Target == nil || revenue.Target.Change == nil || *revenue.Target.Change != 0.2 || revenue.Target.Value != nil {
		t.Errorf("revenue target = %+v, want change 0.2", revenue.Target)
	}

	churn := body.KPIs[2]
	if churn.Objective != nil || churn.Target != nil {
		t.Errorf("churn objective/target = %+v/%+v, want null/null", churn.Objective, churn.Target)
	}
	if churn.Summary == nil || churn.Summary.ChangeUnit != "pp" || churn.Summary.Progress != nil {
		t.Errorf("churn summary = %+v, want change_unit pp and no progress", churn.Summary)
	}

	broken := body.KPIs[3]
	if broken.Summary != nil || !strings.Contains(broken.SummaryError, `no property "score"`) {
		t.Errorf("broken summary %+v, error %q; want no summary and the engine's message", broken.Summary, broken.SummaryError)
	}

	for _, c := range ts.fake.calls {
		if c.Range != (engine.Range{}) {
			t.Errorf("list asked %s for range %+v, want the default range", c.ID, c.Range)
		}
	}
}

func TestKPIListEmpty(t *testing.T) {
	ts := newTestServer(t, &kpi.Definitions{})

	rec := ts.get("/api/v1/kpis")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if got := strings.TrimSpace(rec.Body.String()); !strings.Contains(got, `"kpis": []`) {
		t.Errorf("body %s, want an empty kpis array, not null", got)
	}
}

func TestKPIGet(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	rec := ts.get("/api/v1/kpis/revenue")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	body := decodeJSON(t, rec)
	if body["id"] != "revenue" || body["unit"] != "USD" {
		t.Errorf("id/unit = %v/%v, want revenue/USD", body["id"], body["unit"])
	}
	summary, _ := body["summary"].(map[string]any)
	if summary["value"] != 11234.5 || summary["status"] != "at_risk" {
		t.Errorf("summary = %v, want value 11234.5 and status at_risk", summary)
	}
	if c := ts.fake.requestCall(t); c.Grain != timegrain.Month {
		t.Errorf("summary grain %s, want the KPI's grain month", c.Grain)
	}
}

func TestKPIGetUnknown(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	for _, path := range []string{"/api/v1/kpis/nope", "/api/v1/kpis/nope/series"} {
		rec := ts.get(path)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, rec.Code)
		}
		code, msg := apiError(t, rec)
		if code != kpi.ENOTFOUND || !strings.Contains(msg, `"nope"`) {
			t.Errorf("GET %s: error %q %q, want not_found naming the id", path, code, msg)
		}
	}
}

func TestKPISeries(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	rec := ts.get("/api/v1/kpis/signups/series?grain=week&from=2026-03-01&to=2026-03-10")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}

	c := ts.fake.requestCall(t)
	want := engine.Range{From: timegrain.Date{Year: 2026, Month: 3, Day: 1}, To: timegrain.Date{Year: 2026, Month: 3, Day: 10}}
	if c.ID != "signups" || c.Grain != timegrain.Week || c.Range != want {
		t.Errorf("series called with %+v, want signups, week, %+v", c, want)
	}

	var body struct {
		KPI        string `json:"kpi"`
		Grain      string `json:"grain"`
		ChangeUnit string `json:"change_unit"`
		Points     []struct {
			PeriodStart string   `json:"period_start"`
			Value       *float64 `json:"value"`
			Target      *float64 `json:"target"`
			Status      string   `json:"status"`
			Partial     bool     `json:"partial"`
		} `json:"points"`
		Goal *struct {
			Value float64 `json:"value"`
		} `json:"goal"`
	}
	decodeJSON(t, rec)
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.KPI != "signups" || body.Grain != "week" || body.ChangeUnit != "%" {
		t.Errorf("kpi/grain/change_unit = %s/%s/%s", body.KPI, body.Grain, body.ChangeUnit)
	}
	if len(body.Points) != 3 {
		t.Fatalf("got %d points, want 3", len(body.Points))
	}
	first := body.Points[0]
	if first.PeriodStart != "2026-03-08T00:00:00Z" || first.Value == nil || *first.Value != 1250 || first.Status != "on_track" || first.Partial {
		t.Errorf("first point = %+v", first)
	}
	if !body.Points[2].Partial {
		t.Error("last point is not partial")
	}
	if body.Goal == nil || body.Goal.Value != 2980 {
		t.Errorf("goal = %+v, want 2980", body.Goal)
	}
}

func TestKPISeriesDefaults(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	rec := ts.get("/api/v1/kpis/revenue/series")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	c := ts.fake.requestCall(t)
	if c.Grain != timegrain.Month || c.Range != (engine.Range{}) {
		t.Errorf("series called with grain %s range %+v, want the KPI's grain month and the default range", c.Grain, c.Range)
	}
}

func TestKPISeriesBadQuery(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	tests := []struct {
		query string
		want  []string // parts of the error message
	}{
		{"grain=hour", []string{"grain", `"hour"`, "day, week, month or quarter"}},
		{"from=2026-13-01", []string{"from", `"2026-13-01"`, "YYYY-MM-DD"}},
		{"to=yesterday", []string{"to", `"yesterday"`, "YYYY-MM-DD"}},
		{"from=2026-03-10&to=2026-03-01", []string{"2026-03-10", "2026-03-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := ts.get("/api/v1/kpis/signups/series?" + tt.query)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body:\n%s", rec.Code, rec.Body)
			}
			code, msg := apiError(t, rec)
			if code != kpi.EINVALID {
				t.Errorf("code %q, want %q", code, kpi.EINVALID)
			}
			for _, part := range tt.want {
				if !strings.Contains(msg, part) {
					t.Errorf("message %q does not contain %q", msg, part)
				}
			}
		})
	}
}
