package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/northstar-kpi/northstar/internal/auth"
)

// fill types text into the field matched by selector, replacing its value.
func (s *browserSession) fill(t *testing.T, selector, text string) {
	t.Helper()
	el, err := s.page.Element(selector)
	if err != nil {
		t.Fatalf("no field %s: %v", selector, err)
	}
	if err := el.SelectAllText(); err != nil {
		t.Fatalf("selecting the text of %s: %v", selector, err)
	}
	if err := el.Input(text); err != nil {
		t.Fatalf("typing into %s: %v", selector, err)
	}
}

// choose selects the option with the given text in the select matched by
// selector.
func (s *browserSession) choose(t *testing.T, selector, option string) {
	t.Helper()
	el, err := s.page.Element(selector)
	if err != nil {
		t.Fatalf("no field %s: %v", selector, err)
	}
	if err := el.Select([]string{option}, true, rod.SelectorTypeText); err != nil {
		t.Fatalf("choosing %q in %s: %v", option, selector, err)
	}
}

// submit clicks the button matched by selector and waits for the page the
// form leads to.
func (s *browserSession) submit(t *testing.T, selector string) {
	t.Helper()
	el, err := s.page.Element(selector)
	if err != nil {
		t.Fatalf("no button %s: %v", selector, err)
	}
	wait := s.page.WaitNavigation(proto.PageLifecycleEventNameLoad)
	if err := el.Click(proto.InputMouseButtonLeft, 1); err != nil {
		t.Fatalf("clicking %s: %v", selector, err)
	}
	wait()
}

// forgetErrors drops the errors the page reported so far.
func (s *browserSession) forgetErrors() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors = nil
}

// text returns the text of the element matched by selector.
func (s *browserSession) text(t *testing.T, selector string) string {
	t.Helper()
	el, err := s.page.Element(selector)
	if err != nil {
		t.Fatalf("no element %s: %v", selector, err)
	}
	text, err := el.Text()
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestBrowserAnnotationFeedbackAndKPIForm(t *testing.T) {
	ms := newMetaServer(t)
	requireComponent(t, !ms.chartLib, "the ECharts bundle is not embedded: run scripts/assets.sh, then run the tests again")

	httpServer := httptest.NewServer(ms) // listens on 127.0.0.1 only
	t.Cleanup(httpServer.Close)
	b := newBrowser(t)
	const editor, password = "editor@example.com", "correct horse battery"
	if _, err := ms.auth.(*auth.Store).CreateAccount(context.Background(), editor, password, 1, auth.RoleEditor, "test"); err != nil {
		t.Fatal(err)
	}
	b.signIn(t, httpServer.URL, editor, password)
	kpiPage := httpServer.URL + "/kpis/orders?grain=month&from=2026-02-01&to=2026-03-31"

	// Add an incident on the orders KPI through the form on its page.
	b.open(t, kpiPage, 1280, 1000)
	dateField, err := b.page.Element("#a-date")
	if err != nil {
		t.Fatal(err)
	}
	if err := dateField.InputTime(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("entering the annotation date: %v", err)
	}
	b.choose(t, "#a-kind", "incident")
	b.fill(t, "#a-note", "Payment outage")
	b.submit(t, "#annotations .meta-form button[type=submit]")

	if got := strings.ToLower(b.text(t, ".annotation-list")); !strings.Contains(got, "payment outage") || !strings.Contains(got, "2026-03-04") || !strings.Contains(got, "incident") {
		t.Errorf("annotation list after adding: %q", got)
	}
	b.checkChartDrawn(t, `[data-chart="kpi"]`)
	markers, err := b.page.Eval(`() => {
		const chart = echarts.getInstanceByDom(document.querySelector('[data-chart="kpi"]'));
		const line = chart.getOption().series[0].markLine;
		return line ? line.data.map((d) => d.xAxis + " " + d.name).join("|") : "";
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := markers.Value.String(); got != "Mar 2026 incident: Payment outage" {
		t.Errorf("chart markers = %q, want the incident on Mar 2026", got)
	}

	// Add feedback beside the numbers.
	b.fill(t, "#fb-text", "Customers ask for invoices by e-mail")
	b.fill(t, "#fb-source", "support")
	b.submit(t, "#feedback .meta-form button[type=submit]")
	if got := b.text(t, ".feedback-list"); !strings.Contains(got, "Customers ask for invoices by e-mail") || !strings.Contains(got, "support") {
		t.Errorf("feedback list after adding: %q", got)
	}
	b.screenshot(t, "kpi-annotation-feedback")

	// Create a KPI through the form: first with a date that does not exist,
	// which the form reports beside the field, then corrected.
	b.open(t, httpServer.URL+"/kpis/new", 1280, 1000)
	b.fill(t, "#f-id", "weekly_buyers")
	b.fill(t, "#f-name", "Customers who ordered per week")
	b.fill(t, "#f-owner", "sales@example.com")
	b.choose(t, "#f-objective", "Grow revenue")
	b.choose(t, "#f-grain", "week")
	b.choose(t, "#f-metric_kind", "unique users")
	b.fill(t, "#f-metric_event", "order")
	b.fill(t, "#f-target_value", "40")
	b.fill(t, "#f-target_by", "2026-02-30")
	b.checkNoErrors(t)
	b.submit(t, ".kpi-form button[type=submit]")
	b.forgetErrors() // Chromium logs the form page's 400 status as an error

	if got := b.text(t, "#target_by-error"); got != `✖ "2026-02-30" is not a date (want YYYY-MM-DD)` && got != `"2026-02-30" is not a date (want YYYY-MM-DD)` {
		t.Errorf("target date error = %q", got)
	}
	b.screenshot(t, "kpi-form-error")

	b.fill(t, "#f-target_by", "2026-12-31")
	b.submit(t, ".kpi-form button[type=submit]")
	if got := b.text(t, "h1"); got != "Customers who ordered per week" {
		t.Errorf("after creating, the page heading is %q, want the new KPI's name", got)
	}
	if got := b.text(t, ".managed-by"); !strings.Contains(got, "Made in the UI") {
		t.Errorf("managed-by note = %q", got)
	}
	b.checkChartDrawn(t, `[data-chart="kpi"]`)
	b.screenshot(t, "kpi-created")

	b.checkNoErrors(t)
}
