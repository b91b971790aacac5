package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/postgres"
	"github.com/northstar-kpi/northstar/internal/store/storetest"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// handBreakdownKPIs declares plan as a dimension, so that the index keeps
// one slice per plan.
const handBreakdownKPIs = `workspace: {name: Hand, time_zone: UTC}
dimensions: [plan]
kpis:
  - {id: revenue, name: Revenue, metric: {kind: sum, event: purchase, property: amount}}
  - {id: buyers, name: Buyers, metric: {kind: unique_users, event: purchase}}
`

// handPurchases are the purchases of the hand-calculated breakdown, in UTC:
//
//	u1 Jan 03 pro    10    u3 Feb 02 "true" 2
//	u2 Jan 05 pro    20    u4 Feb 03 -      4
//	u1 Jan 07 free    5    u5 Feb 04 ""     8
//	u3 Jan 09 true    1    u6 Feb 05 7      3
//	                       u6 Feb 06 "7"    6
//	                       u7 Feb 07 null  16
var handPurchases = []struct {
	user   string
	day    string
	plan   any // absent when nil and not null
	null   bool
	amount float64
}{
	{"u1", "2026-01-03", "pro", false, 10},
	{"u2", "2026-01-05", "pro", false, 20},
	{"u1", "2026-01-07", "free", false, 5},
	{"u3", "2026-01-09", true, false, 1},
	{"u3", "2026-02-02", "true", false, 2},
	{"u4", "2026-02-03", nil, false, 4},
	{"u5", "2026-02-04", "", false, 8},
	{"u6", "2026-02-05", 7.0, false, 3},
	{"u6", "2026-02-06", "7", false, 6},
	{"u7", "2026-02-07", nil, true, 16},
}

func handEvents(t *testing.T) []store.Event {
	t.Helper()
	var events []store.Event
	for i, p := range handPurchases {
		day, err := time.Parse(time.DateOnly, p.day)
		if err != nil {
			t.Fatal(err)
		}
		props := map[string]any{"amount": p.amount}
		if p.plan != nil || p.null {
			props["plan"] = p.plan
		}
		events = append(events, store.Event{Name: "purchase", DistinctID: p.user, Timestamp: day.Add(12 * time.Hour),
			Properties: props, Source: "test", MessageID: fmt.Sprint("p", i)})
	}
	return events
}

// handEngines returns an engine on the store alone and one on the index.
func handEngines(t *testing.T, events []store.Event, defs *kpi.Definitions) (plain, indexed *Engine) {
	t.Helper()
	db := openIndexDB(t, filepath.Join(t.TempDir(), "hand.db"), events)
	ix := NewActivityIndex(db, defs.Workspace.Location, DeclaredFor(defs), nil)
	if err := ix.Rebuild(context.Background()); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	now := func() time.Time { return time.Date(2026, time.March, 15, 0, 0, 0, 0, time.UTC) }
	return New(db, now), NewWithIndex(db, ix, now)
}

// indexedEngine returns an engine on the store of e, with an activity index
// that keeps the dimensions of defs and dims.
func indexedEngine(t *testing.T, e *Engine, defs *kpi.Definitions, dims ...string) *Engine {
	t.Helper()
	st, ok := e.events.(IndexStore)
	if !ok {
		t.Fatalf("the store %T cannot hold an activity index", e.events)
	}
	declared := DeclaredFor(defs)
	declared.Dimensions = append(declared.Dimensions, dims...)
	ix := NewActivityIndex(st, defs.Workspace.Location, declared, nil)
	if err := ix.Rebuild(context.Background()); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	return NewWithIndex(e.events, ix, e.now)
}

func TestIndexBreakdownByHand(t *testing.T) {
	defs, err := kpi.Parse("hand.yaml", []byte(handBreakdownKPIs))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	plain, indexed := handEngines(t, handEvents(t), defs)
	checkHandBreakdowns(t, defs, plain, indexed)
}

