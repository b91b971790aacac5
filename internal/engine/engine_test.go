package engine

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// testKPIs is the KPI file of these tests, in New York time. WEEK_START is
// replaced by each test.
const testKPIs = `workspace:
  name: Test shop
  time_zone: America/New_York
  week_start: WEEK_START
metrics:
  paid_orders:
    kind: count
    event: order
    where: {paid: true}
kpis:
  - id: orders
    name: Orders
    metric: {kind: count, event: order}
  - id: buyers
    name: Buyers
    metric: {kind: unique_users, event: order}
  - id: revenue
    name: Revenue
    metric: {kind: sum, event: order, property: revenue}
  - id: avg_revenue
    name: Average revenue
    metric: {kind: average, event: order, property: revenue}
  - id: aov
    name: Average order value
    metric: {kind: formula, formula: revenue / orders}
  - id: double_avg
    name: Twice the average revenue
    metric: {kind: formula, formula: avg_revenue * 2}
  - id: paid_share
    name: Paid share
    unit: "%"
    metric: {kind: formula, formula: paid_orders / orders * 100}
  - id: orders_path
    name: Orders on a path
    grain: month
    metric: {kind: count, event: order}
    baseline: {value: 3, date: 2025-12-01}
    target: {value: 6, by: 2026-02-28}
    thresholds: {at_risk: 5%, off_track: 70%}
  - id: revenue_growth
    name: Revenue growth
    grain: month
    metric: {kind: sum, event: order, property: revenue}
    baseline: {date: 2026-01-01}
    target: {change: "+20%", by: 2026-02-28}
  - id: orders_310
    name: Orders, 310 a month
    grain: month
    metric: {kind: count, event: order}
    target: {value: 310, by: 2026-12-31}
  - id: buyers_target
    name: Buyers, 4 a month
    grain: month
    metric: {kind: unique_users, event: order}
    target: {value: 4, by: 2026-12-31}
  - id: avg_revenue_from_empty
    name: Average revenue against an empty baseline
    grain: month
    metric: {kind: average, event: order, property: revenue}
    baseline: {date: 2025-06-01}
    target: {change: "+10%", by: 2026-12-31}
`

func newYork(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("load America/New_York: %v (install tzdata)", err)
	}
	return loc
}

// ny parses "2006-01-02 15:04" as New York wall-clock time.
func ny(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, newYork(t))
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

func date(s string) timegrain.Date {
	d, err := timegrain.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

type order struct {
	user  string
	at    string // New York time
	props map[string]any
}

// shopOrders are the events most tests count by hand. Times are New York
// time (EST, -05:00). o2 and o4 fall on the next day in UTC, so a series
// bucketed in UTC would differ.
//
//	o1 alice Mon 2026-01-05 10:00 revenue 10 paid
//	o2 bob   Mon 2026-01-05 23:30 revenue 20
//	o3 alice Tue 2026-01-06 09:00 revenue 30 paid
//	o4 carol Sun 2026-01-11 20:00 revenue 40
//	o5 bob   Mon 2026-01-12 00:30 revenue 50
//	o6 alice Tue 2026-02-03 12:00 (no revenue)
//	o7 dave  Tue 2026-02-10 12:00 revenue 100 paid
//
// A signup by erin on 2026-01-07 is another event and never counted.
var shopOrders = []order{
	{"alice", "2026-01-05 10:00", map[string]any{"revenue": 10, "paid": true}},
	{"bob", "2026-01-05 23:30", map[string]any{"revenue": 20, "paid": false}},
	{"alice", "2026-01-06 09:00", map[string]any{"revenue": 30, "paid": true}},
	{"carol", "2026-01-11 20:00", map[string]any{"revenue": 40}},
	{"bob", "2026-01-12 00:30", map[string]any{"revenue": 50, "paid": false}},
	{"alice", "2026-02-03 12:00", nil},
	{"dave", "2026-02-10 12:00", map[string]any{"revenue": 100, "paid": true}},
}

// newEngine opens a fresh database in a temporary directory, stores orders
// (and erin's signup), and returns an engine whose clock is now.
func newEngine(t *testing.T, weekStart string, now time.Time, orders []order) (*Engine, *kpi.Definitions) {
	t.Helper()
	ctx := context.Background()

	defs, err := kpi.Parse("test.yaml", []byte(strings.ReplaceAll(testKPIs, "WEEK_START", weekStart)))
	if err != nil {
		t.Fatalf("parse test KPIs: %v", err)
	}

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })

	events := []store.Event{{
		Name: "signup", DistinctID: "erin", Timestamp: ny(t, "2026-01-07 12:00"),
		Properties: map[string]any{"revenue": 999}, Source: "test", MessageID: "signup-1",
	}}
	for i, o := range orders {
		events = append(events, store.Event{
			Name: "order", DistinctID: o.user, Timestamp: ny(t, o.at),
			Properties: o.props, Source: "test", MessageID: fmt.Sprint("order-", i),
		})
	}
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatalf("insert events: %v", err)
	}

	return New(db, func() time.Time { return now }), defs
}

