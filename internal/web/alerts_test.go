package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

const alertKPIs = `workspace:
  name: Test
  time_zone: Europe/Berlin
kpis:
  - id: revenue
    name: Daily revenue
    unit: USD
    grain: day
    metric: {kind: measurement, series: revenue, aggregate: last}
`

// alertServer is a Server with the alert and schedule APIs on a migrated
// SQLite store, with the account store of the same database, and API tokens
// of each role.
type alertServer struct {
	srv    *Server
	db     *sqlite.DB
	ta     *testAuth
	tokens map[auth.Role]string
}

func newAlertServer(t *testing.T) *alertServer {
	t.Helper()
	ta := newTestAuth(t)
	defs, err := kpi.Parse("kpis.yaml", []byte(alertKPIs))
	if err != nil {
		t.Fatal(err)
	}

	now := func() time.Time { return time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC) }
	definitions := func() *kpi.Definitions { return defs }
	eng := engine.New(ta.db, now)
	a := &alertServer{db: ta.db, ta: ta, tokens: map[auth.Role]string{auth.RoleAdmin: ta.adminToken}, srv: NewServer(Config{
		Definitions: definitions,
		Series:      eng,
		Now:         now,
		Auth:        ta.store,
		Alerts:      &alerting.Rules{Store: ta.db, Definitions: definitions, Now: now},
		Reports:     &alerting.Reports{Store: ta.db, Series: eng, Definitions: definitions, Now: now},
	})}
	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleEditor} {
		_, a.tokens[role] = ta.token(t, auth.DefaultWorkspaceID, role, "test-"+string(role))
	}
	return a
}

// do sends a request as an editor.
func (a *alertServer) do(t *testing.T, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	return a.doAs(t, auth.RoleEditor, method, path, body)
}

// doAs sends a request with the API token of role.
func (a *alertServer) doAs(t *testing.T, role auth.Role, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+a.tokens[role])
	rec := httptest.NewRecorder()
	a.srv.ServeHTTP(rec, req)
	return rec
}

