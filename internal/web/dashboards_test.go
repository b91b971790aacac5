package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// newDashboardTestServer serves testDefinitions over the fake series
// computer, with dashboards in a fresh SQLite database.
func newDashboardTestServer(t *testing.T) *testServer {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	defs := testDefinitions()
	fake := &fakeSeries{
		series: testSeries(),
		errs:   map[string]error{"broken": kpi.Errorf(kpi.EINVALID, `kpi "broken": event "rating" has no property "score"`)},
		panics: map[string]bool{},
	}
	logs := &bytes.Buffer{}
	ts := newAuthedServer(t, Config{
		Definitions: func() *kpi.Definitions { return defs },
		Series:      fake,
		Logger:      slog.New(slog.NewTextHandler(&syncWriter{w: logs}, nil)),
		Now:         func() time.Time { return testNow },
		Dashboards:  db,
	})
	ts.fake, ts.logs = fake, logs
	return ts
}

// send serves a request with a JSON body and returns the recorded response.
func (ts *testServer) send(method, target, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if ts.token != "" {
		req.Header.Set("Authorization", "Bearer "+ts.token)
	}
	ts.ServeHTTP(rec, req)
	return rec
}

// mustSend is send that fails the test unless the status is want, and
// decodes the JSON body into out when out is not nil.
func (ts *testServer) mustSend(t *testing.T, method, target, body string, want int, out any) {
	t.Helper()
	rec := ts.send(method, target, body)
	if rec.Code != want {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", method, target, rec.Code, want, rec.Body)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v\n%s", method, target, err, rec.Body)
		}
	}
}

type testDashboard struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Grain   string `json:"grain"`
	Page    string `json:"page"`
	Widgets []struct {
		ID      int64           `json:"id"`
		Kind    string          `json:"kind"`
		KPIs    []string        `json:"kpis"`
		X       int             `json:"x"`
		Y       int             `json:"y"`
		W       int             `json:"w"`
		H       int             `json:"h"`
		Options json.RawMessage `json:"options"`
	} `json:"widgets"`
}

func TestDashboardCRUD(t *testing.T) {
	ts := newDashboardTestServer(t)

	var d testDashboard
	ts.mustSend(t, "POST", "/api/v1/dashboards", `{"name": "Weekly review"}`, http.StatusCreated, &d)
	if d.Name != "Weekly review" || d.ID == 0 || d.Page != fmt.Sprintf("/dashboards/%d", d.ID) {
		t.Errorf("created %+v, want Weekly review with an id and its page", d)
	}
	base := fmt.Sprintf("/api/v1/dashboards/%d", d.ID)

	var w struct {
		ID int64 `json:"id"`
		X  int   `json:"x"`
		Y  int   `json:"y"`
		W  int   `json:"w"`
		H  int   `json:"h"`
	}
	ts.mustSend(t, "POST", base+"/widgets", `{"kind": "kpi_card", "kpis": ["signups"]}`, http.StatusCreated, &w)
	if w.X != 0 || w.Y != 0 || w.W != 3 || w.H != 5 {
		t.Errorf("KPI card at (%d, %d) size %dx%d, want (0, 0) and the default 3x5", w.X, w.Y, w.W, w.H)
	}
	var chart struct {
		ID int64 `json:"id"`
		X  int   `json:"x"`
		Y  int   `json:"y"`
	}
	ts.mustSend(t, "POST", base+"/widgets", `{"kind": "chart", "kpis": ["signups", "revenue"], "options": {"chart": "bar"}}`, http.StatusCreated, &chart)
	if chart.X != 3 || chart.Y != 0 {
		t.Errorf("second widget at (%d, %d), want (3, 0), the first free place right of the 3-wide card", chart.X, chart.Y)
	}
	var third struct {
		X int `json:"x"`
		Y int `json:"y"`
	}
	ts.mustSend(t, "POST", base+"/widgets", `{"kind": "chart", "kpis": ["signups"]}`, http.StatusCreated, &third)
	if third.X != 0 || third.Y != 5 {
		t.Errorf("third widget, 6 wide, at (%d, %d), want (0, 5): the top row has 3 free columns only", third.X, third.Y)
	}

	// Move and resize one widget, then save a whole layout.
	ts.mustSend(t, "PATCH", fmt.Sprintf("%s/widgets/%d", base, w.ID), `{"x": 6, "w": 4}`, http.StatusOK, nil)
	ts.mustSend(t, "PUT", base+"/layout", fmt.Sprintf(`{"widgets": [{"id": %d, "x": 0, "y": 5, "w": 12, "h": 2}, {"id": %d, "x": 0, "y": 0, "w": 6, "h": 5}]}`, w.ID, chart.ID), http.StatusOK, nil)
	ts.mustSend(t, "PATCH", base, `{"name": "Renamed", "grain": "week"}`, http.StatusOK, nil)

	var got testDashboard
	ts.mustSend(t, "GET", base, "", http.StatusOK, &got)
	if got.Name != "Renamed" || got.Grain != "week" {
		t.Errorf("after PATCH: name %q grain %q, want Renamed, week", got.Name, got.Grain)
	}
	if len(got.Widgets) != 3 || got.Widgets[0].ID != chart.ID || got.Widgets[1].ID != w.ID || got.Widgets[1].W != 12 || got.Widgets[1].Y != 5 {
		t.Errorf("after the layout: %+v, want the chart first and the card 12 wide at y 5", got.Widgets)
	}

	// Duplicate copies widgets and controls under a new name.
	var dup testDashboard
	ts.mustSend(t, "POST", base+"/duplicate", "", http.StatusCreated, &dup)
	if dup.ID == d.ID || dup.Name != "Copy of Renamed" || dup.Grain != "week" || len(dup.Widgets) != 3 {
		t.Errorf("duplicate = %+v, want a new dashboard Copy of Renamed with 3 widgets at grain week", dup)
	}

	ts.mustSend(t, "DELETE", fmt.Sprintf("%s/widgets/%d", base, w.ID), "", http.StatusNoContent, nil)
	ts.mustSend(t, "GET", base, "", http.StatusOK, &got)
	if len(got.Widgets) != 2 {
		t.Errorf("after deleting a widget the dashboard has %d, want 2", len(got.Widgets))
	}
	ts.mustSend(t, "DELETE", base, "", http.StatusNoContent, nil)
	ts.mustSend(t, "GET", base, "", http.StatusNotFound, nil)
	ts.mustSend(t, "GET", fmt.Sprintf("/api/v1/dashboards/%d", dup.ID), "", http.StatusOK, nil)
}

