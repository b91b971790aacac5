package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// benchKPIs names the KPIs of bench/kpis.yaml that the workloads Q1 to Q5
// read. Q6 computes every KPI of the file, as the dashboard does.
var benchKPIs = struct {
	dau, rolling, retention, funnel, revenue string
}{"dau", "mau_rolling", "retention_month_1", "signup_to_purchase", "revenue"}

// benchRuns is how many timed runs of each workload follow the warm-up run;
// the reported time is their median.
const benchRuns = 3

// newBenchCmd groups the benchmark commands.
func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Northstar on a loaded database",
	}
	cmd.AddCommand(newBenchQueriesCmd(g), newBenchIngestCmd(g))
	return cmd
}

func newBenchQueriesCmd(g *globals) *cobra.Command {
	var kpiPath, jsonPath, profilePath string
	cmd := &cobra.Command{
		Use:   "queries --db PATH --kpis FILE [--json OUT]",
		Short: "Time the benchmark workloads Q1 to Q6 through the engine",
		Long: `Run the benchmark workloads through the engine's Go API on an already
loaded database, over every day from the first event to the last:

  Q1  daily active users (KPI dau), every day
  Q2  rolling 30-day active users (KPI mau_rolling), every day
  Q3  the monthly retention cohort table (KPI retention_month_1)
  Q4  signup to activate to purchase within 7 days, by signup week (KPI signup_to_purchase)
  Q5  revenue by month, and by month and plan (KPI revenue)
  Q6  every KPI of the file at its own grain and default range, as the dashboard computes its cards

Each workload runs once to warm up, then 3 times; the time printed is the
median, in milliseconds. The activity index's cache of computed ranges is
emptied before every run, so the times include computing every union from
the index's days. A last line times Q6 again without emptying the cache,
as a dashboard loaded a second time with no new events runs. --json writes the times and each workload's answer,
in the shape bench/compare.sh compares with the other databases. The KPI
file is bench/kpis.yaml or one with the same KPI ids.`,
		Example: `  northstar bench queries --db bench.db --kpis bench/kpis.yaml --json northstar.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kpiPath == "" {
				return &usageError{errors.New("--kpis FILE is required")}
			}
			defs, err := kpi.LoadFile(kpiPath)
			if err != nil {
				return err
			}
			for _, id := range []string{benchKPIs.dau, benchKPIs.rolling, benchKPIs.retention, benchKPIs.funnel, benchKPIs.revenue} {
				if _, err := defs.KPI(id); err != nil {
					return kpi.Errorf(kpi.EINVALID, "%s: the benchmark needs KPI %q (see bench/kpis.yaml)", kpiPath, id)
				}
			}

			if _, err := os.Stat(g.dbPath); !isPostgresURL(g.dbPath) && errors.Is(err, os.ErrNotExist) {
				return kpi.Errorf(kpi.EINVALID, "database %s does not exist; load events first with northstar import csv, or pass --db", g.dbPath)
			}
			db, err := openStore(cmd.Context(), g.dbPath)
			if err != nil {
				return err
			}
			defer db.Close()

			// The index is loaded (or built, when the database has none) as
			// report and serve do, before any workload is timed.
			start := time.Now()
			ix, err := openIndex(cmd.Context(), db, defs, nil)
			if err != nil {
				return err
			}
			indexMS := float64(time.Since(start).Microseconds()) / 1000

			if profilePath != "" {
				f, err := os.Create(profilePath)
				if err != nil {
					return kpi.Errorf(kpi.EINVALID, "--cpuprofile: %v", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			}
			result, err := runBenchQueries(cmd.Context(), engine.NewWithIndex(db, ix, time.Now), db, defs, ix.ClearCache)
			if profilePath != "" {
				pprof.StopCPUProfile()
			}
			if err != nil {
				return err
			}
			result.IndexLoadMS = indexMS
			fmt.Fprintf(g.stdout, "activity index loaded in %.1f ms\n", indexMS)
			for _, w := range result.Workloads {
				fmt.Fprintf(g.stdout, "%-3s %10.3f ms  %s\n", w.ID, w.MedianMS, w.Title)
			}
			fmt.Fprintf(g.stdout, "Q6 %11.3f ms  the same dashboard again, with the cache the previous run filled\n", result.Q6WarmMS)
			if jsonPath == "" {
				return nil
			}
			data, err := json.MarshalIndent(result, "", " ")
			if err != nil {
				return err
			}
			return os.WriteFile(jsonPath, append(data, '\n'), 0o644)
		},
	}
	cmd.Flags().StringVar(&kpiPath, "kpis", "", "KPI definitions file with the benchmark's KPIs (bench/kpis.yaml)")
	cmd.Flags().StringVar(&jsonPath, "json", "", "write the times and answers as JSON to this `FILE`")
	cmd.Flags().StringVar(&profilePath, "cpuprofile", "", "write a CPU profile of the workloads (warm-up and timed runs) to this `FILE`, for go tool pprof")
	return cmd
}

// benchResult is the output of bench queries: the range of days, and per
// workload its times and answer.
type benchResult struct {
	From      string          `json:"from"` // first day, YYYY-MM-DD
	To        string          `json:"to"`   // last day, inclusive
	Workloads []benchWorkload `json:"workloads"`
	Answers   map[string]any  `json:"answers"`
	Cards     int             `json:"q6_cards"`

	// IndexLoadMS is the time taken to load the activity index from the
	// database before the workloads, in milliseconds.
	IndexLoadMS float64 `json:"index_load_ms"`

	// Q6WarmMS is the median time of Q6 run with the index's cache that the
	// run before it filled, in milliseconds.
	Q6WarmMS float64 `json:"q6_warm_ms"`
}

// benchWorkload is one workload's timing, in milliseconds.
type benchWorkload struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	MedianMS float64   `json:"median_ms"`
	RunsMS   []float64 `json:"runs_ms"`
}

// runBenchQueries times Q1 to Q6 over the days from the first event to the
// last, calling clearCache before each run.
func runBenchQueries(ctx context.Context, eng *engine.Engine, events engine.EventAggregator, defs *kpi.Definitions, clearCache func()) (*benchResult, error) {
	span, err := events.EventSpan(ctx)
	if err != nil {
		return nil, err
	}
	if span.Empty {
		return nil, kpi.Errorf(kpi.EINVALID, "the database contains no events; load some first with northstar import csv")
	}
	cal := defs.Workspace.Calendar()
	r := engine.Range{From: timegrain.DateOf(span.First.In(cal.Location)), To: timegrain.DateOf(span.Last.In(cal.Location))}
	res := &benchResult{From: r.From.String(), To: r.To.String(), Answers: map[string]any{}, Cards: len(defs.KPIs)}

	workloads := []struct {
		id, title string
		run       func() (any, error)
	}{
		{"Q1", "daily active users, every day", func() (any, error) { return benchDaily(ctx, eng, defs, benchKPIs.dau, r) }},
		{"Q2", "rolling 30-day active users, every day", func() (any, error) { return benchDaily(ctx, eng, defs, benchKPIs.rolling, r) }},
		{"Q3", "monthly retention cohort table", func() (any, error) { return benchCohorts(ctx, eng, defs, r) }},
		{"Q4", "signup, activate, purchase within 7 days, by week", func() (any, error) { return benchFunnel(ctx, eng, defs, cal, r) }},
		{"Q5", "revenue by month, and by month and plan", func() (any, error) { return benchRevenue(ctx, eng, defs, r) }},
		{"Q6", fmt.Sprintf("dashboard of %d KPI cards", len(defs.KPIs)), func() (any, error) { return benchDashboard(ctx, eng, defs) }},
	}
	for _, w := range workloads {
		clearCache()
		answer, err := w.run() // warm-up
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.id, err)
		}
		bw := benchWorkload{ID: w.id, Title: w.title}
		for range benchRuns {
			clearCache()
			start := time.Now()
			if answer, err = w.run(); err != nil {
				return nil, fmt.Errorf("%s: %w", w.id, err)
			}
			bw.RunsMS = append(bw.RunsMS, float64(time.Since(start).Microseconds())/1000)
		}
		bw.MedianMS = median(bw.RunsMS)
		res.Workloads = append(res.Workloads, bw)
		res.Answers[w.id] = answer
	}

	// Q6 again, keeping what the run before filled the cache with.
	var warm []float64
	for range benchRuns {
		start := time.Now()
		if _, err := benchDashboard(ctx, eng, defs); err != nil {
			return nil, fmt.Errorf("Q6: %w", err)
		}
		warm = append(warm, float64(time.Since(start).Microseconds())/1000)
	}
	res.Q6WarmMS = median(warm)
	return res, nil
}

func median(values []float64) float64 {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

// benchDaily returns [day, users] for every day of r.
func benchDaily(ctx context.Context, eng *engine.Engine, defs *kpi.Definitions, id string, r engine.Range) ([][2]any, error) {
	s, err := eng.Series(ctx, defs, id, timegrain.Day, r)
	if err != nil {
		return nil, err
	}
	out := make([][2]any, 0, len(s.Points))
	for _, p := range s.Points {
		out = append(out, [2]any{timegrain.DateOf(p.Start).String(), valueOrZero(p.Value)})
	}
	return out, nil
}

// benchCohorts returns [cohort month, size, users back in months 0, 1, ...]
// for every month of r.
func benchCohorts(ctx context.Context, eng *engine.Engine, defs *kpi.Definitions, r engine.Range) ([][3]any, error) {
	t, err := eng.Cohorts(ctx, defs, benchKPIs.retention, r)
	if err != nil {
		return nil, err
	}
	out := make([][3]any, 0, len(t.Cohorts))
	for _, row := range t.Cohorts {
		users := make([]int64, len(row.Retained))
		for i, c := range row.Retained {
			users[i] = c.Users
		}
		out = append(out, [3]any{row.Start.Format("2006-01"), row.Size, users})
	}
	return out, nil
}

// benchFunnel returns [week start, entered, completed, in progress] for
// every week of r.
func benchFunnel(ctx context.Context, eng *engine.Engine, defs *kpi.Definitions, cal timegrain.Calendar, r engine.Range) ([][4]any, error) {
	s, err := eng.Series(ctx, defs, benchKPIs.funnel, timegrain.Week, r)
	if err != nil {
		return nil, err
	}
	out := make([][4]any, 0, len(s.Points))
	for _, p := range s.Points {
		week := timegrain.DateOf(cal.Start(timegrain.Week, p.Start)).String()
		out = append(out, [4]any{week, int64(p.Details["entered"]), int64(p.Details["completed"]), int64(p.Details["in_progress"])})
	}
	return out, nil
}

// benchRevenueAnswer is Q5's answer: sums rounded to cents, every month of
// the range in ByMonth, and the non-zero month and plan pairs in ByMonthPlan.
type benchRevenueAnswer struct {
	ByMonth     [][2]any `json:"by_month"`
	ByMonthPlan [][3]any `json:"by_month_plan"`
}

func benchRevenue(ctx context.Context, eng *engine.Engine, defs *kpi.Definitions, r engine.Range) (*benchRevenueAnswer, error) {
	s, err := eng.Series(ctx, defs, benchKPIs.revenue, timegrain.Month, r)
	if err != nil {
		return nil, err
	}
	b, err := eng.Breakdown(ctx, defs, benchKPIs.revenue, "plan", engine.MaxBreakdownLimit, timegrain.Month, r)
	if err != nil {
		return nil, err
	}

	ans := &benchRevenueAnswer{ByMonth: [][2]any{}, ByMonthPlan: [][3]any{}}
	for _, p := range s.Points {
		ans.ByMonth = append(ans.ByMonth, [2]any{p.Start.Format("2006-01"), cents(valueOrZero(p.Value))})
	}
	for _, seg := range b.Segments {
		if seg.Name == engine.OtherSegment {
			return nil, kpi.Errorf(kpi.EINVALID, "more than %d plans; the benchmark's answer needs every plan by name", engine.MaxBreakdownLimit)
		}
		for i, v := range seg.Values {
			if x := valueOrZero(v.Value); x != 0 {
				ans.ByMonthPlan = append(ans.ByMonthPlan, [3]any{b.Periods[i].Start.Format("2006-01"), seg.Name, cents(x)})
			}
		}
	}
	sort.Slice(ans.ByMonthPlan, func(i, j int) bool {
		a, c := ans.ByMonthPlan[i], ans.ByMonthPlan[j]
		if a[0] != c[0] {
			return a[0].(string) < c[0].(string)
		}
		return a[1].(string) < c[1].(string)
	})
	return ans, nil
}

// benchDashboard computes every KPI's default series, as the dashboard does
// for its cards, and returns each card's current and previous values.
func benchDashboard(ctx context.Context, eng *engine.Engine, defs *kpi.Definitions) (map[string][2]*float64, error) {
	cards := map[string][2]*float64{}
	for _, k := range defs.KPIs {
		s, err := eng.Series(ctx, defs, k.ID, k.Grain, engine.Range{})
		if err != nil {
			return nil, fmt.Errorf("kpi %q: %w", k.ID, err)
		}
		if p := s.Current(); p != nil {
			cards[k.ID] = [2]*float64{p.Value, p.Previous}
		}
	}
	return cards, nil
}

func valueOrZero(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

// cents rounds a sum of money to 2 decimals, so that sums added up in a
// different order compare equal.
func cents(v float64) float64 { return math.Round(v*100) / 100 }
