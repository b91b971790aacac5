package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// breakdownKPIs is the KPI file of the breakdown tests, in New York time.
const breakdownKPIs = `workspace:
  name: Test shop
  time_zone: America/New_York
metrics:
  revenue: {kind: sum, event: order, property: revenue}
  buyers: {kind: unique_users, event: order}
  active_days: {kind: active_users, window: 7}
  revenue_per_active: {kind: formula, formula: revenue / active_days}
kpis:
  - id: orders
    name: Orders
    metric: {kind: count, event: order}
  - id: buyer_count
    name: Buyers
    metric: {kind: unique_users, event: order}
  - id: order_revenue
    name: Revenue
    metric: {kind: sum, event: order, property: revenue}
  - id: avg_revenue
    name: Average revenue
    metric: {kind: average, event: order, property: revenue}
  - id: revenue_per_buyer
    name: Revenue per buyer
    metric: {kind: formula, formula: revenue / buyers}
  - id: signups
    name: Signups
    metric: {kind: count, event: signup}
  - id: weekly_active
    name: Weekly active users
    metric: {kind: active_users, window: 7}
  - id: nested_activity
    name: Revenue per active user, doubled
    metric: {kind: formula, formula: revenue_per_active * 2}
  - id: recurring_revenue
    name: MRR
    metric: {kind: mrr, start_event: subscribe, cancel_event: cancel, property: amount}
`

// breakdownOrders are the orders the breakdown tests count by hand, in New
// York time. alice buys in US, FR, DE and IT; erin's order has no country,
// and falls on 1 February in UTC but on 31 January in New York.
//
//	1 alice US 10 Jan 05    9 bob   US 50 Feb 02
//	2 alice US 20 Jan 06   10 ivan  US  9 Feb 10
//	3 bob   US 30 Jan 12   11 dave  FR  6 Feb 03
//	4 gina  US  8 Jan 20   12 hank  FR 11 Feb 17
//	5 carol DE 40 Jan 07   13 alice DE  2 Feb 04
//	6 dave  FR  5 Jan 14   14 frank IT  3 Feb 24
//	7 alice FR  1 Jan 28   15 alice IT  4 Feb 25
//	8 erin  -   7 Jan 31 22:00
var breakdownOrders = []order{
	{"alice", "2026-01-05 10:00", map[string]any{"country": "US", "revenue": 10}},
	{"alice", "2026-01-06 10:00", map[string]any{"country": "US", "revenue": 20}},
	{"bob", "2026-01-12 10:00", map[string]any{"country": "US", "revenue": 30}},
	{"gina", "2026-01-20 10:00", map[string]any{"country": "US", "revenue": 8}},
	{"carol", "2026-01-07 10:00", map[string]any{"country": "DE", "revenue": 40}},
	{"dave", "2026-01-14 10:00", map[string]any{"country": "FR", "revenue": 5}},
	{"alice", "2026-01-28 10:00", map[string]any{"country": "FR", "revenue": 1}},
	{"erin", "2026-01-31 22:00", map[string]any{"revenue": 7}},
	{"bob", "2026-02-02 10:00", map[string]any{"country": "US", "revenue": 50}},
	{"ivan", "2026-02-10 10:00", map[string]any{"country": "US", "revenue": 9}},
	{"dave", "2026-02-03 10:00", map[string]any{"country": "FR", "revenue": 6}},
	{"hank", "2026-02-17 10:00", map[string]any{"country": "FR", "revenue": 11}},
	{"alice", "2026-02-04 10:00", map[string]any{"country": "DE", "revenue": 2}},
	{"frank", "2026-02-24 10:00", map[string]any{"country": "IT", "revenue": 3}},
	{"alice", "2026-02-25 10:00", map[string]any{"country": "IT", "revenue": 4}},
}

// newBreakdownEngine stores orders in a fresh database and returns an engine
// whose clock is 2026-03-15.
func newBreakdownEngine(t *testing.T, orders []order) (*Engine, *kpi.Definitions) {
	t.Helper()
	ctx := context.Background()

	defs, err := kpi.Parse("breakdown.yaml", []byte(breakdownKPIs))
	if err != nil {
		t.Fatalf("parse test KPIs: %v", err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })

	events := make([]store.Event, 0, len(orders))
	for i, o := range orders {
		events = append(events, store.Event{
			Name: "order", DistinctID: o.user, Timestamp: ny(t, o.at),
			Properties: o.props, Source: "test", MessageID: fmt.Sprint("order-", i),
		})
	}
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatalf("insert events: %v", err)
	}
	return New(db, func() time.Time { return ny(t, "2026-03-15 12:00") }), defs
}

