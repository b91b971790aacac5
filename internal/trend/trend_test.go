package trend

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/analysis"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// day returns midnight UTC of the day n days after Thursday 2026-01-01.
func day(n int) time.Time { return time.Date(2026, time.January, 1+n, 0, 0, 0, 0, time.UTC) }

// weekend lowers Saturdays and Sundays.
func weekend(t time.Time) int {
	switch t.Weekday() {
	case time.Saturday:
		return -10
	case time.Sunday:
		return -12
	}
	return 0
}

// signupsOn is the number of signups on day i, before the spike: a line of
// one more a day with quiet weekends.
func signupsOn(i int) int { return 20 + i + weekend(day(i)) }

const spikeDay = 20

// testNow is noon on 2026-02-12, day 42, so that day is partial.
var testNow = day(42).Add(12 * time.Hour)

// newEngine returns an engine over a fresh SQLite database holding:
//   - signupsOn(i) signups on each day i from 0 to 41, all from country US
//     except 10 from DE on day 40 and 16 from DE on day 41;
//   - 40 more signups from DE on day 20 (the spike);
//   - 5 signups on day 42 (so far);
//   - 50 signups on 2025-02-12, 364 days before day 41.
func newEngine(t *testing.T) (*engine.Engine, *kpi.Definitions) {
	t.Helper()
	ctx := context.Background()
	defs, err := kpi.Parse("kpis.yaml", []byte(`workspace: {name: Acme}
kpis:
  - id: signups
    name: Signups
    grain: day
    breakdown: country
    metric: {kind: count, event: signup}
    target: {value: 100, by: 2026-03-31}
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
	for i := range 42 {
		de := map[int]int{40: 10, 41: 16}[i]
		add(day(i), signupsOn(i)-de, "US")
		add(day(i), de, "DE")
	}
	add(day(spikeDay), 40, "DE")
	add(day(42), 5, "US")
	add(time.Date(2025, time.February, 12, 0, 0, 0, 0, time.UTC), 50, "US")
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	return engine.New(db, func() time.Time { return testNow }), defs
}

func TestComputeOnEngine(t *testing.T) {
	ctx := context.Background()
	eng, defs := newEngine(t)
	k, _ := defs.KPI("signups")
	series, err := eng.Series(ctx, defs, "signups", timegrain.Day, engine.Range{From: timegrain.DateOf(day(0)), To: timegrain.DateOf(day(42))})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(series.Points); n != 43 || !series.Points[42].Partial {
		t.Fatalf("series has %d points, last partial %v; want 43 with day 42 partial", n, series.Points[n-1].Partial)
	}

	tr, err := Compute(ctx, eng, defs, k, series, Options{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("change", func(t *testing.T) {
		// Day 41 (61 signups) against day 40 (60): +1, or +1/60.
		c := tr.Change
		if c == nil || !c.Start.Equal(day(41)) || c.Current != 61 || c.Previous != 60 {
			t.Fatalf("change = %+v, want day 41 at 61 against 60", c)
		}
		if c.Percent == nil || math.Abs(*c.Percent-100.0/60) > 1e-9 {
			t.Errorf("percent = %v, want %g", c.Percent, 100.0/60)
		}
	})

	t.Run("year over year", func(t *testing.T) {
		// Day 41 (61) against 2025-02-12 (50): +22 %.
		c := tr.YearOverYear
		if c == nil {
			t.Fatalf("year over year = nil, notes %v", tr.Notes)
		}
		if c.Previous != 50 || c.Percent == nil || math.Abs(*c.Percent-22) > 1e-9 {
			t.Errorf("year over year = %+v (percent %v), want 50 → 61, +22 %%", c, c.Percent)
		}
	})

	t.Run("moving average", func(t *testing.T) {
		// Days 35 to 41: 7·20 + (35+…+41) − 10 − 12 = 384.
		ma := tr.MovingAverage
		if ma.Window != 7 || len(ma.Values) != 43 {
			t.Fatalf("window %d with %d values, want 7 and 43", ma.Window, len(ma.Values))
		}
		if v := ma.Values[41]; v == nil || math.Abs(*v-384.0/7) > 1e-9 {
			t.Errorf("average on day 41 = %v, want %g", v, 384.0/7)
		}
		if ma.Values[42] != nil {
			t.Errorf("average on the partial day = %g, want none", *ma.Values[42])
		}
	})

	t.Run("anomalies", func(t *testing.T) {
		if len(tr.Anomalies) != 1 || !tr.Anomalies[0].At.Equal(day(spikeDay)) {
			t.Fatalf("anomalies = %+v, want day %d only", tr.Anomalies, spikeDay)
		}
	})

	t.Run("forecast", func(t *testing.T) {
		// 2026-03-31 is day 89, a Tuesday: 20 + 89 = 109, the spike left out.
		f := tr.Forecast
		if f == nil {
			t.Fatalf("forecast = nil: %s", tr.ForecastError)
		}
		if !f.At.Equal(day(89)) || math.Abs(f.Value-109) > 1e-6 {
			t.Errorf("forecast = %g at %s, want 109 at 2026-03-31", f.Value, f.At)
		}
		if f.Method != analysis.MethodLinearSeasonal {
			t.Errorf("method = %s, want %s", f.Method, analysis.MethodLinearSeasonal)
		}
		if len(tr.ForecastPath) != 43 || !tr.ForecastPath[0].At.Equal(day(42)) {
			t.Errorf("forecast path has %d periods, want 43 from day 42", len(tr.ForecastPath))
		}
	})

	t.Run("pace", func(t *testing.T) {
		p := tr.Pace
		if p == nil {
			t.Fatalf("pace = nil, notes %v", tr.Notes)
		}
		if p.Status != analysis.OnPace || p.Label != "On pace" || p.By != "2026-03-31" || math.Abs(p.Gap-9) > 1e-6 {
			t.Errorf("pace = %+v, want on pace by 2026-03-31, 9 above", p)
		}
	})

	t.Run("top contributor", func(t *testing.T) {
		// US 50 → 45, DE 10 → 16: the total rose by 1 and DE by 6.
		c := tr.TopContributor
		if c == nil {
			t.Fatalf("top contributor = nil, notes %v", tr.Notes)
		}
		if c.Property != "country" || c.Name != "DE" || c.Difference != 6 || c.Share == nil || *c.Share != 6 {
			t.Errorf("top contributor = %+v, want country DE +6, share 6", c)
		}
	})
}

func TestComputeBehindPace(t *testing.T) {
	ctx := context.Background()
	eng, defs := newEngine(t)
	k, _ := defs.KPI("signups")
	target := 150.0
	k.Target = &kpi.Target{Value: &target, By: timegrain.DateOf(day(89))}

	series, err := eng.Series(ctx, defs, "signups", timegrain.Day, engine.Range{From: timegrain.DateOf(day(0)), To: timegrain.DateOf(day(42))})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Compute(ctx, eng, defs, k, series, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Pace == nil || tr.Pace.Status != analysis.BehindPace || !tr.Pace.Likely {
		t.Errorf("pace = %+v, want likely behind pace (109 against 150)", tr.Pace)
	}
}

func TestComputeOtherGrainNoPace(t *testing.T) {
	ctx := context.Background()
	eng, defs := newEngine(t)
	k, _ := defs.KPI("signups")

	series, err := eng.Series(ctx, defs, "signups", timegrain.Week, engine.Range{From: timegrain.DateOf(day(4)), To: timegrain.DateOf(day(42))})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Compute(ctx, eng, defs, k, series, Options{Property: "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Pace != nil {
		t.Errorf("pace = %+v, want none: the target is per day", tr.Pace)
	}
	if tr.Forecast == nil {
		t.Errorf("forecast = nil: %s", tr.ForecastError)
	}
}

func TestComputeBadPropertyKind(t *testing.T) {
	ctx := context.Background()
	eng, defs := newEngine(t)
	k, _ := defs.KPI("signups")
	k.Metric = kpi.Metric{Kind: kpi.MRR, StartEvent: "signup", CancelEvent: "cancel", Property: "amount"}

	series, err := eng.Series(ctx, defs, "signups", timegrain.Day, engine.Range{From: timegrain.DateOf(day(30)), To: timegrain.DateOf(day(41))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compute(ctx, eng, defs, k, series, Options{Property: "country"}); kpi.ErrorCode(err) != kpi.EINVALID {
		t.Errorf("requested property on MRR: err = %v, want EINVALID", err)
	}
	tr, err := Compute(ctx, eng, defs, k, series, Options{})
	if err != nil {
		t.Fatalf("KPI's own property on MRR: %v", err)
	}
	if tr.TopContributor != nil || len(tr.Notes) == 0 {
		t.Errorf("top contributor %+v, notes %v; want none with a note", tr.TopContributor, tr.Notes)
	}
}

func TestWithoutAnomalies(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	points := []analysis.Point{{Start: day(0), Value: v(1)}, {Start: day(1), Value: v(90)}, {Start: day(2), Value: v(3)}, {Start: day(3), Value: nil}, {Start: day(4), Value: v(80)}}
	anomalies := []analysis.Anomaly{{At: day(1)}, {At: day(4)}}

	got := withoutAnomalies(points, anomalies)
	// Day 1 is a spike the series came back from; day 4 is the newest value.
	want := []*float64{v(1), nil, v(3), nil, v(80)}
	for i := range want {
		switch {
		case (want[i] == nil) != (got[i].Value == nil):
			t.Errorf("day %d: value %v, want %v", i, got[i].Value, want[i])
		case want[i] != nil && *got[i].Value != *want[i]:
			t.Errorf("day %d: value %g, want %g", i, *got[i].Value, *want[i])
		}
	}
	if points[1].Value == nil {
		t.Error("withoutAnomalies changed its input")
	}
}

func TestBoundForecast(t *testing.T) {
	tests := []struct {
		kind kpi.MetricKind
		in   analysis.ForecastResult
		want [3]float64 // value, low, high
	}{
		// A falling daily count forecast below zero reaches zero.
		{kpi.Count, analysis.ForecastResult{Value: -17.1, Low: -40, High: 5}, [3]float64{0, 0, 5}},
		{kpi.UniqueUsers, analysis.ForecastResult{Value: 12, Low: -3, High: 27}, [3]float64{12, 0, 27}},
		{kpi.NPS, analysis.ForecastResult{Value: 104, Low: 90, High: 118}, [3]float64{100, 90, 100}},
		{kpi.NPS, analysis.ForecastResult{Value: -20, Low: -130, High: 10}, [3]float64{-20, -100, 10}},
		// Sums (refunds) and formulas may be negative.
		{kpi.Sum, analysis.ForecastResult{Value: -5, Low: -9, High: -1}, [3]float64{-5, -9, -1}},
		{kpi.Formula, analysis.ForecastResult{Value: -5, Low: -9, High: -1}, [3]float64{-5, -9, -1}},
	}
	for _, tt := range tests {
		lo, hi := valueBounds(tt.kind)
		got := boundForecast(tt.in, lo, hi)
		if [3]float64{got.Value, got.Low, got.High} != tt.want {
			t.Errorf("%s forecast %v..%v..%v bounded to %v..%v..%v, want %v", tt.kind, tt.in.Low, tt.in.Value, tt.in.High, got.Low, got.Value, got.High, tt.want)
		}
	}
}