func series(t *testing.T, e *Engine, defs *kpi.Definitions, id string, g timegrain.Grain, from, to string) *Series {
	t.Helper()
	s, err := e.Series(context.Background(), defs, id, g, Range{From: date(from), To: date(to)})
	if err != nil {
		t.Fatalf("Series(%s, %s, %s..%s): %v", id, g, from, to, err)
	}
	return s
}

// want is the expected value of one point; nil means no value.
type want struct {
	start string // New York time
	value *float64
}

func v(x float64) *float64 { return &x }

func checkValues(t *testing.T, s *Series, wants []want) {
	t.Helper()
	if len(s.Points) != len(wants) {
		t.Fatalf("%s: got %d points, want %d", s.KPI, len(s.Points), len(wants))
	}
	for i, w := range wants {
		p := s.Points[i]
		if !p.Start.Equal(ny(t, w.start)) {
			t.Errorf("%s point %d: Start = %s, want %s", s.KPI, i, p.Start.In(newYork(t)).Format(time.DateTime), w.start)
		}
		checkFloat(t, fmt.Sprintf("%s %s value", s.KPI, w.start), p.Value, w.value)
	}
}

func checkFloat(t *testing.T, label string, got, want *float64) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil:
		t.Errorf("%s = nil, want %g", label, *want)
	case want == nil:
		t.Errorf("%s = %g, want nil", label, *got)
	case math.Abs(*got-*want) > 1e-9*math.Max(1, math.Abs(*want)):
		t.Errorf("%s = %.10g, want %.10g", label, *got, *want)
	}
}

var farFuture = time.Date(2026, time.June, 1, 16, 0, 0, 0, time.UTC)

func TestSeriesDay(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)

	tests := []struct {
		id     string
		values []*float64 // Jan 5 .. Jan 12
	}{
		{"orders", []*float64{v(2), v(1), v(0), v(0), v(0), v(0), v(1), v(1)}},
		{"buyers", []*float64{v(2), v(1), v(0), v(0), v(0), v(0), v(1), v(1)}},
		{"revenue", []*float64{v(30), v(30), v(0), v(0), v(0), v(0), v(40), v(50)}},
		{"avg_revenue", []*float64{v(15), v(30), nil, nil, nil, nil, v(40), v(50)}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			s := series(t, e, defs, tt.id, timegrain.Day, "2026-01-05", "2026-01-12")

			wants := make([]want, len(tt.values))
			for i, val := range tt.values {
				wants[i] = want{fmt.Sprintf("2026-01-%02d 00:00", 5+i), val}
			}
			checkValues(t, s, wants)
			for i, p := range s.Points {
				if p.Partial {
					t.Errorf("point %d is partial", i)
				}
				if want := p.Start.AddDate(0, 0, 1); !p.End.Equal(want) {
					t.Errorf("point %d: End = %s, want %s", i, p.End, want)
				}
			}
		})
	}
}

