package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

// writeKeyServer is a server with ingestion on a fresh SQLite store, an
// admin and an editor token in the default workspace, and an admin token in
// a second workspace.
type writeKeyServer struct {
	ta          *testAuth
	srv         *Server
	editorToken string
	otherAdmin  string
	otherID     int64
}

func newWriteKeyServer(t *testing.T) *writeKeyServer {
	t.Helper()
	ta := newTestAuth(t)
	ks := &writeKeyServer{ta: ta}
	_, ks.editorToken = ta.token(t, auth.DefaultWorkspaceID, auth.RoleEditor, "test-editor")
	other, err := ta.store.CreateWorkspace(context.Background(), "Other team", "test")
	if err != nil {
		t.Fatal(err)
	}
	ks.otherID = other.ID
	_, ks.otherAdmin = ta.token(t, other.ID, auth.RoleAdmin, "other-admin")
	ks.srv = NewServer(Config{
		Definitions: func() *kpi.Definitions { return &kpi.Definitions{} },
		Logger:      slog.New(slog.DiscardHandler),
		Now:         func() time.Time { return testNow },
		Ingest:      ta.db,
		Auth:        ta.store,
		Workspaces:  ta.workspaceFactory(),
	})
	return ks
}

func (ks *writeKeyServer) call(t *testing.T, method, target, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, target, nil)
	} else {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	ks.srv.ServeHTTP(rec, req)
	return rec
}

// keyList returns the keys that GET /api/v1/keys lists for token.
func (ks *writeKeyServer) keyList(t *testing.T, token string) []map[string]any {
	t.Helper()
	rec := ks.call(t, http.MethodGet, "/api/v1/keys", token, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/keys: status %d: %s", rec.Code, rec.Body)
	}
	var out struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Keys
}

