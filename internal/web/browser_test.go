package web

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/input"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/proto"
)

// chromiumPath is Debian's Chromium. The test never lets rod download a
// browser of its own.
const chromiumPath = "/usr/bin/chromium"

// requireComponent skips the test outside CI when a component is missing,
// and fails it under CI=true, where every component must be installed.
func requireComponent(t *testing.T, missing bool, message string) {
	t.Helper()
	if !missing {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(message)
	}
	t.Skip(message)
}

// browserSession is a headless Chromium page with the console errors it
// reported.
type browserSession struct {
	page *rod.Page

	mu     sync.Mutex
	errors []string
}

// newBrowser starts Chromium with a fresh profile and no background traffic,
// and opens a blank page. Everything is closed when the test ends.
func newBrowser(t *testing.T) *browserSession {
	t.Helper()
	_, err := os.Stat(chromiumPath)
	requireComponent(t, err != nil, "Chromium not found at "+chromiumPath+": install Debian's chromium package (apt-get install chromium)")

	l := launcher.New().
		Bin(chromiumPath).
		Headless(true).
		NoSandbox(true).
		UserDataDir(t.TempDir()).
		Set("disable-gpu").
		Set("disable-background-networking").
		Set("disable-component-update").
		Set("disable-sync").
		Set("no-first-run")
	controlURL, err := l.Launch()
	if err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	t.Cleanup(l.Kill)

	browser := rod.New().ControlURL(controlURL)
	if err := browser.Connect(); err != nil {
		t.Fatalf("connecting to Chromium: %v", err)
	}
	t.Cleanup(func() { _ = browser.Close() })

	page, err := browser.Page(proto.TargetCreateTarget{URL: "about:blank"})
	if err != nil {
		t.Fatalf("opening a page: %v", err)
	}
	s := &browserSession{page: page.Timeout(30 * time.Second)}

	// Collect script exceptions, console errors and Content-Security-Policy
	// violations, which Chromium reports as log entries.
	if err := (proto.LogEnable{}).Call(page); err != nil {
		t.Fatalf("enabling the log domain: %v", err)
	}
	go page.EachEvent(
		func(e *proto.RuntimeExceptionThrown) { s.addError("exception: " + exceptionText(e.ExceptionDetails)) },
		func(e *proto.RuntimeConsoleAPICalled) {
			if e.Type == proto.RuntimeConsoleAPICalledTypeError {
				s.addError("console.error: " + page.MustObjectsToJSON(e.Args).String())
			}
		},
		func(e *proto.LogEntryAdded) {
			if e.Entry.Level == proto.LogLogEntryLevelError {
				s.addError("log: " + e.Entry.Text)
			}
		},
	)()
	return s
}

