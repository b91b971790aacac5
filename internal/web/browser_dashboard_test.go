package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-rod/rod/lib/input"
	"github.com/go-rod/rod/lib/proto"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/demo"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// liveServer is the real stack over HTTP on 127.0.0.1: SQLite, the engine
// with its activity index, and the ingestion endpoints, as `northstar serve`
// wires them.
type liveServer struct {
	*Server
	http     *httptest.Server
	db       *sqlite.DB
	writeKey string
	logs     *bytes.Buffer

	// apiToken is an admin API token for api. The editor and viewer
	// accounts sign in to browsers with editorPassword and viewerPassword.
	apiToken       string
	editorPassword string
	viewerPassword string
}

// Accounts of every liveServer.
const (
	liveEditor = "editor@example.com"
	liveViewer = "viewer@example.com"
)

// signupKPIs is a daily signups count with no unit, and monthly revenue.
const signupKPIs = `workspace: {name: Acme, time_zone: UTC}
objectives:
  - {id: growth, name: Grow the product}
kpis:
  - id: signups
    name: Signups
    objective: growth
    grain: day
    metric: {kind: count, event: signup}
  - id: revenue
    name: Revenue
    objective: growth
    unit: USD
    grain: month
    metric: {kind: sum, event: order, property: amount}
`

func newLiveServer(t *testing.T, kpiFile string, now time.Time, events []store.Event) *liveServer {
	t.Helper()
	ctx := context.Background()
	defs, err := kpi.Parse("kpis.yaml", []byte(kpiFile))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if len(events) > 0 {
		if _, err := db.InsertEvents(ctx, events); err != nil {
			t.Fatal(err)
		}
	}
	_, secret, err := db.CreateWriteKey(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}

	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: logs}, nil))
	clock := func() time.Time { return now }
	accounts := auth.NewStore(db.SQL(), auth.SQLite, nil)
	_, apiToken, err := accounts.CreateToken(ctx, auth.DefaultWorkspaceID, "test-admin", auth.RoleAdmin, "test")
	if err != nil {
		t.Fatal(err)
	}
	passwords := map[string]string{}
	for email, role := range map[string]auth.Role{liveEditor: auth.RoleEditor, liveViewer: auth.RoleViewer} {
		passwords[email] = "correct horse " + email
		if _, err := accounts.CreateAccount(ctx, email, passwords[email], auth.DefaultWorkspaceID, role, "test"); err != nil {
			t.Fatal(err)
		}
	}

	ix := engine.NewActivityIndex(db, defs.Workspace.Location, engine.DeclaredFor(defs), logger)
	if err := ix.Load(ctx); err != nil {
		t.Fatal(err)
	}
	srv := NewServer(Config{
		Definitions: func() *kpi.Definitions { return defs },
		Series:      engine.NewWithIndex(db, ix, clock),
		Logger:      logger,
		Now:         clock,
		Ingest:      db,
		KPIMeta:     db,
		Dashboards:  db,
		Auth:        accounts,
	})
	ls := &liveServer{Server: srv, db: db, writeKey: secret, logs: logs,
		apiToken: apiToken, editorPassword: passwords[liveEditor], viewerPassword: passwords[liveViewer]}
	ls.http = httptest.NewServer(srv) // listens on 127.0.0.1 only
	t.Cleanup(ls.http.Close)
	return ls
}

// api sends a JSON request to the server, with the write key to the
// ingestion endpoint and the admin API token elsewhere, and decodes the
// response into out.
func (ls *liveServer) api(t *testing.T, method, path, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, ls.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.HasPrefix(path, "/api/v1/events") {
		req.Header.Set("Authorization", "Bearer "+ls.writeKey)
	} else {
		req.Header.Set("Authorization", "Bearer "+ls.apiToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d:\n%s", method, path, res.StatusCode, want, buf.String())
	}
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, buf.String())
		}
	}
}

func (ls *liveServer) checkNoServerErrors(t *testing.T) {
	t.Helper()
	if strings.Contains(ls.logs.String(), "level=ERROR") {
		t.Errorf("the server logged errors:\n%s", ls.logs)
	}
}

// signupEvents returns n signups at the given time, with message ids from prefix.
func signupEvents(prefix string, n int, at time.Time) []store.Event {
	var out []store.Event
	for i := range n {
		out = append(out, store.Event{Name: "signup", DistinctID: fmt.Sprintf("%s-%d", prefix, i), Timestamp: at, Source: "test", MessageID: fmt.Sprintf("%s-%d", prefix, i), ReceivedAt: at})
	}
	return out
}

// waitFor polls the page until js, a function returning a boolean, is true.
func (s *browserSession) waitFor(t *testing.T, what, js string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		res, err := s.page.Eval(js)
		if err == nil && res.Value.Bool() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after 15 s waiting for %s", what)
}

func (s *browserSession) evalString(t *testing.T, js string) string {
	t.Helper()
	res, err := s.page.Eval(js)
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return res.Value.String()
}

func (s *browserSession) click(t *testing.T, selector string) {
	t.Helper()
	el, err := s.page.Element(selector)
	if err != nil {
		t.Fatalf("no element %s: %v", selector, err)
	}
	if err := el.Click(proto.InputMouseButtonLeft, 1); err != nil {
		t.Fatalf("clicking %s: %v", selector, err)
	}
}

func (s *browserSession) waitReady(t *testing.T) {
	t.Helper()
	s.waitFor(t, "the dashboard to load", `() => document.body.getAttribute('data-board-ready') === 'true'`)
}

