package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod/lib/proto"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// trendDay returns midnight UTC of the day n days after Tuesday 2026-01-27;
// day 42 is 2026-03-10, the day of testNow.
func trendDay(n int) time.Time { return time.Date(2026, time.January, 27+n, 0, 0, 0, 0, time.UTC) }

// trendSignups is the number of signups on day n before the spike: one more
// a day, with quiet weekends.
func trendSignups(n int) int {
	v := 20 + n
	switch trendDay(n).Weekday() {
	case time.Saturday:
		v -= 10
	case time.Sunday:
		v -= 12
	}
	return v
}

// newTrendServer serves a real engine over a fresh SQLite database holding
// trendSignups(n) signups on days 0 to 41, from country US except 10 from DE
// on day 40 and 16 on day 41; 40 more from DE on day 20 (a spike); 5 on day
// 42 (so far); and 50 on 2025-03-10, 364 days before day 41.
func newTrendServer(t *testing.T) *testServer {
	t.Helper()
	ctx := context.Background()
	defs, err := kpi.Parse("kpis.yaml", []byte(`workspace: {name: Acme}
kpis:
  - id: signups
    name: Signups
    grain: day
    metric: {kind: count, event: signup}
    target: {value: 100, by: 2026-04-30}
  - id: mrr
    name: MRR
    unit: USD
    metric: {kind: mrr, start_event: subscribe, cancel_event: cancel, property: amount}
`))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	var events []store.Event
	add := func(at time.Time, n int, country string) {
		for range n {
			events = append(events, store.Event{
				Name: "signup", DistinctID: fmt.Sprint("u", len(events)), Timestamp: at.Add(time.Hour),
				Properties: map[string]any{"country": country}, Source: "test", MessageID: fmt.Sprint(len(events)),
			})
		}
	}
	for n := range 42 {
		de := map[int]int{40: 10, 41: 16}[n]
		add(trendDay(n), trendSignups(n)-de, "US")
		add(trendDay(n), de, "DE")
	}
	add(trendDay(20), 40, "DE")
	add(trendDay(42), 5, "US")
	add(time.Date(2025, time.March, 10, 0, 0, 0, 0, time.UTC), 50, "US")
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	return newAuthedServer(t, Config{
		Definitions: func() *kpi.Definitions { return defs },
		Series:      engine.New(db, func() time.Time { return testNow }),
		Logger:      slog.New(slog.DiscardHandler),
		Now:         func() time.Time { return testNow },
	})
}

// trendBody mirrors the documented trend object of the series JSON.
type trendBody struct {
	Points []struct {
		Start string `json:"period_start"`
	} `json:"points"`
	Trend *struct {
		Change *struct {
			PeriodStart   string   `json:"period_start"`
			Current       float64  `json:"current"`
			PreviousStart string   `json:"previous_start"`
			Previous      float64  `json:"previous"`
			Difference    float64  `json:"difference"`
			Percent       *float64 `json:"percent"`
		} `json:"change"`
		YearOverYear *struct {
			PreviousStart string   `json:"previous_start"`
			Previous      float64  `json:"previous"`
			Percent       *float64 `json:"percent"`
		} `json:"year_over_year"`
		MovingAverage struct {
			Window int        `json:"window"`
			Values []*float64 `json:"values"`
		} `json:"moving_average"`
		Forecast *struct {
			At     string  `json:"at"`
			Value  float64 `json:"value"`
			Low    float64 `json:"low"`
			High   float64 `json:"high"`
			Level  float64 `json:"level"`
			Method string  `json:"method"`
		} `json:"forecast"`
		ForecastPath []struct {
			At string `json:"at"`
		} `json:"forecast_path"`
		Pace *struct {
			Status string  `json:"status"`
			Label  string  `json:"label"`
			Target float64 `json:"target"`
			By     string  `json:"by"`
		} `json:"pace"`
		Anomalies []struct {
			Date  string  `json:"date"`
			Value float64 `json:"value"`
		} `json:"anomalies"`
		TopContributor *struct {
			Property   string   `json:"property"`
			Segment    string   `json:"segment"`
			Difference float64  `json:"difference"`
			Share      *float64 `json:"share"`
		} `json:"top_contributor"`
	} `json:"trend"`
}

func getTrend(t *testing.T, ts *testServer, target string) trendBody {
	t.Helper()
	rec := ts.get(target)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	var body trendBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Trend == nil {
		t.Fatalf("no trend in %s", rec.Body)
	}
	return body
}