// count returns the rows of a table by plain SQL.
func (a *alertServer) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := a.db.SQL().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAlertAPILifecycle(t *testing.T) {
	a := newAlertServer(t)

	rec := a.do(t, "POST", "/api/v1/alerts", `{"kpi_id": "revenue", "condition": {"kind": "below", "threshold": 1000},
		"min_duration": "2h", "cooldown": "1h", "notify": {"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "topsecret"}}}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST: status %d, body %s", rec.Code, rec.Body)
	}
	created := decodeJSON(t, rec)
	if rec.Header().Get("Location") != "/api/v1/alerts/1" {
		t.Errorf("Location = %q", rec.Header().Get("Location"))
	}
	webhook := created["notify"].(map[string]any)["webhook"].(map[string]any)
	if webhook["secret"] != "topsecret" {
		t.Errorf("creation response webhook = %v, want the secret shown once", webhook)
	}
	if created["name"] != "Daily revenue below 1000 USD" || created["min_duration"] != "2h0m0s" {
		t.Errorf("created = %v", created)
	}
	if state := created["state"].(map[string]any); state["state"] != "normal" {
		t.Errorf("state = %v, want normal", state)
	}

	rec = a.do(t, "GET", "/api/v1/alerts/1", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET: status %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "topsecret") {
		t.Errorf("GET shows the webhook secret: %s", rec.Body)
	}

	rec = a.do(t, "PUT", "/api/v1/alerts/1", `{"kpi_id": "revenue", "name": "Revenue low", "condition": {"kind": "below", "threshold": 900}}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT: status %d, body %s", rec.Code, rec.Body)
	}
	if body := decodeJSON(t, rec); body["name"] != "Revenue low" {
		t.Errorf("after PUT name = %v", body["name"])
	}

	// Adding a webhook without a secret shows the generated one once.
	rec = a.do(t, "PUT", "/api/v1/alerts/1", `{"kpi_id": "revenue", "name": "Revenue low", "condition": {"kind": "below", "threshold": 900},
		"notify": {"webhook": {"url": "http://127.0.0.1:9/other"}}}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT with a webhook: status %d, body %s", rec.Code, rec.Body)
	}
	hook := decodeJSON(t, rec)["notify"].(map[string]any)["webhook"].(map[string]any)
	if secret, _ := hook["secret"].(string); len(secret) != 64 {
		t.Errorf("PUT response webhook = %v, want the generated 64-digit secret", hook)
	}
	rec = a.do(t, "PUT", "/api/v1/alerts/1", `{"kpi_id": "revenue", "name": "Revenue low", "condition": {"kind": "below", "threshold": 900},
		"notify": {"webhook": {"url": "http://127.0.0.1:9/other"}}}`)
	if strings.Contains(rec.Body.String(), `"secret"`) {
		t.Errorf("a second PUT shows the kept secret: %s", rec.Body)
	}

	rec = a.do(t, "GET", "/api/v1/alerts", "")
	if list := decodeJSON(t, rec)["alerts"].([]any); len(list) != 1 {
		t.Errorf("list has %d rules, want 1", len(list))
	}

	rec = a.do(t, "GET", "/api/v1/alerts/1/history", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("history: status %d", rec.Code)
	}
	body := decodeJSON(t, rec)
	if h, ok := body["history"].([]any); !ok || len(h) != 0 {
		t.Errorf("history = %v, want an empty list", body["history"])
	}

	if rec = a.do(t, "DELETE", "/api/v1/alerts/1", ""); rec.Code != http.StatusNoContent {
		t.Errorf("DELETE: status %d", rec.Code)
	}
	if rec = a.do(t, "GET", "/api/v1/alerts/1", ""); rec.Code != http.StatusNotFound {
		t.Errorf("GET after DELETE: status %d, want 404", rec.Code)
	}
	if rec = a.do(t, "GET", "/api/v1/alerts/abc", ""); rec.Code != http.StatusNotFound {
		t.Errorf("GET /api/v1/alerts/abc: status %d, want 404", rec.Code)
	}
}

func TestAlertAPIRejectsBadInput(t *testing.T) {
	a := newAlertServer(t)

	tests := []struct {
		name, body, want string
		status           int
	}{
		{"unknown KPI", `{"kpi_id": "mrr", "condition": {"kind": "above", "threshold": 1}}`, `KPI "mrr" not found`, 400},
		{"threshold not a number", `{"kpi_id": "revenue", "condition": {"kind": "above", "threshold": "a lot"}}`, `condition.threshold "a lot" is not a number`, 400},
		{"webhook not http", `{"kpi_id": "revenue", "condition": {"kind": "above", "threshold": 1}, "notify": {"webhook": {"url": "ftp://127.0.0.1/x"}}}`, `scheme "ftp"`, 400},
		{"unknown field", `{"kpi_id": "revenue", "treshold": 1}`, `unknown field "treshold"`, 400},
		{"not JSON", `kpi_id=revenue`, "not valid JSON", 400},
		{"empty body", ``, "request body is empty", 400},
		{"periods not an integer", `{"kpi_id": "revenue", "condition": {"kind": "change", "percent": 5, "periods": "two"}}`, "condition.periods", 400},
		{"two objects", `{"kpi_id": "revenue", "condition": {"kind": "above", "threshold": 1}} {}`, "after the JSON object", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := a.do(t, "POST", "/api/v1/alerts", tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if _, message := apiError(t, rec); !strings.Contains(message, tt.want) {
				t.Errorf("message %q does not contain %q", message, tt.want)
			}
		})
	}

	if n := a.count(t, "alert_rules"); n != 0 {
		t.Errorf("alert_rules has %d rows after rejected requests, want 0", n)
	}
}

func TestReportScheduleAPI(t *testing.T) {
	a := newAlertServer(t)

	rec := a.do(t, "POST", "/api/v1/reports/schedules", `{"name": "Weekly", "cron": "0 8 * * 1", "kpi_ids": ["revenue"], "emails": ["team@example.com"]}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST: status %d, body %s", rec.Code, rec.Body)
	}
	body := decodeJSON(t, rec)
	// Created on Thursday 2026-03-05; the next Monday 08:00 in Berlin
	// (UTC+1) is 2026-03-09 07:00 UTC.
	if body["next_run_at"] != "2026-03-09T07:00:00Z" || body["time_zone"] != "Europe/Berlin" {
		t.Errorf("next_run_at = %v, time_zone = %v", body["next_run_at"], body["time_zone"])
	}

	for _, bad := range []struct{ body, want string }{
		{`{"cron": "0 8 * * someday", "kpi_ids": ["revenue"], "emails": ["team@example.com"]}`, `cron expression "0 8 * * someday" is invalid`},
		{`{"cron": "0 8 * * 1", "kpi_ids": ["mrr"], "emails": ["team@example.com"]}`, `KPI "mrr" not found`},
		{`{"cron": "0 8 * * 1", "kpi_ids": ["revenue"], "chat_webhook": "ftp://127.0.0.1/x"}`, `scheme "ftp"`},
	} {
		rec := a.do(t, "POST", "/api/v1/reports/schedules", bad.body)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", bad.body, rec.Code)
			continue
		}
		if _, message := apiError(t, rec); !strings.Contains(message, bad.want) {
			t.Errorf("message %q does not contain %q", message, bad.want)
		}
	}
	if n := a.count(t, "report_schedules"); n != 1 {
		t.Errorf("report_schedules has %d rows, want only the valid one", n)
	}

	rec = a.do(t, "GET", "/api/v1/reports/schedules", "")
	if list := decodeJSON(t, rec)["schedules"].([]any); len(list) != 1 {
		t.Errorf("list has %d schedules, want 1", len(list))
	}
	rec = a.doAs(t, auth.RoleViewer, "GET", "/api/v1/reports/schedules/1/deliveries", "")
	if d, ok := decodeJSON(t, rec)["deliveries"].([]any); rec.Code != http.StatusOK || !ok || len(d) != 0 {
		t.Errorf("deliveries: status %d, body %s, want 200 with an empty list", rec.Code, rec.Body)
	}
	if rec = a.do(t, "GET", "/api/v1/reports/schedules/7/deliveries", ""); rec.Code != http.StatusNotFound {
		t.Errorf("deliveries of an unknown schedule: status %d, want 404", rec.Code)
	}

	if rec = a.do(t, "DELETE", "/api/v1/reports/schedules/1", ""); rec.Code != http.StatusNoContent {
		t.Errorf("DELETE: status %d", rec.Code)
	}
	if rec = a.do(t, "DELETE", "/api/v1/reports/schedules/1", ""); rec.Code != http.StatusNotFound {
		t.Errorf("second DELETE: status %d, want 404", rec.Code)
	}
}

