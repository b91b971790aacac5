package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/store"
)

// TestLiveUpdatesStayInWorkspace sends events with a write key of workspace
// 2 and checks that only workspace 2's open dashboards are woken.
func TestLiveUpdatesStayInWorkspace(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	second, err := f.srv.workspace(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	firstChanged := f.srv.defaultWorkspace.live.wait()
	secondChanged := second.live.wait()

	secret, prefix, hash, err := store.NewWriteKeySecret()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ta.db.SQL().Exec(`INSERT INTO write_keys (workspace_id, name, prefix, secret_hash, created_at) VALUES (2, 'other-web', ?, ?, 0)`, prefix, hash); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/track",
		strings.NewReader(`{"event": "signup", "userId": "u1", "messageId": "m1", "timestamp": "2026-03-09T10:00:00Z"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(secret, "")
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("ingest with workspace 2's key: status %d; body:\n%s", rec.Code, rec.Body)
	}

	select {
	case <-secondChanged:
	default:
		t.Error("workspace 2's dashboards were not woken by its events")
	}
	select {
	case <-firstChanged:
		t.Error("workspace 1's dashboards were woken by workspace 2's events")
	default:
	}

	f.srv.CloseStreams()
	select {
	case <-second.live.closed:
	default:
		t.Error("CloseStreams left workspace 2's streams open")
	}
}

// TestWorkspacesWithoutFactory checks that a server without a workspace
// factory rejects members of other workspaces with a 403 that gives the reason.
func TestWorkspacesWithoutFactory(t *testing.T) {
	f := newAccessFixture(t)
	f.srv.workspaces.factory = nil
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, f.request(t, "GET /api/v1/dashboards", callerOtherMember))
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "serves only the default workspace") {
		t.Errorf("member of workspace 2 without a factory: status %d, want 403 saying only the default workspace is served; body:\n%s", rec.Code, rec.Body)
	}
}