func TestIndexBreakdownByHandPostgres(t *testing.T) {
	ctx := context.Background()
	defs, err := kpi.Parse("hand.yaml", []byte(handBreakdownKPIs))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	dsn := storetest.PostgresDatabase(t)
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.InsertEvents(ctx, handEvents(t)); err != nil {
		t.Fatalf("insert events: %v", err)
	}
	ix := NewActivityIndex(db, time.UTC, DeclaredFor(defs), nil)
	if err := ix.Rebuild(ctx); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	now := func() time.Time { return time.Date(2026, time.March, 15, 0, 0, 0, 0, time.UTC) }
	checkHandBreakdowns(t, defs, New(db, now), NewWithIndex(db, ix, now))
}

// checkHandBreakdowns requires the hand-calculated breakdowns of
// handPurchases from both engines, and the path each takes.
func checkHandBreakdowns(t *testing.T, defs *kpi.Definitions, plain, indexed *Engine) {
	t.Helper()

	// Revenue by plan: pro 30, (none) 28 (missing 4, "" 8, null 16), "7" 9
	// (the number 7 and the text "7"), free 5, "true" 3 (the boolean true
	// and the text "true"). Limit 2 pools 7, free and true: 17 in all,
	// January 5+1, February 2+3+6.
	wantRevenue := []wantSegment{
		{"pro", 0, v(30), []*float64{v(30), v(0)}},
		{NoneSegment, 0, v(28), []*float64{v(0), v(28)}},
		{OtherSegment, 3, v(17), []*float64{v(6), v(11)}},
	}
	// Buyers by plan: (none) {u4, u5, u7} 3, pro {u1, u2} 2, then 7 {u6},
	// free {u1} and true {u3} with 1 each, pooled into 3 users: January
	// {u1, u3}, February {u3, u6}.
	wantBuyers := []wantSegment{
		{NoneSegment, 0, v(3), []*float64{v(0), v(3)}},
		{"pro", 0, v(2), []*float64{v(2), v(0)}},
		{OtherSegment, 3, v(3), []*float64{v(2), v(2)}},
	}
	for _, c := range []struct {
		engine   *Engine
		wantPath string
	}{{plain, PathSQL}, {indexed, PathIndex}} {
		b := breakdown(t, c.engine, defs, "revenue", "plan", 2, timegrain.Month, "2026-01-01", "2026-02-28")
		if b.Path != c.wantPath {
			t.Errorf("revenue: path = %q, want %q", b.Path, c.wantPath)
		}
		checkSegments(t, b, wantRevenue)

		b = breakdown(t, c.engine, defs, "buyers", "plan", 2, timegrain.Month, "2026-01-01", "2026-02-28")
		if b.Path != c.wantPath {
			t.Errorf("buyers: path = %q, want %q", b.Path, c.wantPath)
		}
		checkSegments(t, b, wantBuyers)

		// Every segment by name: the names of the number 7 and the boolean.
		b = breakdown(t, c.engine, defs, "revenue", "plan", 10, timegrain.Month, "2026-01-01", "2026-02-28")
		var names []string
		for _, s := range b.Segments {
			names = append(names, s.Name)
		}
		if want := []string{"pro", NoneSegment, "7", "free", "true"}; !slices.Equal(names, want) {
			t.Errorf("%s path: segments %q, want %q", c.wantPath, names, want)
		}
	}
}

func TestIndexBreakdownObjectValueUsesStore(t *testing.T) {
	defs, err := kpi.Parse("hand.yaml", []byte(handBreakdownKPIs))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	events := handEvents(t)
	events = append(events, store.Event{Name: "purchase", DistinctID: "u8", Timestamp: time.Date(2026, time.February, 8, 9, 0, 0, 0, time.UTC),
		Properties: map[string]any{"plan": map[string]any{"tier": "gold"}, "amount": 1.0}, Source: "test", MessageID: "object"})
	plain, indexed := handEngines(t, events, defs)

	want := breakdown(t, plain, defs, "revenue", "plan", 10, timegrain.Month, "2026-01-01", "2026-02-28")
	got := breakdown(t, indexed, defs, "revenue", "plan", 10, timegrain.Month, "2026-01-01", "2026-02-28")
	if got.Path != PathSQL {
		t.Errorf("path = %q, want sql: the index does not keep an object's JSON text", got.Path)
	}
	compareBreakdowns(t, "object", want, got)
	if !slices.ContainsFunc(got.Segments, func(s Segment) bool { return s.Name == `{"tier":"gold"}` }) {
		t.Errorf("segments %+v, want one named after the object", got.Segments)
	}
}