func TestDashboardBadInput(t *testing.T) {
	ts := newDashboardTestServer(t)
	var d testDashboard
	ts.mustSend(t, "POST", "/api/v1/dashboards", `{"name": "Checks"}`, http.StatusCreated, &d)
	base := fmt.Sprintf("/api/v1/dashboards/%d", d.ID)

	tests := []struct {
		name, method, path, body string
		status                   int
		message                  string
	}{
		{"unknown widget kind", "POST", base + "/widgets", `{"kind": "pie", "kpis": ["signups"]}`, 400, `widget kind "pie" is unknown (use one of breakdown, chart, cohort, feedback, funnel, kpi_card, objective)`},
		{"negative size", "POST", base + "/widgets", `{"kind": "kpi_card", "kpis": ["signups"], "w": -2}`, 400, "widget size -2x5 is not valid"},
		{"zero height", "POST", base + "/widgets", `{"kind": "kpi_card", "kpis": ["signups"], "h": 0}`, 400, "widget size 3x0 is not valid"},
		{"past the grid", "POST", base + "/widgets", `{"kind": "kpi_card", "kpis": ["signups"], "x": 10}`, 400, "ends past the grid's 12 columns"},
		{"unknown KPI", "POST", base + "/widgets", `{"kind": "kpi_card", "kpis": ["nope"]}`, 400, `widget for an unknown KPI: KPI "nope" not found`},
		{"no KPI", "POST", base + "/widgets", `{"kind": "kpi_card"}`, 400, "kpis is empty"},
		{"two KPIs on a card", "POST", base + "/widgets", `{"kind": "kpi_card", "kpis": ["signups", "revenue"]}`, 400, "shows at most 1 KPI; got 2"},
		{"cohort of a count", "POST", base + "/widgets", `{"kind": "cohort", "kpis": ["signups"]}`, 400, `a cohort widget needs a retention KPI; KPI "signups" is a count KPI`},
		{"breakdown without property", "POST", base + "/widgets", `{"kind": "breakdown", "kpis": ["signups"]}`, 400, "needs the property to group by"},
		{"unknown objective", "POST", base + "/widgets", `{"kind": "objective", "options": {"objective": "mars"}}`, 400, `objective "mars" is unknown`},
		{"unknown option", "POST", base + "/widgets", `{"kind": "chart", "kpis": ["signups"], "options": {"colour": "red"}}`, 400, `unknown field "colour"`},
		{"bad chart type", "POST", base + "/widgets", `{"kind": "chart", "kpis": ["signups"], "options": {"chart": "pie"}}`, 400, `chart option "pie" is not valid`},
		{"unknown body field", "POST", base + "/widgets", `{"kind": "chart", "kpi": "signups"}`, 400, `unknown field "kpi"`},
		{"not JSON", "POST", "/api/v1/dashboards", `{"name": `, 400, "request body is not valid JSON"},
		{"empty body", "POST", "/api/v1/dashboards", ``, 400, "request body is empty"},
		{"over-long name", "POST", "/api/v1/dashboards", `{"name": "` + strings.Repeat("x", 101) + `"}`, 400, "dashboard name is 101 characters long; the limit is 100"},
		{"blank name", "PATCH", base, `{"name": "  "}`, 400, "dashboard name is empty"},
		{"missing name", "POST", "/api/v1/dashboards", `{}`, 400, "name is missing"},
		{"bad grain", "PATCH", base, `{"grain": "fortnight"}`, 400, "grain:"},
		{"reversed range", "PATCH", base, `{"from": "2026-03-01", "to": "2026-02-01"}`, 400, "from 2026-03-01 is after to 2026-02-01"},
		{"layout without size", "PUT", base + "/layout", `{"widgets": [{"id": 1, "x": 0, "y": 0}]}`, 400, "x, y, w and h are all required"},
		{"layout of a foreign widget", "PUT", base + "/layout", `{"widgets": [{"id": 999, "x": 0, "y": 0, "w": 1, "h": 1}]}`, 404, "has no widget 999"},
		{"unknown dashboard", "GET", "/api/v1/dashboards/999", ``, 404, "dashboard 999 not found"},
		{"id not a number", "GET", "/api/v1/dashboards/abc", ``, 404, `dashboard "abc" not found`},
		{"widget on unknown dashboard", "POST", "/api/v1/dashboards/999/widgets", `{"kind": "kpi_card", "kpis": ["signups"]}`, 404, "dashboard 999 not found"},
		{"TV without dashboards", "GET", "/tv", ``, 400, "no dashboard chosen for TV mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.send(tt.method, tt.path, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body:\n%s", rec.Code, tt.status, rec.Body)
			}
			text := rec.Body.String()
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				_, text = apiError(t, rec)
			}
			if !strings.Contains(text, tt.message) {
				t.Errorf("error %q does not say %q", text, tt.message)
			}
		})
	}

	var after testDashboard
	ts.mustSend(t, "GET", base, "", http.StatusOK, &after)
	if after.Name != "Checks" || len(after.Widgets) != 0 || after.Grain != "" {
		t.Errorf("after the bad requests the dashboard is %+v, want it unchanged", after)
	}
}

