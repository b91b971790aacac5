package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
)

// workspaceClient calls a running server with one API token.
type workspaceClient struct {
	t     *testing.T
	base  string
	token string // "" sends no credentials
}

// do sends body (JSON, or nothing when empty) and returns the status and
// the response body.
func (c workspaceClient) do(method, path, body string) (int, string) {
	c.t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

// must sends the request, checks the status and decodes the JSON body into
// out unless out is nil.
func (c workspaceClient) must(method, path, body string, want int, out any) {
	c.t.Helper()
	status, data := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d; body:\n%s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(data), out); err != nil {
			c.t.Fatalf("%s %s: %v\n%s", method, path, err, data)
		}
	}
}

// dayCount returns the value of KPI id on 2026-03-09 from the series API.
func (c workspaceClient) dayCount(id string) float64 {
	c.t.Helper()
	var series struct {
		Points []struct {
			PeriodStart time.Time `json:"period_start"`
			Value       *float64  `json:"value"`
		} `json:"points"`
	}
	c.must(http.MethodGet, "/api/v1/kpis/"+id+"/series?grain=day&from=2026-03-08&to=2026-03-09", "", http.StatusOK, &series)
	day := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	for _, p := range series.Points {
		if p.PeriodStart.Equal(day) && p.Value != nil {
			return *p.Value
		}
	}
	c.t.Fatalf("%s series has no value on 2026-03-09: %+v", id, series.Points)
	return 0
}