// exceptionText returns the message of a script exception.
func exceptionText(d *proto.RuntimeExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

func (s *browserSession) addError(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors = append(s.errors, msg)
}

// checkNoErrors fails the test if the page reported an error.
func (s *browserSession) checkNoErrors(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.errors {
		t.Errorf("page reported an error: %s", e)
	}
}

// open loads url at the given viewport size and waits until the page is idle.
func (s *browserSession) open(t *testing.T, url string, width, height int) {
	t.Helper()
	err := s.page.SetViewport(&proto.EmulationSetDeviceMetricsOverride{Width: width, Height: height, DeviceScaleFactor: 1})
	if err != nil {
		t.Fatalf("setting the viewport: %v", err)
	}
	if err := s.page.Navigate(url); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	if err := s.page.WaitLoad(); err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
}

// signIn fills in and submits the sign-in form at baseURL, and waits for
// the page the form redirects to.
func (s *browserSession) signIn(t *testing.T, baseURL, email, password string) {
	t.Helper()
	s.open(t, baseURL+"/signin", 1280, 900)
	for selector, value := range map[string]string{"#email": email, "#password": password} {
		el, err := s.page.Element(selector)
		if err != nil {
			t.Fatalf("sign-in page: %v", err)
		}
		if err := el.Input(value); err != nil {
			t.Fatalf("typing into %s: %v", selector, err)
		}
	}
	button, err := s.page.Element(`form[action="/signin"] button[type="submit"]`)
	if err != nil {
		t.Fatalf("sign-in page: %v", err)
	}
	wait := s.page.WaitNavigation(proto.PageLifecycleEventNameLoad)
	if err := button.Click(proto.InputMouseButtonLeft, 1); err != nil {
		t.Fatalf("clicking Sign in: %v", err)
	}
	wait()
	if err := s.page.WaitIdle(5 * time.Second); err != nil {
		t.Fatalf("after sign-in: %v", err)
	}
}

// screenshot saves a full-page PNG into the screenshot directory:
// $NORTHSTAR_SCREENSHOTS when set, else the test's temporary directory.
func (s *browserSession) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("NORTHSTAR_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	png, err := s.page.Screenshot(true, &proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng})
	if err != nil {
		t.Fatalf("taking a screenshot: %v", err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// checkChartDrawn waits until ECharts has drawn a canvas of non-zero size
// inside the element matched by selector. The chart may still be laying out
// (or be replaced by a live update) when the page reports ready, so it polls
// rather than measuring once.
func (s *browserSession) checkChartDrawn(t *testing.T, selector string) {
	t.Helper()
	sel, err := json.Marshal(selector + " canvas")
	if err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "a drawn chart canvas in "+selector, `() => {
		const c = document.querySelector(`+string(sel)+`);
		if (!c) return false;
		const r = c.getBoundingClientRect();
		return r.width >= 1 && r.height >= 1;
	}`)
}

// elementBox returns the position and size of the element matched by
// selector, in CSS pixels from the top left of the viewport. It waits until
// the element is laid out: a live update or a column change can redraw the
// grid just after the page reports ready.
func (s *browserSession) elementBox(t *testing.T, selector string) *proto.DOMRect {
	t.Helper()
	sel, err := json.Marshal(selector)
	if err != nil {
		t.Fatal(err)
	}
	rect := `() => {
		const el = document.querySelector(` + string(sel) + `);
		if (!el) return null;
		const r = el.getBoundingClientRect();
		if (r.width === 0 && r.height === 0) return null;
		return {x: r.x, y: r.y, width: r.width, height: r.height};
	}`
	s.waitFor(t, "a laid-out "+selector, "() => ("+rect+")() !== null")
	res, err := s.page.Eval(rect)
	if err != nil {
		t.Fatalf("measuring %s: %v", selector, err)
	}
	var box proto.DOMRect
	if err := res.Value.Unmarshal(&box); err != nil || box.Width == 0 && box.Height == 0 {
		t.Fatalf("measuring %s: got %s (%v)", selector, res.Value.String(), err)
	}
	return &box
}

func TestBrowserDashboardAndKPIPage(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	requireComponent(t, !ts.chartLib, "the ECharts bundle is not embedded: run scripts/assets.sh, then run the tests again")

	httpServer := httptest.NewServer(ts) // listens on 127.0.0.1 only
	t.Cleanup(httpServer.Close)
	b := newBrowser(t)
	password := ts.auth.account(t, "viewer@example.com", 1, "viewer")
	b.signIn(t, httpServer.URL, "viewer@example.com", password)

	// The dashboard: a card per KPI, and a sparkline drawn in each card with data.
	b.open(t, httpServer.URL+"/", 1280, 900)
	cards, err := b.page.Elements(".kpi-card")
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 4 {
		t.Errorf("dashboard shows %d KPI cards, want 4", len(cards))
	}
	for _, key := range []string{"spark-0", "spark-1", "spark-2"} {
		b.checkChartDrawn(t, `[data-chart="`+key+`"]`)
	}
	title, err := b.page.Element(`.kpi-card[data-kpi="revenue"] .value`)
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := title.Text(); text != "$11,234.50" {
		t.Errorf("revenue card shows %q, want $11,234.50", text)
	}
	b.screenshot(t, "dashboard")

	// The first Tab reaches the skip link, which shows a focus outline.
	if err := b.page.Keyboard.Press(input.Tab); err != nil {
		t.Fatal(err)
	}
	focus, err := b.page.Eval(`() => {
		const el = document.activeElement;
		return el.className + " " + getComputedStyle(el).outlineStyle;
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := focus.Value.String(); got != "skip-link solid" {
		t.Errorf("after Tab, focus is on %q, want the skip link with a solid outline", got)
	}

	// On a phone the cards stack in one column.
	b.open(t, httpServer.URL+"/", 390, 844)
	first := b.elementBox(t, `.kpi-card[data-kpi="signups"]`)
	second := b.elementBox(t, `.kpi-card[data-kpi="broken"]`)
	if first.X != second.X || second.Y <= first.Y {
		t.Errorf("on a 390 px wide screen the cards are at (%v,%v) and (%v,%v), want one column", first.X, first.Y, second.X, second.Y)
	}
	if first.Width > 390 {
		t.Errorf("a card is %v px wide on a 390 px screen", first.Width)
	}
	b.screenshot(t, "dashboard-phone")

	// The KPI page: the chart with its target path, and the table below it.
	b.open(t, httpServer.URL+"/kpis/revenue", 1280, 900)
	b.checkChartDrawn(t, `[data-chart="kpi"]`)
	rows, err := b.page.Elements("table.points tbody tr")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Errorf("the table has %d rows, want 2", len(rows))
	}
	legend, err := b.page.Eval(`() => {
		const chart = echarts.getInstanceByDom(document.querySelector('[data-chart="kpi"]'));
		return chart.getOption().legend[0].data.join(",");
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := legend.Value.String(); got != "Revenue,Target path,Moving average (3)" {
		t.Errorf("chart legend %q, want Revenue,Target path,Moving average (3)", got)
	}

	// Hovering over the chart shows the tooltip with the period's value and
	// target, drawn without breaking the Content-Security-Policy.
	box := b.elementBox(t, `[data-chart="kpi"]`)
	if err := b.page.Mouse.MoveTo(proto.Point{X: box.X + box.Width*0.1, Y: box.Y + box.Height/2}); err != nil {
		t.Fatal(err)
	}
	tip, err := b.page.ElementR(`[data-chart="kpi"] div`, "Target path: \\$10,300")
	if err != nil {
		t.Errorf("no tooltip with the February target after hovering over the chart: %v", err)
	} else if text, _ := tip.Text(); !strings.Contains(text, "Revenue: $10,500") {
		t.Errorf("tooltip %q, want it to contain Revenue: $10,500", text)
	}
	b.screenshot(t, "kpi-revenue")

	// Switching the grain follows a link and draws the chart again.
	link, err := b.page.Element(`.grain-switch a[href*="grain=week"]`)
	if err != nil {
		t.Fatal(err)
	}
	if err := link.Click(proto.InputMouseButtonLeft, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.page.WaitLoad(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.page.Element(`.grain-switch a.current[href*="grain=week"]`); err != nil {
		t.Errorf("after the click the week grain is not current: %v", err)
	}
	b.checkChartDrawn(t, `[data-chart="kpi"]`)

	b.checkNoErrors(t)
	if strings.Contains(ts.logs.String(), "level=ERROR") {
		t.Errorf("the server logged errors:\n%s", ts.logs)
	}
}
