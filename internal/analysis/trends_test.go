package analysis

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func ptr(v float64) *float64 { return &v }

// day returns midnight UTC of the day n days after Thursday 2026-01-01.
func day(n int) time.Time {
	return time.Date(2026, time.January, 1+n, 0, 0, 0, 0, time.UTC)
}

// daySeries returns one point a day from day(0), with the value f(i), or no
// value where f returns nil.
func daySeries(n int, f func(i int) *float64) []Point {
	points := make([]Point, n)
	for i := range points {
		points[i] = Point{Start: day(i), Value: f(i)}
	}
	return points
}

func near(a, b, tolerance float64) bool { return math.Abs(a-b) <= tolerance }

func TestPeriodChange(t *testing.T) {
	tests := []struct {
		name        string
		points      []Point
		wantNil     bool
		wantDiff    float64
		wantPercent *float64
	}{
		{"increase", []Point{{day(0), ptr(80)}, {day(1), ptr(100)}}, false, 20, ptr(25)},
		{"decrease from negative", []Point{{day(0), ptr(-10)}, {day(1), ptr(-15)}}, false, -5, ptr(-50)},
		{"from zero", []Point{{day(0), ptr(0)}, {day(1), ptr(4)}}, false, 4, nil},
		{"zero to zero", []Point{{day(0), ptr(0)}, {day(1), ptr(0)}}, false, 0, ptr(0)},
		// The period before has no value: the one before that is not used.
		{"previous without value", []Point{{day(0), ptr(50)}, {day(1), nil}, {day(2), ptr(60)}}, true, 0, nil},
		{"current without value", []Point{{day(0), ptr(50)}, {day(1), nil}}, true, 0, nil},
		{"one point", []Point{{day(0), ptr(50)}}, true, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PeriodChange(tt.points)
			if tt.wantNil {
				if got != nil {
					t.Fatalf("PeriodChange = %+v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatal("PeriodChange = nil, want a change")
			}
			if !near(got.Difference, tt.wantDiff, 1e-12) {
				t.Errorf("difference = %g, want %g", got.Difference, tt.wantDiff)
			}
			switch {
			case tt.wantPercent == nil && got.Percent != nil:
				t.Errorf("percent = %g, want nil", *got.Percent)
			case tt.wantPercent != nil && got.Percent == nil:
				t.Errorf("percent = nil, want %g", *tt.wantPercent)
			case tt.wantPercent != nil && !near(*got.Percent, *tt.wantPercent, 1e-12):
				t.Errorf("percent = %g, want %g", *got.Percent, *tt.wantPercent)
			}
		})
	}
}

func TestYearAgo(t *testing.T) {
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		grain timegrain.Grain
		start time.Time
		want  time.Time
	}{
		// Friday 2026-12-04 is compared with Friday 2025-12-05, 364 days before.
		{timegrain.Day, date(2026, 12, 4), date(2025, 12, 5)},
		{timegrain.Week, date(2026, 11, 30), date(2025, 12, 1)},
		{timegrain.Month, date(2026, 3, 1), date(2025, 3, 1)},
		{timegrain.Quarter, date(2026, 10, 1), date(2025, 10, 1)},
	}
	for _, tt := range tests {
		t.Run(string(tt.grain), func(t *testing.T) {
			got := YearAgo(tt.grain, tt.start)
			if !got.Equal(tt.want) {
				t.Errorf("YearAgo(%s, %s) = %s, want %s", tt.grain, tt.start.Format(time.DateOnly), got.Format(time.DateOnly), tt.want.Format(time.DateOnly))
			}
			if tt.grain == timegrain.Day && got.Weekday() != tt.start.Weekday() {
				t.Errorf("weekday = %s, want %s", got.Weekday(), tt.start.Weekday())
			}
		})
	}
}