// TestWorkspacesKeepDataApart runs a server with two workspaces. An editor
// of workspace 2 makes a KPI, a dashboard with a widget, an annotation and a
// share link there, and sends events with workspace 2's write key. A member
// of workspace 1 then finds none of them by id (404, so ids do not leak) or
// in lists, and workspace 1's KPIs do not count workspace 2's events.
//
// Hand counts for 2026-03-09: workspace 1 has the signups of u3, u4 and u5
// (serveTestEvents), so 3. Workspace 2 receives 2 signups, by w2-a and w2-b,
// so its KPI counts 2 and workspace 1's stays 3.
func TestWorkspacesKeepDataApart(t *testing.T) {
	m, _ := startTestMain(t)
	ctx := context.Background()

	second, err := m.Auth().CreateWorkspace(ctx, "second", "test")
	if err != nil {
		t.Fatal(err)
	}
	newToken := func(ws int64, name string, role auth.Role) workspaceClient {
		_, secret, err := m.Auth().CreateToken(ctx, ws, name, role, "test")
		if err != nil {
			t.Fatal(err)
		}
		return workspaceClient{t: t, base: m.URL(), token: secret}
	}
	one := newToken(auth.DefaultWorkspaceID, "editor-one", auth.RoleEditor)
	two := newToken(second.ID, "editor-two", auth.RoleEditor)

	// The write key of workspace 2 comes from the CLI, as an admin makes it.
	code, out, errOut := runWithStdin(t, "", "keys", "create", "--name", "web", "--workspace", fmt.Sprint(second.ID), "--db", m.DBPath)
	if code != exitOK {
		t.Fatalf("keys create --workspace %d: exit %d: %s", second.ID, code, errOut)
	}
	writeKey := printedSecret.FindString(out)
	if writeKey == "" {
		t.Fatalf("keys create printed no secret:\n%s", out)
	}

	// Workspace 2's editor makes a KPI, a dashboard, a widget, an annotation
	// and a share link.
	two.must(http.MethodPost, "/api/v1/kpis", `{"id": "trials", "name": "Trials", "owner": "cy@example.com", "unit": "signups",
		"direction": "up", "grain": "day", "metric": {"kind": "count", "event": "signup"}}`, http.StatusCreated, nil)
	var board struct {
		ID int64 `json:"id"`
	}
	two.must(http.MethodPost, "/api/v1/dashboards", `{"name": "Second board"}`, http.StatusCreated, &board)
	boardPath := fmt.Sprintf("/api/v1/dashboards/%d", board.ID)
	two.must(http.MethodPost, boardPath+"/widgets", `{"kind": "kpi_card", "kpis": ["trials"]}`, http.StatusCreated, nil)
	var note struct {
		ID int64 `json:"id"`
	}
	two.must(http.MethodPost, "/api/v1/annotations", `{"kpi_id": "trials", "kind": "release", "date": "2026-03-09", "note": "Second launch"}`, http.StatusCreated, &note)
	var link struct {
		URL string `json:"url"`
	}
	two.must(http.MethodPost, boardPath+"/share-links", "", http.StatusCreated, &link)

	// Workspace 2 cannot use workspace 1's KPIs, which come from the KPI file.
	if status, body := two.do(http.MethodPost, boardPath+"/widgets", `{"kind": "kpi_card", "kpis": ["revenue"]}`); status < 400 || status >= 500 {
		t.Errorf("workspace 2 widget on workspace 1's KPI revenue: status %d, want 4xx; body:\n%s", status, body)
	}
	if status, body := two.do(http.MethodGet, "/api/v1/kpis/revenue", ""); status != http.StatusNotFound {
		t.Errorf("workspace 2 GET workspace 1's KPI revenue: status %d, want 404; body:\n%s", status, body)
	}

	// Events sent with workspace 2's key go to workspace 2.
	for i, user := range []string{"w2-a", "w2-b"} {
		postIngest(t, m.URL()+"/v1/track", fmt.Sprintf(`{"event": "signup", "userId": %q, "messageId": "w2-%d", "timestamp": "2026-03-09T1%d:00:00Z"}`, user, i, i),
			http.StatusOK, "Authorization", basicAuth(writeKey))
	}
	if got := two.dayCount("trials"); got != 2 {
		t.Errorf("workspace 2 trials on 2026-03-09 = %v, want 2 (w2-a and w2-b)", got)
	}
	if got := one.dayCount("signups"); got != 3 {
		t.Errorf("workspace 1 signups on 2026-03-09 = %v, want 3 (u3, u4, u5), without workspace 2's events", got)
	}

	// A member of workspace 1 finds nothing of workspace 2 by id, and
	// changes nothing: 404 rather than 403, so ids do not leak.
	notFound := []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/kpis/trials", ""},
		{http.MethodGet, "/api/v1/kpis/trials/series", ""},
		{http.MethodPut, "/api/v1/kpis/trials", `{"id": "trials", "name": "Taken", "metric": {"kind": "count", "event": "signup"}}`},
		{http.MethodDelete, "/api/v1/kpis/trials", ""},
		{http.MethodGet, boardPath, ""},
		{http.MethodGet, boardPath + "/data", ""},
		{http.MethodPatch, boardPath, `{"name": "Taken"}`},
		{http.MethodPost, boardPath + "/widgets", `{"kind": "kpi_card", "kpis": ["signups"]}`},
		{http.MethodPost, boardPath + "/share-links", ""},
		{http.MethodDelete, boardPath, ""},
		{http.MethodDelete, fmt.Sprintf("/api/v1/annotations/%d", note.ID), ""},
	}
	for _, req := range notFound {
		if status, body := one.do(req.method, req.path, req.body); status != http.StatusNotFound {
			t.Errorf("workspace 1 %s %s: status %d, want 404; body:\n%s", req.method, req.path, status, body)
		}
	}

	// Lists show each workspace only its own.
	if _, body := one.do(http.MethodGet, "/api/v1/dashboards", ""); strings.Contains(body, "Second board") {
		t.Errorf("workspace 1 dashboard list shows workspace 2's board:\n%s", body)
	}
	if _, body := one.do(http.MethodGet, "/api/v1/kpis", ""); strings.Contains(body, "trials") || !strings.Contains(body, "revenue") {
		t.Errorf("workspace 1 KPI list: want revenue and not trials:\n%s", body)
	}
	if _, body := two.do(http.MethodGet, "/api/v1/kpis", ""); strings.Contains(body, "revenue") || !strings.Contains(body, "trials") {
		t.Errorf("workspace 2 KPI list: want trials and not revenue:\n%s", body)
	}
	if _, body := one.do(http.MethodGet, "/api/v1/annotations", ""); strings.Contains(body, "Second launch") {
		t.Errorf("workspace 1 annotation list shows workspace 2's note:\n%s", body)
	}

	// Workspace 2's own reads still see everything it made, unchanged.
	var got struct {
		Name    string `json:"name"`
		Widgets []any  `json:"widgets"`
	}
	two.must(http.MethodGet, boardPath, "", http.StatusOK, &got)
	if got.Name != "Second board" || len(got.Widgets) != 1 {
		t.Errorf("workspace 2 board after workspace 1's attempts = %+v, want its name and 1 widget", got)
	}
	if _, body := two.do(http.MethodGet, "/api/v1/annotations", ""); !strings.Contains(body, "Second launch") {
		t.Errorf("workspace 2 annotation list lacks its note:\n%s", body)
	}

	// The share link serves workspace 2's board, with its count, and
	// nothing of workspace 1.
	anonymous := workspaceClient{t: t, base: m.URL()}
	sharePath := strings.TrimPrefix(link.URL, m.URL())
	status, data := anonymous.do(http.MethodGet, sharePath+"/data", "")
	if status != http.StatusOK {
		t.Fatalf("GET %s/data: status %d, want 200; body:\n%s", sharePath, status, data)
	}
	if !strings.Contains(data, `"trials"`) {
		t.Errorf("share link data has no trials widget:\n%s", data)
	}
	for _, ws1 := range []string{"Signups", "Revenue", "revenue"} {
		if strings.Contains(data, ws1) {
			t.Errorf("share link of workspace 2 shows %q of workspace 1:\n%s", ws1, data)
		}
	}
}