func TestSeriesTrend(t *testing.T) {
	ts := newTrendServer(t)
	body := getTrend(t, ts, "/api/v1/kpis/signups/series?grain=day&from=2026-01-27&to=2026-03-10&by=country")
	tr := body.Trend
	if len(body.Points) != 43 {
		t.Fatalf("%d points, want 43", len(body.Points))
	}

	// Day 41 (Monday 2026-03-09, 61 signups) against Sunday (20 + 40 − 12 = 48).
	if c := tr.Change; c == nil || c.PeriodStart != "2026-03-09T00:00:00Z" || c.Current != 61 || c.Previous != 48 || c.Difference != 13 {
		t.Errorf("change = %+v, want 48 → 61 on 2026-03-09", c)
	} else if c.Percent == nil || math.Abs(*c.Percent-1300.0/48) > 1e-9 {
		t.Errorf("change percent = %v, want %g", c.Percent, 1300.0/48)
	}

	// 364 days before 2026-03-09 is 2025-03-10, with 50 signups: +22 %.
	if c := tr.YearOverYear; c == nil || c.PreviousStart != "2025-03-10T00:00:00Z" || c.Previous != 50 || c.Percent == nil || math.Abs(*c.Percent-22) > 1e-9 {
		t.Errorf("year over year = %+v, want 50 on 2025-03-10, +22 %%", c)
	}

	if tr.MovingAverage.Window != 7 || len(tr.MovingAverage.Values) != 43 {
		t.Errorf("moving average window %d with %d values, want 7 and 43", tr.MovingAverage.Window, len(tr.MovingAverage.Values))
	}

	// 2026-04-30 is day 93, a Thursday: 20 + 93 = 113, the spike left out.
	f := tr.Forecast
	if f == nil {
		t.Fatal("forecast = nil")
	}
	if f.At != "2026-04-30T00:00:00Z" || math.Abs(f.Value-113) > 1e-6 || f.Method != "ols-linear-trend-seasonal" || f.Level != 0.95 {
		t.Errorf("forecast = %+v, want 113 on 2026-04-30 by ols-linear-trend-seasonal at 0.95", f)
	}
	if !(f.Low <= f.Value && f.Value <= f.High) {
		t.Errorf("interval [%g, %g] does not contain %g", f.Low, f.High, f.Value)
	}
	if n := len(tr.ForecastPath); n != 43 || tr.ForecastPath[0].At != "2026-03-10T00:00:00Z" {
		t.Errorf("forecast path has %d periods, want 43 from 2026-03-10", n)
	}

	if p := tr.Pace; p == nil || p.Status != "on_pace" || p.Label != "On pace" || p.Target != 100 || p.By != "2026-04-30" {
		t.Errorf("pace = %+v, want on pace for 100 by 2026-04-30", p)
	}

	if len(tr.Anomalies) != 1 || tr.Anomalies[0].Date != "2026-02-16T00:00:00Z" || tr.Anomalies[0].Value != float64(trendSignups(20)+40) {
		t.Errorf("anomalies = %+v, want 2026-02-16 at %d only", tr.Anomalies, trendSignups(20)+40)
	}

	// US 38 → 45 (+7) and DE 10 → 16 (+6), of a total change of +13.
	if c := tr.TopContributor; c == nil || c.Property != "country" || c.Segment != "US" || c.Difference != 7 || c.Share == nil || math.Abs(*c.Share-7.0/13) > 1e-12 {
		t.Errorf("top contributor = %+v, want country US +7, share 7/13", c)
	}
}

func TestSeriesTrendWithoutProperty(t *testing.T) {
	ts := newTrendServer(t)
	body := getTrend(t, ts, "/api/v1/kpis/signups/series?grain=day&from=2026-01-27&to=2026-03-10&window=3")
	if body.Trend.TopContributor != nil {
		t.Errorf("top contributor = %+v, want none without a property", body.Trend.TopContributor)
	}
	if body.Trend.MovingAverage.Window != 3 {
		t.Errorf("window = %d, want 3", body.Trend.MovingAverage.Window)
	}
}

func TestSeriesTrendBadQuery(t *testing.T) {
	ts := newTrendServer(t)
	tests := []struct {
		query string
		want  string
	}{
		{"window=0", "window"},
		{"window=week", "window"},
		{"by=", "by"},
		{"by=%20", "by"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := ts.get("/api/v1/kpis/signups/series?" + tt.query)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body:\n%s", rec.Code, rec.Body)
			}
			if _, msg := apiError(t, rec); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not name %s", msg, tt.want)
			}
		})
	}

	rec := ts.get("/api/v1/kpis/mrr/series?by=country")
	if rec.Code != http.StatusBadRequest {
		t.Errorf("MRR by country: status %d, want 400; body:\n%s", rec.Code, rec.Body)
	}
}