// indexBreakdownKPIs breaks down every kind the index can compute, and two
// it cannot: a filter on another property and a range filter.
const indexBreakdownKPIs = `workspace:
  name: Index breakdowns
  time_zone: %s
  week_start: %s
dimensions: [plan, country, tier]
kpis:
  - {id: purchases, name: Purchases, metric: {kind: count, event: purchase}}
  - {id: buyers, name: Buyers, metric: {kind: unique_users, event: purchase}}
  - {id: visitors, name: Visitors, metric: {kind: unique_users, event: visit}}
  - {id: revenue, name: Revenue, metric: {kind: sum, event: purchase, property: amount}}
  - {id: basket, name: Average basket, metric: {kind: average, event: purchase, property: amount}}
  - {id: per_buyer, name: Purchases per buyer, metric: {kind: formula, formula: "purchases / buyers"}}
  - {id: eu_buyers, name: EU buyers, metric: {kind: unique_users, event: purchase, where: {country: {in: [de, fr, 7]}}}}
  - {id: not_true, name: Purchases not true, metric: {kind: count, event: purchase, where: {tier: {neq: true}}}}
  - {id: wau, name: WAU, metric: {kind: active_users, event: visit, window: 7}}
  - {id: new_users, name: New users, metric: {kind: new_users, event: visit}}
  - {id: retention_w1, name: Week 1 retention, unit: "%%", metric: {kind: retention, cohort_event: signup, period: week, offset: 1}}
  - {id: pro_revenue, name: Pro revenue, metric: {kind: sum, event: purchase, property: amount, where: {plan: pro}}}
  - {id: big_orders, name: Big orders, metric: {kind: count, event: purchase, where: {amount: {gt: 50}}}}
`

// indexBreakdowns are the KPIs of indexBreakdownKPIs with the path their
// breakdowns by country and tier must take on the engine with the index.
// pro_revenue filters on plan, so only its breakdown by plan reads the index.
var indexBreakdowns = map[string]string{
	"purchases": PathIndex, "buyers": PathIndex, "visitors": PathIndex, "revenue": PathIndex,
	"basket": PathIndex, "per_buyer": PathIndex, "eu_buyers": PathSQL, "not_true": PathSQL,
	"wau": PathIndex, "new_users": PathIndex, "retention_w1": PathIndex,
	"pro_revenue": PathSQL, "big_orders": PathSQL,
}

// withTiers gives the generated events a tier property that takes every
// kind of value a segment name comes from: booleans, their text, numbers,
// the same numbers as text, the empty text, null, and no value.
func withTiers(events []store.Event) []store.Event {
	tiers := []any{true, "true", false, "gold", 3.0, "3", "", nil, "absent", -2.0}
	for i := range events {
		props := map[string]any{}
		for k, v := range events[i].Properties {
			props[k] = v
		}
		switch tier := tiers[(i*7)%len(tiers)]; tier {
		case "absent":
		default:
			props["tier"] = tier
		}
		events[i].Properties = props
	}
	return events
}

