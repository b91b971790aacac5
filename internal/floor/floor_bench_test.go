//go:build unix

package floor

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/gen"
)

// benchSizes are the data sets of NORTHSTAR_FLOOR_SIZE: small by default, so
// that go test -bench stays quick, and the sizes of bench/compare.sh. All
// span 365 days with seed 1, as compare.sh does.
var benchSizes = map[string]gen.Options{
	"small": {Events: 100_000, Users: 5_000, Days: 365, Seed: 1},
	"1m":    {Events: 1_000_000, Users: 50_000, Days: 365, Seed: 1},
	"10m":   {Events: 10_000_000, Users: 500_000, Days: 365, Seed: 1},
	"20m":   {Events: 20_000_000, Users: 500_000, Days: 365, Seed: 1},
}

// benchDays builds the bitmaps of NORTHSTAR_FLOOR_SIZE once per test binary,
// because a 20M-event build takes many seconds.
var benchDays = sync.OnceValues(func() (*Days, error) {
	opts, err := benchOptions()
	if err != nil {
		return nil, err
	}
	d, _, err := Build(opts)
	return d, err
})

func benchOptions() (gen.Options, error) {
	size := os.Getenv("NORTHSTAR_FLOOR_SIZE")
	if size == "" {
		size = "small"
	}
	opts, ok := benchSizes[size]
	if !ok {
		return opts, fmt.Errorf("NORTHSTAR_FLOOR_SIZE is %q; want small, 1m, 10m or 20m", size)
	}
	return opts, nil
}

// BenchmarkFloorBuild times generating the events and building the per-day
// bitmaps. Generating is most of it; see BenchmarkFloorGenerate.
func BenchmarkFloorBuild(b *testing.B) {
	opts, err := benchOptions()
	if err != nil {
		b.Fatal(err)
	}
	loopWithCPU(b, func() {
		if _, _, err := Build(opts); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkFloorGenerate times generating the events alone, so that the
// bitmaps' share of BenchmarkFloorBuild is the difference.
func BenchmarkFloorGenerate(b *testing.B) {
	opts, err := benchOptions()
	if err != nil {
		b.Fatal(err)
	}
	loopWithCPU(b, func() {
		if _, err := gen.Each(opts, func(int, []gen.Event) error { return nil }); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkFloor times Q1 to Q4 on bitmaps built before the timer starts.
func BenchmarkFloor(b *testing.B) {
	d, err := benchDays()
	if err != nil {
		b.Fatal(err)
	}
	steps := []string{gen.EventSignup, gen.EventActivate, gen.EventPurchase}
	b.Run("Q1", func(b *testing.B) { loopWithCPU(b, func() { DailyActive(d) }) })
	b.Run("Q2", func(b *testing.B) { loopWithCPU(b, func() { RollingActive(d, 30) }) })
	b.Run("Q3", func(b *testing.B) { loopWithCPU(b, func() { MonthlyCohorts(d, gen.EventSignup) }) })
	b.Run("Q4", func(b *testing.B) { loopWithCPU(b, func() { Funnel(d, steps, 7) }) })
	b.Run("Q4sweep", func(b *testing.B) { loopWithCPU(b, func() { FunnelSweep(d, steps, 7) }) })
}

// loopWithCPU runs fn in b.Loop and reports, beside the wall time, the CPU
// time (user and system) of the process per iteration as cpu-ns/op. On a
// machine that other work shares, the CPU time varies less than the wall
// time, which includes the time spent waiting for a core.
func loopWithCPU(b *testing.B, fn func()) {
	start := processCPU()
	for b.Loop() {
		fn()
	}
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

// processCPU returns the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
