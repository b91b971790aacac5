package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// moneyKPIs define measurement KPIs and the formulas over them that the KPI
// catalogue offers: CAC, ARPU and LTV.
const moneyKPIs = `workspace:
  name: Money
  time_zone: America/New_York
  week_start: monday
metrics:
  ad_spend: {kind: measurement, series: ad_spend, aggregate: sum}
  new_customers: {kind: new_users, event: order}
  revenue: {kind: sum, event: order, property: revenue}
  customers: {kind: unique_users, event: order}
  customer_churn: {kind: churn, event: order}
kpis:
  - id: spend
    name: Ad spend
    unit: USD
    metric: {kind: measurement, series: ad_spend, aggregate: sum}
  - id: search_spend
    name: Search ad spend
    unit: USD
    metric: {kind: measurement, series: ad_spend, aggregate: sum, where: {channel: search}}
  - id: headcount
    name: Headcount
    metric: {kind: measurement, series: headcount, aggregate: last}
  - id: cac
    name: Customer acquisition cost
    unit: USD
    direction: down
    metric: {kind: formula, formula: ad_spend / new_customers}
  - id: arpu
    name: Average revenue per customer
    unit: USD
    metric: {kind: formula, formula: revenue / customers}
  - id: ltv
    name: Customer lifetime value
    unit: USD
    metric: {kind: formula, formula: arpu / (customer_churn / 100)}
`

// insertMeasurements stores measurements of a series at New York times.
func insertMeasurements(t *testing.T, db interface {
	InsertMeasurements(context.Context, []store.Measurement) (store.InsertResult, error)
}, series string, values map[string]float64, dims map[string]string) {
	t.Helper()
	var batch []store.Measurement
	for at, value := range values {
		batch = append(batch, store.Measurement{
			Series: series, Timestamp: ny(t, at), Value: value, Dimensions: dims,
			Source: "test", MessageID: fmt.Sprintf("%s-%v-%s", series, dims, at),
		})
	}
	if _, err := db.InsertMeasurements(context.Background(), batch); err != nil {
		t.Fatalf("insert %s: %v", series, err)
	}
}

// dailySpend returns one value per day from first to last, inclusive.
func dailySpend(first, last string, value float64) map[string]float64 {
	out := map[string]float64{}
	from, _ := time.Parse(time.DateOnly, first)
	to, _ := time.Parse(time.DateOnly, last)
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out[d.Format(time.DateOnly)+" 00:00"] = value
	}
	return out
}

func TestMeasurementLevelAndFlowByWeek(t *testing.T) {
	e, defs, db := openActivityEngine(t, moneyKPIs, farFuture, nil)
	insertMeasurements(t, db, "headcount", map[string]float64{
		"2026-01-05 09:00": 10,
		"2026-01-07 09:00": 12,
		"2026-01-11 23:00": 11, // Sunday night in New York, Monday in UTC
		"2026-01-13 09:00": 13,
	}, nil)
	insertMeasurements(t, db, "ad_spend", dailySpend("2026-01-05", "2026-01-18", 100), map[string]string{"channel": "search"})
	insertMeasurements(t, db, "ad_spend", dailySpend("2026-01-05", "2026-01-18", 50), map[string]string{"channel": "social"})

	headcount := series(t, e, defs, "headcount", timegrain.Week, "2026-01-05", "2026-01-25")
	checkValues(t, headcount, []want{
		{"2026-01-05 00:00", v(11)}, // the last value of the week, not 10 + 12 + 11
		{"2026-01-12 00:00", v(13)},
		{"2026-01-19 00:00", nil},
	})
	if got := headcount.Points[2].NoValueReason; got != "no headcount measurement in the period" {
		t.Errorf("empty week NoValueReason = %q", got)
	}

	spend := series(t, e, defs, "spend", timegrain.Week, "2026-01-05", "2026-01-25")
	checkValues(t, spend, []want{
		{"2026-01-05 00:00", v(7 * 150)},
		{"2026-01-12 00:00", v(7 * 150)},
		{"2026-01-19 00:00", nil}, // no spend recorded: unknown, not 0
	})

	search := series(t, e, defs, "search_spend", timegrain.Week, "2026-01-05", "2026-01-11")
	checkValues(t, search, []want{{"2026-01-05 00:00", v(700)}})

	days := series(t, e, defs, "headcount", timegrain.Day, "2026-01-11", "2026-01-12")
	checkValues(t, days, []want{{"2026-01-11 00:00", v(11)}, {"2026-01-12 00:00", nil}})
}

func TestMeasurementWarnsOnEmptySeries(t *testing.T) {
	e, defs, _ := openActivityEngine(t, moneyKPIs, farFuture, nil)

	s := series(t, e, defs, "spend", timegrain.Month, "2026-01-01", "2026-01-31")

	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], `no measurements of series "ad_spend" in this range`) {
		t.Errorf("warnings = %q", s.Warnings)
	}
}

func TestCACARPUAndLTVFormulas(t *testing.T) {
	revenue := func(v float64) map[string]any { return map[string]any{"revenue": v} }
	orders := []activityEvent{
		{"a", "order", "2026-01-05 10:00", revenue(100)},
		{"b", "order", "2026-01-10 10:00", revenue(50)},
		{"c", "order", "2026-01-20 10:00", revenue(30)},
		{"a", "order", "2026-01-25 10:00", revenue(20)},
		{"a", "order", "2026-02-03 10:00", revenue(40)},
		{"b", "order", "2026-02-14 10:00", revenue(60)},
	}
	e, defs, db := openActivityEngine(t, moneyKPIs, farFuture, orders)
	insertMeasurements(t, db, "ad_spend", dailySpend("2026-01-01", "2026-02-28", 100), map[string]string{"channel": "search"})
	insertMeasurements(t, db, "ad_spend", dailySpend("2026-01-01", "2026-02-28", 50), map[string]string{"channel": "social"})

	// January: 31 days × 150 spent for 3 new customers. February: 28 × 150
	// and no new customer, so no value. March: nothing spent and no new customer.
	cac := series(t, e, defs, "cac", timegrain.Month, "2026-01-01", "2026-03-31")
	checkValues(t, cac, []want{
		{"2026-01-01 00:00", v(31 * 150 / 3.0)},
		{"2026-02-01 00:00", nil},
		{"2026-03-01 00:00", nil},
	})
	if got := cac.Points[1].NoValueReason; got != "division by zero" {
		t.Errorf("February NoValueReason = %q, want division by zero", got)
	}
	if got := cac.Points[2].NoValueReason; got != "ad_spend has no value" {
		t.Errorf("March NoValueReason = %q, want ad_spend has no value", got)
	}

	// ARPU: January 200 from 3 customers, February 100 from 2.
	arpu := series(t, e, defs, "arpu", timegrain.Month, "2026-01-01", "2026-02-28")
	checkValues(t, arpu, []want{{"2026-01-01 00:00", v(200.0 / 3)}, {"2026-02-01 00:00", v(50)}})

	// LTV: February's churn is c of a, b, c, a third, so LTV = 50 / (1/3).
	// January has no previous month, so no churn and no LTV.
	ltv := series(t, e, defs, "ltv", timegrain.Month, "2026-01-01", "2026-02-28")
	checkValues(t, ltv, []want{{"2026-01-01 00:00", nil}, {"2026-02-01 00:00", v(150)}})
	if got := ltv.Points[0].NoValueReason; got != "customer_churn has no value" {
		t.Errorf("January LTV NoValueReason = %q", got)
	}
}
