package main

import (
	"context"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
	"github.com/northstar-kpi/northstar/internal/web"
)

// withStoredKPIs returns defs with the KPIs made in the UI added, read from
// meta. A stored KPI that no longer fits the KPI file is left out, as the
// server leaves it out, so only a failed read is an error.
func withStoredKPIs(ctx context.Context, defs *kpi.Definitions, meta web.KPIMetaStore, now time.Time) (*kpi.Definitions, error) {
	if meta == nil {
		return defs, nil
	}
	stored, err := meta.ListKPIs(ctx)
	if err != nil {
		return nil, err
	}
	definitions := make([][]byte, 0, len(stored))
	for _, k := range stored {
		definitions = append(definitions, k.Definition)
	}
	merged, _ := defs.WithKPIs(definitions, now)
	return merged, nil
}

// seriesAnnotations returns the annotations on the KPI id and on every KPI
// dated in the periods of s, in the workspace's time zone loc.
func seriesAnnotations(ctx context.Context, meta web.KPIMetaStore, id string, s *engine.Series, loc *time.Location) ([]kpi.Annotation, error) {
	if meta == nil || len(s.Points) == 0 {
		return nil, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	q := store.AnnotationQuery{
		KPI:  id,
		From: timegrain.DateOf(s.Points[0].Start.In(loc)),
		To:   timegrain.DateOf(s.Points[len(s.Points)-1].End.Add(-time.Nanosecond).In(loc)),
	}
	return meta.ListAnnotations(ctx, q)
}