func requireChartLibrary(t *testing.T, s *Server) {
	t.Helper()
	requireComponent(t, !s.chartLib, "the ECharts bundle is not embedded: run scripts/assets.sh, then run the tests again")
}

func TestBrowserDashboardCreateAddDrag(t *testing.T) {
	ls := newLiveServer(t, signupKPIs, testNow, signupEvents("old", 3, testNow.Add(-2*time.Hour)))
	requireChartLibrary(t, ls.Server)
	b := newBrowser(t)
	b.signIn(t, ls.http.URL, liveEditor, ls.editorPassword)

	// Create a dashboard from the list page.
	b.open(t, ls.http.URL+"/dashboards", 1280, 900)
	name, err := b.page.Element("#new-dashboard-name")
	if err != nil {
		t.Fatal(err)
	}
	if err := name.Input("Team board"); err != nil {
		t.Fatal(err)
	}
	b.click(t, `#create-dashboard-form button[type="submit"]`)
	b.waitFor(t, "the new dashboard's page", `() => location.pathname.startsWith('/dashboards/') && document.getElementById('board-title') !== null`)
	b.waitReady(t)
	if got := b.evalString(t, `() => document.getElementById('board-title').textContent`); got != "Team board" {
		t.Errorf("dashboard title %q, want Team board", got)
	}
	if hidden := b.evalString(t, `() => String(document.getElementById('board-empty').hidden)`); hidden != "false" {
		t.Errorf("the empty dashboard does not say how to add widgets")
	}
	id := b.evalString(t, `() => location.pathname.split('/')[2]`)

	// Add a KPI card of signups and a chart of revenue with the form.
	b.click(t, "#edit-panel summary")
	if _, err := b.page.Eval(`() => {
		const f = document.getElementById('add-widget-form');
		f.elements.kind.value = 'kpi_card';
		for (const o of f.elements.kpis.options) o.selected = o.value === 'signups';
	}`); err != nil {
		t.Fatal(err)
	}
	b.click(t, `#add-widget-form button[type="submit"]`)
	b.waitFor(t, "the KPI card", `() => document.querySelector('[data-kind="kpi_card"] .kpi-value .value') !== null`)
	if got := b.evalString(t, `() => document.querySelector('[data-kind="kpi_card"] .kpi-value .value').textContent`); got != "3" {
		t.Errorf("signups card shows %q, want 3 (the three stored signups today)", got)
	}

	if _, err := b.page.Eval(`() => {
		const f = document.getElementById('add-widget-form');
		f.elements.kind.value = 'chart';
		for (const o of f.elements.kpis.options) o.selected = o.value === 'revenue';
	}`); err != nil {
		t.Fatal(err)
	}
	b.click(t, `#add-widget-form button[type="submit"]`)
	b.waitFor(t, "the chart", `() => document.querySelector('[data-kind="chart"] canvas') !== null`)
	b.checkChartDrawn(t, `[data-kind="chart"]`)

	var before testDashboard
	ls.api(t, "GET", "/api/v1/dashboards/"+id, "", http.StatusOK, &before)
	if len(before.Widgets) != 2 || before.Widgets[1].Kind != "chart" || before.Widgets[1].X != 3 || before.Widgets[1].Y != 0 {
		t.Fatalf("widgets before the drag: %+v, want the chart at (3, 0) beside the card", before.Widgets)
	}

	// Drag the chart by its handle three columns to the right.
	b.click(t, "#edit-panel summary") // close the panel so the grid does not move
	b.page.MustEval(`() => window.scrollTo(0, 0)`)
	handle := b.elementBox(t, `[data-kind="chart"] .widget-handle`)
	grid := b.elementBox(t, "#grid")
	from := proto.Point{X: handle.X + handle.Width/2, Y: handle.Y + handle.Height/2}
	to := proto.Point{X: from.X + grid.Width*3/12, Y: from.Y}
	mouse := b.page.Mouse
	if err := mouse.MoveTo(from); err != nil {
		t.Fatal(err)
	}
	if err := mouse.Down(proto.InputMouseButtonLeft, 1); err != nil {
		t.Fatal(err)
	}
	if err := mouse.MoveLinear(to, 20); err != nil {
		t.Fatal(err)
	}
	if err := mouse.Up(proto.InputMouseButtonLeft, 1); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, "the layout to be saved", `() => document.body.hasAttribute('data-layout-saved')`)

	var after testDashboard
	ls.api(t, "GET", "/api/v1/dashboards/"+id, "", http.StatusOK, &after)
	var chartX, chartY int
	for _, w := range after.Widgets {
		if w.Kind == "chart" {
			chartX, chartY = w.X, w.Y
		}
	}
	if chartX != 6 || chartY != 0 {
		t.Errorf("after the drag the chart is saved at (%d, %d), want (6, 0)", chartX, chartY)
	}

	// Reload and find the chart there.
	b.open(t, ls.http.URL+"/dashboards/"+id, 1280, 900)
	b.waitReady(t)
	gsX := b.evalString(t, `() => document.querySelector('[data-kind="chart"]').closest('.grid-stack-item').getAttribute('gs-x')`)
	gsY := b.evalString(t, `() => document.querySelector('[data-kind="chart"]').closest('.grid-stack-item').getAttribute('gs-y')`)
	if gsX != "6" || gsY != "0" {
		t.Errorf("after reload the chart is at grid cell (%s, %s), want (6, 0)", gsX, gsY)
	}
	card := b.elementBox(t, `[data-kind="kpi_card"]`)
	chart := b.elementBox(t, `[data-kind="chart"]`)
	// Six of 12 columns: the chart starts half way across the grid.
	if half := grid.X + grid.Width/2; chart.X < half-10 || chart.X > half+10 || chart.Y != card.Y {
		t.Errorf("after reload the chart is at (%v,%v), want it at x %v beside the card at (%v,%v)", chart.X, chart.Y, half, card.X, card.Y)
	}
	b.checkChartDrawn(t, `[data-kind="chart"]`)
	b.screenshot(t, "board-edit")

	// Keyboard: open the card's menu and move it right with Enter.
	b.page.MustEval(`() => document.querySelector('[data-kind="kpi_card"] .widget-menu summary').focus()`)
	if err := b.page.Keyboard.Press(input.Enter); err != nil {
		t.Fatal(err)
	}
	outline := b.evalString(t, `() => getComputedStyle(document.activeElement).outlineStyle`)
	if outline != "solid" {
		t.Errorf("the focused menu button has outline %q, want a visible solid outline", outline)
	}
	b.page.MustEval(`() => document.querySelector('[data-kind="kpi_card"] .widget-actions button:nth-child(2)').focus()`) // Move right
	if err := b.page.Keyboard.Press(input.Enter); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, "the keyboard move", `() => document.querySelector('[data-kind="kpi_card"]').closest('.grid-stack-item').gridstackNode.x === 1`)
	time.Sleep(300 * time.Millisecond)
	var moved testDashboard
	ls.api(t, "GET", "/api/v1/dashboards/"+id, "", http.StatusOK, &moved)
	for _, w := range moved.Widgets {
		if w.Kind == "kpi_card" && w.X != 1 {
			t.Errorf("after Move right with the keyboard the card is saved at x %d, want 1", w.X)
		}
	}

	b.checkNoErrors(t)
	ls.checkNoServerErrors(t)
}