func TestIndexBreakdownMatchesStore(t *testing.T) {
	events := withTiers(generateEvents(11, 12000, 600, 100))
	db := openIndexDB(t, filepath.Join(t.TempDir(), "index.db"), events)
	ctx := context.Background()
	seen := map[string]bool{} // segment names of the store's breakdowns

	configs := []struct {
		zone, weekStart string
		midDay          bool
	}{
		{"UTC", "monday", false}, {"America/New_York", "sunday", true}, {"Asia/Kolkata", "monday", true},
	}
	for _, c := range configs {
		defs, err := kpi.Parse("breakdowns.yaml", []byte(fmt.Sprintf(indexBreakdownKPIs, c.zone, c.weekStart)))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		loc := defs.Workspace.Location
		ix := NewActivityIndex(db, loc, DeclaredFor(defs), nil)
		if err := ix.Rebuild(ctx); err != nil {
			t.Fatalf("rebuild: %v", err)
		}
		now := time.Date(2026, time.April, 11, 0, 0, 0, 0, loc)
		if c.midDay {
			now = time.Date(2026, time.March, 17, 15, 37, 0, 0, loc)
		}
		plain := New(db, func() time.Time { return now })
		indexed := NewWithIndex(db, ix, func() time.Time { return now })

		for _, grain := range []timegrain.Grain{timegrain.Day, timegrain.Week, timegrain.Month} {
			r := Range{From: timegrain.DateOf(time.Date(2026, time.January, 1, 0, 0, 0, 0, loc))}
			if grain == timegrain.Day {
				r.From = timegrain.DateOf(time.Date(2026, time.February, 20, 0, 0, 0, 0, loc))
			}
			for id, wantPath := range indexBreakdowns {
				for _, property := range []string{"country", "tier", "plan"} {
					for _, limit := range []int{2, 10} {
						if grain == timegrain.Day && limit == 10 {
							continue // day grain with the default limit adds little but time
						}
						name := fmt.Sprintf("%s/%s/%s/%s/%s by %s, limit %d", c.zone, c.weekStart, now.Format("0102T1504"), grain, id, property, limit)
						want, err := plain.Breakdown(ctx, defs, id, property, limit, grain, r)
						if err != nil {
							t.Fatalf("%s: store: %v", name, err)
						}
						got, err := indexed.Breakdown(ctx, defs, id, property, limit, grain, r)
						if err != nil {
							t.Fatalf("%s: index: %v", name, err)
						}
						if want.Path != PathSQL {
							t.Errorf("%s: plain engine path = %q, want sql", name, want.Path)
						}
						if wantPath := breakdownPath(id, property, wantPath); got.Path != wantPath {
							t.Errorf("%s: path = %q, want %q", name, got.Path, wantPath)
						}
						compareBreakdowns(t, name, want, got)
						for _, n := range segmentNames(want) {
							seen[n] = true
						}
					}
				}
			}
		}
	}
	for _, n := range []string{NoneSegment, OtherSegment, "true", "false", "3", "-2", "7", "gold", "pro"} {
		if !seen[n] {
			t.Errorf("no breakdown has the segment %q, so the test covers less than it should", n)
		}
	}
}

// breakdownPath returns the path that the breakdown of KPI id by property
// takes on the engine with the index, given its path by other properties.
func breakdownPath(id, property, path string) string {
	switch {
	case id == "pro_revenue" && property == "plan":
		return PathIndex
	case id == "eu_buyers" && property == "country", id == "not_true" && property == "tier":
		// A filter on the breakdown's own property narrows its segments.
		return PathIndex
	case id == "retention_w1" || id == "wau" || id == "new_users":
		// The other segment filters neq on every shown value, which the
		// index also computes.
		return PathIndex
	}
	return path
}

// compareBreakdowns requires equal breakdowns but for their paths, and for
// sums that may differ in their last bits because the index adds in another
// order.
func compareBreakdowns(t *testing.T, name string, want, got *Breakdown) {
	t.Helper()
	w, g := *want, *got
	w.Path, g.Path, w.Segments, g.Segments = "", "", nil, nil
	w.PathNotes, g.PathNotes = nil, nil
	if !reflect.DeepEqual(w, g) {
		t.Errorf("%s: breakdown = %+v, want %+v", name, g, w)
	}

	// The engine with the index gives a reason for taking the SQL path, and
	// only then.
	if got.Path != PathIndex && len(got.PathNotes) == 0 {
		t.Errorf("%s: path %q without path notes, want the reason", name, got.Path)
	}
	if got.Path == PathIndex && len(got.PathNotes) > 0 {
		t.Errorf("%s: path notes %q on the index path, want none", name, got.PathNotes)
	}
	if len(want.Segments) != len(got.Segments) {
		t.Errorf("%s: %d segments %q, want %d %q", name, len(got.Segments), segmentNames(got), len(want.Segments), segmentNames(want))
		return
	}
	for i := range want.Segments {
		ws, gs := want.Segments[i], got.Segments[i]
		where := fmt.Sprintf("%s: segment %d (%s)", name, i, ws.Name)
		if ws.Name != gs.Name || ws.Pooled != gs.Pooled {
			t.Errorf("%s: name and pooled = %q %d, want %q %d", where, gs.Name, gs.Pooled, ws.Name, ws.Pooled)
			continue
		}
		compareSegmentValue(t, where+" total", ws.Total, gs.Total)
		for j := range ws.Values {
			compareSegmentValue(t, fmt.Sprintf("%s period %d", where, j), ws.Values[j], gs.Values[j])
		}
	}
}