func breakdown(t *testing.T, e *Engine, defs *kpi.Definitions, id, property string, limit int, g timegrain.Grain, from, to string) *Breakdown {
	t.Helper()
	b, err := e.Breakdown(context.Background(), defs, id, property, limit, g, Range{From: date(from), To: date(to)})
	if err != nil {
		t.Fatalf("Breakdown(%s by %s, limit %d): %v", id, property, limit, err)
	}
	return b
}

// wantSegment is the expected row of one segment: its name, the number of
// segments it pools, its total over the range, and its value per period.
type wantSegment struct {
	name   string
	pooled int
	total  *float64
	values []*float64
}

func checkSegments(t *testing.T, b *Breakdown, wants []wantSegment) {
	t.Helper()
	var names []string
	for _, s := range b.Segments {
		names = append(names, s.Name)
	}
	var wantNames []string
	for _, w := range wants {
		wantNames = append(wantNames, w.name)
	}
	if strings.Join(names, ",") != strings.Join(wantNames, ",") {
		t.Fatalf("%s by %s: segments %q, want %q", b.KPI, b.Property, names, wantNames)
	}

	for i, w := range wants {
		s := b.Segments[i]
		if s.Pooled != w.pooled {
			t.Errorf("%s %s: pooled %d, want %d", b.KPI, s.Name, s.Pooled, w.pooled)
		}
		checkFloat(t, fmt.Sprintf("%s %s total", b.KPI, s.Name), s.Total.Value, w.total)
		if len(s.Values) != len(w.values) {
			t.Errorf("%s %s: %d values, want %d", b.KPI, s.Name, len(s.Values), len(w.values))
			continue
		}
		for j, v := range w.values {
			checkFloat(t, fmt.Sprintf("%s %s period %d", b.KPI, s.Name, j), s.Values[j].Value, v)
		}
	}
}

func TestBreakdownCountWithOther(t *testing.T) {
	e, defs := newBreakdownEngine(t, breakdownOrders)
	b := breakdown(t, e, defs, "orders", "country", 2, timegrain.Month, "2026-01-01", "2026-02-28")

	if len(b.Periods) != 2 || !b.Periods[0].Start.Equal(ny(t, "2026-01-01 00:00")) || !b.Periods[1].Start.Equal(ny(t, "2026-02-01 00:00")) {
		t.Fatalf("periods %+v, want January and February 2026", b.Periods)
	}
	if b.Periods[1].Partial {
		t.Errorf("February is partial, want complete: the clock is in March")
	}
	if b.Limit != 2 || b.Property != "country" || b.KPI != "orders" {
		t.Errorf("limit/property/kpi = %d/%s/%s", b.Limit, b.Property, b.KPI)
	}

	// US 4+2, FR 2+2; other pools DE (1+1), IT (0+2) and erin's order
	// without country (1+0), which falls in January in New York.
	checkSegments(t, b, []wantSegment{
		{"US", 0, v(6), []*float64{v(4), v(2)}},
		{"FR", 0, v(4), []*float64{v(2), v(2)}},
		{OtherSegment, 3, v(5), []*float64{v(2), v(3)}},
	})
}

func TestBreakdownUniqueUsersOtherDistinct(t *testing.T) {
	e, defs := newBreakdownEngine(t, breakdownOrders)
	b := breakdown(t, e, defs, "buyer_count", "country", 2, timegrain.Month, "2026-01-01", "2026-02-28")

	// US: Jan {alice, bob, gina}, Feb {bob, ivan}, range 4 users.
	// FR: Jan {dave, alice}, Feb {dave, hank}, range 3.
	// Other pools DE (Jan carol, Feb alice), IT (Feb frank, alice) and
	// (none) (Jan erin). alice is in DE and IT in February and counts once:
	// Feb {alice, frank} is 2, not 3; the range {carol, alice, frank, erin}
	// is 4, not 5.
	checkSegments(t, b, []wantSegment{
		{"US", 0, v(4), []*float64{v(3), v(2)}},
		{"FR", 0, v(3), []*float64{v(2), v(2)}},
		{OtherSegment, 3, v(4), []*float64{v(2), v(2)}},
	})
}