func TestBrowserDashboardLiveUpdate(t *testing.T) {
	ls := newLiveServer(t, signupKPIs, testNow, signupEvents("old", 3, testNow.Add(-2*time.Hour)))
	requireChartLibrary(t, ls.Server)
	var d testDashboard
	ls.api(t, "POST", "/api/v1/dashboards", `{"name": "Live"}`, http.StatusCreated, &d)
	ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", d.ID), `{"kind": "kpi_card", "kpis": ["signups"]}`, http.StatusCreated, nil)

	b := newBrowser(t)
	b.signIn(t, ls.http.URL, liveViewer, ls.viewerPassword)
	b.open(t, fmt.Sprintf("%s/dashboards/%d", ls.http.URL, d.ID), 1280, 900)
	b.waitReady(t)
	b.waitFor(t, "the live connection", `() => document.getElementById('live-status').classList.contains('live-live')`)
	value := `() => document.querySelector('[data-kind="kpi_card"] .kpi-value .value').textContent`
	if got := b.evalString(t, value); got != "3" {
		t.Fatalf("card shows %q before ingestion, want 3", got)
	}
	b.page.MustEval(`() => { window.notReloaded = true; }`)

	// Two more signups today through the native ingestion endpoint: 3 + 2 = 5.
	at := testNow.Add(-time.Hour).Format(time.RFC3339)
	ls.api(t, "POST", "/api/v1/events", fmt.Sprintf(`[{"event": "signup", "distinct_id": "n1", "timestamp": %q, "message_id": "n1"}, {"event": "signup", "distinct_id": "n2", "timestamp": %q, "message_id": "n2"}]`, at, at), http.StatusOK, nil)
	b.waitFor(t, "the card to show 5", `() => document.querySelector('[data-kind="kpi_card"] .kpi-value .value').textContent === '5'`)
	if got := b.evalString(t, `() => String(window.notReloaded)`); got != "true" {
		t.Errorf("the page reloaded to show the new value")
	}
	b.screenshot(t, "board-live")

	// Dropping the connection shows the disconnected state, then reconnects.
	ls.http.CloseClientConnections()
	b.waitFor(t, "the disconnected state", `() => document.getElementById('live-status').classList.contains('live-disconnected')`)
	if got := b.evalString(t, `() => document.getElementById('live-status').textContent`); !strings.Contains(got, "Disconnected") {
		t.Errorf("status %q, want it to say Disconnected", got)
	}
	b.screenshot(t, "board-disconnected")
	b.waitFor(t, "the reconnection", `() => document.getElementById('live-status').classList.contains('live-live')`)

	ls.checkNoServerErrors(t)
}