func TestDefaultDashboardPerObjective(t *testing.T) {
	ts := newDashboardTestServer(t)

	var list struct {
		Dashboards []struct {
			ID        int64  `json:"id"`
			Name      string `json:"name"`
			Objective string `json:"objective"`
		} `json:"dashboards"`
	}
	ts.mustSend(t, "GET", "/api/v1/dashboards", "", http.StatusOK, &list)
	ts.mustSend(t, "GET", "/api/v1/dashboards", "", http.StatusOK, &list)
	// testDefinitions lists one objective, growth; revenue's objective is
	// not listed in the file and gets no default dashboard.
	if len(list.Dashboards) != 1 || list.Dashboards[0].Objective != "growth" || list.Dashboards[0].Name != "Grow engagement" {
		t.Fatalf("dashboards = %+v, want one default dashboard Grow engagement for objective growth", list.Dashboards)
	}

	var d testDashboard
	ts.mustSend(t, "GET", fmt.Sprintf("/api/v1/dashboards/%d", list.Dashboards[0].ID), "", http.StatusOK, &d)
	var kinds []string
	for _, w := range d.Widgets {
		kinds = append(kinds, w.Kind+":"+strings.Join(w.KPIs, ","))
	}
	// signups and broken serve growth: the objective widget, a card each,
	// and a chart of the first.
	if got := strings.Join(kinds, " "); got != "objective: kpi_card:signups kpi_card:broken chart:signups" {
		t.Errorf("default widgets = %s, want objective, cards of signups and broken, chart of signups", got)
	}
}