func TestYearOverYear(t *testing.T) {
	month := func(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC) }
	points := []Point{{month(2026, 2), ptr(90)}, {month(2026, 3), ptr(120)}}
	lastYear := []Point{{month(2025, 2), ptr(60)}, {month(2025, 3), ptr(80)}}

	got := YearOverYear(timegrain.Month, points, lastYear)
	if got == nil {
		t.Fatal("YearOverYear = nil, want a change")
	}
	if !got.PreviousStart.Equal(month(2025, 3)) {
		t.Errorf("previous start = %s, want 2025-03-01", got.PreviousStart)
	}
	// (120 − 80) / 80 = 50 %.
	if got.Percent == nil || !near(*got.Percent, 50, 1e-12) {
		t.Errorf("percent = %v, want 50", got.Percent)
	}

	missing := []Point{{month(2025, 2), ptr(60)}, {month(2025, 3), nil}}
	if got := YearOverYear(timegrain.Month, points, missing); got != nil {
		t.Errorf("YearOverYear without last year's value = %+v, want nil", got)
	}
	if got := YearOverYear(timegrain.Month, points, nil); got != nil {
		t.Errorf("YearOverYear without last year = %+v, want nil", got)
	}
}

func TestMovingAverage(t *testing.T) {
	points := []Point{{day(0), ptr(1)}, {day(1), ptr(2)}, {day(2), nil}, {day(3), ptr(4)}, {day(4), ptr(5)}, {day(5), nil}, {day(6), nil}, {day(7), nil}}
	// Window 3, by hand: [1], [1,2], [1,2,–], [2,–,4], [–,4,5], [4,5,–], [5,–,–], [–,–,–].
	want := []*float64{ptr(1), ptr(1.5), ptr(1.5), ptr(3), ptr(4.5), ptr(4.5), ptr(5), nil}

	got, err := MovingAverage(points, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		switch {
		case want[i] == nil && got[i] != nil:
			t.Errorf("average[%d] = %g, want none", i, *got[i])
		case want[i] != nil && got[i] == nil:
			t.Errorf("average[%d] = none, want %g", i, *want[i])
		case want[i] != nil && !near(*got[i], *want[i], 1e-12):
			t.Errorf("average[%d] = %g, want %g", i, *got[i], *want[i])
		}
	}

	if _, err := MovingAverage(points, 0); err == nil {
		t.Error("MovingAverage with window 0: no error")
	}
}

func TestForecastStraightLine(t *testing.T) {
	// y = 10 + 2·i for 10 days: day 20 is 50, exactly.
	points := daySeries(10, func(i int) *float64 { return ptr(10 + 2*float64(i)) })

	got, err := Forecast(timegrain.Day, points, day(20), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got.Value, 50, 1e-9) {
		t.Errorf("value = %g, want 50", got.Value)
	}
	if width := got.High - got.Low; !(width >= 0 && width < 1e-6) {
		t.Errorf("interval = [%g, %g], want a width under 1e-6", got.Low, got.High)
	}
	if got.Method != MethodLinear {
		t.Errorf("method = %s, want %s (10 days cover no weekday twice)", got.Method, MethodLinear)
	}
	if got.Level != DefaultLevel {
		t.Errorf("level = %g, want %g", got.Level, DefaultLevel)
	}
}

func TestForecastMonthLine(t *testing.T) {
	// 1,000 more each month from 5,000 in 2026-01: 2026-12 is 16,000.
	points := make([]Point, 6)
	for i := range points {
		points[i] = Point{Start: time.Date(2026, time.Month(1+i), 1, 0, 0, 0, 0, time.UTC), Value: ptr(5000 + 1000*float64(i))}
	}
	got, err := Forecast(timegrain.Month, points, time.Date(2026, time.December, 15, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got.Value, 16000, 1e-6) {
		t.Errorf("value = %g, want 16000", got.Value)
	}
}

func TestForecastAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// Days from 2026-03-25 to 2026-04-03 in Berlin; 2026-03-29 has 23 hours.
	points := make([]Point, 10)
	for i := range points {
		points[i] = Point{Start: time.Date(2026, time.March, 25+i, 0, 0, 0, 0, berlin), Value: ptr(float64(3 * i))}
	}
	got, err := Forecast(timegrain.Day, points, time.Date(2026, time.April, 14, 0, 0, 0, 0, berlin), 0)
	if err != nil {
		t.Fatal(err)
	}
	// 2026-04-14 is 20 days after 2026-03-25.
	if !near(got.Value, 60, 1e-9) {
		t.Errorf("value = %g, want 60", got.Value)
	}
}

