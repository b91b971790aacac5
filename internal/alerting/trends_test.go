package alerting_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/alerting"
)

// TestAnomalyCondition evaluates an anomaly rule on a flat daily series of
// 100 whose 21st day jumps to 300. Every residual but the spike's is 0, so
// the MAD is 0 and the scale is 1.2533 × 200/21 ≈ 11.9: the spike's score is
// about 16.8, far beyond the 3.5 cut-off, and no other day is flagged.
func TestAnomalyCondition(t *testing.T) {
	f := newFixture(t, revenueKPIs)
	ctx := context.Background()
	f.now = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rule, err := f.rules.Create(ctx, alerting.RuleInput{KPIID: "revenue", Condition: alerting.ConditionInput{Kind: "anomaly"}})
	if err != nil {
		t.Fatal(err)
	}

	for day := 1; day <= 20; day++ {
		f.measure(t, day, 100)
	}
	f.now = march(21)
	if err := f.eval.Evaluate(ctx, f.now); err != nil {
		t.Fatal(err)
	}
	f.measure(t, 21, 300)
	f.now = march(22)
	if err := f.eval.Evaluate(ctx, f.now); err != nil {
		t.Fatal(err)
	}

	history, err := f.db.AlertHistory(ctx, rule.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 1 {
		t.Fatalf("history = %+v, want one transition", history)
	}
	if h := history[0]; h.From != "normal" || h.To != "firing" || !h.At.Equal(march(22)) || h.Value == nil || *h.Value != 300 {
		t.Errorf("transition = %+v, want normal -> firing on the 22nd at 300", h)
	}
}

const targetKPIs = `workspace:
  name: Test
  time_zone: UTC
kpis:
  - id: behind
    name: Behind
    grain: day
    metric: {kind: measurement, series: users, aggregate: last}
    target: {value: 200, by: 2026-03-31}
  - id: ahead
    name: Ahead
    grain: day
    metric: {kind: measurement, series: users, aggregate: last}
    target: {value: 120, by: 2026-03-31}
`

// TestForecastMissCondition forecasts a straight line, 100 on 1 March and
// one more each day, to 31 March: 100 + 30 = 130 exactly. That misses a
// target of 200 and beats a target of 120.
func TestForecastMissCondition(t *testing.T) {
	f := newFixture(t, targetKPIs)
	ctx := context.Background()
	f.now = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	var ids []int64
	for _, k := range []string{"behind", "ahead"} {
		r, err := f.rules.Create(ctx, alerting.RuleInput{KPIID: k, Condition: alerting.ConditionInput{Kind: "forecast_miss"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	for day := 1; day <= 10; day++ {
		f.measureSeries(t, "users", day, float64(99+day))
	}
	f.now = march(11)
	if err := f.eval.Evaluate(ctx, f.now); err != nil {
		t.Fatal(err)
	}

	behind, err := f.db.AlertRule(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if behind.State.State != "firing" {
		t.Errorf("behind: state %s, want firing", behind.State.State)
	}
	if v := behind.State.Value; v == nil || math.Abs(*v-130) > 1e-6 {
		t.Errorf("behind: forecast %v, want 130", fmtValue(v))
	}

	ahead, err := f.db.AlertRule(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if ahead.State.State != "normal" {
		t.Errorf("ahead: state %s, want normal", ahead.State.State)
	}
}

func TestForecastMissNeedsTarget(t *testing.T) {
	f := newFixture(t, revenueKPIs)
	_, err := f.rules.Create(context.Background(), alerting.RuleInput{KPIID: "revenue", Condition: alerting.ConditionInput{Kind: "forecast_miss"}})
	if err == nil {
		t.Fatal("a forecast_miss rule on a KPI without a target was accepted")
	}
}

func fmtValue(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}