func TestWriteKeyAPILifecycle(t *testing.T) {
	ks := newWriteKeyServer(t)
	admin := ks.ta.adminToken

	rec := ks.call(t, http.MethodPost, "/api/v1/keys", admin, `{"name": "web"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: status %d, want 201: %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("create response Cache-Control = %q, want no-store (it holds the secret)", got)
	}
	var created struct {
		Name   string `json:"name"`
		Prefix string `json:"prefix"`
		Active bool   `json:"active"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	if created.Name != "web" || !created.Active || !strings.HasPrefix(created.Secret, "ns_wk_") || !strings.HasPrefix(created.Secret, created.Prefix) || len(created.Prefix) >= len(created.Secret) {
		t.Fatalf("created key = %+v, want an active key named web whose secret starts with ns_wk_ and its prefix", created)
	}

	list := ks.keyList(t, admin)
	if len(list) != 1 || list[0]["name"] != "web" || list[0]["active"] != true || list[0]["prefix"] != created.Prefix {
		t.Errorf("list = %v, want the active key web with prefix %s", list, created.Prefix)
	}
	if raw := ks.call(t, http.MethodGet, "/api/v1/keys", admin, "").Body.String(); strings.Contains(raw, created.Secret) {
		t.Errorf("the key list contains the secret: %s", raw)
	}

	// The new key writes events; revoked, it gets 401.
	event := `[{"event": "signup", "distinct_id": "u1", "timestamp": "2027-02-18T10:00:00Z", "message_id": "m1"}]`
	if rec := ks.call(t, http.MethodPost, "/api/v1/events", created.Secret, event); rec.Code != http.StatusOK {
		t.Fatalf("ingest with the new key: status %d, want 200: %s", rec.Code, rec.Body)
	}
	if rec := ks.call(t, http.MethodDelete, "/api/v1/keys/web", admin, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("revoke: status %d, want 204: %s", rec.Code, rec.Body)
	}
	event = strings.ReplaceAll(event, "m1", "m2")
	if rec := ks.call(t, http.MethodPost, "/api/v1/events", created.Secret, event); rec.Code != http.StatusUnauthorized {
		t.Errorf("ingest with the revoked key: status %d, want 401: %s", rec.Code, rec.Body)
	}
	if list := ks.keyList(t, admin); len(list) != 1 || list[0]["active"] != false || list[0]["revoked_at"] == nil {
		t.Errorf("list after revoking = %v, want web revoked", list)
	}
	var events int
	if err := ks.ta.db.SQL().QueryRow(`SELECT count(*) FROM events WHERE source = 'web'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 1 {
		t.Errorf("stored %d events from the key web, want the 1 sent before it was revoked", events)
	}

	// Both changes are in the audit log, newest first.
	entries, err := ks.ta.store.AuditLog(context.Background(), auth.DefaultWorkspaceID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.ObjectType == "write_key" && e.ObjectID == "web" {
			actions = append(actions, e.Action+" by "+e.Actor)
		}
	}
	if want := "revoke by token:test-admin,create by token:test-admin"; strings.Join(actions, ",") != want {
		t.Errorf("audit entries of the key = %v, want %s", actions, want)
	}
}

func TestWriteKeyAPIBadInput(t *testing.T) {
	ks := newWriteKeyServer(t)
	admin := ks.ta.adminToken
	if rec := ks.call(t, http.MethodPost, "/api/v1/keys", admin, `{"name": "web"}`); rec.Code != http.StatusCreated {
		t.Fatalf("create: status %d: %s", rec.Code, rec.Body)
	}

	tests := []struct {
		method, target, body string
		status               int
		mention              string
	}{
		{http.MethodPost, "/api/v1/keys", `{"name": "web"}`, http.StatusConflict, `already exists`},
		{http.MethodPost, "/api/v1/keys", `{"name": "my key"}`, http.StatusBadRequest, "my key"},
		{http.MethodPost, "/api/v1/keys", `{"name": ""}`, http.StatusBadRequest, "empty"},
		{http.MethodPost, "/api/v1/keys", `{"name": "` + strings.Repeat("k", 65) + `"}`, http.StatusBadRequest, "longer than 64"},
		{http.MethodPost, "/api/v1/keys", `{"nme": "web"}`, http.StatusBadRequest, `unknown field \"nme\"`},
		{http.MethodPost, "/api/v1/keys", `{"name": `, http.StatusBadRequest, "JSON"},
		{http.MethodDelete, "/api/v1/keys/nope", "", http.StatusNotFound, `named \"nope\"`},
	}
	for _, tt := range tests {
		rec := ks.call(t, tt.method, tt.target, admin, tt.body)
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.mention) {
			t.Errorf("%s %s %s: status %d, body %s; want %d mentioning %s", tt.method, tt.target, tt.body, rec.Code, rec.Body, tt.status, tt.mention)
		}
	}
	if list := ks.keyList(t, admin); len(list) != 1 {
		t.Errorf("after the rejected requests the list has %d keys, want the 1 created", len(list))
	}

	// Only admins manage keys.
	if rec := ks.call(t, http.MethodPost, "/api/v1/keys", ks.editorToken, `{"name": "backend"}`); rec.Code != http.StatusForbidden {
		t.Errorf("an editor creating a key: status %d, want 403", rec.Code)
	}
	if rec := ks.call(t, http.MethodDelete, "/api/v1/keys/web", ks.editorToken, ""); rec.Code != http.StatusForbidden {
		t.Errorf("an editor revoking a key: status %d, want 403", rec.Code)
	}
}