func TestBrowserShareLinkAndTVMode(t *testing.T) {
	ls := newLiveServer(t, signupKPIs, testNow, signupEvents("old", 3, testNow.Add(-2*time.Hour)))
	requireChartLibrary(t, ls.Server)
	var shared, other testDashboard
	ls.api(t, "POST", "/api/v1/dashboards", `{"name": "For the board"}`, http.StatusCreated, &shared)
	ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", shared.ID), `{"kind": "kpi_card", "kpis": ["signups"]}`, http.StatusCreated, nil)
	ls.api(t, "POST", "/api/v1/dashboards", `{"name": "Private numbers"}`, http.StatusCreated, &other)
	ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", other.ID), `{"kind": "chart", "kpis": ["revenue"]}`, http.StatusCreated, nil)
	var link struct {
		URL string `json:"url"`
	}
	ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/share-links", shared.ID), "", http.StatusCreated, &link)

	// A fresh browser, with no state from the editing session, opens the link.
	b := newBrowser(t)
	b.open(t, ls.http.URL+link.URL, 1280, 900)
	b.waitReady(t)
	if got := b.evalString(t, `() => document.getElementById('board-title').textContent`); got != "For the board" {
		t.Errorf("shared page title %q, want For the board", got)
	}
	if got := b.evalString(t, `() => document.querySelector('[data-kind="kpi_card"] .value').textContent`); got != "3" {
		t.Errorf("shared card shows %q, want 3", got)
	}
	if got := b.evalString(t, `() => String(document.getElementById('edit-panel') === null && document.querySelector('.widget-handle') === null)`); got != "true" {
		t.Errorf("the shared page has editing controls")
	}
	b.screenshot(t, "board-shared")
	b.checkNoErrors(t) // before the requests below, which log their 404s

	paths := []string{
		link.URL + "/api/v1/kpis",
		link.URL + "/api/v1/kpis/signups/series",
		link.URL + fmt.Sprintf("/api/v1/dashboards/%d", other.ID),
		link.URL + fmt.Sprintf("/api/v1/dashboards/%d/data", other.ID),
		link.URL + fmt.Sprintf("/dashboards/%d", other.ID),
		link.URL + "/../" + url.PathEscape(link.URL[len("/share/"):]) + "x/data",
	}
	for _, p := range paths {
		status := b.evalString(t, fmt.Sprintf(`() => fetch(%q).then(r => String(r.status))`, p))
		if status != "404" {
			t.Errorf("through the share link, GET %s answered %s, want 404", p, status)
		}
	}
	// Outside the link's path, the browser has no session, so every other
	// dashboard and API route turns it away.
	for _, p := range []string{
		fmt.Sprintf("/api/v1/dashboards/%d", other.ID),
		fmt.Sprintf("/api/v1/dashboards/%d/data", shared.ID),
		"/api/v1/kpis",
		"/api/v1/dashboards",
	} {
		status := b.evalString(t, fmt.Sprintf(`() => fetch(%q).then(r => String(r.status))`, p))
		if status != "401" {
			t.Errorf("from the shared page without a session, GET %s answered %s, want 401", p, status)
		}
	}
	if got := b.evalString(t, fmt.Sprintf(`() => fetch("/dashboards/%d").then(r => r.status + " " + r.url)`, other.ID)); !strings.HasPrefix(got, "401 ") && !strings.Contains(got, "/signin") {
		t.Errorf("from the shared page, another dashboard's page answered %s, want 401 or the sign-in page", got)
	}

	// TV mode: full screen without controls, cycling through both dashboards.
	tv := newBrowser(t)
	tv.signIn(t, ls.http.URL, liveViewer, ls.viewerPassword)
	tv.open(t, fmt.Sprintf("%s/tv?d=%d&d=%d&seconds=5", ls.http.URL, shared.ID, other.ID), 1920, 1080)
	tv.waitReady(t)
	if got := tv.evalString(t, `() => getComputedStyle(document.querySelector('.site-header')).display + ' ' + String(document.getElementById('controls-form') === null)`); got != "none true" {
		t.Errorf("TV mode header display and controls absent = %q, want none true", got)
	}
	if got := tv.evalString(t, `() => document.getElementById('board-title').textContent`); got != "For the board" {
		t.Errorf("TV mode starts with %q, want For the board", got)
	}
	tv.screenshot(t, "board-tv-first")
	tv.waitFor(t, "TV mode to show the second dashboard", `() => document.body.getAttribute('data-tv-index') === '1' && document.querySelector('[data-kind="chart"] canvas') !== null`)
	if got := tv.evalString(t, `() => document.getElementById('board-title').textContent`); got != "Private numbers" {
		t.Errorf("TV mode's second dashboard is %q, want Private numbers", got)
	}
	tv.screenshot(t, "board-tv-second")

	tv.checkNoErrors(t)
	ls.checkNoServerErrors(t)
}

