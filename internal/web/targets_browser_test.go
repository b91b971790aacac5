package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
)

// TestBrowserBenchmarkLinesAndReviewLabel draws the signups KPI page in
// Chromium and reads the ECharts option back: the industry benchmark and a
// milestone are drawn beside the values and the target path, and the
// dashboard card carries the review-due label.
func TestBrowserBenchmarkLinesAndReviewLabel(t *testing.T) {
	ts := newTargetServer(t)
	requireComponent(t, !ts.srv.chartLib, "the ECharts bundle is not embedded: run scripts/assets.sh, then run the tests again")
	ts.now = time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/targets",
		`{"value": 190, "by": "2027-03-31", "applies_from": "2027-02-15", "reason": "campaign", "milestones": [{"date": "2027-02-28", "value": 170}]}`, http.StatusCreated)

	httpServer := httptest.NewServer(ts.srv) // listens on 127.0.0.1 only
	t.Cleanup(httpServer.Close)
	b := newBrowser(t)
	const email, password = "viewer@example.com", "correct horse viewer"
	if _, err := ts.auth.CreateAccount(context.Background(), email, password, auth.DefaultWorkspaceID, auth.RoleViewer, "test"); err != nil {
		t.Fatal(err)
	}
	b.signIn(t, httpServer.URL, email, password)

	b.open(t, httpServer.URL+"/kpis/signups?grain=month&from=2027-01-01&to=2027-03-31", 1280, 900)
	b.checkChartDrawn(t, `[data-chart="kpi"]`)
	option, err := b.page.Eval(`() => {
		const chart = echarts.getInstanceByDom(document.querySelector('[data-chart="kpi"]'));
		const o = chart.getOption();
		const industry = o.series.find(s => s.name === "Industry median");
		const milestones = o.series.find(s => s.name === "Milestones");
		return [o.legend[0].data.join(","), industry ? industry.data.join(",") : "none",
			milestones ? milestones.data.map(v => v === null ? "-" : v).join(",") : "none"].join("|");
	}`)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(option.Value.String(), "|")
	if len(parts) != 3 {
		t.Fatalf("chart option read back as %q", option.Value.String())
	}
	if !strings.HasPrefix(parts[0], "Signups,Target path,Industry median,Milestones") {
		t.Errorf("legend %q, want it to start with Signups,Target path,Industry median,Milestones", parts[0])
	}
	if parts[1] != "120,120,120" {
		t.Errorf("industry line %q, want 120 in each month", parts[1])
	}
	if parts[2] != "-,170,-" {
		t.Errorf("milestones %q, want 170 in February only", parts[2])
	}
	b.screenshot(t, "kpi-benchmarks")

	b.open(t, httpServer.URL+"/", 1280, 900)
	label, err := b.page.Element(`.kpi-card[data-kpi="signups"] .review-due`)
	if err != nil {
		t.Fatalf("no review-due label on the signups card: %v", err)
	}
	if text, _ := label.Text(); text != "review due" {
		t.Errorf("label %q, want review due", text)
	}
	b.checkNoErrors(t)
}
