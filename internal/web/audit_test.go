package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
)

// TestKPIChangesAudited creates, changes and deletes a KPI through the API
// and checks the audit log's entries, with before and after.
func TestKPIChangesAudited(t *testing.T) {
	ms := newMetaServer(t)
	wantStatus(t, "create", ms.send(http.MethodPost, "/api/v1/kpis", signupsKPI), http.StatusCreated)
	wantStatus(t, "update", ms.send(http.MethodPut, "/api/v1/kpis/pro_revenue",
		`{"name": "Pro revenue", "metric": {"kind": "sum", "event": "order", "property": "amount"}}`), http.StatusOK)
	wantStatus(t, "rejected update", ms.send(http.MethodPut, "/api/v1/kpis/pro_revenue", `{"name": ""}`), http.StatusBadRequest)
	wantStatus(t, "delete", ms.send(http.MethodDelete, "/api/v1/kpis/pro_revenue", ""), http.StatusNoContent)

	rec := ms.send(http.MethodGet, "/api/v1/audit", "")
	if rec.Code != http.StatusForbidden {
		t.Errorf("GET /api/v1/audit with an editor token: status %d, want 403", rec.Code)
	}
	entries, err := ms.auth.(*auth.Store).AuditLog(context.Background(), 1, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var kpiEntries []auth.AuditEntry
	for _, e := range entries {
		if e.ObjectType == "kpi" {
			kpiEntries = append(kpiEntries, e)
		}
	}
	if len(kpiEntries) != 3 {
		t.Fatalf("%d KPI entries, want 3 (delete, update, create): %+v", len(kpiEntries), kpiEntries)
	}
	name := func(v any) string {
		raw, _ := v.(json.RawMessage)
		var k struct {
			Name string `json:"name"`
		}
		if raw != nil {
			if err := json.Unmarshal(raw, &k); err != nil {
				t.Errorf("entry JSON %s: %v", raw, err)
			}
		}
		return k.Name
	}
	for i, want := range []struct{ action, before, after string }{
		{"delete", "Pro revenue", ""},
		{"update", "Revenue from pro orders", "Pro revenue"},
		{"create", "", "Revenue from pro orders"},
	} {
		e := kpiEntries[i]
		if e.Action != want.action || e.ObjectID != "pro_revenue" || e.Actor != "token:test-editor" {
			t.Errorf("entry %d: %s of %s by %s, want %s of pro_revenue by token:test-editor", i, e.Action, e.ObjectID, e.Actor, want.action)
		}
		if got := name(e.Before); got != want.before {
			t.Errorf("entry %d (%s): before name %q, want %q", i, e.Action, got, want.before)
		}
		if got := name(e.After); got != want.after {
			t.Errorf("entry %d (%s): after name %q, want %q", i, e.Action, got, want.after)
		}
	}
	if strings.Contains(rec.Body.String(), "pro_revenue") {
		t.Error("the rejected audit request returned entries")
	}
}

func TestAuditLogAPI(t *testing.T) {
	f := newAccessFixture(t)
	get := func(target, caller string) *http.Response {
		return httptestRecorder(f.srv, f.request(t, "GET "+target, caller))
	}
	resp := get("/api/v1/audit?limit=2", callerAdminToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin GET /api/v1/audit: status %d", resp.StatusCode)
	}
	var body struct {
		Entries []auth.AuditEntry `json:"entries"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	// The fixture's last two changes: revoking and creating the token
	// named "revoked".
	if len(body.Entries) != 2 || body.Entries[0].Action != "revoke" || body.Entries[1].Action != "create" ||
		body.Entries[0].ObjectID != "revoked" || body.Entries[1].ObjectID != "revoked" {
		t.Errorf("entries %+v, want the revoke and the create of token \"revoked\"", body.Entries)
	}

	next := get("/api/v1/audit?limit=1&before="+strconv.FormatInt(body.Entries[1].ID, 10), callerAdminToken)
	var older struct {
		Entries []auth.AuditEntry `json:"entries"`
	}
	if err := json.NewDecoder(next.Body).Decode(&older); err != nil {
		t.Fatal(err)
	}
	if len(older.Entries) != 1 || older.Entries[0].ID >= body.Entries[1].ID {
		t.Errorf("the page before entry %d: %+v, want one older entry", body.Entries[1].ID, older.Entries)
	}

	for _, bad := range []string{"limit=0", "limit=1001", "limit=x", "before=-1"} {
		if resp := get("/api/v1/audit?"+bad, callerAdminToken); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET /api/v1/audit?%s: status %d, want 400", bad, resp.StatusCode)
		}
	}

	// No route changes or deletes entries.
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req := f.request(t, method+" /api/v1/audit", callerAdminToken)
		if resp := httptestRecorder(f.srv, req); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /api/v1/audit: status %d, want 405", method, resp.StatusCode)
		}
	}
}

func httptestRecorder(h http.Handler, req *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// TestMembersPageForms changes a role, rejects bad input and removes a
// member through the admin page's forms.
func TestMembersPageForms(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	sess, secret, err := f.ta.store.CreateSession(ctx, f.accounts[callerAdmin], time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	post := func(target string, pairs ...string) *httptest.ResponseRecorder {
		req := formRequest(http.MethodPost, target, append(pairs, "csrf_token", sess.CSRFToken)...)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec
	}
	role := func(email string) auth.Role {
		members, err := f.ta.store.Members(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if m.Email == email {
				return m.Role
			}
		}
		return ""
	}

	page := httptest.NewRequest(http.MethodGet, "/admin/members", nil)
	page.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, page)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "target@example.net") || !strings.Contains(rec.Body.String(), `name="csrf_token" value="`+sess.CSRFToken+`"`) {
		t.Fatalf("members page: status %d, want 200 listing target@example.net with CSRF fields", rec.Code)
	}

	if rec := post("/admin/members", "email", "target@example.net", "role", "editor"); rec.Code != http.StatusSeeOther || role("target@example.net") != auth.RoleEditor {
		t.Errorf("change role: status %d, role %q; want 303 and editor", rec.Code, role("target@example.net"))
	}
	if rec := post("/admin/members", "email", "target@example.net", "role", "owner"); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "role &#34;owner&#34; does not exist") {
		t.Errorf("unknown role: status %d, want 400 naming the role:\n%s", rec.Code, rec.Body)
	}
	if rec := post("/admin/members", "email", "nobody@example.net", "role", "viewer"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown account: status %d, want 404", rec.Code)
	}
	if got := role("target@example.net"); got != auth.RoleEditor {
		t.Errorf("after rejected changes the role is %q, want editor", got)
	}
	if rec := post("/admin/members/remove", "email", "target@example.net"); rec.Code != http.StatusSeeOther || role("target@example.net") != "" {
		t.Errorf("remove: status %d, role %q; want 303 and no membership", rec.Code, role("target@example.net"))
	}
	if rec := post("/admin/members/remove", "email", "admin"+ws1Marker); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "last admin") {
		t.Errorf("remove the last admin: status %d, want 409 saying it is the last admin", rec.Code)
	}
}

// TestTokensAPI creates an API token with an admin session, uses it, lists
// it without its secret, and revokes it.
func TestTokensAPI(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	sess, secret, err := f.ta.store.CreateSession(ctx, f.accounts[callerAdmin], time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, target, body, bearer string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		} else {
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
			req.Header.Set(csrfHeader, sess.CSRFToken)
		}
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec
	}

	for _, bad := range []struct{ body, want string }{
		{`{"name": "reports", "role": "owner"}`, `role "owner" does not exist`},
		{`{"name": "` + strings.Repeat("n", auth.MaxTokenNameLen+1) + `", "role": "viewer"}`, "token name is 65 characters long; the maximum is 64"},
		{`{"name": "", "role": "viewer"}`, "token name is empty"},
		{`{"name": "reports", "role": "viewer", "scope": "all"}`, "unknown field"},
	} {
		rec := send(http.MethodPost, "/api/v1/tokens", bad.body, "")
		if _, message := apiError(t, rec); rec.Code != http.StatusBadRequest || !strings.Contains(message, bad.want) {
			t.Errorf("POST %s: %d %q, want 400 containing %q", bad.body, rec.Code, message, bad.want)
		}
	}

	rec := send(http.MethodPost, "/api/v1/tokens", `{"name": "reports", "role": "viewer"}`, "")
	var created struct {
		Name   string    `json:"name"`
		Role   auth.Role `json:"role"`
		Secret string    `json:"secret"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || rec.Code != http.StatusCreated {
		t.Fatalf("create: status %d, body %s", rec.Code, rec.Body)
	}
	if created.Role != auth.RoleViewer || !strings.HasPrefix(created.Secret, "ns_at_") || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("created %+v with Cache-Control %q, want a viewer ns_at_ token, not cached", created, rec.Header().Get("Cache-Control"))
	}
	if rec := send(http.MethodGet, "/api/v1/kpis", "", created.Secret); rec.Code != http.StatusOK {
		t.Errorf("GET /api/v1/kpis with the new token: status %d", rec.Code)
	}
	if rec := send(http.MethodPost, "/api/v1/tokens", `{"name": "x", "role": "admin"}`, created.Secret); rec.Code != http.StatusForbidden {
		t.Errorf("a viewer token creating a token: status %d, want 403", rec.Code)
	}

	list := send(http.MethodGet, "/api/v1/tokens", "", "").Body.String()
	if !strings.Contains(list, `"name": "reports"`) || strings.Contains(list, created.Secret) || strings.Contains(list, "secret") {
		t.Errorf("token list shows no reports token, or shows a secret:\n%s", list)
	}

	if rec := send(http.MethodDelete, "/api/v1/tokens/reports", "", ""); rec.Code != http.StatusNoContent {
		t.Errorf("revoke: status %d, want 204", rec.Code)
	}
	if rec := send(http.MethodGet, "/api/v1/kpis", "", created.Secret); rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/kpis with the revoked token: status %d, want 401", rec.Code)
	}
	if rec := send(http.MethodDelete, "/api/v1/tokens/reports", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("revoking again: status %d, want 404", rec.Code)
	}

	entries, err := f.ta.store.AuditLog(ctx, 1, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Action != "revoke" || entries[1].Action != "create" || entries[0].Actor != "admin"+ws1Marker {
		t.Errorf("audit entries %+v, want the create and revoke of reports by the admin", entries)
	}
}