func TestBrowserDashboardPhoneWidth(t *testing.T) {
	ls := newLiveServer(t, signupKPIs, testNow, signupEvents("old", 3, testNow.Add(-2*time.Hour)))
	requireChartLibrary(t, ls.Server)
	var d testDashboard
	ls.api(t, "POST", "/api/v1/dashboards", `{"name": "Pocket"}`, http.StatusCreated, &d)
	ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", d.ID), `{"kind": "kpi_card", "kpis": ["signups"]}`, http.StatusCreated, nil)
	ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", d.ID), `{"kind": "kpi_card", "kpis": ["revenue"], "x": 3, "y": 0}`, http.StatusCreated, nil)

	b := newBrowser(t)
	b.signIn(t, ls.http.URL, liveViewer, ls.viewerPassword)
	b.open(t, fmt.Sprintf("%s/dashboards/%d", ls.http.URL, d.ID), 390, 844)
	b.waitReady(t)
	// Signups is first in the desktop layout, at (0, 0), and revenue beside it.
	first := b.elementBox(t, `.grid-stack-item:nth-child(1) [data-kind="kpi_card"]`)
	second := b.elementBox(t, `.grid-stack-item:nth-child(2) [data-kind="kpi_card"]`)
	if got := b.evalString(t, `() => document.querySelector('.grid-stack-item:nth-child(1) .widget-title').textContent`); got != "Signups" {
		t.Fatalf("the first widget in the page is %q, want Signups", got)
	}
	if first.X != second.X || second.Y <= first.Y {
		t.Errorf("on a 390 px screen the cards are at (%v,%v) and (%v,%v), want one column", first.X, first.Y, second.X, second.Y)
	}
	if first.Width > 390 || first.Width < 300 {
		t.Errorf("a card is %v px wide on a 390 px screen, want nearly the full width", first.Width)
	}
	checkPageWidth(t, b, 390, "the dashboard page")
	if got := b.evalString(t, `() => String(document.getElementById('edit-panel') === null && document.querySelector('.widget-handle') === null)`); got != "true" {
		t.Errorf("a viewer's dashboard page has editing controls")
	}
	b.screenshot(t, "board-phone")

	// The one-column layout is not saved over the desktop layout.
	var after testDashboard
	ls.api(t, "GET", fmt.Sprintf("/api/v1/dashboards/%d", d.ID), "", http.StatusOK, &after)
	if after.Widgets[1].X != 3 || after.Widgets[1].Y != 0 {
		t.Errorf("after the phone view the revenue card is saved at (%d, %d), want (3, 0)", after.Widgets[1].X, after.Widgets[1].Y)
	}
	b.checkNoErrors(t)

	// An admin's header has the most links: Members, Audit log, a long
	// email address, the role and Sign out. It wraps instead of widening
	// the page.
	accounts := auth.NewStore(ls.db.SQL(), auth.SQLite, nil)
	adminEmail, adminPassword := "operations.admin@northstar-example.com", "correct horse admin"
	if _, err := accounts.CreateAccount(context.Background(), adminEmail, adminPassword, auth.DefaultWorkspaceID, auth.RoleAdmin, "test"); err != nil {
		t.Fatal(err)
	}
	admin := newBrowser(t)
	admin.signIn(t, ls.http.URL, adminEmail, adminPassword)
	admin.open(t, ls.http.URL+"/", 390, 844)
	checkPageWidth(t, admin, 390, "the overview page")
	admin.screenshot(t, "overview-phone-admin")
	admin.open(t, fmt.Sprintf("%s/dashboards/%d", ls.http.URL, d.ID), 390, 844)
	admin.waitReady(t)
	checkPageWidth(t, admin, 390, "the dashboard page")
	admin.screenshot(t, "board-phone-admin")
	signOut := admin.elementBox(t, `.account-nav button[type="submit"]`)
	if signOut.X+signOut.Width > 390 {
		t.Errorf("the Sign out button ends at x = %v, outside the 390 px screen", signOut.X+signOut.Width)
	}
	admin.checkNoErrors(t)
}

// checkPageWidth fails the test when the open page is wider than width CSS
// pixels, so that it would scroll sideways.
func checkPageWidth(t *testing.T, b *browserSession, width int, page string) {
	t.Helper()
	got := b.evalString(t, `() => String(document.documentElement.scrollWidth)`)
	if n, err := strconv.Atoi(got); err != nil || n > width {
		t.Errorf("%s is %s px wide on a %d px screen, so it scrolls sideways", page, got, width)
	}
}

// TestBrowserDemoDashboardStaysLocal loads a 12-widget dashboard over 90
// days of demo data, checks that every request goes to the loopback
// address, and logs how long the page took to draw.
func TestBrowserDemoDashboardStaysLocal(t *testing.T) {
	end := demo.End(testNow)
	now := end.Add(-time.Hour)
	ls := newLiveServer(t, string(demo.KPIFile(end)), now, demo.Generate(1, 90, end))
	requireChartLibrary(t, ls.Server)

	var d testDashboard
	ls.api(t, "POST", "/api/v1/dashboards", `{"name": "Demo wall"}`, http.StatusCreated, &d)
	widgets := []string{
		`{"kind": "objective", "options": {"objective": "engagement"}}`,
		`{"kind": "objective", "options": {"objective": "revenue"}}`,
	}
	for _, id := range []string{"weekly_active_users", "monthly_active_users", "purchases_per_active_user", "signups", "pro_signups", "revenue", "average_order_value"} {
		widgets = append(widgets, `{"kind": "kpi_card", "kpis": ["`+id+`"]}`)
	}
	widgets = append(widgets,
		`{"kind": "chart", "kpis": ["weekly_active_users", "monthly_active_users"]}`,
		`{"kind": "chart", "kpis": ["revenue"], "options": {"chart": "bar"}}`,
		`{"kind": "breakdown", "kpis": ["signups"], "options": {"by": "plan"}}`)
	for _, w := range widgets {
		ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", d.ID), w, http.StatusCreated, nil)
	}

	computeStart := time.Now()
	ls.api(t, "GET", fmt.Sprintf("/api/v1/dashboards/%d/data", d.ID), "", http.StatusOK, nil)
	t.Logf("12-widget demo dashboard: the server computed its data in %s", time.Since(computeStart).Round(time.Millisecond))

	b := newBrowser(t)
	b.signIn(t, ls.http.URL, liveViewer, ls.viewerPassword)
	var mu sync.Mutex
	var requests []string
	if err := (proto.NetworkEnable{}).Call(b.page); err != nil {
		t.Fatal(err)
	}
	go b.page.EachEvent(func(e *proto.NetworkRequestWillBeSent) {
		mu.Lock()
		requests = append(requests, e.Request.URL)
		mu.Unlock()
	})()

	start := time.Now()
	b.open(t, fmt.Sprintf("%s/dashboards/%d", ls.http.URL, d.ID), 1440, 1000)
	b.waitReady(t)
	wall := time.Since(start)
	inPage := b.evalString(t, `() => String(Math.round(performance.now()))`)
	t.Logf("12-widget demo dashboard: ready %s after navigation (wall clock), data fetch and drawing took %s ms, page clock at ready %s ms",
		wall.Round(time.Millisecond), b.evalString(t, `() => document.body.getAttribute('data-render-ms')`), inPage)

	if n := b.evalString(t, `() => String(document.querySelectorAll('.widget').length)`); n != "12" {
		t.Errorf("the page shows %s widgets, want 12", n)
	}
	b.checkChartDrawn(t, `[data-kind="breakdown"]`)
	checkWidgetsFit(t, b, "the demo dashboard")
	b.screenshot(t, "board-demo-12")

	mu.Lock()
	defer mu.Unlock()
	if len(requests) < 5 {
		t.Errorf("recorded only %d requests; the network log did not work", len(requests))
	}
	for _, raw := range requests {
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("request to unparsable URL %q", raw)
			continue
		}
		if u.Scheme == "data" || u.Scheme == "blob" {
			continue
		}
		if u.Hostname() != "127.0.0.1" {
			t.Errorf("request to %s leaves the machine", raw)
		}
	}
	b.checkNoErrors(t)
	ls.checkNoServerErrors(t)
}