func TestWriteKeysPerWorkspace(t *testing.T) {
	ks := newWriteKeyServer(t)
	if rec := ks.call(t, http.MethodPost, "/api/v1/keys", ks.ta.adminToken, `{"name": "web"}`); rec.Code != http.StatusCreated {
		t.Fatalf("create in workspace 1: status %d: %s", rec.Code, rec.Body)
	}
	// The other workspace lists none of workspace 1's keys, may use the same
	// name, and cannot revoke workspace 1's key.
	if list := ks.keyList(t, ks.otherAdmin); len(list) != 0 {
		t.Errorf("the other workspace lists %v, want no keys", list)
	}
	if rec := ks.call(t, http.MethodDelete, "/api/v1/keys/web", ks.otherAdmin, ""); rec.Code != http.StatusNotFound {
		t.Errorf("the other workspace revoking workspace 1's key: status %d, want 404", rec.Code)
	}
	rec := ks.call(t, http.MethodPost, "/api/v1/keys", ks.otherAdmin, `{"name": "web"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create web in the other workspace: status %d: %s", rec.Code, rec.Body)
	}
	if list := ks.keyList(t, ks.ta.adminToken); len(list) != 1 || list[0]["active"] != true {
		t.Errorf("workspace 1's keys after the other workspace's changes = %v, want its one active key", list)
	}
	var n int
	if err := ks.ta.db.SQL().QueryRow(`SELECT count(*) FROM write_keys WHERE workspace_id = ? AND name = 'web'`, ks.otherID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("workspace %d has %d keys named web in the database, want 1", ks.otherID, n)
	}
}

func TestWriteKeysPage(t *testing.T) {
	ks := newWriteKeyServer(t)
	password := ks.ta.account(t, "admin@example.com", auth.DefaultWorkspaceID, auth.RoleAdmin)
	cookie, csrf := ks.ta.signIn(t, ks.srv, "admin@example.com", password)

	send := func(req *http.Request) *httptest.ResponseRecorder {
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		ks.srv.ServeHTTP(rec, req)
		return rec
	}

	page := send(httptest.NewRequest(http.MethodGet, "/admin/keys", nil))
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "No write keys yet") {
		t.Fatalf("empty keys page: status %d, body lacks the empty state:\n%s", page.Code, page.Body)
	}

	// Without the CSRF token the form changes nothing.
	if rec := send(formRequest(http.MethodPost, "/admin/keys", "name", "web")); rec.Code != http.StatusForbidden {
		t.Errorf("create without the CSRF token: status %d, want 403", rec.Code)
	}
	if n := len(ks.keyList(t, ks.ta.adminToken)); n != 0 {
		t.Fatalf("a form without the CSRF token created %d keys", n)
	}

	rec := send(formRequest(http.MethodPost, "/admin/keys", "name", "web", "csrf_token", csrf))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `id="new-key-secret">ns_wk_`) || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("create with the form: status %d, Cache-Control %q; want 200, no-store and the secret shown:\n%s", rec.Code, rec.Header().Get("Cache-Control"), body)
	}
	if !strings.Contains(body, "<td>web</td>") {
		t.Errorf("the page after creating lacks the key in its table:\n%s", body)
	}
	// Reloading the page does not show the secret again.
	if again := send(httptest.NewRequest(http.MethodGet, "/admin/keys", nil)).Body.String(); strings.Contains(again, "new-key-secret") {
		t.Errorf("the secret is shown again on reload")
	}

	// A rejected name is shown, escaped, with the reason.
	rec = send(formRequest(http.MethodPost, "/admin/keys", "name", "<b>web</b>", "csrf_token", csrf))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "&lt;b&gt;web&lt;/b&gt;") || strings.Contains(rec.Body.String(), "<b>web</b>") {
		t.Errorf("create with a bad name: status %d, want 400 with the name escaped:\n%s", rec.Code, rec.Body)
	}

	rec = send(formRequest(http.MethodPost, "/admin/keys/revoke", "name", "web", "csrf_token", csrf))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("revoke with the form: status %d, want 303: %s", rec.Code, rec.Body)
	}
	if list := ks.keyList(t, ks.ta.adminToken); len(list) != 1 || list[0]["active"] != false {
		t.Errorf("after revoking with the form the keys are %v, want web revoked", list)
	}
	after := send(httptest.NewRequest(http.MethodGet, rec.Header().Get("Location"), nil)).Body.String()
	if !strings.Contains(after, "was revoked") || !strings.Contains(after, "revoked 20") {
		t.Errorf("the page after revoking lacks the message or the revoked state:\n%s", after)
	}
}

// TestEmptyWorkspacePointsToUIAndKeys checks the empty states of a
// workspace other than the default one: the KPI file and import csv feed
// only the default workspace, so they point to New KPI and write keys.
func TestEmptyWorkspacePointsToUIAndKeys(t *testing.T) {
	ks := newWriteKeyServer(t)
	for _, target := range []string{"/"} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer "+ks.otherAdmin)
		req.Header.Set("Accept", "text/html")
		rec := httptest.NewRecorder()
		ks.srv.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, "No KPIs defined yet") {
			t.Fatalf("GET %s in workspace %d: status %d, want 200 with the empty state:\n%s", target, ks.otherID, rec.Code, body)
		}
		if strings.Contains(body, "KPI file") || strings.Contains(body, "import csv") {
			t.Errorf("GET %s in workspace %d points to the KPI file or import csv, which feed only the default workspace:\n%s", target, ks.otherID, body)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+ks.otherAdmin)
	req.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	ks.srv.ServeHTTP(rec, req)
	if body := rec.Body.String(); !strings.Contains(body, "write key of this workspace") {
		t.Errorf("the overview of an empty workspace does not say where its events come from:\n%s", body)
	}
}
