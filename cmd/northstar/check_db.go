package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// checkStore is the part of a database that northstar check reads: the KPIs
// made in the UI and the dashboards.
type checkStore interface {
	ListKPIs(ctx context.Context) ([]store.StoredKPI, error)
	ListDashboards(ctx context.Context) ([]store.Dashboard, error)
	Dashboard(ctx context.Context, id int64) (store.Dashboard, error)
}

// lintDatabase returns the findings for the KPIs stored in db, checked
// against the KPI file's definitions as the UI checks them when they are
// saved, and for each dashboard that shows more than maxKPIs KPIs. Findings
// name the database as their file, since they have no line.
func lintDatabase(ctx context.Context, db checkStore, where string, defs *kpi.Definitions, maxKPIs int, now time.Time) ([]kpi.Finding, error) {
	stored, err := db.ListKPIs(ctx)
	if err != nil {
		return nil, err
	}
	var findings []kpi.Finding
	add := func(f kpi.Finding) {
		f.File = where
		findings = append(findings, f)
	}

	definitions := make([][]byte, 0, len(stored))
	for _, s := range stored {
		definitions = append(definitions, s.Definition)
	}
	// WithKPIs leaves out the stored KPIs that no longer fit the file. Checking
	// each against the merged set reports those as errors.
	merged, _ := defs.WithKPIs(definitions, now)
	for _, s := range stored {
		in, err := kpi.DecodeKPIInput(s.Definition)
		if err != nil {
			add(kpi.Finding{Severity: kpi.SeverityError, KPI: s.ID, Message: "the stored definition is invalid: " + err.Error() + ". Edit or delete the KPI in the UI"})
			continue
		}
		replaces := ""
		if k, err := merged.KPI(in.ID); err == nil && k.IsManagedByUI() {
			replaces = in.ID
		}
		_, fs := merged.CheckKPI(in, replaces, now)
		for _, f := range fs {
			add(f)
		}
	}

	list, err := db.ListDashboards(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range list {
		full, err := db.Dashboard(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, w := range full.Widgets {
			for _, id := range w.KPIs {
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		if len(ids) > maxKPIs {
			add(kpi.Finding{Severity: kpi.SeverityWarning, Message: fmt.Sprintf(
				"dashboard %q (id %d) shows %d KPIs (%s), more than %d: a dashboard read at a glance shows the few KPIs a team acts on. "+
					"Split it by objective, or move the others to a dashboard of their own",
				d.Name, d.ID, len(ids), strings.Join(ids, ", "), maxKPIs)})
		}
	}
	return findings, nil
}