func TestBreakdownSumRankedByTotal(t *testing.T) {
	e, defs := newBreakdownEngine(t, breakdownOrders)
	b := breakdown(t, e, defs, "order_revenue", "country", 2, timegrain.Month, "2026-01-01", "2026-02-28")

	// US 68+59 = 127 and DE 40+2 = 42 outrank FR (23), whose four orders
	// would rank it second by count. Other: FR 6+17, IT 0+7, (none) 7+0.
	checkSegments(t, b, []wantSegment{
		{"US", 0, v(127), []*float64{v(68), v(59)}},
		{"DE", 0, v(42), []*float64{v(40), v(2)}},
		{OtherSegment, 3, v(37), []*float64{v(13), v(24)}},
	})
}

func TestBreakdownAveragePooled(t *testing.T) {
	e, defs := newBreakdownEngine(t, breakdownOrders)
	b := breakdown(t, e, defs, "avg_revenue", "country", 2, timegrain.Month, "2026-01-01", "2026-02-28")

	// Ranked by orders: US 6, FR 4. Other is the average over the pooled
	// orders: Jan (40 + 7) / 2, Feb (2 + 3 + 4) / 3 = 3 (the mean of the
	// segment averages, 2 and 3.5, would be 2.75), range 56 / 5.
	checkSegments(t, b, []wantSegment{
		{"US", 0, v(127.0 / 6), []*float64{v(68.0 / 4), v(59.0 / 2)}},
		{"FR", 0, v(23.0 / 4), []*float64{v(6.0 / 2), v(17.0 / 2)}},
		{OtherSegment, 3, v(56.0 / 5), []*float64{v(47.0 / 2), v(3)}},
	})
}

func TestBreakdownFormulaPerSegment(t *testing.T) {
	e, defs := newBreakdownEngine(t, breakdownOrders)
	b := breakdown(t, e, defs, "revenue_per_buyer", "country", 2, timegrain.Month, "2026-01-01", "2026-02-28")

	// revenue / buyers in each segment, ranked by the events of both inputs
	// (US 12, FR 8). Other: Jan (40 + 7) / {carol, erin}, Feb (2 + 7) /
	// {alice, frank}, range 56 / {carol, alice, frank, erin}.
	checkSegments(t, b, []wantSegment{
		{"US", 0, v(127.0 / 4), []*float64{v(68.0 / 3), v(59.0 / 2)}},
		{"FR", 0, v(23.0 / 3), []*float64{v(6.0 / 2), v(17.0 / 2)}},
		{OtherSegment, 3, v(14), []*float64{v(47.0 / 2), v(9.0 / 2)}},
	})
}

func TestBreakdownNoneSegment(t *testing.T) {
	orders := []order{
		{"u1", "2026-01-05 10:00", map[string]any{"plan": "pro"}},
		{"u2", "2026-01-05 11:00", map[string]any{"plan": ""}},
		{"u3", "2026-01-05 12:00", map[string]any{"plan": nil}},
		{"u4", "2026-01-05 13:00", map[string]any{"other": "x"}},
		{"u5", "2026-01-05 14:00", nil},
		{"u6", "2026-01-05 15:00", map[string]any{"plan": "pro"}},
		{"u7", "2026-01-05 16:00", map[string]any{"plan": "team"}},
	}
	e, defs := newBreakdownEngine(t, orders)
	b := breakdown(t, e, defs, "orders", "plan", 0, timegrain.Month, "2026-01-01", "2026-01-31")

	if b.Limit != DefaultBreakdownLimit {
		t.Errorf("limit %d, want the default %d", b.Limit, DefaultBreakdownLimit)
	}
	// An empty, null or absent plan is (none): u2 to u5.
	checkSegments(t, b, []wantSegment{
		{NoneSegment, 0, v(4), []*float64{v(4)}},
		{"pro", 0, v(2), []*float64{v(2)}},
		{"team", 0, v(1), []*float64{v(1)}},
	})
}

func TestBreakdownMissingPropertyWarns(t *testing.T) {
	e, defs := newBreakdownEngine(t, breakdownOrders)
	b := breakdown(t, e, defs, "orders", "cuontry", 0, timegrain.Month, "2026-01-01", "2026-02-28")

	checkSegments(t, b, []wantSegment{{NoneSegment, 0, v(15), []*float64{v(8), v(7)}}})
	if len(b.Warnings) != 1 || !strings.Contains(b.Warnings[0], `has the property "cuontry"`) {
		t.Errorf("warnings %q, want one saying no order has the property cuontry", b.Warnings)
	}
}