func TestSeriesNoValueReasonAndStatus(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)

	s := series(t, e, defs, "avg_revenue", timegrain.Day, "2026-01-07", "2026-01-07")

	p := s.Points[0]
	if p.Value != nil {
		t.Fatalf("value = %g, want nil", *p.Value)
	}
	if p.NoValueReason != "no order event with a numeric revenue" {
		t.Errorf("NoValueReason = %q", p.NoValueReason)
	}
	if p.Status != kpi.NoData {
		t.Errorf("Status = %s, want %s", p.Status, kpi.NoData)
	}
	if s.Baseline != nil || s.Goal != nil {
		t.Errorf("a KPI without target has Baseline %v and Goal %v, want nil", s.Baseline, s.Goal)
	}
}

func TestSeriesDayChange(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)

	s := series(t, e, defs, "orders", timegrain.Day, "2026-01-05", "2026-01-08")

	tests := []struct {
		previous, change *float64
	}{
		{v(0), nil},     // Jan 4 had no orders: a change from 0 is undefined
		{v(2), v(-50)},  // 2 -> 1
		{v(1), v(-100)}, // 1 -> 0
		{v(0), v(0)},    // 0 -> 0
	}
	if s.ChangeUnit != "%" {
		t.Errorf("ChangeUnit = %q, want %%", s.ChangeUnit)
	}
	for i, tt := range tests {
		checkFloat(t, fmt.Sprintf("point %d previous", i), s.Points[i].Previous, tt.previous)
		checkFloat(t, fmt.Sprintf("point %d change", i), s.Points[i].Change, tt.change)
	}
}