func TestForecastInterval(t *testing.T) {
	// Simple regression on x = 0..4, y = 1, 3, 2, 5, 4, by hand:
	// x̄ = 2, ȳ = 3, Sxx = 10, Sxy = 8, so b = 0.8 and a = 1.4; the residuals
	// are −0.4, 0.8, −1.0, 1.2, −0.6, SSE = 3.6 and s² = 3.6/3 = 1.2.
	// At x₀ = 7: ŷ = 7 and the 95 % interval is
	// ŷ ± t(0.975; 3)·s·√(1 + 1/5 + (7−2)²/10), with t(0.975; 3) = 3.182446
	// from a table of Student's t.
	values := []float64{1, 3, 2, 5, 4}
	points := daySeries(5, func(i int) *float64 { return ptr(values[i]) })
	half := 3.182446 * math.Sqrt(1.2) * math.Sqrt(1+1.0/5+25.0/10)

	got, err := Forecast(timegrain.Day, points, day(7), 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got.Value, 7, 1e-9) {
		t.Errorf("value = %g, want 7", got.Value)
	}
	if !near(got.Low, 7-half, 1e-4) || !near(got.High, 7+half, 1e-4) {
		t.Errorf("interval = [%g, %g], want [%g, %g]", got.Low, got.High, 7-half, 7+half)
	}
	if got.Observations != 5 {
		t.Errorf("observations = %d, want 5", got.Observations)
	}
}

// weekly is a weekly pattern by weekday: quiet weekends, busy Mondays.
var weekly = map[time.Weekday]float64{
	time.Sunday: -40, time.Monday: 15, time.Tuesday: 10, time.Wednesday: 8,
	time.Thursday: 6, time.Friday: 1, time.Saturday: -30,
}