func TestBreakdownWeeks(t *testing.T) {
	e, defs := newBreakdownEngine(t, breakdownOrders)
	b := breakdown(t, e, defs, "orders", "country", 1, timegrain.Week, "2026-01-05", "2026-01-25")

	// Weeks start on Monday (the default): Jan 5, 12 and 19. US orders 1
	// and 2, then 3, then 4. The other week-1 order is carol's (DE), then
	// dave's (FR); week 3 has none.
	checkSegments(t, b, []wantSegment{
		{"US", 0, v(4), []*float64{v(2), v(1), v(1)}},
		{OtherSegment, 2, v(2), []*float64{v(1), v(1), v(0)}},
	})
}

func TestBreakdownPartialPeriod(t *testing.T) {
	e, defs := newBreakdownEngine(t, breakdownOrders)
	b := breakdown(t, e, defs, "orders", "country", 0, timegrain.Month, "2026-02-01", "2026-02-09")

	// February up to the 9th: bob's order on the 2nd, dave's on the 3rd and
	// alice's on the 4th.
	if len(b.Periods) != 1 || !b.Periods[0].Partial {
		t.Fatalf("periods %+v, want one partial February", b.Periods)
	}
	checkSegments(t, b, []wantSegment{
		{"DE", 0, v(1), []*float64{v(1)}},
		{"FR", 0, v(1), []*float64{v(1)}},
		{"US", 0, v(1), []*float64{v(1)}},
	})
}

func TestBreakdownRejects(t *testing.T) {
	e, defs := newBreakdownEngine(t, breakdownOrders)
	r := Range{From: date("2026-01-01"), To: date("2026-02-28")}

	tests := []struct {
		name     string
		id       string
		property string
		limit    int
		code     string
		message  string
	}{
		{"negative limit", "orders", "country", -1, kpi.EINVALID, "limit -1 is out of range (want 1 to 100"},
		{"limit too large", "orders", "country", 101, kpi.EINVALID, "limit 101 is out of range"},
		{"no property", "orders", " ", 5, kpi.EINVALID, "property to break down by is missing"},
		{"quoted property", "orders", `a"b`, 5, kpi.EINVALID, "contains a double quote"},
		{"unknown kpi", "nope", "country", 5, kpi.ENOTFOUND, `KPI "nope" not found`},
		{"mrr kind", "recurring_revenue", "country", 5, kpi.EINVALID, `kpi "recurring_revenue" is of kind mrr, which cannot be broken down by a property because it takes no where filter`},
		{"activity input", "nested_activity", "country", 5, kpi.EINVALID, `kpi "nested_activity" uses revenue_per_active -> active_days, which is of kind active_users, which cannot be broken down inside a formula`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Breakdown(context.Background(), defs, tc.id, tc.property, tc.limit, timegrain.Month, r)
			if kpi.ErrorCode(err) != tc.code {
				t.Fatalf("error %v (code %q), want code %q", err, kpi.ErrorCode(err), tc.code)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q, want it to contain %q", err, tc.message)
			}
		})
	}
}

func TestBreakdownNoEvents(t *testing.T) {
	e, defs := newBreakdownEngine(t, breakdownOrders)
	b := breakdown(t, e, defs, "signups", "country", 0, timegrain.Month, "2026-01-01", "2026-02-28")

	if len(b.Segments) != 0 {
		t.Errorf("segments %+v, want none", b.Segments)
	}
	if len(b.Warnings) != 1 || !strings.Contains(b.Warnings[0], `no "signup" events in this range`) {
		t.Errorf("warnings %q, want one saying there are no signup events", b.Warnings)
	}
}

// filteredKPIs is the KPI file of the breakdowns of kinds that take where
// filters, in New York time.
const filteredKPIs = `workspace:
  name: Test app
  time_zone: America/New_York
kpis:
  - id: active_3d
    name: Users active in the last 3 days
    metric: {kind: active_users, event: visit, window: 3}
  - id: month1_retention
    name: Month-1 retention
    metric: {kind: retention, cohort_event: signup, return_event: visit, offset: 1, period: month}
  - id: checkout
    name: View to buy
    metric: {kind: funnel, steps: [view, buy], window: 7}
  - id: nps
    name: NPS
    metric: {kind: nps, event: survey, property: score}
`