func TestSeriesWeek(t *testing.T) {
	tests := []struct {
		weekStart string
		from, to  string
		id        string
		wants     []want
	}{
		// Monday weeks: Jan 5-11 holds o1..o4, Jan 12-18 holds o5.
		{"monday", "2026-01-05", "2026-01-18", "orders", []want{{"2026-01-05 00:00", v(4)}, {"2026-01-12 00:00", v(1)}}},
		{"monday", "2026-01-05", "2026-01-18", "buyers", []want{{"2026-01-05 00:00", v(3)}, {"2026-01-12 00:00", v(1)}}},
		{"monday", "2026-01-05", "2026-01-18", "revenue", []want{{"2026-01-05 00:00", v(100)}, {"2026-01-12 00:00", v(50)}}},
		{"monday", "2026-01-05", "2026-01-18", "avg_revenue", []want{{"2026-01-05 00:00", v(25)}, {"2026-01-12 00:00", v(50)}}},
		// Sunday weeks: Jan 4-10 holds o1..o3, Jan 11-17 holds o4 and o5.
		{"sunday", "2026-01-04", "2026-01-17", "orders", []want{{"2026-01-04 00:00", v(3)}, {"2026-01-11 00:00", v(2)}}},
		{"sunday", "2026-01-04", "2026-01-17", "buyers", []want{{"2026-01-04 00:00", v(2)}, {"2026-01-11 00:00", v(2)}}},
		{"sunday", "2026-01-04", "2026-01-17", "revenue", []want{{"2026-01-04 00:00", v(60)}, {"2026-01-11 00:00", v(90)}}},
		{"sunday", "2026-01-04", "2026-01-17", "avg_revenue", []want{{"2026-01-04 00:00", v(20)}, {"2026-01-11 00:00", v(45)}}},
		// A range starting mid-week still shows whole weeks.
		{"monday", "2026-01-07", "2026-01-13", "orders", []want{{"2026-01-05 00:00", v(4)}, {"2026-01-12 00:00", v(1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.weekStart+" "+tt.id, func(t *testing.T) {
			e, defs := newEngine(t, tt.weekStart, farFuture, shopOrders)

			s := series(t, e, defs, tt.id, timegrain.Week, tt.from, tt.to)

			checkValues(t, s, tt.wants)
		})
	}
}

func TestSeriesMonth(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)

	tests := []struct {
		id    string
		wants []want
	}{
		{"orders", []want{{"2026-01-01 00:00", v(5)}, {"2026-02-01 00:00", v(2)}}},
		{"buyers", []want{{"2026-01-01 00:00", v(3)}, {"2026-02-01 00:00", v(2)}}},
		{"revenue", []want{{"2026-01-01 00:00", v(150)}, {"2026-02-01 00:00", v(100)}}},
		// February: only o7 has a revenue, so the average is 100, not 50.
		{"avg_revenue", []want{{"2026-01-01 00:00", v(30)}, {"2026-02-01 00:00", v(100)}}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			s := series(t, e, defs, tt.id, timegrain.Month, "2026-01-01", "2026-02-28")

			checkValues(t, s, tt.wants)
			if got, want := s.Points[1].End, ny(t, "2026-03-01 00:00"); !got.Equal(want) {
				t.Errorf("February End = %s, want %s", got, want)
			}
		})
	}
}

func TestSeriesFormula(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)

	aov := series(t, e, defs, "aov", timegrain.Month, "2026-01-01", "2026-03-31")
	checkValues(t, aov, []want{
		{"2026-01-01 00:00", v(30)}, // 150 / 5
		{"2026-02-01 00:00", v(50)}, // 100 / 2
		{"2026-03-01 00:00", nil},   // no orders
	})
	if got := aov.Points[2].NoValueReason; got != "division by zero" {
		t.Errorf("March NoValueReason = %q, want division by zero", got)
	}
	if got := aov.Points[2].Status; got != kpi.NoData {
		t.Errorf("March Status = %s, want %s", got, kpi.NoData)
	}
	checkFloat(t, "February change", aov.Points[1].Change, v((50.0-30)/30*100))
	checkFloat(t, "March previous", aov.Points[2].Previous, v(50))
	checkFloat(t, "March change", aov.Points[2].Change, nil)

	double := series(t, e, defs, "double_avg", timegrain.Month, "2026-01-01", "2026-03-31")
	checkValues(t, double, []want{
		{"2026-01-01 00:00", v(60)},
		{"2026-02-01 00:00", v(200)},
		{"2026-03-01 00:00", nil},
	})
	if got := double.Points[2].NoValueReason; got != "avg_revenue has no value" {
		t.Errorf("March NoValueReason = %q, want avg_revenue has no value", got)
	}
}

func TestSeriesChangeInPoints(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)

	s := series(t, e, defs, "paid_share", timegrain.Month, "2026-01-01", "2026-02-28")

	// January: 2 paid of 5 orders; February: 1 paid of 2.
	checkValues(t, s, []want{{"2026-01-01 00:00", v(40)}, {"2026-02-01 00:00", v(50)}})
	if s.ChangeUnit != "pp" {
		t.Errorf("ChangeUnit = %q, want pp", s.ChangeUnit)
	}
	checkFloat(t, "February change", s.Points[1].Change, v(10))
}

func TestSeriesPartialPeriod(t *testing.T) {
	// The clock stops at 21:00 on 2026-02-11, so February is partial, and it
	// is compared with January 1 00:00 to January 11 21:00. That span holds
	// o1..o4 (o4 is at 20:00 on Jan 11) but not o5.
	now := ny(t, "2026-02-11 21:00")
	e, defs := newEngine(t, "monday", now, shopOrders)

	s := series(t, e, defs, "orders", timegrain.Month, "2026-01-01", "2026-02-28")

	if !s.To.Equal(now) {
		t.Errorf("To = %s, want the clock %s", s.To, now)
	}
	checkValues(t, s, []want{{"2026-01-01 00:00", v(5)}, {"2026-02-01 00:00", v(2)}})
	jan, feb := s.Points[0], s.Points[1]
	if jan.Partial {
		t.Error("January is partial")
	}
	if !feb.Partial {
		t.Error("February is not partial")
	}
	if want := ny(t, "2026-03-01 00:00"); !feb.End.Equal(want) {
		t.Errorf("February End = %s, want %s", feb.End, want)
	}
	checkFloat(t, "January previous", jan.Previous, v(0))
	checkFloat(t, "February previous", feb.Previous, v(4))
	checkFloat(t, "February change", feb.Change, v(-50))
}