func TestForecastWeeklySeasonality(t *testing.T) {
	line := func(i int) float64 { return 300 + 4*float64(i) + weekly[day(i).Weekday()] }
	points := daySeries(28, func(i int) *float64 { return ptr(line(i)) })

	// Day 45 is a Sunday, 2026-02-15.
	got, err := Forecast(timegrain.Day, points, day(45), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != MethodLinearSeasonal {
		t.Errorf("method = %s, want %s", got.Method, MethodLinearSeasonal)
	}
	want := 300 + 4*45.0 - 40
	if !near(got.Value, want, 1e-6) {
		t.Errorf("value = %g, want %g", got.Value, want)
	}
	if width := got.High - got.Low; !(width >= 0 && width < 1e-6) {
		t.Errorf("interval = [%g, %g], want a width under 1e-6", got.Low, got.High)
	}
}

func TestForecastFlat(t *testing.T) {
	points := daySeries(21, func(int) *float64 { return ptr(5) })
	got, err := Forecast(timegrain.Day, points, day(30), 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]float64{"value": got.Value, "low": got.Low, "high": got.High} {
		if math.IsNaN(v) || !near(v, 5, 1e-9) {
			t.Errorf("%s = %g, want 5", name, v)
		}
	}
}

func TestForecastGap(t *testing.T) {
	// The line y = 10 + 2·i with no value on days 3, 4, 5 and 9: read as zeros,
	// those days would pull the forecast down.
	gaps := map[int]bool{3: true, 4: true, 5: true, 9: true}
	points := daySeries(12, func(i int) *float64 {
		if gaps[i] {
			return nil
		}
		return ptr(10 + 2*float64(i))
	})
	got, err := Forecast(timegrain.Day, points, day(20), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got.Value, 50, 1e-9) {
		t.Errorf("value = %g, want 50", got.Value)
	}
	if got.Observations != 8 {
		t.Errorf("observations = %d, want 8", got.Observations)
	}

	// A seasonal series with a missing week still fits its season.
	seasonal := daySeries(35, func(i int) *float64 {
		if i >= 14 && i < 21 {
			return nil
		}
		return ptr(300 + 4*float64(i) + weekly[day(i).Weekday()])
	})
	got, err = Forecast(timegrain.Day, seasonal, day(45), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := 300 + 4*45.0 - 40; !near(got.Value, want, 1e-6) {
		t.Errorf("seasonal value = %g, want %g", got.Value, want)
	}
}

func TestForecastErrors(t *testing.T) {
	two := daySeries(5, func(i int) *float64 {
		if i < 2 {
			return ptr(1)
		}
		return nil
	})
	if _, err := Forecast(timegrain.Day, two, day(10), 0); !errors.Is(err, ErrTooFewValues) {
		t.Errorf("two values: err = %v, want ErrTooFewValues", err)
	}
	if _, err := Forecast(timegrain.Day, nil, day(10), 0); !errors.Is(err, ErrTooFewValues) {
		t.Errorf("no points: err = %v, want ErrTooFewValues", err)
	}
	line := daySeries(5, func(i int) *float64 { return ptr(float64(i)) })
	if _, err := Forecast(timegrain.Day, line, day(10), 1.5); err == nil {
		t.Error("level 1.5: no error")
	}
}

func TestPace(t *testing.T) {
	f := ForecastResult{Value: 100, Low: 90, High: 110}
	tests := []struct {
		name       string
		target     float64
		direction  kpi.Direction
		wantStatus PaceStatus
		wantLikely bool
	}{
		{"up reached, interval above", 85, kpi.Up, OnPace, true},
		{"up reached, interval spans", 95, kpi.Up, OnPace, false},
		{"up exactly at target", 100, kpi.Up, OnPace, false},
		{"up missed, interval spans", 105, kpi.Up, BehindPace, false},
		{"up missed, interval below", 120, kpi.Up, BehindPace, true},
		{"down reached, interval below", 120, kpi.Down, OnPace, true},
		{"down reached, interval spans", 105, kpi.Down, OnPace, false},
		{"down missed, interval above", 80, kpi.Down, BehindPace, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Pace(f, tt.target, tt.direction)
			if got.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", got.Status, tt.wantStatus)
			}
			if got.Likely != tt.wantLikely {
				t.Errorf("likely = %v, want %v", got.Likely, tt.wantLikely)
			}
			if !near(got.Gap, 100-tt.target, 1e-12) {
				t.Errorf("gap = %g, want %g", got.Gap, 100-tt.target)
			}
		})
	}
}

func TestAnomaliesWeeklySpike(t *testing.T) {
	const spikeDay = 17
	// noise is a fixed pattern in [−2.5, 2.5], so the test repeats exactly.
	noise := func(i int) float64 { return float64((i*7919)%11-5) * 0.5 }
	tests := []struct {
		name  string
		value func(i int) float64
	}{
		{"exact", func(i int) float64 { return 200 + 1.5*float64(i) + weekly[day(i).Weekday()] }},
		{"noisy", func(i int) float64 { return 200 + 1.5*float64(i) + weekly[day(i).Weekday()] + noise(i) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			points := daySeries(42, func(i int) *float64 {
				v := tt.value(i)
				if i == spikeDay {
					v += 60
				}
				return ptr(v)
			})
			got := Anomalies(timegrain.Day, points)
			if len(got) != 1 {
				t.Fatalf("anomalies = %+v, want one on day %d", got, spikeDay)
			}
			if !got[0].At.Equal(day(spikeDay)) {
				t.Errorf("anomaly at %s, want %s", got[0].At.Format(time.DateOnly), day(spikeDay).Format(time.DateOnly))
			}
			if got[0].Score <= AnomalyThreshold {
				t.Errorf("score = %g, want above %g", got[0].Score, AnomalyThreshold)
			}
			if want := tt.value(spikeDay); !near(got[0].Expected, want, 3) {
				t.Errorf("expected = %g, want about %g", got[0].Expected, want)
			}
		})
	}
}

