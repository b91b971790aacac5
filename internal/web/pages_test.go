package web

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// chartBlock matches the page's chart data block.
var chartBlock = regexp.MustCompile(`(?s)<script type="application/json" id="chart-data">(.*?)</script>`)

// pageCharts returns the chart data of a rendered page.
func pageCharts(t *testing.T, body string) map[string]chartSpec {
	t.Helper()
	m := chartBlock.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("page has no chart data block:\n%s", body)
	}
	var data struct {
		Charts map[string]chartSpec `json:"charts"`
	}
	if err := json.Unmarshal([]byte(m[1]), &data); err != nil {
		t.Fatalf("chart data is not JSON: %v\n%s", err, m[1])
	}
	return data.Charts
}

// htmlPage checks that rec is a 200 HTML page and returns its text.
func htmlPage(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q, want text/html", ct)
	}
	return rec.Body.String()
}

// assertContains checks that the page, with its character references
// decoded, contains every part.
func assertContains(t *testing.T, body string, parts ...string) {
	t.Helper()
	text := html.UnescapeString(body)
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("page does not contain %q", p)
		}
	}
}

func TestDashboard(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	body := htmlPage(t, ts.get("/"))

	// Objectives in the file's order, then unlisted ones, then KPIs without one.
	growth := strings.Index(body, "Grow engagement")
	revenue := strings.Index(body, `<h2 id="objective-1">revenue</h2>`)
	none := strings.Index(body, "KPIs without an objective")
	if growth < 0 || revenue < 0 || none < 0 || growth > revenue || revenue > none {
		t.Errorf("objective headings at %d, %d, %d; want all present and in that order", growth, revenue, none)
	}

	if n := strings.Count(body, `class="kpi-card"`); n != 4 {
		t.Errorf("%d KPI cards, want 4", n)
	}
	assertContains(t, body,
		`href="/kpis/signups"`,
		// signups: a daily count, partial today, 40 against 50 at the same time yesterday.
		`<span class="value">40</span>`, "today so far", "↓</span> -20%", "vs the same part of the previous day",
		// Progress counts the latest complete day, 2026-03-09, and names it.
		"33% of the way from 10 to 2,980 by 2026-12-31, as of 2026-03-09", `<progress max="100" value="33"`,
		// revenue: USD, month to date, at risk.
		"$11,234.50", "Mar 2026", "month to date", "+12.35%", "at risk",
		// churn: a percentage whose rise is bad, in percentage points.
		"4.25%", "+0.75 pp", `class="change change-bad"`,
		// broken: the engine's message instead of a value.
		`event "rating" has no property "score"`,
		"Owner: Ana", "Values as of 2026-03-10 12:00 UTC",
	)
	assertContains(t, body, "on track", "at risk", "no target")

	charts := pageCharts(t, body)
	if len(charts) != 3 {
		t.Errorf("%d sparklines, want 3 (broken has none)", len(charts))
	}
	spark := charts["spark-0"]
	// The sparkline leaves out today, which is not over: the card shows it.
	if spark.Kind != "sparkline" || len(spark.Values) != 2 || *spark.Values[0] != 1250 || spark.Partial {
		t.Errorf("signups sparkline = %+v", spark)
	}
	assertContains(t, body, `data-chart="spark-0"`, `<script src="/assets/vendor/echarts.min.js">`, `<script src="/assets/app.js">`)
	if strings.Contains(body, "No data yet") {
		t.Error("dashboard shows the no-data state although KPIs have values")
	}
}

func TestDashboardEscapesText(t *testing.T) {
	defs := testDefinitions()
	defs.KPIs[0].Name = `<script>alert("x")</script>`
	defs.KPIs[0].Owner = `<b>Ana</b>`
	ts := newTestServer(t, defs)
	body := htmlPage(t, ts.get("/"))

	if strings.Contains(body, `<script>alert`) || strings.Contains(body, "<b>Ana") {
		t.Error("user text is not escaped in the page")
	}
	for _, escaped := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "&lt;b&gt;Ana&lt;/b&gt;"} {
		if !strings.Contains(body, escaped) {
			t.Errorf("page does not contain the escaped text %q", escaped)
		}
	}

	// The name also appears in the chart data, where it must not end the block.
	m := chartBlock.FindStringSubmatch(body)
	if m == nil || strings.Contains(m[1], "</script") {
		t.Fatalf("chart data block is missing or ends early")
	}
	if got := pageCharts(t, body)["spark-0"].Name; got != defs.KPIs[0].Name {
		t.Errorf("sparkline name %q, want %q after JSON decoding", got, defs.KPIs[0].Name)
	}
}

func TestDashboardNoData(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	ts.fake.series = nil // every KPI has an empty series
	body := htmlPage(t, ts.get("/"))

	assertContains(t, body, "No data yet", "northstar import csv")
	if n := strings.Count(body, `class="kpi-card"`); n != 4 {
		t.Errorf("%d KPI cards, want 4 even without data", n)
	}
}

func TestDashboardNoKPIs(t *testing.T) {
	ts := newTestServer(t, &kpi.Definitions{Path: "/etc/northstar/kpis.yaml"})
	body := htmlPage(t, ts.get("/"))

	assertContains(t, body, "No KPIs defined yet", "/etc/northstar/kpis.yaml", "northstar import csv")
}