func TestSeriesPartialPeriodOverDST(t *testing.T) {
	// March 2026 in New York loses an hour on March 8. At 12:00 on March 15,
	// month to date is compared with February 1 00:00 to February 15 12:00,
	// the same days and hours of the clock, so the order at 11:30 on
	// February 15 counts and the one at 12:30 does not.
	now := ny(t, "2026-03-15 12:00")
	e, defs := newEngine(t, "monday", now, []order{
		{"alice", "2026-02-15 11:30", nil},
		{"bob", "2026-02-15 12:30", nil},
		{"carol", "2026-03-02 10:00", nil},
	})

	s := series(t, e, defs, "orders", timegrain.Month, "2026-03-01", "2026-03-31")

	checkValues(t, s, []want{{"2026-03-01 00:00", v(1)}})
	if !s.Points[0].Partial {
		t.Error("March is not partial")
	}
	checkFloat(t, "March previous", s.Points[0].Previous, v(1))
}

func TestSeriesAbsoluteTarget(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)

	s := series(t, e, defs, "orders_path", timegrain.Month, "2025-12-01", "2026-02-28")

	// The path runs from 3 on 2025-12-01 to 6 at the end of 2026-02-28: 90
	// days with no DST change in New York. Each month is judged at its end,
	// except December, which starts on the baseline date and has no target.
	tests := []struct {
		value  float64
		target *float64
		status kpi.Status
	}{
		{0, nil, kpi.NoTarget},
		{5, v(3 + 3*62.0/90), kpi.OnTrack}, // 1.3 % short of 5.0667
		{2, v(6), kpi.AtRisk},              // 66.7 % short, within off_track: 70%
	}
	checkPath(t, s, 3, ny(t, "2025-12-01 00:00"), 6, ny(t, "2026-03-01 00:00"))
	for i, tt := range tests {
		p := s.Points[i]
		checkFloat(t, fmt.Sprintf("point %d value", i), p.Value, v(tt.value))
		checkFloat(t, fmt.Sprintf("point %d target", i), p.Target, tt.target)
		if p.Status != tt.status {
			t.Errorf("point %d status = %s, want %s", i, p.Status, tt.status)
		}
	}
}

func TestSeriesRelativeTarget(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)

	s := series(t, e, defs, "revenue_growth", timegrain.Month, "2025-12-01", "2026-02-28")

	// The baseline is January's revenue, 150, at 2026-01-01; +20 % is 180 at
	// the end of 2026-02-28, 59 days later.
	checkPath(t, s, 150, ny(t, "2026-01-01 00:00"), 180, ny(t, "2026-03-01 00:00"))
	tests := []struct {
		value  float64
		target *float64
		status kpi.Status
	}{
		{0, nil, kpi.NoTarget},      // before the baseline date there is no target
		{150, nil, kpi.NoTarget},    // January starts on the baseline date
		{100, v(180), kpi.OffTrack}, // February is judged at its end
	}
	for i, tt := range tests {
		p := s.Points[i]
		checkFloat(t, fmt.Sprintf("point %d value", i), p.Value, v(tt.value))
		checkFloat(t, fmt.Sprintf("point %d target", i), p.Target, tt.target)
		if p.Status != tt.status {
			t.Errorf("point %d status = %s, want %s", i, p.Status, tt.status)
		}
	}
}

