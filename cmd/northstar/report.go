package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/report"
	"github.com/northstar-kpi/northstar/internal/timegrain"
	"github.com/northstar-kpi/northstar/internal/trend"
	"github.com/northstar-kpi/northstar/internal/web"
)

func newReportCmd(g *globals) *cobra.Command {
	var (
		kpiPath, grainFlag, fromFlag, toFlag, formatFlag string
		outputFlag                                       string
		only                                             []string
		breakdownFlag                                    string
		limitFlag                                        int
		explain, seriesFlag                              bool
	)
	cmd := &cobra.Command{
		Use:   "report --kpis FILE [--db PATH] [--grain day|week|month|quarter] [--from DATE] [--to DATE] [--format table|csv|json|html|pdf] [--output FILE] [--kpi ID --breakdown PROPERTY [--limit N]]",
		Short: "Compute KPIs and print them with their targets and statuses",
		Long: `Compute every KPI of the KPI file (or those named with --kpi) over the
events in the database, period by period, and print each period's value,
the previous period's value, the change, the target on the path from
baseline to target, and the status: on_track, at_risk, off_track, no_data
(the period has no value), no_target (the KPI has no target, or the period
starts on or before the baseline date), or pending (the period is not over
and its value cannot be pro-rated, as for unique users; it is judged when it
ends), or retired (a review retired the KPI; it is not judged). Each period
is judged against the target in force when it ended, so a revised target
changes only later periods. docs/kpi-file.md explains how status is
computed. The table and JSON formats also show each KPI's review schedule:
its cadence and whether a review is due today.

Each KPI is computed at its own grain (the grain field of its definition,
month when it has none) unless --grain sets one grain for every KPI.
Periods are days, weeks, months or quarters in the time zone and week start
of the KPI file's workspace. Dates are YYYY-MM-DD and inclusive. Without
--to, the report ends on the day of the newest event; without --from, it
starts 30 days, 13 weeks, 12 months or 8 quarters earlier. A period that
extends past the end of the report (or past now) is marked partial, and it
is compared with the same elapsed span of the period before.

The table ends each KPI with its trend analysis (docs/trends.md): the change
of the latest complete period from the one before and from the same period a
year before, the forecast for the period of the target's date (or the next
period) with its 95% prediction interval, pace against the target, anomalies
and, for a KPI with a breakdown property, the segment that changed most. JSON
output has the same under "trend".

--format html and --format pdf write one document, the digest that scheduled
reports send. It notes a KPI computed at a grain other than its own. It lists each
KPI's value, status, change, year-over-year change, forecast and pace, with
a chart per KPI (a PNG, embedded in the HTML file), then the reviews due today, the annotations dated from --from to today and
the feedback recorded since --from. They show no per-period table, cohort
table or funnel steps.

CSV columns, in order: kpi,period_start,value,previous,change,target,status,partial,grain.
change is in percent, or in percentage points for KPIs whose unit is "%".

A report of one retention KPI prints its cohort table instead: one row per
cohort period (CSV columns cohort,size, then 0,1,... with the percent of the
cohort back in each period after it, up to the last period that is over).
A report of one funnel KPI prints its steps (CSV columns step,event,users,
conversion_from_previous,conversion_from_first,in_progress,dropped). Both
use no event after --to. --series prints the KPI's series, period by period,
instead, as for any other KPI.

With --breakdown PROPERTY, each KPI named with --kpi is computed per value
of that event property instead: the top --limit values (ranked by their
total for counts, unique users and sums, and by their number of events for
the other kinds), the rest pooled into "(other)". Events without the property are a "(none)"
segment for counts, sums and averages, and part of "(other)" for the other
kinds. CSV columns: kpi,period_start,segment,value. docs/metrics.md says how
each metric kind is broken down.`,
		Example: `  northstar report --kpis examples/relay-foods/kpis.yaml --from 2009-01-01 --to 2010-03-09
  northstar report --kpis kpis.yaml --grain week --format csv > weekly.csv
  northstar report --kpis kpis.yaml --format pdf --output kpis.pdf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kpiPath == "" {
				return &usageError{errors.New("--kpis FILE is required")}
			}
			// Without --grain, each KPI is computed at its own grain.
			var grain timegrain.Grain
			if cmd.Flags().Changed("grain") {
				g, err := timegrain.ParseGrain(grainFlag)
				if err != nil {
					return &usageError{err}
				}
				grain = g
			}
			format, err := report.ParseFormat(formatFlag)
			if err != nil {
				return err
			}
			r, err := parseRange(fromFlag, toFlag)
			if err != nil {
				return err
			}
			if err := checkBreakdownFlags(cmd, breakdownFlag, limitFlag, only); err != nil {
				return err
			}
			if breakdownFlag != "" && report.IsDocument(format) {
				return &usageError{fmt.Errorf("--format %s does not show breakdowns (use table, csv or json with --breakdown)", format)}
			}

			defs, err := kpi.LoadFile(kpiPath)
			if err != nil {
				return err
			}

			if _, err := os.Stat(g.dbPath); !isPostgresURL(g.dbPath) && errors.Is(err, os.ErrNotExist) {
				return kpi.Errorf(kpi.EINVALID, "database %s does not exist; import data first with northstar import csv, or pass --db", g.dbPath)
			}
			db, err := openStore(cmd.Context(), g.dbPath)
			if err != nil {
				return err
			}
			defer db.Close()

			meta, _ := db.(web.KPIMetaStore)
			if defs, err = withStoredKPIs(cmd.Context(), defs, meta, time.Now()); err != nil {
				return err
			}
			ids, err := selectKPIs(defs, only)
			if err != nil {
				return err
			}

			ix, err := openIndex(cmd.Context(), db, defs, nil)
			if err != nil {
				return err
			}
			eng := engine.NewWithIndex(db, ix, time.Now).WithHistory(db)
			if breakdownFlag != "" {
				req := breakdownRequest{property: breakdownFlag, limit: limitFlag, grain: grain, r: r, format: format, explain: explain}
				if explain && ix.LastEventID() > 0 {
					req.unvalued = ix.DimensionsWithoutValues(defs.Dimensions)
				}
				return writeBreakdowns(cmd.Context(), g, eng, defs, ids, req)
			}
			if len(ids) == 1 && !report.IsDocument(format) && !seriesFlag {
				if done, err := writeKPIDetail(cmd.Context(), g, eng, defs, ids[0], r, format); done {
					return err
				}
			}
			items := make([]report.Item, 0, len(ids))
			for _, id := range ids {
				k, _ := defs.KPI(id)
				kpiGrain := grain
				if kpiGrain == "" {
					kpiGrain = k.Grain
				}
				s, err := eng.Series(cmd.Context(), defs, id, kpiGrain, r)
				if err != nil {
					return fmt.Errorf("kpi %q: %w", id, err)
				}
				for _, w := range s.Warnings {
					fmt.Fprintf(g.stderr, "warning: kpi %q: %s\n", id, w)
				}
				if explain {
					fmt.Fprintf(g.stderr, "explain: kpi %q: computed by the %s path\n", id, pathName(s.Path))
				}
				review, err := reviewState(cmd.Context(), db, defs, k, time.Now())
				if err != nil {
					return err
				}
				tr, err := trend.Compute(cmd.Context(), eng, defs, k, s, trend.Options{})
				if err != nil {
					return fmt.Errorf("kpi %q: trend analysis: %w", id, err)
				}
				notes, err := seriesAnnotations(cmd.Context(), meta, id, s, defs.Workspace.Location)
				if err != nil {
					return err
				}
				items = append(items, report.Item{KPI: k, Series: s, Trend: tr, Annotations: notes, Review: review})
			}
			if report.IsDocument(format) {
				return writeReportDocument(cmd.Context(), g, db, format, outputFlag, defs, items)
			}
			return report.Write(g.stdout, format, items, defs.Workspace.Location)
		},
	}
	cmd.Flags().StringVar(&kpiPath, "kpis", "", "KPI definitions file (YAML)")
	cmd.Flags().BoolVar(&seriesFlag, "series", false, "with one retention or funnel --kpi, print its series by period instead of its cohort table or steps")
	cmd.Flags().BoolVar(&explain, "explain", false, "print on stderr whether the activity index or SQL on the store computed each KPI or breakdown")
	cmd.Flags().StringVar(&grainFlag, "grain", "", "period length for every KPI: day, week, month or quarter (default: each KPI's own grain)")
	cmd.Flags().StringVar(&fromFlag, "from", "", "first date to report, YYYY-MM-DD (default: a grain-dependent number of periods before --to)")
	cmd.Flags().StringVar(&toFlag, "to", "", "last date to report, YYYY-MM-DD, inclusive (default: the day of the newest event)")
	cmd.Flags().StringVar(&formatFlag, "format", "table", "output format: table, csv, json, html or pdf")
	cmd.Flags().StringVarP(&outputFlag, "output", "o", "", "write the report to this `FILE` instead of standard output")
	cmd.Flags().StringSliceVar(&only, "kpi", nil, "report only this KPI id (repeatable)")
	cmd.Flags().StringVar(&breakdownFlag, "breakdown", "", "break each --kpi down by this event `PROPERTY`, such as country or plan")
	cmd.Flags().IntVar(&limitFlag, "limit", engine.DefaultBreakdownLimit, "with --breakdown, the number of segments shown by name; the rest are pooled into (other)")
	return cmd
}

// reviewState returns k's review schedule on the day of now in the
// workspace's time zone.
func reviewState(ctx context.Context, h engine.HistoryReader, defs *kpi.Definitions, k *kpi.KPI, now time.Time) (*kpi.ReviewState, error) {
	history, err := h.KPIHistory(ctx, k.ID)
	if err != nil {
		return nil, fmt.Errorf("kpi %q: read reviews: %w", k.ID, err)
	}
	loc := defs.Workspace.Location
	if loc == nil {
		loc = time.UTC
	}
	st := kpi.ReviewStateOn(kpi.CadenceOf(k, history), history, timegrain.DateOf(now.In(loc)))
	return &st, nil
}

// pathName returns the words for a Series.Path.
func pathName(path string) string {
	switch path {
	case engine.PathIndex:
		return "activity index"
	case engine.PathSQL:
		return "SQL (store)"
	case engine.PathMixed:
		return "mixed (activity index and SQL)"
	}
	return "unknown"
}

// parseRange reads --from and --to.
func parseRange(from, to string) (engine.Range, error) {
	var r engine.Range
	var err error
	if from != "" {
		if r.From, err = timegrain.ParseDate(from); err != nil {
			return r, kpi.Errorf(kpi.EINVALID, "--from: %v", err)
		}
	}
	if to != "" {
		if r.To, err = timegrain.ParseDate(to); err != nil {
			return r, kpi.Errorf(kpi.EINVALID, "--to: %v", err)
		}
	}
	if !r.From.IsZero() && !r.To.IsZero() && r.From.String() > r.To.String() {
		return r, kpi.Errorf(kpi.EINVALID, "--from %s is after --to %s", r.From, r.To)
	}
	return r, nil
}

// selectKPIs returns the ids to report: those named, checked, or all.
func selectKPIs(defs *kpi.Definitions, only []string) ([]string, error) {
	if len(only) > 0 {
		for _, id := range only {
			if _, err := defs.KPI(id); err != nil {
				return nil, err
			}
		}
		return only, nil
	}
	ids := make([]string, 0, len(defs.KPIs))
	for _, k := range defs.KPIs {
		ids = append(ids, k.ID)
	}
	return ids, nil
}

// writeReportDocument writes items as an HTML or PDF document to output, or
// to standard output when output is empty. When db keeps annotations,
// feedback and reviews, the document also lists the reviews due today, the
// annotations dated from the start of the report to today, and the feedback
// recorded since the start of the report.
func writeReportDocument(ctx context.Context, g *globals, db any, format, output string, defs *kpi.Definitions, items []report.Item) error {
	now := time.Now()
	in := report.DigestInput{
		Title:       "KPI report",
		Workspace:   defs.Workspace.Name,
		GeneratedAt: now,
		Location:    defs.Workspace.Location,
		Items:       items,
	}
	if src, ok := db.(report.SectionSource); ok && len(items) > 0 {
		from := items[0].Series.From
		for _, it := range items[1:] {
			if it.Series.From.Before(from) {
				from = it.Series.From
			}
		}
		if err := in.AddSections(ctx, src, from, now); err != nil {
			return err
		}
	}
	doc, err := report.Digest(ctx, in)
	if err != nil {
		return err
	}

	body := []byte(doc.InlineHTML)
	if format == report.PDF {
		body = doc.PDF
	}
	if output == "" {
		_, err := g.stdout.Write(body)
		return err
	}
	if err := os.WriteFile(output, body, 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}