// TestSchedulerEvaluatesEveryWorkspace steps the scheduler of a server with
// two workspaces: the alert rule of workspace 2 fires on workspace 2's own
// events, and workspace 1 lists neither the rule nor its history.
//
// Hand count: workspace 2 receives 2 signups on 2026-03-09, below the
// threshold of 5, so the rule fires with value 2. Workspace 1's signups on
// that day are 3, which would fire with value 3 if the rule read them.
func TestSchedulerEvaluatesEveryWorkspace(t *testing.T) {
	m, logs := startTestMain(t)
	ctx := context.Background()

	var (
		mu     sync.Mutex
		bodies []map[string]any
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		_ = json.NewDecoder(r.Body).Decode(&v)
		mu.Lock()
		bodies = append(bodies, v)
		mu.Unlock()
	}))
	defer hook.Close()

	second, err := m.Auth().CreateWorkspace(ctx, "second", "test")
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := m.Auth().CreateToken(ctx, second.ID, "editor-two", auth.RoleEditor, "test")
	if err != nil {
		t.Fatal(err)
	}
	two := workspaceClient{t: t, base: m.URL(), token: secret}
	_, secret, err = m.Auth().CreateToken(ctx, auth.DefaultWorkspaceID, "editor-one", auth.RoleEditor, "test")
	if err != nil {
		t.Fatal(err)
	}
	one := workspaceClient{t: t, base: m.URL(), token: secret}

	code, out, errOut := runWithStdin(t, "", "keys", "create", "--name", "web", "--workspace", fmt.Sprint(second.ID), "--db", m.DBPath)
	if code != exitOK {
		t.Fatalf("keys create --workspace %d: exit %d: %s", second.ID, code, errOut)
	}
	writeKey := printedSecret.FindString(out)

	two.must(http.MethodPost, "/api/v1/kpis", `{"id": "trials", "name": "Trials", "owner": "cy@example.com", "unit": "signups",
		"direction": "up", "grain": "day", "metric": {"kind": "count", "event": "signup"}}`, http.StatusCreated, nil)
	for i, user := range []string{"w2-a", "w2-b"} {
		postIngest(t, m.URL()+"/v1/track", fmt.Sprintf(`{"event": "signup", "userId": %q, "messageId": "w2-%d", "timestamp": "2026-03-09T1%d:00:00Z"}`, user, i, i),
			http.StatusOK, "Authorization", basicAuth(writeKey))
	}
	var rule struct {
		ID int64 `json:"id"`
	}
	two.must(http.MethodPost, "/api/v1/alerts", `{"kpi_id": "trials", "condition": {"kind": "below", "threshold": 5},
		"notify": {"webhook": {"url": "`+hook.URL+`"}}}`, http.StatusCreated, &rule)

	m.Scheduler().RunDue(ctx, serveTestNow.Add(time.Minute))

	mu.Lock()
	got := append([]map[string]any(nil), bodies...)
	mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("webhook received %d notifications, want 1; logs:\n%s", len(got), logs)
	}
	if got[0]["state"] != "firing" || got[0]["value"] != 2.0 {
		t.Errorf("notification = %v, want firing with value 2 (workspace 2's signups)", got[0])
	}

	rulePath := fmt.Sprintf("/api/v1/alerts/%d", rule.ID)
	if status, body := one.do(http.MethodGet, rulePath+"/history", ""); status != http.StatusNotFound {
		t.Errorf("workspace 1 GET %s/history: status %d, want 404; body:\n%s", rulePath, status, body)
	}
	if _, body := one.do(http.MethodGet, "/api/v1/alerts", ""); strings.Contains(body, "trials") {
		t.Errorf("workspace 1 alert list shows workspace 2's rule:\n%s", body)
	}
	var history struct {
		History []struct{ From, To string }
	}
	two.must(http.MethodGet, rulePath+"/history", "", http.StatusOK, &history)
	if len(history.History) != 1 || history.History[0].To != "firing" {
		t.Errorf("workspace 2 rule history = %+v, want one change to firing", history.History)
	}
}