// dashboardWithWidgets creates a dashboard with the given widget bodies and
// returns its id.
func dashboardWithWidgets(t *testing.T, ts *testServer, name string, widgets ...string) int64 {
	t.Helper()
	var d testDashboard
	ts.mustSend(t, "POST", "/api/v1/dashboards", `{"name": "`+name+`"}`, http.StatusCreated, &d)
	for _, w := range widgets {
		ts.mustSend(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", d.ID), w, http.StatusCreated, nil)
	}
	return d.ID
}

func TestDashboardData(t *testing.T) {
	ts := newDashboardTestServer(t)
	id := dashboardWithWidgets(t, ts, "Data",
		`{"kind": "kpi_card", "kpis": ["revenue"]}`,
		`{"kind": "chart", "kpis": ["signups"]}`,
		`{"kind": "kpi_card", "kpis": ["broken"]}`,
		`{"kind": "feedback", "kpis": ["signups"]}`,
		`{"kind": "objective", "options": {"objective": "growth"}}`)

	var data struct {
		Widgets []struct {
			Kind  string `json:"kind"`
			Title string `json:"title"`
			Error string `json:"error"`
			Empty string `json:"empty"`
			Card  *struct {
				Value  string `json:"value"`
				Status struct {
					Label string `json:"label"`
				} `json:"status"`
				Change *struct {
					Text string `json:"text"`
				} `json:"change"`
			} `json:"card"`
			Series []struct {
				Series struct {
					Points []struct {
						Value   float64 `json:"value"`
						Partial bool    `json:"partial"`
					} `json:"points"`
				} `json:"series"`
			} `json:"series"`
			Objective []struct {
				ID     string `json:"id"`
				Status struct {
					Label string `json:"label"`
				} `json:"status"`
			} `json:"objective"`
		} `json:"widgets"`
	}
	ts.mustSend(t, "GET", fmt.Sprintf("/api/v1/dashboards/%d/data", id), "", http.StatusOK, &data)
	if len(data.Widgets) != 5 {
		t.Fatalf("data has %d widgets, want 5", len(data.Widgets))
	}

	// The fake's revenue for March 2026 is 11,234.50 USD, up 12.345 % from
	// 10,000 (the formatter rounds to 2 decimals), judged at risk.
	card := data.Widgets[0].Card
	if card == nil || card.Value != "$11,234.50" || card.Status.Label != "at risk" || card.Change == nil || card.Change.Text != "+12.35%" {
		t.Errorf("revenue card = %+v (change %+v), want $11,234.50, at risk, +12.35%%", card, card.Change)
	}

	chart := data.Widgets[1]
	if len(chart.Series) != 1 || len(chart.Series[0].Series.Points) != 3 || chart.Series[0].Series.Points[0].Value != 1250 || !chart.Series[0].Series.Points[2].Partial {
		t.Errorf("signups chart = %+v, want the fake's 3 points from 1250 with the last partial", chart.Series)
	}
	if w := data.Widgets[2]; w.Error != `kpi "broken": event "rating" has no property "score"` {
		t.Errorf("broken card error %q, want the definition error", w.Error)
	}
	if w := data.Widgets[3]; !strings.Contains(w.Empty, "No feedback yet") || !strings.Contains(w.Empty, "/api/v1/kpis/signups/feedback") {
		t.Errorf("feedback widget empty state %q, want it to say how to add feedback", w.Empty)
	}
	obj := data.Widgets[4]
	if len(obj.Objective) != 2 || obj.Objective[0].ID != "signups" || obj.Objective[0].Status.Label != "on track" || obj.Title != "Grow engagement" {
		t.Errorf("objective widget = %+v, want Grow engagement with signups on track first", obj)
	}
}

func TestDashboardExportCSV(t *testing.T) {
	ts := newDashboardTestServer(t)
	id := dashboardWithWidgets(t, ts, "Export", `{"kind": "kpi_card", "kpis": ["revenue"]}`, `{"kind": "chart", "kpis": ["revenue", "churn"]}`)

	rec := ts.get(fmt.Sprintf("/api/v1/dashboards/%d/export.csv", id))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("status %d, Content-Type %q; body:\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Revenue once although two widgets show it, then churn: 2 periods each.
	want := [][]string{
		{"kpi_id", "kpi_name", "unit", "grain", "period_start", "period_end", "value", "target", "status", "partial"},
		{"revenue", "Revenue", "USD", "month", "2026-02-01", "2026-03-01", "10500", "10300", "on_track", "false"},
		{"revenue", "Revenue", "USD", "month", "2026-03-01", "2026-04-01", "11234.5", "11800", "at_risk", "true"},
		{"churn", "Churn", "%", "month", "2026-02-01", "2026-03-01", "3.5", "", "no_target", "false"},
		{"churn", "Churn", "%", "month", "2026-03-01", "2026-04-01", "4.25", "", "no_target", "true"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("CSV rows:\n%v\nwant:\n%v", rows, want)
	}
}

func TestShareLinkReachesOnlyItsDashboard(t *testing.T) {
	ts := newDashboardTestServer(t)
	shared := dashboardWithWidgets(t, ts, "Shared", `{"kind": "kpi_card", "kpis": ["signups"]}`)
	other := dashboardWithWidgets(t, ts, "Private", `{"kind": "kpi_card", "kpis": ["revenue"]}`)

	var link struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
		URL   string `json:"url"`
	}
	ts.mustSend(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/share-links", shared), "", http.StatusCreated, &link)
	if !strings.HasPrefix(link.Token, "ns_sh_") || link.URL != "/share/"+link.Token {
		t.Fatalf("share link %+v, want an ns_sh_ token and its /share/ URL", link)
	}

	page := ts.get(link.URL)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "<h1 id=\"board-title\">Shared</h1>") {
		t.Errorf("share page: status %d, want 200 with the dashboard's name", page.Code)
	}
	if strings.Contains(page.Body.String(), "Private") || strings.Contains(page.Body.String(), "/api/v1/dashboards") {
		t.Errorf("share page mentions another dashboard or the API:\n%s", page.Body)
	}
	data := ts.get(link.URL + "/data")
	if data.Code != http.StatusOK || !strings.Contains(data.Body.String(), `"title": "Signups"`) || strings.Contains(data.Body.String(), "Revenue") {
		t.Errorf("share data: status %d, want the signups card only:\n%s", data.Code, data.Body)
	}
	if rec := ts.get(link.URL + "/export.csv"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "signups,Signups") {
		t.Errorf("share export: status %d:\n%s", rec.Code, rec.Body)
	}

	for _, path := range []string{
		link.URL + "/api/v1/kpis",
		link.URL + fmt.Sprintf("/dashboards/%d", other),
		link.URL + fmt.Sprintf("/api/v1/dashboards/%d/data", other),
		"/share/" + strings.TrimSuffix(link.Token, link.Token[len(link.Token)-1:]) + "x",
		"/share/not-a-token/data",
	} {
		if rec := ts.get(path); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, rec.Code)
		}
	}

	ts.mustSend(t, "DELETE", fmt.Sprintf("/api/v1/dashboards/%d/share-links/%d", shared, link.ID), "", http.StatusNoContent, nil)
	for _, path := range []string{link.URL, link.URL + "/data", link.URL + "/events", link.URL + "/export.csv"} {
		if rec := ts.get(path); rec.Code != http.StatusNotFound {
			t.Errorf("after revoking, GET %s: status %d, want 404", path, rec.Code)
		}
	}
}

