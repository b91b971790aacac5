//go:build unix

package engine

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// BenchmarkEngineOnDB times Q1 to Q4 of bench/kpis.yaml through the engine,
// as northstar bench queries does, on the SQLite database that
// NORTHSTAR_BENCH_DB names (loaded with northstar import csv --kpis
// bench/kpis.yaml). It is skipped without one. Beside the floor's
// benchmarks (package floor) it gives both sides as Go benchmarks, which
// repeat each workload enough for a CPU profile.
func BenchmarkEngineOnDB(b *testing.B) {
	path := os.Getenv("NORTHSTAR_BENCH_DB")
	if path == "" {
		b.Skip("NORTHSTAR_BENCH_DB is not set")
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatalf("open %s: %v", path, err)
	}
	b.Cleanup(func() { db.Close() })
	defs, err := kpi.LoadFile("../../bench/kpis.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ix := NewActivityIndex(db, defs.Workspace.Location, DeclaredFor(defs), nil)
	if err := ix.Load(ctx); err != nil {
		b.Fatalf("load the activity index: %v", err)
	}
	span, err := db.EventSpan(ctx)
	if err != nil {
		b.Fatal(err)
	}
	loc := defs.Workspace.Location
	r := Range{From: timegrain.DateOf(span.First.In(loc)), To: timegrain.DateOf(span.Last.In(loc))}
	eng := NewWithIndex(db, ix, time.Now)

	workloads := []struct {
		name string
		run  func() error
	}{
		{"Q1", func() error { _, err := eng.Series(ctx, defs, "dau", timegrain.Day, r); return err }},
		{"Q2", func() error { _, err := eng.Series(ctx, defs, "mau_rolling", timegrain.Day, r); return err }},
		{"Q3", func() error { _, err := eng.Cohorts(ctx, defs, "retention_month_1", r); return err }},
		{"Q4", func() error { _, err := eng.Series(ctx, defs, "signup_to_purchase", timegrain.Week, r); return err }},
	}
	for _, w := range workloads {
		b.Run(w.name, func(b *testing.B) {
			start := processCPU()
			for b.Loop() {
				ix.ClearCache() // time the computation, not a cache hit
				if err := w.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU returns the user and system CPU time of the process so far. On
// a shared machine, the cpu-ns/op it gives varies less than the wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