func TestAnomaliesDip(t *testing.T) {
	points := daySeries(28, func(i int) *float64 {
		v := 500 + weekly[day(i).Weekday()]
		if i == 10 {
			v = 150
		}
		return ptr(v)
	})
	got := Anomalies(timegrain.Day, points)
	if len(got) != 1 || !got[0].At.Equal(day(10)) || got[0].Score >= 0 {
		t.Errorf("anomalies = %+v, want one low score on day 10", got)
	}
}

func TestAnomaliesFlat(t *testing.T) {
	points := daySeries(30, func(int) *float64 { return ptr(42) })
	if got := Anomalies(timegrain.Day, points); len(got) != 0 {
		t.Errorf("anomalies = %+v, want none", got)
	}
}

func TestAnomaliesGap(t *testing.T) {
	// Days without a value are skipped: read as zeros, each would be flagged.
	points := daySeries(35, func(i int) *float64 {
		switch {
		case i == 8 || i == 9 || i == 20:
			return nil
		case i == 25:
			return ptr(900)
		}
		return ptr(400 + 2*float64(i) + weekly[day(i).Weekday()])
	})
	got := Anomalies(timegrain.Day, points)
	if len(got) != 1 || !got[0].At.Equal(day(25)) {
		t.Errorf("anomalies = %+v, want one on day 25", got)
	}
}

func TestAnomaliesMonthGrain(t *testing.T) {
	points := make([]Point, 12)
	for i := range points {
		v := 1000 + 50*float64(i)
		if i == 7 {
			v = 3000
		}
		points[i] = Point{Start: time.Date(2026, time.Month(1+i), 1, 0, 0, 0, 0, time.UTC), Value: ptr(v)}
	}
	got := Anomalies(timegrain.Month, points)
	if len(got) != 1 || got[0].At.Month() != time.August {
		t.Errorf("anomalies = %+v, want one in August", got)
	}
}

func TestAnomaliesTooShort(t *testing.T) {
	points := daySeries(6, func(i int) *float64 { return ptr(float64(i * i * 100)) })
	if got := Anomalies(timegrain.Day, points); got != nil {
		t.Errorf("anomalies = %+v, want none for 6 values", got)
	}
}

func TestTopContributor(t *testing.T) {
	tests := []struct {
		name      string
		segments  []SegmentChange
		wantName  string
		wantShare *float64
	}{
		{
			// Total change 30 − 5 + 10 = 35, of which US is 30.
			name: "growth",
			segments: []SegmentChange{
				{"DE", ptr(50), ptr(45)}, {"US", ptr(100), ptr(130)}, {"FR", ptr(20), ptr(30)}, {"IT", nil, ptr(500)},
			},
			wantName: "US", wantShare: ptr(30.0 / 35),
		},
		{
			// Total change −20 + 4 − 2 = −18, of which DE is −20.
			name: "decline",
			segments: []SegmentChange{
				{"US", ptr(100), ptr(104)}, {"DE", ptr(50), ptr(30)}, {"FR", ptr(20), ptr(18)},
			},
			wantName: "DE", wantShare: ptr(-20.0 / -18),
		},
		{
			name:     "no total change",
			segments: []SegmentChange{{"A", ptr(10), ptr(13)}, {"B", ptr(15), ptr(8)}, {"C", ptr(5), ptr(9)}},
			wantName: "B",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TopContributor(tt.segments)
			if got == nil {
				t.Fatal("TopContributor = nil")
			}
			if got.Name != tt.wantName {
				t.Errorf("segment = %s, want %s", got.Name, tt.wantName)
			}
			switch {
			case tt.wantShare == nil && got.Share != nil:
				t.Errorf("share = %g, want nil", *got.Share)
			case tt.wantShare != nil && (got.Share == nil || !near(*got.Share, *tt.wantShare, 1e-12)):
				t.Errorf("share = %v, want %g", got.Share, *tt.wantShare)
			}
		})
	}

	if got := TopContributor([]SegmentChange{{"A", nil, ptr(1)}, {"B", ptr(2), ptr(2)}}); got != nil {
		t.Errorf("TopContributor without change = %+v, want nil", got)
	}
}