func TestAlertAPIRolesAndAudit(t *testing.T) {
	a := newAlertServer(t)
	const rule = `{"kpi_id": "revenue", "condition": {"kind": "above", "threshold": 5},
		"notify": {"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "audit-secret"}}}`

	if rec := a.doAs(t, auth.RoleViewer, "POST", "/api/v1/alerts", rule); rec.Code != http.StatusForbidden {
		t.Errorf("viewer POST: status %d, want 403", rec.Code)
	}
	if rec := a.doAs(t, auth.RoleViewer, "POST", "/api/v1/reports/schedules", `{"cron": "@daily", "kpi_ids": ["revenue"], "emails": ["a@example.com"]}`); rec.Code != http.StatusForbidden {
		t.Errorf("viewer POST schedule: status %d, want 403", rec.Code)
	}
	if n := a.count(t, "alert_rules"); n != 0 {
		t.Fatalf("alert_rules has %d rows after a viewer's POST, want 0", n)
	}

	if rec := a.do(t, "POST", "/api/v1/alerts", rule); rec.Code != http.StatusCreated {
		t.Fatalf("editor POST: status %d, body %s", rec.Code, rec.Body)
	}
	if rec := a.doAs(t, auth.RoleViewer, "GET", "/api/v1/alerts/1", ""); rec.Code != http.StatusOK {
		t.Errorf("viewer GET: status %d, want 200", rec.Code)
	}
	if rec := a.doAs(t, auth.RoleViewer, "DELETE", "/api/v1/alerts/1", ""); rec.Code != http.StatusForbidden {
		t.Errorf("viewer DELETE: status %d, want 403", rec.Code)
	}
	if rec := a.do(t, "DELETE", "/api/v1/alerts/1", ""); rec.Code != http.StatusNoContent {
		t.Errorf("editor DELETE: status %d, want 204", rec.Code)
	}

	entries, err := a.ta.store.AuditLog(context.Background(), auth.DefaultWorkspaceID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.ObjectType != "alert_rule" {
			continue
		}
		actions = append(actions, e.Action)
		if e.ObjectID != "1" || e.Actor != "token:test-editor" {
			t.Errorf("audit entry %+v, want rule 1 by token:test-editor", e)
		}
		before, _ := e.Before.(json.RawMessage)
		after, _ := e.After.(json.RawMessage)
		if e.Action == "create" && !strings.Contains(string(after), `"kpi_id":"revenue"`) {
			t.Errorf("create entry's after = %s, want the rule", after)
		}
		if strings.Contains(string(before)+string(after), "audit-secret") {
			t.Errorf("audit entry %s %s contains the webhook secret", e.Action, e.ObjectID)
		}
	}
	// The log lists the newest entry first.
	if strings.Join(actions, ",") != "delete,create" {
		t.Errorf("audit actions on the rule = %v, want delete then create", actions)
	}
}

func TestChatWebhookRedacted(t *testing.T) {
	a := newAlertServer(t)
	const token = "T000/B000/XXXXSECRET"
	rec := a.do(t, "POST", "/api/v1/alerts", `{"kpi_id": "revenue", "condition": {"kind": "above", "threshold": 5},
		"notify": {"chat_webhook": "http://127.0.0.1:9/services/`+token+`"}}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST: status %d, body %s", rec.Code, rec.Body)
	}
	rec = a.doAs(t, auth.RoleViewer, "GET", "/api/v1/alerts/1", "")
	if strings.Contains(rec.Body.String(), token) {
		t.Errorf("GET shows the chat webhook path: %s", rec.Body)
	}
	redacted := decodeJSON(t, rec)["notify"].(map[string]any)["chat_webhook"].(string)
	if redacted != "http://127.0.0.1:9/…" {
		t.Errorf("chat_webhook = %q, want the scheme and host only", redacted)
	}

	// Sending the redacted URL back keeps the stored one.
	rec = a.do(t, "PUT", "/api/v1/alerts/1", `{"kpi_id": "revenue", "condition": {"kind": "above", "threshold": 6},
		"notify": {"chat_webhook": "`+redacted+`"}}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT: status %d, body %s", rec.Code, rec.Body)
	}
	var stored string
	if err := a.db.SQL().QueryRow("SELECT channels FROM alert_rules WHERE id = 1").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, token) {
		t.Errorf("stored channels = %s, want the original chat webhook URL kept", stored)
	}
}
