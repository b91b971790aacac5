package trend

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// TestYearOverYearFunnelSameLag checks that a funnel's February a year ago
// counts the purchases made in early March after it, as this February does,
// instead of leaving those users in progress.
//
// Each February, by hand, one user signs up on the 3rd and buys on the 5th.
// A second signs up on the 26th and buys on 2 March, inside the 7-day
// window. A third signs up on the 26th and never buys. So 2 of 3 convert in both years
// (66.7 %), and the change is 0 percentage points. Judged as of the end of
// February 2025, the two users of the 26th would be in progress, and the
// year before would read 1 of 1 (100 %).
func TestYearOverYearFunnelSameLag(t *testing.T) {
	ctx := context.Background()
	defs, err := kpi.Parse("kpis.yaml", []byte(`workspace: {name: Acme}
kpis:
  - id: conversion
    name: Signup to purchase
    unit: "%"
    grain: month
    metric: {kind: funnel, steps: [signup, purchase], window: 7}
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
	add := func(name, user, day string) {
		at, err := time.Parse(time.DateOnly, day)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, store.Event{Name: name, DistinctID: user, Timestamp: at.Add(10 * time.Hour),
			Source: "test", MessageID: name + user + day})
	}
	add("page_view", "early", "2025-01-15")
	for _, year := range []string{"2025", "2026"} {
		add("signup", "a"+year, year+"-02-03")
		add("purchase", "a"+year, year+"-02-05")
		add("signup", "b"+year, year+"-02-26")
		add("purchase", "b"+year, year+"-03-02")
		add("signup", "c"+year, year+"-02-26")
	}
	add("signup", "late", "2026-03-19")
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	eng := engine.New(db, func() time.Time { return now })
	k, _ := defs.KPI("conversion")
	series, err := eng.Series(ctx, defs, "conversion", timegrain.Month, engine.Range{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Compute(ctx, eng, defs, k, series, Options{})
	if err != nil {
		t.Fatal(err)
	}
	yoy := tr.YearOverYear
	if yoy == nil {
		t.Fatalf("no year-over-year change; notes %v", tr.Notes)
	}
	want := 200.0 / 3
	if !yoy.Start.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) || math.Abs(yoy.Current-want) > 1e-9 ||
		math.Abs(yoy.Previous-want) > 1e-9 || math.Abs(yoy.Difference) > 1e-9 {
		t.Errorf("year over year = %s %v from %v (difference %v), want February 2026 at 66.7 from 66.7 (0)",
			yoy.Start, yoy.Current, yoy.Previous, yoy.Difference)
	}
}