func TestBrowserChartAnnotationsAndFeedback(t *testing.T) {
	ls := newLiveServer(t, signupKPIs, testNow, signupEvents("old", 3, testNow.Add(-2*time.Hour)))
	requireChartLibrary(t, ls.Server)
	var d testDashboard
	ls.api(t, "POST", "/api/v1/dashboards", `{"name": "Notes"}`, http.StatusCreated, &d)
	ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", d.ID), `{"kind": "chart", "kpis": ["signups"], "w": 8}`, http.StatusCreated, nil)
	ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", d.ID), `{"kind": "feedback", "kpis": ["signups"]}`, http.StatusCreated, nil)

	b := newBrowser(t)
	b.signIn(t, ls.http.URL, liveViewer, ls.viewerPassword)
	b.open(t, fmt.Sprintf("%s/dashboards/%d", ls.http.URL, d.ID), 1280, 900)
	b.waitReady(t)
	if got := b.evalString(t, `() => document.querySelector('[data-kind="feedback"] .widget-empty').textContent`); !strings.Contains(got, "No feedback yet") {
		t.Errorf("empty feedback widget says %q, want it to say how to add feedback", got)
	}

	ls.api(t, "POST", "/api/v1/annotations", `{"kpi_id": "signups", "kind": "release", "date": "2026-03-09", "note": "New onboarding"}`, http.StatusCreated, nil)
	ls.api(t, "POST", "/api/v1/kpis/signups/feedback", `{"text": "Sign-up form is too long", "author": "Ana", "source": "survey"}`, http.StatusCreated, nil)
	b.open(t, fmt.Sprintf("%s/dashboards/%d", ls.http.URL, d.ID), 1280, 900)
	b.waitReady(t)

	// The release on 2026-03-09 marks that day's period with an R.
	marks := b.evalString(t, `() => {
		const chart = echarts.getInstanceByDom(document.querySelector('[data-kind="chart"] .widget-chart'));
		const line = chart.getOption().series[0].markLine;
		return JSON.stringify(line.data.map(m => [chart.getOption().xAxis[0].data[m.xAxis], m.label.formatter, m.name]));
	}`)
	if marks != `[["Mar 9, 2026","R","release 2026-03-09: New onboarding"]]` {
		t.Errorf("annotation markers %s, want one R on Mar 9, 2026 with the note", marks)
	}
	if got := b.evalString(t, `() => document.querySelector('[data-kind="feedback"] .feedback-list').textContent`); !strings.Contains(got, "Sign-up form is too long") || !strings.Contains(got, "Ana · survey") {
		t.Errorf("feedback widget shows %q, want the comment with its author and source", got)
	}
	b.screenshot(t, "board-annotations-feedback")
	b.checkNoErrors(t)
	ls.checkNoServerErrors(t)
}

// unitKPIs are three daily KPIs in three units: EUR, signups and visits.
const unitKPIs = `workspace: {name: Acme, time_zone: UTC}
kpis:
  - id: revenue
    name: Revenue
    unit: EUR
    grain: day
    metric: {kind: sum, event: order, property: amount}
  - id: signups
    name: Signups
    unit: signups
    grain: day
    metric: {kind: count, event: signup}
  - id: visits
    name: Visits
    unit: visits
    grain: day
    metric: {kind: count, event: visit}
`

// unitEvents are EUR 1200 of orders and 3 signups on 8 March 2026, and
// EUR 1500 of orders, 5 signups and 40 visits on 9 March.
func unitEvents() []store.Event {
	day1 := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	order := func(id string, amount float64, at time.Time) store.Event {
		return store.Event{Name: "order", DistinctID: id, Timestamp: at, Source: "test", MessageID: id, ReceivedAt: at, Properties: map[string]any{"amount": amount}}
	}
	events := []store.Event{order("o1", 1000, day1), order("o2", 200, day1), order("o3", 1500, day2)}
	events = append(events, signupEvents("d1", 3, day1)...)
	events = append(events, signupEvents("d2", 5, day2)...)
	for i := range 40 {
		id := fmt.Sprintf("v-%d", i)
		events = append(events, store.Event{Name: "visit", DistinctID: id, Timestamp: day2, Source: "test", MessageID: id, ReceivedAt: day2})
	}
	return events
}

// chartJS returns a function that runs body with chart bound to the
// ECharts instance of the n-th chart widget (from 1) in the page.
func chartJS(n int, body string) string {
	return fmt.Sprintf(`() => {
		const chart = echarts.getInstanceByDom(document.querySelectorAll('[data-kind="chart"] .widget-chart')[%d - 1]);
		%s
	}`, n, body)
}

