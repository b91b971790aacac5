package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-rod/rod/lib/proto"

	"github.com/northstar-kpi/northstar/internal/auth"
)

// postFromPage posts to path from the signed-in page with the CSRF token of
// its meta tag, as the page's scripts do, and returns the status and the
// error message of the response.
func (s *browserSession) postFromPage(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := s.page.Eval(`async (path) => {
		const token = document.querySelector('meta[name="csrf-token"]').content;
		const resp = await fetch(path, {method: 'POST', headers: {'X-CSRF-Token': token}});
		const body = await resp.json();
		return {status: resp.status, message: body.error ? body.error.message : ''};
	}`, path)
	if err != nil {
		t.Fatalf("POST %s from the page: %v", path, err)
	}
	return res.Value.Get("status").Int(), res.Value.Get("message").String()
}

// TestBrowserViewerRefusedEditorAction signs in as a viewer, sees the
// dashboard, and is refused an editor action; then signs out, signs in as
// an editor and is allowed the same action.
func TestBrowserViewerRefusedEditorAction(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	requireComponent(t, !ts.chartLib, "the ECharts bundle is not embedded: run scripts/assets.sh, then run the tests again")

	// NOTE: no editor route exists in this package yet, so the test adds
	// one that records its calls.
	var edits atomic.Int32
	ts.register("POST /api/v1/test-edit", AccessEditor, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		edits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))

	httpServer := httptest.NewServer(ts) // listens on 127.0.0.1 only
	t.Cleanup(httpServer.Close)
	viewerPassword := ts.auth.account(t, "viewer@example.com", 1, auth.RoleViewer)
	editorPassword := ts.auth.account(t, "editor@example.com", 1, auth.RoleEditor)
	b := newBrowser(t)

	// Anonymous, the dashboard leads to the sign-in page.
	b.open(t, httpServer.URL+"/kpis/revenue", 1280, 900)
	if info, err := b.page.Info(); err != nil || !strings.Contains(info.URL, "/signin?next=%2Fkpis%2Frevenue") {
		t.Errorf("anonymous visit ended at %v (%v), want the sign-in page with next=/kpis/revenue", info, err)
	}

	b.signIn(t, httpServer.URL, "viewer@example.com", viewerPassword)
	cards, err := b.page.Elements(".kpi-card")
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 4 {
		t.Errorf("the viewer's dashboard shows %d KPI cards, want 4", len(cards))
	}
	who, err := b.page.Element(".account-nav")
	if err != nil {
		t.Fatalf("no account navigation after sign-in: %v", err)
	}
	if text, _ := who.Text(); !strings.Contains(text, "viewer@example.com") || !strings.Contains(text, "viewer") {
		t.Errorf("account navigation %q, want the e-mail address and role", text)
	}
	b.checkNoErrors(t)

	status, message := b.postFromPage(t, "/api/v1/test-edit")
	if status != http.StatusForbidden || !strings.Contains(message, "needs the editor role") {
		t.Errorf("viewer's editor action: %d %q, want 403 saying it needs the editor role", status, message)
	}
	if n := edits.Load(); n != 0 {
		t.Errorf("the editor action ran %d times for a viewer", n)
	}
	b.screenshot(t, "viewer-refused")

	// Sign out with the header's button, then sign in as an editor.
	button, err := b.page.Element(".signout button")
	if err != nil {
		t.Fatal(err)
	}
	wait := b.page.WaitNavigation(proto.PageLifecycleEventNameLoad)
	if err := button.Click(proto.InputMouseButtonLeft, 1); err != nil {
		t.Fatal(err)
	}
	wait()
	if info, err := b.page.Info(); err != nil || !strings.HasSuffix(info.URL, "/signin") {
		t.Errorf("after sign-out the browser is at %v (%v), want the sign-in page", info, err)
	}

	b.signIn(t, httpServer.URL, "editor@example.com", editorPassword)
	status, message = b.postFromPage(t, "/api/v1/test-edit")
	if n := edits.Load(); status != http.StatusOK || n != 1 {
		t.Errorf("editor's action: %d %q with %d edits, want 200 and one edit", status, message, n)
	}
}