func TestSeriesBaselineWithoutValue(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)

	_, err := e.Series(context.Background(), defs, "avg_revenue_from_empty", timegrain.Month, Range{From: date("2026-01-01"), To: date("2026-01-31")})

	if code := kpi.ErrorCode(err); code != kpi.EINVALID {
		t.Fatalf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
	}
	if !strings.Contains(err.Error(), "baseline on 2025-06-01 has no value") {
		t.Errorf("error %q does not explain the empty baseline", err)
	}
}

func checkPath(t *testing.T, s *Series, base float64, baseAt time.Time, goal float64, goalAt time.Time) {
	t.Helper()
	if s.Baseline == nil || s.Goal == nil {
		t.Fatalf("Baseline %v, Goal %v; want both set", s.Baseline, s.Goal)
	}
	checkFloat(t, "baseline", &s.Baseline.Value, &base)
	checkFloat(t, "goal", &s.Goal.Value, &goal)
	if !s.Baseline.At.Equal(baseAt) {
		t.Errorf("baseline at %s, want %s", s.Baseline.At, baseAt)
	}
	if !s.Goal.At.Equal(goalAt) {
		t.Errorf("goal at %s, want %s", s.Goal.At, goalAt)
	}
}

func TestSeriesProRatedTarget(t *testing.T) {
	tests := []struct {
		name     string
		now      time.Time
		id       string
		grain    timegrain.Grain
		from, to string
		targets  []float64
	}{
		// 310 a month is 10 a day in 31-day January.
		{"day in january", farFuture, "orders_310", timegrain.Day, "2026-01-05", "2026-01-07", []float64{10, 10, 10}},
		// March 8 lasts 23 hours in New York but is still 1/31 of March.
		{"days over spring dst", farFuture, "orders_310", timegrain.Day, "2026-03-07", "2026-03-09", []float64{10, 10, 10}},
		// November 1 lasts 25 hours and is 1/30 of November.
		{"days over autumn dst", ny(t, "2027-01-15 12:00"), "orders_310", timegrain.Day, "2026-10-31", "2026-11-02", []float64{10, 310.0 / 30, 310.0 / 30}},
		// The week of Jan 26 has six January days and one February day.
		{"weeks over a month end", farFuture, "orders_310", timegrain.Week, "2026-01-26", "2026-02-08", []float64{310*6.0/31 + 310*1.0/28, 310 * 7.0 / 28}},
		// February to the clock at 21:00 on the 11th: 10 days and 21 hours of 28 days.
		{"partial month", ny(t, "2026-02-11 21:00"), "orders_310", timegrain.Month, "2026-02-01", "2026-02-28", []float64{310 * (10 + 21.0/24) / 28}},
		// Unique users do not add up over days, so their target is not pro-rated.
		{"unique users per day", farFuture, "buyers_target", timegrain.Day, "2026-01-05", "2026-01-06", []float64{4, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, defs := newEngine(t, "monday", tt.now, shopOrders)

			s := series(t, e, defs, tt.id, tt.grain, tt.from, tt.to)

			if len(s.Points) != len(tt.targets) {
				t.Fatalf("got %d points, want %d", len(s.Points), len(tt.targets))
			}
			for i, target := range tt.targets {
				checkFloat(t, fmt.Sprintf("point %d target", i), s.Points[i].Target, v(target))
			}
		})
	}
}

func TestSeriesProRatedStatus(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)

	s := series(t, e, defs, "orders_310", timegrain.Day, "2026-01-05", "2026-01-05")

	// Two orders against a day's target of 10 is 80 % short.
	if got := s.Points[0].Status; got != kpi.OffTrack {
		t.Errorf("Status = %s, want %s", got, kpi.OffTrack)
	}
}