func TestBrowserChartTwoUnitsTwoAxes(t *testing.T) {
	ls := newLiveServer(t, unitKPIs, testNow, unitEvents())
	requireChartLibrary(t, ls.Server)
	var d testDashboard
	ls.api(t, "POST", "/api/v1/dashboards", `{"name": "Units"}`, http.StatusCreated, &d)
	ls.api(t, "PATCH", fmt.Sprintf("/api/v1/dashboards/%d", d.ID), `{"grain": "day", "from": "2026-03-08", "to": "2026-03-10"}`, http.StatusOK, nil)
	for _, w := range []string{
		`{"kind": "chart", "kpis": ["revenue", "signups"], "x": 0, "y": 0}`,
		`{"kind": "chart", "kpis": ["revenue", "signups", "visits"], "x": 6, "y": 0}`,
		`{"kind": "kpi_card", "kpis": ["revenue"], "x": 0, "y": 5}`,
		`{"kind": "kpi_card", "kpis": ["signups"], "x": 3, "y": 5}`,
	} {
		ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", d.ID), w, http.StatusCreated, nil)
	}

	b := newBrowser(t)
	b.signIn(t, ls.http.URL, liveViewer, ls.viewerPassword)
	b.open(t, fmt.Sprintf("%s/dashboards/%d", ls.http.URL, d.ID), 1280, 900)
	b.waitReady(t)

	// Each unit has its own y-axis, the second on the right.
	axes := b.evalString(t, chartJS(1, `return JSON.stringify(chart.getOption().yAxis.map(a => [a.name, a.position]));`))
	if axes != `[["EUR","left"],["signups","right"]]` {
		t.Errorf("y-axes (name, position) %s, want EUR on the left and signups on the right", axes)
	}
	indexes := b.evalString(t, chartJS(1, `return JSON.stringify(chart.getOption().series.filter(s => s.name === 'Revenue' || s.name === 'Signups').map(s => [s.name, s.yAxisIndex]));`))
	if !strings.Contains(indexes, `["Revenue",0]`) || !strings.Contains(indexes, `["Signups",1]`) || strings.Contains(indexes, `["Signups",0]`) {
		t.Errorf("series y-axis indexes %s, want Revenue on 0 and Signups on 1", indexes)
	}

	// 5 signups on 9 March is the top of the signups axis, so it is drawn
	// in the upper half of the plot, not flat at 0 under EUR 1500.
	rise := b.evalString(t, chartJS(1, `
		const rect = chart.getModel().getComponent('grid').coordinateSystem.getRect();
		const zero = chart.convertToPixel({seriesName: 'Signups'}, [1, 0])[1];
		const five = chart.convertToPixel({seriesName: 'Signups'}, [1, 5])[1];
		return String((zero - five) / rect.height);`))
	if f, err := strconv.ParseFloat(rise, 64); err != nil || f < 0.5 {
		t.Errorf("5 signups is drawn %s of the plot height above 0, want at least half", rise)
	}

	// The third unit's KPI is left out, with a note that names it.
	note := b.evalString(t, `() => { const n = document.querySelectorAll('[data-kind="chart"]')[1].querySelector('.chart-left-out'); return n ? n.textContent : ''; }`)
	if !strings.Contains(note, "Visits") || !strings.Contains(note, "another chart") {
		t.Errorf("the three-unit chart's note is %q, want it to name Visits and say to use another chart", note)
	}
	drawn := b.evalString(t, chartJS(2, `return JSON.stringify([...new Set(chart.getOption().series.map(s => s.name))]);`))
	if drawn != `["Revenue","Signups"]` {
		t.Errorf("the three-unit chart draws %s, want Revenue and Signups", drawn)
	}

	checkXLabelsInside(t, b, 1, true)
	checkXLabelsInside(t, b, 2, true)
	checkWidgetsFit(t, b, "the dashboard")
	b.screenshot(t, "board-units")
	b.checkNoErrors(t)

	tv := newBrowser(t)
	tv.signIn(t, ls.http.URL, liveViewer, ls.viewerPassword)
	tv.open(t, fmt.Sprintf("%s/tv?d=%d", ls.http.URL, d.ID), 1920, 1080)
	tv.waitReady(t)
	checkXLabelsInside(t, tv, 1, false)
	checkXLabelsInside(t, tv, 2, false)
	checkWidgetsFit(t, tv, "TV mode")
	tv.screenshot(t, "board-units-tv")
	tv.checkNoErrors(t)
	ls.checkNoServerErrors(t)
}

// checkXLabelsInside checks that every x-axis label the n-th chart draws
// lies inside its canvas, and, when wantLast is set, that the last one is
// drawn. (ECharts may skip labels that would overlap.)
func checkXLabelsInside(t *testing.T, b *browserSession, n int, wantLast bool) {
	t.Helper()
	got := b.evalString(t, chartJS(n, `
		const labels = chart.getOption().xAxis[0].data;
		const out = { drawn: 0, last: false, outside: [] };
		chart.getZr().storage.getDisplayList().forEach(e => {
			if (!e.style || !labels.includes(e.style.text) || e.ignore || e.invisible) { return; }
			const r = e.getBoundingRect().clone();
			r.applyTransform(e.getComputedTransform());
			out.drawn++;
			if (e.style.text === labels[labels.length - 1]) { out.last = true; }
			if (r.x < 0 || r.x + r.width > chart.getWidth() + 0.5) {
				out.outside.push(e.style.text + ' from ' + Math.round(r.x) + ' to ' + Math.round(r.x + r.width) + ' px of ' + chart.getWidth());
			}
		});
		return JSON.stringify(out);`))
	var res struct {
		Drawn   int      `json:"drawn"`
		Last    bool     `json:"last"`
		Outside []string `json:"outside"`
	}
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatalf("x-axis labels of chart %d: %v in %s", n, err, got)
	}
	if res.Drawn == 0 {
		t.Errorf("chart %d draws no x-axis label", n)
	}
	if wantLast && !res.Last {
		t.Errorf("chart %d does not draw its last x-axis label", n)
	}
	if len(res.Outside) > 0 {
		t.Errorf("chart %d cuts x-axis labels at its edge: %s", n, strings.Join(res.Outside, "; "))
	}
}

