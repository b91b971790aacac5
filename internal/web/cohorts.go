package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// CohortComputer computes the cohort table of a retention KPI and the steps
// of a funnel KPI. Both methods return ENOTFOUND for an unknown KPI id and
// EINVALID for a KPI of another kind or a bad range. Any other error is
// internal.
type CohortComputer interface {
	Cohorts(ctx context.Context, defs *kpi.Definitions, id string, r engine.Range) (*engine.CohortTable, error)
	FunnelSteps(ctx context.Context, defs *kpi.Definitions, id string, r engine.Range) (*engine.FunnelReport, error)
}

var _ CohortComputer = (*engine.Engine)(nil)

func (s *Server) registerCohortRoutes() {
	s.register("GET /api/v1/kpis/{id}/cohorts", AccessViewer, s.handle(s.handleKPICohorts))
	s.register("GET /api/v1/kpis/{id}/funnel", AccessViewer, s.handle(s.handleKPIFunnel))
}

// cohortComputer returns the server's series computer as a CohortComputer.
// The engine is both. Any other computer fails the request as an internal error.
func (s *Server) cohortComputer(ctx context.Context) (CohortComputer, error) {
	c, ok := s.in(ctx).series.(CohortComputer)
	if !ok {
		return nil, fmt.Errorf("the series computer %T does not compute cohorts or funnels", s.in(ctx).series)
	}
	return c, nil
}

// handleKPICohorts serves GET /api/v1/kpis/{id}/cohorts?from=&to=.
func (s *Server) handleKPICohorts(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	if k.Metric.Kind != kpi.Retention {
		return kpi.Errorf(kpi.EINVALID, "kpi %q is a %s KPI; cohort tables are computed for retention KPIs only (its values are at %s)",
			k.ID, k.Metric.Kind, seriesPath(k))
	}
	rng, err := parseDateRange(r.URL.Query())
	if err != nil {
		return err
	}

	c, err := s.cohortComputer(r.Context())
	if err != nil {
		return err
	}
	table, err := c.Cohorts(r.Context(), defs, k.ID, rng)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, table)
	return nil
}

// handleKPIFunnel serves GET /api/v1/kpis/{id}/funnel?from=&to=.
func (s *Server) handleKPIFunnel(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	if k.Metric.Kind != kpi.Funnel {
		return kpi.Errorf(kpi.EINVALID, "kpi %q is a %s KPI; funnel steps are computed for funnel KPIs only (its values are at %s)",
			k.ID, k.Metric.Kind, seriesPath(k))
	}
	rng, err := parseDateRange(r.URL.Query())
	if err != nil {
		return err
	}

	c, err := s.cohortComputer(r.Context())
	if err != nil {
		return err
	}
	steps, err := c.FunnelSteps(r.Context(), defs, k.ID, rng)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, steps)
	return nil
}

func seriesPath(k *kpi.KPI) string {
	return "/api/v1/kpis/" + url.PathEscape(k.ID) + "/series"
}

// parseDateRange reads the from and to query parameters, dates as
// YYYY-MM-DD. Absent ones take the engine's defaults.
func parseDateRange(q url.Values) (engine.Range, error) {
	var rng engine.Range
	for _, p := range []struct {
		name string
		date *timegrain.Date
	}{{"from", &rng.From}, {"to", &rng.To}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		d, err := timegrain.ParseDate(v)
		if err != nil {
			return rng, kpi.Errorf(kpi.EINVALID, "query parameter %s: %v", p.name, err)
		}
		*p.date = d
	}
	return rng, nil
}
