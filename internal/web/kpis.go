package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
	"github.com/northstar-kpi/northstar/internal/trend"
)

func (s *Server) registerKPIRoutes() {
	s.register("GET /api/v1/kpis", AccessViewer, s.handle(s.handleKPIList))
	s.register("GET /api/v1/kpis/{id}", AccessViewer, s.handle(s.handleKPI))
	s.register("GET /api/v1/kpis/{id}/series", AccessViewer, s.handle(s.handleKPISeries))
}

// kpiList is the body of GET /api/v1/kpis.
type kpiList struct {
	KPIs []kpiJSON `json:"kpis"`
}

// kpiJSON is a KPI's definition with a summary of its latest period.
type kpiJSON struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Objective   *objectiveJSON  `json:"objective"`
	Owner       string          `json:"owner"`
	Unit        string          `json:"unit"`
	Direction   kpi.Direction   `json:"direction"`
	Grain       timegrain.Grain `json:"grain"`
	Target      *targetJSON     `json:"target"`

	// ManagedBy is "code" for a KPI of the KPI file, read-only here, and
	// "ui" for one made in the UI or the API.
	ManagedBy kpi.ManagedBy `json:"managed_by"`

	// Review is the KPI's review schedule: cadence, whether a review is due,
	// and the latest review.
	Review reviewStateJSON `json:"review"`

	// Summary is nil when the series could not be computed for a reason in
	// the KPI's definition. SummaryError then contains the reason.
	Summary      *summaryJSON `json:"summary"`
	SummaryError string       `json:"summary_error,omitempty"`

	Links kpiLinks `json:"links"`
}

type objectiveJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// targetJSON is a KPI's target: an absolute value or a change relative to
// the baseline (0.2 for +20 %), to be reached by a date.
type targetJSON struct {
	Value  *float64 `json:"value"`
	Change *float64 `json:"change"`
	By     string   `json:"by,omitempty"`
}

// summaryJSON describes the latest period of a KPI's series at the KPI's
// grain over the default range.
type summaryJSON struct {
	Grain       timegrain.Grain `json:"grain"`
	PeriodStart *time.Time      `json:"period_start"`
	PeriodEnd   *time.Time      `json:"period_end"`
	Value       *float64        `json:"value"`
	Previous    *float64        `json:"previous"`
	Change      *float64        `json:"change"`
	ChangeUnit  string          `json:"change_unit"`
	Target      *float64        `json:"target"`
	Partial     bool            `json:"partial"`

	// Status is the KPI's current status. When the latest period is pending
	// it is the status of an earlier period, which StatusPeriodStart names.
	Status            kpi.Status `json:"status"`
	StatusPeriodStart *time.Time `json:"status_period_start"`

	// Progress is the fraction of the way from the baseline to the target,
	// from 0 to 1, measured on the latest complete period, or nil without a
	// target or a value.
	Progress *float64 `json:"progress"`
}

type kpiLinks struct {
	Self    string `json:"self"`
	Series  string `json:"series"`
	Page    string `json:"page"`
	Targets string `json:"targets"`
	Reviews string `json:"reviews"`
}

// handleKPIList serves GET /api/v1/kpis.
func (s *Server) handleKPIList(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)

	list := kpiList{KPIs: make([]kpiJSON, 0, len(defs.KPIs))}
	for _, k := range defs.KPIs {
		series, err := s.defaultSeries(r.Context(), defs, k)
		if kpi.ErrorCode(err) == kpi.EINTERNAL {
			return err
		}
		out := newKPIJSON(defs, k, series, err)
		if err := s.addTargetHistory(r.Context(), defs, k, &out); err != nil {
			return err
		}
		list.KPIs = append(list.KPIs, out)
	}

	s.writeJSON(w, r, http.StatusOK, list)
	return nil
}

// handleKPI serves GET /api/v1/kpis/{id}.
func (s *Server) handleKPI(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}

	series, err := s.defaultSeries(r.Context(), defs, k)
	if kpi.ErrorCode(err) == kpi.EINTERNAL {
		return err
	}

	out := newKPIJSON(defs, k, series, err)
	if err := s.addTargetHistory(r.Context(), defs, k, &out); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// handleKPISeries serves GET /api/v1/kpis/{id}/series?grain=&from=&to=&by=&window=:
// the series with its trend analysis.
func (s *Server) handleKPISeries(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}

	q, err := parseSeriesQuery(r.URL.Query(), k)
	if err != nil {
		return err
	}
	opts, err := trendOptions(r.URL.Query())
	if err != nil {
		return err
	}

	series, err := s.inRequest(r).series.Series(r.Context(), defs, k.ID, q.Grain, q.Range)
	if err != nil {
		return err
	}
	annotations, err := s.seriesAnnotations(r, k, series.From, series.To)
	if err != nil {
		return err
	}
	tr, err := s.computeTrend(r.Context(), defs, k, series, opts)
	if err != nil {
		return err
	}

	s.writeJSON(w, r, http.StatusOK, seriesJSON{Series: series, Annotations: newAnnotationsJSON(annotations), Trend: tr})
	return nil
}

// seriesJSON is the body of GET /api/v1/kpis/{id}/series: the series with
// the annotations dated in its range, on the KPI and on every KPI, and its
// trend analysis.
type seriesJSON struct {
	*engine.Series
	Annotations []annotationJSON `json:"annotations"`
	Trend       *trend.Trend     `json:"trend"`
}

// defaultSeries computes k's series at its own grain over the default range.
func (s *Server) defaultSeries(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI) (*engine.Series, error) {
	return s.in(ctx).series.Series(ctx, defs, k.ID, k.Grain, engine.Range{})
}

// newKPIJSON describes k with the summary of series, or with seriesErr when
// the series could not be computed.
func newKPIJSON(defs *kpi.Definitions, k *kpi.KPI, series *engine.Series, seriesErr error) kpiJSON {
	escaped := url.PathEscape(k.ID)
	out := kpiJSON{
		ID:          k.ID,
		Name:        k.Name,
		Description: k.Description,
		Owner:       k.Owner,
		Unit:        k.Unit,
		Direction:   k.Direction,
		Grain:       k.Grain,
		ManagedBy:   kpi.ManagedByCode,
		Links: kpiLinks{
			Self:    "/api/v1/kpis/" + escaped,
			Series:  "/api/v1/kpis/" + escaped + "/series",
			Page:    "/kpis/" + escaped,
			Targets: "/api/v1/kpis/" + escaped + "/targets",
			Reviews: "/api/v1/kpis/" + escaped + "/reviews",
		},
	}

	if k.IsManagedByUI() {
		out.ManagedBy = kpi.ManagedByUI
	}
	if k.Objective != "" {
		out.Objective = &objectiveJSON{ID: k.Objective, Name: objectiveName(defs, k.Objective)}
	}
	if t := k.Target; t != nil {
		out.Target = &targetJSON{Value: t.Value, Change: t.Change}
		if !t.By.IsZero() {
			out.Target.By = t.By.String()
		}
	}

	if seriesErr != nil {
		out.SummaryError = kpi.ErrorMessage(seriesErr)
		return out
	}
	out.Summary = newSummaryJSON(series)
	return out
}

// newSummaryJSON summarises the latest point of series. A series without
// points has status "no data".
func newSummaryJSON(series *engine.Series) *summaryJSON {
	sum := &summaryJSON{Grain: series.Grain, ChangeUnit: series.ChangeUnit, Status: kpi.NoData}
	p := series.Current()
	if p == nil {
		return sum
	}

	sum.PeriodStart, sum.PeriodEnd = &p.Start, &p.End
	sum.Value, sum.Previous, sum.Change = p.Value, p.Previous, p.Change
	sum.Target = p.Target
	sum.Status = series.Status()
	if judged := series.Judged(); judged != nil {
		sum.StatusPeriodStart = &judged.Start
	}
	sum.Partial = p.Partial
	sum.Progress = series.Progress()
	return sum
}

// objectiveName returns the name of the objective with the given id, or the
// id itself when the definitions do not name it.
func objectiveName(defs *kpi.Definitions, id string) string {
	for _, o := range defs.Objectives {
		if o.ID == id && o.Name != "" {
			return o.Name
		}
	}
	return id
}

// seriesQuery holds the query parameters of a series request.
type seriesQuery struct {
	Grain timegrain.Grain
	Range engine.Range
}

// parseSeriesQuery reads grain, from and to from q. An absent grain means
// the KPI's grain, and absent dates mean the default range.
func parseSeriesQuery(q url.Values, k *kpi.KPI) (seriesQuery, error) {
	out := seriesQuery{Grain: k.Grain}

	if v := q.Get("grain"); v != "" {
		g, err := timegrain.ParseGrain(v)
		if err != nil {
			return out, kpi.Errorf(kpi.EINVALID, "query parameter grain: %v", err)
		}
		out.Grain = g
	}

	for _, p := range []struct {
		name string
		date *timegrain.Date
	}{{"from", &out.Range.From}, {"to", &out.Range.To}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		d, err := timegrain.ParseDate(v)
		if err != nil {
			return out, kpi.Errorf(kpi.EINVALID, "query parameter %s: %v", p.name, err)
		}
		*p.date = d
	}
	return out, nil
}