// checkWidgetsFit checks that no widget body scrolls: its content fits the
// grid cell at the widget's size.
func checkWidgetsFit(t *testing.T, b *browserSession, where string) {
	t.Helper()
	got := b.evalString(t, `() => JSON.stringify([...document.querySelectorAll('.widget')].filter(w => {
		const body = w.querySelector('.widget-body');
		return w.scrollHeight > w.clientHeight + 1 || body.scrollHeight > body.clientHeight + 1 || body.scrollWidth > body.clientWidth + 1;
	}).map(w => w.querySelector('.widget-title').textContent))`)
	if got != "[]" {
		t.Errorf("in %s these widgets scroll or cut their content: %s", where, got)
	}
}

// breakdownNoteKPIs are signups, and orders per signup as a formula whose
// denominator has no value in a segment without signups.
const breakdownNoteKPIs = `workspace: {name: Acme, time_zone: UTC}
metrics:
  orders: {kind: count, event: order}
  new_signups: {kind: count, event: signup}
kpis:
  - id: signups
    name: Signups
    grain: day
    metric: {kind: count, event: signup}
  - id: orders_per_signup
    name: Orders per signup
    grain: day
    metric: {kind: formula, formula: orders / new_signups}
`

func TestBrowserBreakdownWarningsAndReasons(t *testing.T) {
	// Five signups without a plan, and three orders with one: two on pro,
	// one on free. So by plan, pro and free have orders but no signups, and
	// (none) has 0 orders over 5 signups.
	at := testNow.Add(-2 * time.Hour)
	events := signupEvents("s", 5, at)
	for i, plan := range []string{"pro", "pro", "free"} {
		id := fmt.Sprintf("o-%d", i)
		events = append(events, store.Event{Name: "order", DistinctID: id, Timestamp: at, Source: "test", MessageID: id, ReceivedAt: at, Properties: map[string]any{"plan": plan}})
	}
	ls := newLiveServer(t, breakdownNoteKPIs, testNow, events)
	requireChartLibrary(t, ls.Server)

	var d testDashboard
	ls.api(t, "POST", "/api/v1/dashboards", `{"name": "Breakdowns"}`, http.StatusCreated, &d)
	ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", d.ID), `{"kind": "breakdown", "kpis": ["signups"], "options": {"by": "palan"}}`, http.StatusCreated, nil)
	ls.api(t, "POST", fmt.Sprintf("/api/v1/dashboards/%d/widgets", d.ID), `{"kind": "breakdown", "kpis": ["orders_per_signup"], "options": {"by": "plan"}}`, http.StatusCreated, nil)

	b := newBrowser(t)
	b.signIn(t, ls.http.URL, liveViewer, ls.viewerPassword)
	b.open(t, fmt.Sprintf("%s/dashboards/%d", ls.http.URL, d.ID), 1280, 900)
	b.waitReady(t)

	// No signup has palan, so the widget draws no chart. It shows the
	// no-segments message and the engine's warning.
	typo := `document.querySelectorAll('[data-kind="breakdown"]')[0]`
	if got := b.evalString(t, `() => String(`+typo+`.querySelectorAll('canvas').length)`); got != "0" {
		t.Errorf("breakdown by palan draws %s canvases, want none", got)
	}
	if got := b.evalString(t, `() => `+typo+`.querySelector('.widget-empty').textContent`); got != "No segments yet: no event in the range has the property palan." {
		t.Errorf("breakdown by palan says %q, want the no-segments message", got)
	}
	if got := b.evalString(t, `() => `+typo+`.querySelector('.widget-warning').textContent`); !strings.Contains(got, `no "signup" event in this range has the property "palan"`) {
		t.Errorf("breakdown by palan warns %q, want the warning that no signup has palan", got)
	}

	// By plan, pro and free divide by 0 signups: both are named with the
	// reason, and (none) has a value, 0, so it is not.
	ratio := `document.querySelectorAll('[data-kind="breakdown"]')[1]`
	b.waitFor(t, "the chart of orders per signup by plan", `() => {
		const c = `+ratio+`.querySelector('canvas');
		return c !== null && c.getBoundingClientRect().height >= 1;
	}`)
	reasons := b.evalString(t, `() => JSON.stringify([...`+ratio+`.querySelectorAll('.widget-no-value')].map(p => p.textContent))`)
	var lines []string
	if err := json.Unmarshal([]byte(reasons), &lines); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 {
		t.Fatalf("orders per signup by plan shows reasons %q, want one line for pro and free", lines)
	}
	if !strings.HasPrefix(lines[0], "No value for pro, free: ") {
		t.Errorf("reason line %q, want it to start with \"No value for pro, free: \"", lines[0])
	}
	if !strings.Contains(lines[0], "division by zero") {
		t.Errorf("reason line %q, want the reason division by zero", lines[0])
	}
	if strings.Contains(lines[0], "(none)") {
		t.Errorf("reason line %q names (none), whose value is 0", lines[0])
	}
	checkWidgetsFit(t, b, "the breakdown dashboard")
	b.screenshot(t, "board-breakdown-notes")
	b.checkNoErrors(t)
	ls.checkNoServerErrors(t)
}
