package main

import (
	"context"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
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
