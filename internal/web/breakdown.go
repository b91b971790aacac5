package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// BreakdownComputer computes a KPI's values per value of a property. It
// returns ENOTFOUND for an unknown KPI id and EINVALID for a bad property,
// limit or range, or a metric kind that cannot be broken down. A limit of 0
// selects the default limit.
type BreakdownComputer interface {
	Breakdown(ctx context.Context, defs *kpi.Definitions, id, property string, limit int, grain timegrain.Grain, r engine.Range) (*engine.Breakdown, error)
}

var _ BreakdownComputer = (*engine.Engine)(nil)

func (s *Server) registerBreakdownRoutes() {
	s.register("GET /api/v1/kpis/{id}/breakdown", AccessViewer, s.handle(s.handleKPIBreakdown))
}

// handleKPIBreakdown serves GET /api/v1/kpis/{id}/breakdown?by=&limit=&grain=&from=&to=.
// The series computer must also be a BreakdownComputer, as the engine is.
func (s *Server) handleKPIBreakdown(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}

	query := r.URL.Query()
	q, err := parseSeriesQuery(query, k)
	if err != nil {
		return err
	}
	property := query.Get("by")
	if strings.TrimSpace(property) == "" {
		return kpi.Errorf(kpi.EINVALID, "query parameter by is missing (name the property to break down by, as in ?by=country)")
	}
	limit := 0
	if v := query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return kpi.Errorf(kpi.EINVALID, "query parameter limit: %q is not valid (want a number of segments from 1 to %d)", v, engine.MaxBreakdownLimit)
		}
		limit = n
	}

	computer, ok := s.inRequest(r).series.(BreakdownComputer)
	if !ok {
		return &httpError{status: http.StatusNotImplemented, code: "not_implemented", message: "this server cannot compute breakdowns"}
	}
	b, err := computer.Breakdown(r.Context(), defs, k.ID, property, limit, q.Grain, q.Range)
	if err != nil {
		return err
	}

	s.writeJSON(w, r, http.StatusOK, b)
	return nil
}
