package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// benchmarkIndexSeries times one KPI's series over a year, at day grain
// unless grain says otherwise, with and without the activity index, on
// 100,000 generated events of 5,000 users.
func benchmarkIndexSeries(b *testing.B, id string, grain timegrain.Grain) {
	ctx := context.Background()
	db := openIndexDB(&testing.T{}, filepath.Join(b.TempDir(), "bench.db"), generateEvents(1, 100000, 5000, 365))
	b.Cleanup(func() { db.Close() })
	defs := parseIndexKPIs(&testing.T{}, "UTC", "monday")
	ix := NewActivityIndex(db, time.UTC, DeclaredFor(defs), nil)
	if err := ix.Rebuild(ctx); err != nil {
		b.Fatalf("rebuild: %v", err)
	}
	now := time.Date(2027, time.January, 1, 0, 0, 0, 0, time.UTC)
	r := Range{From: timegrain.Date{Year: 2026, Month: 1, Day: 1}, To: timegrain.Date{Year: 2026, Month: 12, Day: 31}}

	for _, c := range []struct {
		name   string
		engine *Engine
	}{
		{"index", NewWithIndex(db, ix, func() time.Time { return now })},
		{"sql", New(db, func() time.Time { return now })},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				ix.ClearCache() // time the computation, not a cache hit
				if _, err := c.engine.Series(ctx, defs, id, grain, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIndexCohorts times the cohort table of retention_w1 over a year,
// a row per week, on the data of benchmarkIndexSeries.
func BenchmarkIndexCohorts(b *testing.B) {
	ctx := context.Background()
	db := openIndexDB(&testing.T{}, filepath.Join(b.TempDir(), "bench.db"), generateEvents(1, 100000, 5000, 365))
	b.Cleanup(func() { db.Close() })
	defs := parseIndexKPIs(&testing.T{}, "UTC", "monday")
	ix := NewActivityIndex(db, time.UTC, DeclaredFor(defs), nil)
	if err := ix.Rebuild(ctx); err != nil {
		b.Fatalf("rebuild: %v", err)
	}
	now := time.Date(2027, time.January, 1, 0, 0, 0, 0, time.UTC)
	r := Range{From: timegrain.Date{Year: 2026, Month: 1, Day: 1}, To: timegrain.Date{Year: 2026, Month: 12, Day: 31}}

	for _, c := range []struct {
		name, path string
		engine     *Engine
	}{
		{"index", PathIndex, NewWithIndex(db, ix, func() time.Time { return now })},
		{"sql", PathSQL, New(db, func() time.Time { return now })},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				ix.ClearCache()
				t, err := c.engine.Cohorts(ctx, defs, "retention_w1", r)
				if err != nil {
					b.Fatal(err)
				}
				if t.Path != c.path {
					b.Fatalf("path = %q, want %q", t.Path, c.path)
				}
			}
		})
	}
}

func BenchmarkIndexDAU(b *testing.B)       { benchmarkIndexSeries(b, "dau", timegrain.Day) }
func BenchmarkIndexRolling30(b *testing.B) { benchmarkIndexSeries(b, "mau", timegrain.Day) }
func BenchmarkIndexRetention(b *testing.B) { benchmarkIndexSeries(b, "retention_m1", timegrain.Month) }
func BenchmarkIndexFunnel(b *testing.B)    { benchmarkIndexSeries(b, "funnel", timegrain.Week) }
func BenchmarkIndexRevenue(b *testing.B)   { benchmarkIndexSeries(b, "revenue", timegrain.Month) }