func TestSeriesPendingPartialPeriod(t *testing.T) {
	e, defs := newEngine(t, "monday", ny(t, "2026-02-11 21:00"), shopOrders)

	s := series(t, e, defs, "buyers_target", timegrain.Month, "2026-01-01", "2026-02-28")

	// January: alice, bob and carol bought, 3 against 4 is 25 % short.
	if got := s.Points[0].Status; got != kpi.OffTrack {
		t.Errorf("January status = %s, want %s", got, kpi.OffTrack)
	}
	// February is not over, and unique users cannot be pro-rated.
	if got := s.Points[1].Status; got != kpi.Pending {
		t.Errorf("February status = %s, want %s", got, kpi.Pending)
	}
	if got := s.Status(); got != kpi.OffTrack {
		t.Errorf("series status = %s, want January's %s", got, kpi.OffTrack)
	}
}

func TestSeriesErrors(t *testing.T) {
	now := ny(t, "2026-02-11 21:00")
	e, defs := newEngine(t, "monday", now, shopOrders)

	tests := []struct {
		name  string
		id    string
		grain timegrain.Grain
		r     Range
		code  string
		want  string
	}{
		{"unknown kpi", "nope", timegrain.Day, Range{}, kpi.ENOTFOUND, `"nope" not found`},
		{"from after to", "orders", timegrain.Day, Range{From: date("2026-01-10"), To: date("2026-01-09")}, kpi.EINVALID, "is empty"},
		{"from after now", "orders", timegrain.Day, Range{From: date("2026-02-12")}, kpi.EINVALID, "is empty"},
		{"bad grain", "orders", "year", Range{}, kpi.EINVALID, `"year"`},
		{"year out of range", "orders", timegrain.Day, Range{From: date("1900-01-01"), To: date("2026-01-01")}, kpi.EINVALID, "out of range"},
		{"too many periods", "orders", timegrain.Day, Range{From: date("1990-01-01"), To: date("2026-01-01")}, kpi.EINVALID, "more than 4000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Series(context.Background(), defs, tt.id, tt.grain, tt.r)

			if code := kpi.ErrorCode(err); code != tt.code {
				t.Fatalf("error code = %q, want %q (%v)", code, tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestSeriesDefaultRange(t *testing.T) {
	tests := []struct {
		name        string
		now         time.Time
		grain       timegrain.Grain
		wantTo      time.Time
		wantPoints  int
		wantFirst   time.Time
		wantLast    time.Time
		lastPartial bool
	}{
		{
			// The newest event is o7 at 12:00 on Feb 10, so the range ends
			// with that day, and shows the 30 days before.
			name: "days end at newest event", now: farFuture, grain: timegrain.Day,
			wantTo: ny(t, "2026-02-11 00:00"), wantPoints: 30,
			wantFirst: ny(t, "2026-01-12 00:00"), wantLast: ny(t, "2026-02-10 00:00"),
		},
		{
			// Months: 12 ending with February, which the data covers only
			// to Feb 10 and so is partial.
			name: "months end at newest event", now: farFuture, grain: timegrain.Month,
			wantTo: ny(t, "2026-02-11 00:00"), wantPoints: 12,
			wantFirst: ny(t, "2025-03-01 00:00"), wantLast: ny(t, "2026-02-01 00:00"), lastPartial: true,
		},
		{
			// The clock is on the newest event's day: the range ends now.
			name: "clock on newest day", now: ny(t, "2026-02-10 15:00"), grain: timegrain.Day,
			wantTo: ny(t, "2026-02-10 15:00"), wantPoints: 30,
			wantFirst: ny(t, "2026-01-12 00:00"), wantLast: ny(t, "2026-02-10 00:00"), lastPartial: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, defs := newEngine(t, "monday", tt.now, shopOrders)

			s, err := e.Series(context.Background(), defs, "orders", tt.grain, Range{})
			if err != nil {
				t.Fatalf("Series: %v", err)
			}

			if !s.To.Equal(tt.wantTo) {
				t.Errorf("To = %s, want %s", s.To.In(newYork(t)), tt.wantTo)
			}
			if len(s.Points) != tt.wantPoints {
				t.Fatalf("got %d points, want %d", len(s.Points), tt.wantPoints)
			}
			first, last := s.Points[0], s.Latest()
			if !first.Start.Equal(tt.wantFirst) {
				t.Errorf("first Start = %s, want %s", first.Start.In(newYork(t)), tt.wantFirst)
			}
			if !last.Start.Equal(tt.wantLast) {
				t.Errorf("last Start = %s, want %s", last.Start.In(newYork(t)), tt.wantLast)
			}
			if last.Partial != tt.lastPartial {
				t.Errorf("last Partial = %v, want %v", last.Partial, tt.lastPartial)
			}
		})
	}
}

func TestSeriesDefaultRangeNoOrders(t *testing.T) {
	now := ny(t, "2026-02-11 21:00")
	e, defs := newEngine(t, "monday", now, nil)

	s, err := e.Series(context.Background(), defs, "orders", timegrain.Day, Range{})
	if err != nil {
		t.Fatalf("Series: %v", err)
	}

	// Only erin's signup is stored; the range ends at the signup's day.
	if want := ny(t, "2026-01-08 00:00"); !s.To.Equal(want) {
		t.Errorf("To = %s, want %s", s.To.In(newYork(t)), want)
	}
	for i, p := range s.Points {
		checkFloat(t, fmt.Sprintf("point %d", i), p.Value, v(0))
	}
}

func TestSeriesDefaultRangeEmptyStore(t *testing.T) {
	ctx := context.Background()
	defs, err := kpi.Parse("test.yaml", []byte(strings.ReplaceAll(testKPIs, "WEEK_START", "monday")))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := ny(t, "2026-02-11 21:00")
	e := New(db, func() time.Time { return now })

	s, err := e.Series(ctx, defs, "orders", timegrain.Week, Range{})
	if err != nil {
		t.Fatalf("Series: %v", err)
	}

	// With no events the range ends now: 13 weeks, the last from Monday
	// Feb 9 and partial.
	if !s.To.Equal(now) {
		t.Errorf("To = %s, want %s", s.To, now)
	}
	if len(s.Points) != 13 {
		t.Fatalf("got %d points, want 13", len(s.Points))
	}
	if want := ny(t, "2025-11-17 00:00"); !s.Points[0].Start.Equal(want) {
		t.Errorf("first Start = %s, want %s", s.Points[0].Start.In(newYork(t)), want)
	}
	last := s.Latest()
	if want := ny(t, "2026-02-09 00:00"); !last.Start.Equal(want) || !last.Partial {
		t.Errorf("last point starts %s, partial %v; want %s and partial", last.Start.In(newYork(t)), last.Partial, want)
	}
	checkFloat(t, "last value", last.Value, v(0))
}

func TestSeriesWarnsAboutTypos(t *testing.T) {
	e, defs := newEngine(t, "monday", farFuture, shopOrders)
	extra, err := kpi.Parse("typos.yaml", []byte(`
kpis:
  - id: wrong_event
    name: Orders with a typo
    metric: {kind: count, event: ordr}
  - id: wrong_property
    name: Revenue with a typo
    metric: {kind: sum, event: order, property: revnue}
  - id: filtered_out
    name: Orders from Mars
    metric: {kind: count, event: order, where: {planet: mars}}
  - id: fine
    name: Orders
    metric: {kind: count, event: order}
`))
	if err != nil {
		t.Fatal(err)
	}
	extra.Workspace = defs.Workspace

	tests := []struct {
		id   string
		want string
	}{
		{"wrong_event", `no "ordr" events in this range, and none in the database (known events: order, signup)`},
		{"wrong_property", `no "order" event in this range has a numeric "revnue" property`},
		{"filtered_out", `no "order" events in this range match the where filters`},
		{"fine", ""},
	}
	for _, tt := range tests {
		s := series(t, e, extra, tt.id, timegrain.Month, "2026-01-01", "2026-02-28")
		got := strings.Join(s.Warnings, "; ")
		if tt.want == "" && got != "" {
			t.Errorf("%s warnings = %q, want none", tt.id, got)
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("%s warnings = %q, want %q", tt.id, got, tt.want)
		}
	}
}