// namedEvent is one event of the filtered breakdown tests, in New York time.
type namedEvent struct {
	name  string
	user  string
	at    string
	props map[string]any
}

// newFilteredEngine stores events in a fresh database and returns an engine
// whose clock is 2026-03-15, with filteredKPIs.
func newFilteredEngine(t *testing.T, events []namedEvent) (*Engine, *kpi.Definitions) {
	t.Helper()
	ctx := context.Background()

	defs, err := kpi.Parse("filtered.yaml", []byte(filteredKPIs))
	if err != nil {
		t.Fatalf("parse test KPIs: %v", err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })

	rows := make([]store.Event, 0, len(events))
	for i, ev := range events {
		rows = append(rows, store.Event{
			Name: ev.name, DistinctID: ev.user, Timestamp: ny(t, ev.at),
			Properties: ev.props, Source: "test", MessageID: fmt.Sprint("event-", i),
		})
	}
	if _, err := db.InsertEvents(ctx, rows); err != nil {
		t.Fatalf("insert events: %v", err)
	}
	return New(db, func() time.Time { return ny(t, "2026-03-15 12:00") }), defs
}

func TestBreakdownActiveUsersOtherDistinct(t *testing.T) {
	plan := func(p string) map[string]any { return map[string]any{"plan": p} }
	e, defs := newFilteredEngine(t, []namedEvent{
		{"visit", "u6", "2026-01-04 10:00", plan("pro")},
		{"visit", "u1", "2026-01-05 10:00", plan("pro")},
		{"visit", "u3", "2026-01-05 11:00", plan("team")},
		{"visit", "u2", "2026-01-06 10:00", plan("pro")},
		{"visit", "u4", "2026-01-06 11:00", plan("free")},
		{"visit", "u1", "2026-01-07 10:00", plan("pro")},
		{"visit", "u3", "2026-01-07 11:00", plan("free")},
		{"visit", "u5", "2026-01-07 12:00", nil},
	})
	for _, c := range []struct {
		engine   *Engine
		wantPath string
	}{{e, PathSQL}, {indexedEngine(t, e, defs, "plan"), PathIndex}} {
		b := breakdown(t, c.engine, defs, "active_3d", "plan", 1, timegrain.Day, "2026-01-05", "2026-01-07")
		if b.Path != c.wantPath {
			t.Errorf("path = %q, want %q", b.Path, c.wantPath)
		}

		// Ranked by visits from 5 to 7 January: pro 3, free 2, team 1, (none)
		// 1. pro's 3-day windows: Jan 3-5 {u6, u1}, Jan 4-6 {u6, u1, u2}, Jan
		// 5-7 {u1, u2}. Other pools team, free and (none): Jan 5 {u3}, Jan 6
		// {u3, u4}, Jan 7 {u3, u4, u5}. u3 is in team and free, so Jan 7 is 3,
		// not the 1 + 2 + 1 = 4 of the segments summed.
		checkSegments(t, b, []wantSegment{
			{"pro", 0, nil, []*float64{v(2), v(3), v(2)}},
			{OtherSegment, 3, nil, []*float64{v(1), v(2), v(3)}},
		})
		for _, s := range b.Segments {
			if s.Total.NoValueReason == "" {
				t.Errorf("%s: total has no reason for its missing value", s.Name)
			}
		}
	}
}