func TestDashboardEventsStream(t *testing.T) {
	ts := newDashboardTestServer(t)
	id := dashboardWithWidgets(t, ts, "Live", `{"kind": "kpi_card", "kpis": ["churn"]}`, `{"kind": "kpi_card", "kpis": ["revenue"]}`)
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/dashboards/%d/events", srv.URL, id), nil)
	req.Header.Set("Authorization", "Bearer "+ts.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q, want text/event-stream", ct)
	}
	events := readEvents(bufio.NewReader(res.Body))

	first := <-events
	if first.name != "update" || !strings.Contains(first.data, "4.25%") || !strings.Contains(first.data, "$11,234.50") {
		t.Fatalf("first event %s %s, want an update with both cards", first.name, first.data)
	}

	// Churn changes; revenue does not. Only churn's widget is sent again.
	ts.fake.mu.Lock()
	ts.fake.series["churn"].Points[1].Value = fptr(5.5)
	ts.fake.mu.Unlock()
	ts.defaultWorkspace.live.notify()

	select {
	case next := <-events:
		if next.name != "update" || !strings.Contains(next.data, "5.5%") || strings.Contains(next.data, "Revenue") {
			t.Errorf("after the change: %s %s, want an update of the churn card only", next.name, next.data)
		}
	case <-ctx.Done():
		t.Fatal("no update within 10 s of the change")
	}
}

