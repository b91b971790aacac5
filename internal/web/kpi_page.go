package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func (s *Server) registerKPIPageRoutes() {
	s.register("GET /kpis/{id}", AccessViewer, s.handle(s.handleKPIPage))
}

// kpiPage is the data of templates/kpi.html.
type kpiPage struct {
	pageBase
	KPI        *kpi.KPI
	Objective  string
	Direction  string
	TargetText string
	Card       kpiCard

	Grain  timegrain.Grain
	Grains []grainLink
	From   string // the from and to inputs: the dates shown, as YYYY-MM-DD
	To     string
	Range  string // the range shown, in words

	// CustomRange reports whether the request set from or to. Grain links
	// keep only what the request set, so the default range follows the grain.
	CustomRange bool

	ChartKey string
	Trend    *trendView
	Rows     []pointRow
	NoData   bool // no point of the series has a value

	// Meta holds the annotations, feedback and editing links; it is nil when
	// the server has no KPI meta store.
	Meta *kpiMetaView

	Review        reviewView
	TargetHistory []targetRow // newest first
	Reviews       []reviewRow // newest first
	TargetForms   *targetFormsView
}

// grainLink switches the KPI page to another grain, keeping the range.
type grainLink struct {
	Grain   timegrain.Grain
	Href    string
	Current bool
}

// pointRow is one period in the table below the chart.
type pointRow struct {
	Period       string
	PartialLabel string
	Value        string
	Previous     string
	Change       string
	Target       string
	Status       statusView
}

// handleKPIPage serves GET /kpis/{id}?grain=&from=&to=: the KPI's chart with
// its target path, and a table of its periods.
func (s *Server) handleKPIPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderKPIPage(w, r, http.StatusOK, kpiPageForms{})
}

// renderKPIPage renders the KPI page of the request's {id} with status, and
// with forms holding what was sent and why it was rejected, if anything was.
func (s *Server) renderKPIPage(w http.ResponseWriter, r *http.Request, status int, forms kpiPageForms) error {
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

	series, err := s.inRequest(r).series.Series(r.Context(), defs, k.ID, q.Grain, q.Range)
	if err != nil {
		return err
	}

	page := kpiPage{
		pageBase:   s.newPageBase(r, k.Name),
		KPI:        k,
		Direction:  directionText(k.Direction),
		TargetText: targetText(k),
		Card:       newKPICard(k, series, nil),
		Grain:      q.Grain,
		From:       timegrain.DateOf(series.From).String(),
		To:         timegrain.DateOf(series.To.Add(-time.Nanosecond)).String(),
		Range:      rangeText(series),
		NoData:     true,
	}
	if page.Title == "" {
		page.Title = k.ID
	}
	if k.Objective != "" {
		page.Objective = objectiveName(defs, k.Objective)
	}
	page.Grains = grainLinks(k.ID, q, query.Get("from"), query.Get("to"))
	page.CustomRange = query.Get("from") != "" || query.Get("to") != ""

	for _, p := range series.Points {
		page.Rows = append(page.Rows, newPointRow(k, series, p))
		page.NoData = page.NoData && p.Value == nil
	}

	annotations, err := s.addKPIMeta(r, &page, defs, series, forms)
	if err != nil {
		return err
	}
	opts, err := trendOptions(query)
	if err != nil {
		return err
	}
	tr, err := s.computeTrend(r.Context(), defs, k, series, opts)
	if err != nil {
		return err
	}

	charts := map[string]chartSpec{}
	if len(series.Points) > 0 {
		page.ChartKey = "kpi"
		spec := newChartSpec("series", k, series)
		spec.Annotations = newChartAnnotations(series, annotations, defs.Workspace.Location)
		addTrendToChart(&spec, series, tr)
		addReferenceLines(&spec, series)
		charts[page.ChartKey] = spec
		page.Trend = newTrendView(k, series, tr)
	}
	if err := s.addPageTargetHistory(r.Context(), defs, k, &page); err != nil {
		return err
	}
	page.TargetForms = s.newTargetFormsView(r, defs, k, forms)
	if page.ChartData, err = chartJSON(charts); err != nil {
		return err
	}
	return s.renderPage(w, r, status, "kpi", page)
}

// grainLinks returns a link per grain to the KPI page at that grain, with the
// same from and to.
func grainLinks(id string, q seriesQuery, from, to string) []grainLink {
	links := make([]grainLink, 0, len(timegrain.Grains))
	for _, g := range timegrain.Grains {
		v := url.Values{"grain": {string(g)}}
		if from != "" {
			v.Set("from", from)
		}
		if to != "" {
			v.Set("to", to)
		}
		links = append(links, grainLink{
			Grain:   g,
			Href:    "/kpis/" + url.PathEscape(id) + "?" + v.Encode(),
			Current: g == q.Grain,
		})
	}
	return links
}

// newPointRow formats one point of series for the table.
func newPointRow(k *kpi.KPI, series *engine.Series, p engine.Point) pointRow {
	row := pointRow{
		Period:   formatPeriod(p.Start, series.Grain),
		Value:    formatKPIValue(p.Value, k),
		Previous: formatKPIValue(p.Previous, k),
		Change:   noValue,
		Target:   formatKPIValue(p.Target, k),
		Status:   newStatusView(p.Status),
	}
	if p.Partial {
		row.PartialLabel = partialLabel(series.Grain)
	}
	if c := newChangeView(&p, series.ChangeUnit, series.Grain, k.Direction); c != nil {
		row.Change = c.Arrow + " " + c.Text
	}
	return row
}

// directionText returns which way a KPI should move, in words.
func directionText(d kpi.Direction) string {
	if d == kpi.Down {
		return "lower is better"
	}
	return "higher is better"
}

// targetText describes a KPI's target: "50,000 by 2026-12-31" or "+20% from
// the baseline by 2026-12-31". It is empty for a KPI without a target.
func targetText(k *kpi.KPI) string {
	return targetTextOf(k, k.Target)
}

// targetTextOf describes the target t of k, like targetText.
func targetTextOf(k *kpi.KPI, t *kpi.Target) string {
	if t == nil {
		return ""
	}

	var text string
	switch {
	case t.Value != nil:
		text = formatKPIValue(t.Value, k)
	case t.Change != nil:
		text = formatChange(*t.Change*100, "%") + " from the baseline"
	default:
		return ""
	}
	if !t.By.IsZero() {
		text += " by " + t.By.String()
	}
	return text
}

// rangeText describes the periods a series covers: "Jan 2026 to Mar 2026".
func rangeText(series *engine.Series) string {
	if len(series.Points) == 0 {
		return ""
	}
	first := formatPeriod(series.Points[0].Start, series.Grain)
	last := formatPeriod(series.Latest().Start, series.Grain)
	if first == last {
		return first
	}
	return first + " to " + last
}
