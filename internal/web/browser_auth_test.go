package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod/lib/proto"

	"github.com/northstar-kpi/northstar/internal/auth"
)

// addAnnotation fills in and submits the annotation form of the KPI page
// that is open.
func (s *browserSession) addAnnotation(t *testing.T, note string) {
	t.Helper()
	dateField, err := s.page.Element("#a-date")
	if err != nil {
		t.Fatal(err)
	}
	if err := dateField.InputTime(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("entering the annotation date: %v", err)
	}
	s.choose(t, "#a-kind", "incident")
	s.fill(t, "#a-note", note)
	s.submit(t, "#annotations .meta-form button[type=submit]")
}

// TestBrowserViewerRefusedEditorAction signs in as a viewer, sees the
// dashboard, and is refused adding an annotation, an editor action, even
// when the request is sent without the hidden form; then signs out, signs
// in as an editor and adds it with the form.
func TestBrowserViewerRefusedEditorAction(t *testing.T) {
	ms := newMetaServer(t)
	requireComponent(t, !ms.chartLib, "the ECharts bundle is not embedded: run scripts/assets.sh, then run the tests again")
	accounts := ms.auth.(*auth.Store)
	for email, role := range map[string]auth.Role{"viewer@example.com": auth.RoleViewer, "editor@example.com": auth.RoleEditor} {
		if _, err := accounts.CreateAccount(context.Background(), email, "correct horse battery", 1, role, "test"); err != nil {
			t.Fatal(err)
		}
	}
	annotations := func() string {
		rec := ms.send(http.MethodGet, "/api/v1/annotations?kpi=orders", "")
		wantStatus(t, "annotation list", rec, http.StatusOK)
		return rec.Body.String()
	}

	httpServer := httptest.NewServer(ms) // listens on 127.0.0.1 only
	t.Cleanup(httpServer.Close)
	b := newBrowser(t)
	kpiPage := httpServer.URL + "/kpis/orders?grain=month&from=2026-02-01&to=2026-03-31"

	// Anonymous, a page leads to the sign-in page, which leads back.
	b.open(t, kpiPage, 1280, 1000)
	if info, err := b.page.Info(); err != nil || !strings.Contains(info.URL, "/signin?next=%2Fkpis%2Forders") {
		t.Errorf("anonymous visit ended at %v (%v), want the sign-in page with next=/kpis/orders...", info, err)
	}

	b.signIn(t, httpServer.URL, "viewer@example.com", "correct horse battery")
	cards, err := b.page.Elements(".kpi-card")
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) == 0 {
		t.Error("the viewer's dashboard shows no KPI cards")
	}
	if text := b.text(t, ".account-nav"); !strings.Contains(text, "viewer@example.com") || !strings.Contains(text, "viewer") {
		t.Errorf("account navigation %q, want the e-mail address and role", text)
	}
	b.checkNoErrors(t)

	// The KPI page shows a viewer no annotation form. The server refuses
	// the same form sent anyway, as a script on the page would send it.
	b.open(t, kpiPage, 1280, 1000)
	if has, _, err := b.page.Has("#a-note"); err != nil || has {
		t.Errorf("the viewer's KPI page shows the annotation form (%v)", err)
	}
	wait := b.page.WaitNavigation(proto.PageLifecycleEventNameLoad)
	_, err = b.page.Eval(`() => {
		const form = document.createElement('form');
		form.method = 'post';
		form.action = '/kpis/orders/annotations';
		const fields = {
			csrf_token: document.querySelector('meta[name="csrf-token"]').content,
			date: '2026-03-04', kind: 'incident', scope: 'kpi', note: "Viewer's outage note",
		};
		for (const [name, value] of Object.entries(fields)) {
			const input = document.createElement('input');
			input.type = 'hidden';
			input.name = name;
			input.value = value;
			form.appendChild(input);
		}
		document.body.appendChild(form);
		form.submit();
	}`)
	if err != nil {
		t.Fatalf("submitting the annotation as the viewer: %v", err)
	}
	wait()
	if text := b.text(t, "main"); !strings.Contains(text, "403") || !strings.Contains(text, "needs the editor role") {
		t.Errorf("after the viewer's annotation the page shows %q, want 403 saying it needs the editor role", text)
	}
	if list := annotations(); strings.Contains(list, "Viewer's outage note") {
		t.Errorf("the viewer's annotation was stored:\n%s", list)
	}
	b.screenshot(t, "viewer-refused")

	// Sign out with the header's button, then sign in as an editor.
	b.submit(t, ".signout button")
	if info, err := b.page.Info(); err != nil || !strings.HasSuffix(info.URL, "/signin") {
		t.Errorf("after sign-out the browser is at %v (%v), want the sign-in page", info, err)
	}
	b.signIn(t, httpServer.URL, "editor@example.com", "correct horse battery")
	b.open(t, kpiPage, 1280, 1000)
	b.addAnnotation(t, "Editor's outage note")
	if list := annotations(); !strings.Contains(list, "Editor's outage note") {
		t.Errorf("the editor's annotation was not stored:\n%s", list)
	}
	if text := strings.ToLower(b.text(t, ".annotation-list")); !strings.Contains(text, "editor's outage note") {
		t.Errorf("annotation list after the editor's note: %q", text)
	}
}