// TestWorkspaceTimeZone counts the days of a workspace created with its own
// time zone in that zone, not in the KPI file's (UTC).
//
// Hand count: New York is on EDT (UTC-4) from 2026-03-08. A signup at
// 2026-03-09 03:00 UTC is 2026-03-08 23:00 there, and one at 15:00 UTC is
// 2026-03-09 11:00, so the KPI counts 1 on each day. In UTC both fall on
// 2026-03-09.
func TestWorkspaceTimeZone(t *testing.T) {
	m, _ := startTestMain(t)
	ctx := context.Background()

	code, out, errOut := runWithStdin(t, "", "workspaces", "create", "east", "--time-zone", "America/New_York", "--week-start", "sunday", "--db", m.DBPath)
	if code != exitOK {
		t.Fatalf("workspaces create --time-zone America/New_York: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "America/New_York") || !strings.Contains(out, "Sunday") {
		t.Errorf("workspaces create output %q does not name the time zone and week start", out)
	}
	list, err := m.Auth().Workspaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	east := list[len(list)-1]
	if east.Name != "east" || east.TimeZone != "America/New_York" || east.WeekStart != time.Sunday {
		t.Fatalf("created workspace = %+v, want east in America/New_York from Sunday", east)
	}

	_, secret, err := m.Auth().CreateToken(ctx, east.ID, "editor-east", auth.RoleEditor, "test")
	if err != nil {
		t.Fatal(err)
	}
	client := workspaceClient{t: t, base: m.URL(), token: secret}
	code, out, errOut = runWithStdin(t, "", "keys", "create", "--name", "web", "--workspace", fmt.Sprint(east.ID), "--db", m.DBPath)
	if code != exitOK {
		t.Fatalf("keys create: exit %d: %s", code, errOut)
	}
	writeKey := printedSecret.FindString(out)

	client.must(http.MethodPost, "/api/v1/kpis", `{"id": "trials", "name": "Trials", "owner": "cy@example.com", "unit": "signups",
		"direction": "up", "grain": "day", "metric": {"kind": "count", "event": "signup"}}`, http.StatusCreated, nil)
	for i, at := range []string{"2026-03-09T03:00:00Z", "2026-03-09T15:00:00Z"} {
		postIngest(t, m.URL()+"/v1/track", fmt.Sprintf(`{"event": "signup", "userId": "e-%d", "messageId": "e-%d", "timestamp": %q}`, i, i, at),
			http.StatusOK, "Authorization", basicAuth(writeKey))
	}

	var series struct {
		Points []struct {
			PeriodStart time.Time `json:"period_start"`
			Value       *float64  `json:"value"`
		} `json:"points"`
	}
	client.must(http.MethodGet, "/api/v1/kpis/trials/series?grain=day&from=2026-03-08&to=2026-03-09", "", http.StatusOK, &series)
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	want := map[time.Time]float64{
		time.Date(2026, 3, 8, 0, 0, 0, 0, newYork): 1,
		time.Date(2026, 3, 9, 0, 0, 0, 0, newYork): 1,
	}
	found := 0
	for _, p := range series.Points {
		for start, value := range want {
			if p.PeriodStart.Equal(start) {
				found++
				if p.Value == nil || *p.Value != value {
					t.Errorf("trials on %s = %v, want %v", start.Format(time.DateOnly), p.Value, value)
				}
			}
		}
	}
	if found != len(want) {
		t.Errorf("series has %d of the New York days 2026-03-08 and 2026-03-09: %+v", found, series.Points)
	}

	code, _, errOut = runWithStdin(t, "", "workspaces", "create", "nowhere", "--time-zone", "Mars/Olympus", "--db", m.DBPath)
	if code == exitOK || !strings.Contains(errOut, "Mars/Olympus") {
		t.Errorf("workspaces create --time-zone Mars/Olympus: exit %d, stderr %q; want an error naming the zone", code, errOut)
	}
}