func TestKPIPageTrend(t *testing.T) {
	ts := newTrendServer(t)
	rec := ts.get("/kpis/signups?grain=day&from=2026-01-27&to=2026-03-10")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`<h2 id="trend-heading">Trend</h2>`,
		`class="status pace status-on_track"`,
		"On pace",
		"forecast 113 against the target 100 by 2026-04-30",
		"113 for 2026-04-30 (95% prediction interval",
		"2026-02-16: 80, above the expected 40",
		// html/template writes + as &#43;.
		"&#43;22% from 2025-03-10, a year before (50)",
		"&#43;27.08% from 2026-03-08 (48)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	spec := pageCharts(t, body)["kpi"]
	if len(spec.Labels) != 43 || len(spec.ForecastLabels) != 42 {
		t.Fatalf("chart has %d labels and %d forecast labels, want 43 and 42", len(spec.Labels), len(spec.ForecastLabels))
	}
	if spec.ForecastLabels[len(spec.ForecastLabels)-1] != "2026-04-21" {
		t.Errorf("last forecast label %s, want 2026-04-21 (43 periods from 2026-03-10)", spec.ForecastLabels[len(spec.ForecastLabels)-1])
	}
	n := len(spec.Labels) + len(spec.ForecastLabels)
	if len(spec.Forecast) != n || len(spec.ForecastLow) != n || len(spec.ForecastHigh) != n {
		t.Errorf("forecast arrays have %d/%d/%d values, want %d", len(spec.Forecast), len(spec.ForecastLow), len(spec.ForecastHigh), n)
	}
	// The dashed line starts at the last complete value, day 41.
	if v := spec.Forecast[41]; v == nil || *v != 61 {
		t.Errorf("forecast at day 41 = %v, want the value 61", v)
	}
	if len(spec.Anomalies) != 1 || spec.Anomalies[0].Index != 20 {
		t.Errorf("chart anomalies = %+v, want index 20", spec.Anomalies)
	}
}

func TestBrowserKPIPageTrend(t *testing.T) {
	ts := newTrendServer(t)
	requireComponent(t, !ts.chartLib, "the ECharts bundle is not embedded: run scripts/assets.sh, then run the tests again")
	httpServer := httptest.NewServer(ts) // listens on 127.0.0.1 only
	t.Cleanup(httpServer.Close)
	b := newBrowser(t)
	password := ts.auth.account(t, "viewer@example.com", 1, "viewer")
	b.signIn(t, httpServer.URL, "viewer@example.com", password)

	b.open(t, httpServer.URL+"/kpis/signups?grain=day&from=2026-01-27&to=2026-03-10", 1280, 900)
	b.checkChartDrawn(t, `[data-chart="kpi"]`)

	got, err := b.page.Eval(`() => {
		const chart = echarts.getInstanceByDom(document.querySelector('[data-chart="kpi"]'));
		const option = chart.getOption();
		const forecast = option.series.find((s) => s.name === 'Forecast');
		const band = option.series.filter((s) => s.stack === 'forecast-band');
		return {
			legend: option.legend[0].data.join(","),
			categories: option.xAxis[0].data.length,
			dashed: forecast ? forecast.lineStyle.type : "",
			bandSeries: band.length,
			anomalies: (option.series[0].markPoint || {data: []}).data.map((p) => p.coord[0]).join(","),
		};
	}`)
	if err != nil {
		t.Fatal(err)
	}
	v := got.Value
	if legend := v.Get("legend").String(); legend != "Signups,Target path,Moving average (7),Forecast,95% interval" {
		t.Errorf("legend %q, want Signups,Target path,Moving average (7),Forecast,95%% interval", legend)
	}
	if n := v.Get("categories").Int(); n != 85 {
		t.Errorf("x axis has %d periods, want 85 (43 of the series, 42 forecast)", n)
	}
	if dashed := v.Get("dashed").String(); dashed != "dashed" {
		t.Errorf("forecast line style %q, want dashed", dashed)
	}
	if n := v.Get("bandSeries").Int(); n != 2 {
		t.Errorf("interval band has %d stacked series, want 2", n)
	}
	if anomalies := v.Get("anomalies").String(); anomalies != "20" {
		t.Errorf("marked anomalies at %q, want index 20", anomalies)
	}

	// Hovering over the forecast half of the chart shows the forecast.
	box := b.elementBox(t, `[data-chart="kpi"]`)
	if err := b.page.Mouse.MoveTo(proto.Point{X: box.X + box.Width*0.8, Y: box.Y + box.Height/2}); err != nil {
		t.Fatal(err)
	}
	tip, err := b.page.Timeout(5*time.Second).ElementR("div", "Forecast: ")
	if err != nil {
		t.Errorf("no tooltip with the forecast: %v", err)
	} else if text := tip.MustText(); !strings.Contains(text, "Forecast: ") {
		t.Errorf("tooltip %q lacks the forecast", text)
	}

	if trendText := b.page.MustElement(".trend").MustText(); !strings.Contains(trendText, "On pace") {
		t.Errorf("trend section %q lacks the pace", trendText)
	}
	b.screenshot(t, "kpi-trend")
	b.checkNoErrors(t)
}