func compareSegmentValue(t *testing.T, where string, want, got SegmentValue) {
	t.Helper()
	if !closeEnough(want.Value, got.Value) || want.NoValueReason != got.NoValueReason {
		t.Errorf("%s: %s (%q), want %s (%q)", where, show(got.Value), got.NoValueReason, show(want.Value), want.NoValueReason)
	}
}

func segmentNames(b *Breakdown) []string {
	var names []string
	for _, s := range b.Segments {
		names = append(names, s.Name)
	}
	return names
}

func TestIndexNewDimensionRebuilds(t *testing.T) {
	ctx := context.Background()
	db := openIndexDB(t, filepath.Join(t.TempDir(), "index.db"), handEvents(t))
	withDimension, err := kpi.Parse("hand.yaml", []byte(handBreakdownKPIs))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	without := *withDimension
	without.Dimensions = nil
	if d := DeclaredFor(&without); slices.Contains(d.Dimensions, "plan") {
		t.Fatalf("declared without the dimensions list = %+v, want no plan", d)
	}

	first := NewActivityIndex(db, time.UTC, DeclaredFor(&without), nil)
	if err := first.Load(ctx); err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := first.Save(ctx); err != nil {
		t.Fatalf("save: %v", err)
	}
	now := func() time.Time { return time.Date(2026, time.March, 15, 0, 0, 0, 0, time.UTC) }
	b, err := NewWithIndex(db, first, now).Breakdown(ctx, withDimension, "revenue", "plan", 2, timegrain.Month, Range{From: date("2026-01-01"), To: date("2026-02-28")})
	if err != nil {
		t.Fatalf("breakdown: %v", err)
	}
	if b.Path != PathSQL {
		t.Errorf("path without plan declared = %q, want sql", b.Path)
	}

	// The saved index lacks plan, so loading it for a KPI file that lists
	// plan reads every event again.
	second := NewActivityIndex(db, time.UTC, DeclaredFor(withDimension), nil)
	if err := second.Load(ctx); err != nil {
		t.Fatalf("load with plan declared: %v", err)
	}
	if second.Rebuilds() != 1 {
		t.Errorf("rebuilds = %d, want 1: the saved index does not keep plan", second.Rebuilds())
	}
	if err := second.Save(ctx); err != nil {
		t.Fatalf("save: %v", err)
	}
	b, err = NewWithIndex(db, second, now).Breakdown(ctx, withDimension, "revenue", "plan", 2, timegrain.Month, Range{From: date("2026-01-01"), To: date("2026-02-28")})
	if err != nil {
		t.Fatalf("breakdown: %v", err)
	}
	if b.Path != PathIndex {
		t.Errorf("path with plan declared = %q, want index", b.Path)
	}
	checkSegments(t, b, []wantSegment{
		{"pro", 0, v(30), []*float64{v(30), v(0)}},
		{NoneSegment, 0, v(28), []*float64{v(0), v(28)}},
		{OtherSegment, 3, v(17), []*float64{v(6), v(11)}},
	})

	// Dropping the dimension again keeps the saved index, which covers it.
	third := NewActivityIndex(db, time.UTC, DeclaredFor(&without), nil)
	if err := third.Load(ctx); err != nil {
		t.Fatalf("load without plan: %v", err)
	}
	if third.Rebuilds() != 0 {
		t.Errorf("rebuilds = %d, want 0: the saved index keeps more than needed", third.Rebuilds())
	}
}