func TestDashboardWithoutChartLibrary(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	ts.chartLib = false
	body := htmlPage(t, ts.get("/"))

	assertContains(t, body, chartLibraryMissing)
	if strings.Contains(body, "echarts.min.js\"></script>") {
		t.Error("page loads the chart library although it is not bundled")
	}
}

func TestKPIPage(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	body := htmlPage(t, ts.get("/kpis/revenue?grain=month&from=2026-02-01&to=2026-03-10"))

	c := ts.fake.requestCall(t)
	if c.ID != "revenue" || c.Grain != timegrain.Month || c.Range.From.String() != "2026-02-01" || c.Range.To.String() != "2026-03-10" {
		t.Errorf("series called with %+v", c)
	}

	assertContains(t, body,
		"<h1>Revenue</h1>", "higher is better", "+20% from the baseline by 2026-06-30",
		`value="2026-02-01"`, `value="2026-03-10"`, // the series' span: its end, 12:00 on 2026-03-10, is in that day
		// Table rows: period, value, previous, change, target, status.
		"<th scope=\"row\">Feb 2026</th>", "$10,500", "$10,300",
		"Mar 2026 <span class=\"partial\">(month to date)</span>", "$11,234.50", "$10,000", "↑ +12.35%", "$11,800",
		`class="partial-row"`, `data-chart="kpi"`, "Default range", "at risk", "on track",
	)

	// Grain links keep the range the request gave and mark the current grain.
	assertContains(t, body,
		`<a href="/kpis/revenue?from=2026-02-01&grain=week&to=2026-03-10">week</a>`,
		`<a href="/kpis/revenue?from=2026-02-01&grain=month&to=2026-03-10" aria-current="true" class="current">month</a>`,
	)

	spec := pageCharts(t, body)["kpi"]
	if spec.Kind != "series" || len(spec.Labels) != 2 || spec.Labels[1] != "Mar 2026" {
		t.Errorf("chart = %+v", spec)
	}
	// The partial month's target is in the table, not on the target line.
	if len(spec.Targets) != 2 || spec.Targets[0] == nil || *spec.Targets[0] != 10300 || spec.Targets[1] != nil {
		t.Errorf("chart targets = %v, want 10300 and none", spec.Targets)
	}
	if !spec.Partial || spec.PartialLabel != "month to date" {
		t.Errorf("chart partial = %v %q, want true, month to date", spec.Partial, spec.PartialLabel)
	}
}

func TestKPIPageDefaults(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	body := htmlPage(t, ts.get("/kpis/signups"))
	assertContains(t, body, "off track", "today so far")

	body = htmlPage(t, ts.get("/kpis/churn"))

	if c := ts.fake.requestCall(t); c.Grain != timegrain.Month || !c.Range.From.IsZero() || !c.Range.To.IsZero() {
		t.Errorf("series called with %+v, want month and the default range", c)
	}
	assertContains(t, body, "lower is better", "none set", `<a href="/kpis/churn?grain=day">day</a>`)
	if strings.Contains(body, "Default range") {
		t.Error("page offers to reset a range it was not given")
	}
	if spec := pageCharts(t, body)["kpi"]; spec.Targets != nil {
		t.Errorf("chart of a KPI without target has targets %v", spec.Targets)
	}
}

func TestKPIPageNoData(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	ts.fake.series = nil
	body := htmlPage(t, ts.get("/kpis/signups"))

	assertContains(t, body, "No data in this range", "northstar import csv")
}

func TestKPIPageErrors(t *testing.T) {
	ts := newTestServer(t, testDefinitions())

	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/kpis/nope", http.StatusNotFound, `KPI "nope" not found`},
		{"/kpis/signups?grain=fortnight", http.StatusBadRequest, `query parameter grain: grain "fortnight" is not valid`},
		{"/kpis/signups?from=03/01/2026", http.StatusBadRequest, `query parameter from: "03/01/2026" is not a date`},
		{"/kpis/signups?from=2026-03-10&to=2026-03-01", http.StatusBadRequest, "is empty"},
		{"/kpis/broken", http.StatusBadRequest, `has no property "score"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := ts.get(tt.path)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q, want an HTML error page", ct)
			}
			if body := html.UnescapeString(rec.Body.String()); !strings.Contains(body, tt.want) {
				t.Errorf("page does not contain %q:\n%s", tt.want, body)
			}
		})
	}
}

func TestWarningsShownEscaped(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	s := ts.fake.series["churn"]
	s.Warnings = []string{`no "<b>ordr</b>" events in this range`}

	for _, path := range []string{"/", "/kpis/churn"} {
		body := htmlPage(t, ts.get(path))
		// assertContains decodes character references, so this finds the escaped text.
		assertContains(t, body, `class="kpi-warning"`, `no "<b>ordr</b>" events in this range`)
		if strings.Contains(body, "<b>ordr</b>") {
			t.Errorf("%s renders the warning's markup", path)
		}
	}
}

func TestCardChangeFromZero(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	s := ts.fake.series["churn"]
	last := &s.Points[len(s.Points)-1]
	last.Previous, last.Change = fptr(0), nil

	body := htmlPage(t, ts.get("/"))
	assertContains(t, body, "Up from 0 in the previous period, so no percentage")
}

func TestCardNamesJudgedPeriod(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	s := ts.fake.series["churn"]
	s.Points[0].Status = kpi.OnTrack
	s.Points[len(s.Points)-1].Status = kpi.Pending

	body := htmlPage(t, ts.get("/"))
	assertContains(t, body, "on track", "Status of Feb 2026; this period is judged when it ends.")
}
