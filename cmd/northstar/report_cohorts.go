package main

import (
	"context"
	"fmt"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/report"
)

// writeKPIDetail prints the cohort table of a retention KPI or the steps of
// a funnel KPI, with warnings on stderr. It returns done = false for a KPI of
// any other kind, which gets the usual series.
func writeKPIDetail(ctx context.Context, g *globals, eng *engine.Engine, defs *kpi.Definitions, id string, r engine.Range, format string) (done bool, err error) {
	k, err := defs.KPI(id)
	if err != nil {
		return true, err
	}
	loc := defs.Workspace.Location

	switch k.Metric.Kind {
	case kpi.Retention:
		table, err := eng.Cohorts(ctx, defs, id, r)
		if err != nil {
			return true, fmt.Errorf("kpi %q: %w", id, err)
		}
		printWarnings(g, id, table.Warnings)
		return true, report.WriteCohorts(g.stdout, format, k, table, loc)
	case kpi.Funnel:
		steps, err := eng.FunnelSteps(ctx, defs, id, r)
		if err != nil {
			return true, fmt.Errorf("kpi %q: %w", id, err)
		}
		printWarnings(g, id, steps.Warnings)
		return true, report.WriteFunnel(g.stdout, format, k, steps, loc)
	}
	return false, nil
}

func printWarnings(g *globals, id string, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(g.stderr, "warning: kpi %q: %s\n", id, w)
	}
}