func TestBreakdownRetentionPerCohort(t *testing.T) {
	plan := func(p string) map[string]any { return map[string]any{"plan": p} }
	e, defs := newFilteredEngine(t, []namedEvent{
		{"signup", "a", "2026-01-03 10:00", plan("pro")},
		{"signup", "b", "2026-01-10 10:00", plan("pro")},
		{"signup", "c", "2026-01-12 10:00", plan("team")},
		{"signup", "d", "2026-01-15 10:00", plan("team")},
		{"signup", "e", "2026-01-20 10:00", plan("team")},
		{"signup", "f", "2026-01-22 10:00", nil},
		{"signup", "g", "2026-01-25 10:00", plan("free")},
		{"visit", "a", "2026-02-05 10:00", nil},
		{"visit", "c", "2026-02-02 10:00", nil},
		{"visit", "d", "2026-02-20 10:00", nil},
		{"visit", "f", "2026-02-01 10:00", nil},
		{"visit", "e", "2026-03-02 10:00", nil},
	})
	// The index computes calendar retention at offsets after 0, so the
	// engine with the index ranks and computes every segment from it.
	for _, c := range []struct {
		engine   *Engine
		wantPath string
	}{{e, PathSQL}, {indexedEngine(t, e, defs, "plan"), PathIndex}} {
		b := breakdown(t, c.engine, defs, "month1_retention", "plan", 1, timegrain.Month, "2026-01-01", "2026-02-28")
		if b.Path != c.wantPath {
			t.Errorf("path = %q, want %q", b.Path, c.wantPath)
		}

		// Ranked by signups: team 3, pro 2, free 1, (none) 1. The filter
		// applies to the signup, not to the visits, which have no plan. team's
		// January cohort {c, d, e}: c and d visit in February (e only in
		// March), 2 of 3. Other's cohort {a, b, f, g}: a and f, 2 of 4.
		// February's cohorts return in March, after the range ends, so
		// February and the range total have no value yet.
		checkSegments(t, b, []wantSegment{
			{"team", 0, nil, []*float64{v(200.0 / 3), nil}},
			{OtherSegment, 3, nil, []*float64{v(50), nil}},
		})
	}
}

func TestBreakdownFunnelFiltersEveryStep(t *testing.T) {
	channel := func(c string) map[string]any { return map[string]any{"channel": c} }
	e, defs := newFilteredEngine(t, []namedEvent{
		{"view", "a", "2026-01-05 10:00", channel("ads")},
		{"buy", "a", "2026-01-06 10:00", channel("ads")},
		{"view", "b", "2026-01-07 10:00", channel("ads")},
		{"buy", "b", "2026-01-08 10:00", nil},
		{"view", "c", "2026-01-10 10:00", channel("email")},
		{"buy", "c", "2026-01-11 10:00", channel("email")},
		{"view", "d", "2026-01-12 10:00", channel("email")},
		{"view", "e", "2026-01-14 10:00", channel("seo")},
		{"buy", "e", "2026-01-30 10:00", channel("seo")},
	})
	b := breakdown(t, e, defs, "checkout", "channel", 1, timegrain.Month, "2026-01-01", "2026-01-31")

	// Ranked by views and buys: ads 3 and email 3 (ads first by name), seo
	// 2, (none) 1. ads: a and b enter, and b's buy has no channel, so only
	// a completes: 1 of 2. Other (channel neq ads) keeps b's buy but not
	// b's view, so b does not enter it: c completes, d drops, and e buys
	// after the 7-day window: 1 of 3.
	checkSegments(t, b, []wantSegment{
		{"ads", 0, v(50), []*float64{v(50)}},
		{OtherSegment, 3, v(100.0 / 3), []*float64{v(100.0 / 3)}},
	})
}

func TestBreakdownNPSByPlan(t *testing.T) {
	answer := func(plan string, score float64) map[string]any {
		if plan == "" {
			return map[string]any{"score": score}
		}
		return map[string]any{"plan": plan, "score": score}
	}
	e, defs := newFilteredEngine(t, []namedEvent{
		{"survey", "a", "2026-01-05 10:00", answer("pro", 10)},
		{"survey", "b", "2026-01-06 10:00", answer("pro", 9)},
		{"survey", "c", "2026-01-07 10:00", answer("pro", 6)},
		{"survey", "d", "2026-01-08 10:00", answer("team", 8)},
		{"survey", "e", "2026-01-09 10:00", answer("team", 3)},
		{"survey", "f", "2026-02-10 10:00", answer("free", 9)},
		{"survey", "g", "2026-02-11 10:00", answer("", 0)},
	})
	b := breakdown(t, e, defs, "nps", "plan", 1, timegrain.Month, "2026-01-01", "2026-02-28")

	// pro: 2 promoters and 1 detractor of 3 in January, none in February.
	// Other pools team, free and (none): January 8 and 3 (1 detractor of
	// 2), February 9 and 0 (1 promoter, 1 detractor), the range 1 promoter
	// and 2 detractors of 4.
	checkSegments(t, b, []wantSegment{
		{"pro", 0, v(100.0 / 3), []*float64{v(100.0 / 3), nil}},
		{OtherSegment, 3, v(-25), []*float64{v(-50), v(0)}},
	})
}