func TestForecastModelPredict(t *testing.T) {
	points := daySeries(28, func(i int) *float64 { return ptr(300 + 4*float64(i) + weekly[day(i).Weekday()]) })
	m, err := FitForecast(timegrain.Day, points, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{28, 30, 45, 100} {
		got := m.Predict(day(i))
		if want := 300 + 4*float64(i) + weekly[day(i).Weekday()]; !near(got.Value, want, 1e-6) {
			t.Errorf("day %d: value = %g, want %g", i, got.Value, want)
		}
	}
}

// BenchmarkTrendFunctions runs the analysis of one series of MaxPeriods
// days (4,000): anomalies, one fit and a prediction per period.
func BenchmarkTrendFunctions(b *testing.B) {
	points := daySeries(4000, func(i int) *float64 {
		return ptr(1000 + 0.5*float64(i) + weekly[day(i).Weekday()] + float64((i*7919)%13))
	})
	for b.Loop() {
		Anomalies(timegrain.Day, points)
		m, err := FitForecast(timegrain.Day, points, 0)
		if err != nil {
			b.Fatal(err)
		}
		for i := range 4000 {
			m.Predict(day(4000 + i))
		}
	}
}

func TestForecastConstantGrowth(t *testing.T) {
	// 20 % more each month from 100 in 2026-01: December (month 11) is
	// 100·1.2¹¹ = 743.0083706879999, which no straight line reaches.
	points := make([]Point, 8)
	for i := range points {
		points[i] = Point{Start: time.Date(2026, time.Month(1+i), 1, 0, 0, 0, 0, time.UTC), Value: ptr(100 * math.Pow(1.2, float64(i)))}
	}
	got, err := Forecast(timegrain.Month, points, time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != MethodLogLinear {
		t.Errorf("method = %s, want %s", got.Method, MethodLogLinear)
	}
	if !near(got.Value, 743.0083706879999, 1e-6) {
		t.Errorf("value = %.10g, want 743.0083707", got.Value)
	}
	if width := got.High - got.Low; !(width >= 0 && width < 1e-6) {
		t.Errorf("interval = [%g, %g], want a width under 1e-6", got.Low, got.High)
	}

	// With a value of 0 the log fit is impossible, and the linear one is used.
	points[0].Value = ptr(0)
	got, err = Forecast(timegrain.Month, points, time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != MethodLinear {
		t.Errorf("with a 0: method = %s, want %s", got.Method, MethodLinear)
	}
}

func TestAnomaliesConstantGrowth(t *testing.T) {
	// 15 % more each month for two years: no month is unusual, but the
	// newest months lie far above any straight line through the series.
	growth := func(i int) float64 { return 100 * math.Pow(1.15, float64(i)) }
	month := func(i int) time.Time { return time.Date(2025, time.Month(1+i), 1, 0, 0, 0, 0, time.UTC) }
	points := make([]Point, 24)
	for i := range points {
		points[i] = Point{Start: month(i), Value: ptr(growth(i))}
	}
	if linear, _ := anomaliesOf(timegrain.Month, observations(timegrain.Month, points)); len(linear) == 0 {
		t.Fatal("a straight-line fit flags no month: the case does not test the log scale")
	}
	if got := Anomalies(timegrain.Month, points); len(got) != 0 {
		t.Errorf("anomalies = %+v, want none", got)
	}

	// A month at three times its growth path is flagged on both scales.
	points[12].Value = ptr(3 * growth(12))
	got := Anomalies(timegrain.Month, points)
	if len(got) != 1 || !got[0].At.Equal(month(12)) {
		t.Errorf("anomalies = %+v, want 2026-01 only", got)
	}
}