type sseEvent struct{ name, data string }

// readEvents parses a Server-Sent Events stream into a channel.
func readEvents(r *bufio.Reader) <-chan sseEvent {
	out := make(chan sseEvent, 16)
	go func() {
		defer close(out)
		var ev sseEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			case line == "" && ev.name != "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	return out
}

func TestDashboardEventsStreamEndsOnClose(t *testing.T) {
	ts := newDashboardTestServer(t)
	id := dashboardWithWidgets(t, ts, "Closing", `{"kind": "kpi_card", "kpis": ["churn"]}`)
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/dashboards/%d/events", srv.URL, id), nil)
	req.Header.Set("Authorization", "Bearer "+ts.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := readEvents(bufio.NewReader(res.Body))
	if first := <-events; first.name != "update" {
		t.Fatalf("first event %q, want update", first.name)
	}

	ts.CloseStreams()
	select {
	case ev, open := <-events:
		if open {
			t.Errorf("after CloseStreams the stream sent %s %s, want it to end", ev.name, ev.data)
		}
	case <-ctx.Done():
		t.Fatal("the stream was still open 10 s after CloseStreams")
	}
}

func TestDashboardChangesAudited(t *testing.T) {
	ts := newDashboardTestServer(t)
	var d testDashboard
	ts.mustSend(t, "POST", "/api/v1/dashboards", `{"name": "Audited"}`, http.StatusCreated, &d)
	base := fmt.Sprintf("/api/v1/dashboards/%d", d.ID)
	ts.mustSend(t, "PATCH", base, `{"name": "Renamed"}`, http.StatusOK, nil)
	var w struct {
		ID int64 `json:"id"`
	}
	ts.mustSend(t, "POST", base+"/widgets", `{"kind": "kpi_card", "kpis": ["signups"]}`, http.StatusCreated, &w)
	ts.mustSend(t, "PUT", base+"/layout", fmt.Sprintf(`{"widgets": [{"id": %d, "x": 2, "y": 0, "w": 3, "h": 5}]}`, w.ID), http.StatusOK, nil)
	ts.mustSend(t, "PATCH", base, `{"name": ""}`, http.StatusBadRequest, nil)
	var link struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	ts.mustSend(t, "POST", base+"/share-links", "", http.StatusCreated, &link)
	ts.mustSend(t, "DELETE", fmt.Sprintf("%s/share-links/%d", base, link.ID), "", http.StatusNoContent, nil)
	ts.mustSend(t, "DELETE", fmt.Sprintf("%s/widgets/%d", base, w.ID), "", http.StatusNoContent, nil)
	ts.mustSend(t, "DELETE", base, "", http.StatusNoContent, nil)

	entries, err := ts.auth.store.AuditLog(context.Background(), 1, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var rename auth.AuditEntry
	for i := len(entries) - 1; i >= 0; i-- { // oldest first
		e := entries[i]
		if e.ObjectType == "api_token" {
			continue // the test's own token
		}
		got = append(got, e.Action+" "+e.ObjectType)
		if e.Action == "update" && e.ObjectType == "dashboard" {
			rename = e
		}
		if e.Actor != "token:test-admin" {
			t.Errorf("entry %s %s by %q, want token:test-admin", e.Action, e.ObjectType, e.Actor)
		}
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), link.Token) {
			t.Errorf("entry %s %s contains the share token", e.Action, e.ObjectType)
		}
	}
	want := "create dashboard, update dashboard, create widget, layout dashboard, create share_link, revoke share_link, delete widget, delete dashboard"
	if strings.Join(got, ", ") != want {
		t.Errorf("audit log:\n%s\nwant (the rejected rename leaves no entry):\n%s", strings.Join(got, ", "), want)
	}

	before, _ := rename.Before.(json.RawMessage)
	after, _ := rename.After.(json.RawMessage)
	if !strings.Contains(string(before), `"name":"Audited"`) {
		t.Errorf("rename entry before = %s, want the old name Audited", before)
	}
	if !strings.Contains(string(after), `"name":"Renamed"`) {
		t.Errorf("rename entry after = %s, want the new name Renamed", after)
	}
}
