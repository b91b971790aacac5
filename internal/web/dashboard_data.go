package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// This file computes what each widget of a dashboard shows. The page's
// script draws it; live updates send it again for the widgets that changed.

// dashboardData is the body of GET /api/v1/dashboards/{id}/data.
type dashboardData struct {
	Dashboard dashboardJSON `json:"dashboard"`
	AsOf      string        `json:"as_of"`
	Widgets   []widgetData  `json:"widgets"`
}

// widgetData is the content of one widget. Error, Empty or the kind's own
// field is set, and Empty may also accompany a card without a value.
type widgetData struct {
	ID    int64  `json:"id"`
	Kind  string `json:"kind"`
	Title string `json:"title"`
	Href  string `json:"href,omitempty"`

	// Error is the reason the widget could not be computed. Empty is the
	// next step to take when there is nothing to show yet.
	Error string `json:"error,omitempty"`
	Empty string `json:"empty,omitempty"`

	Card      *cardData       `json:"card,omitempty"`
	Chart     string          `json:"chart,omitempty"` // "line" or "bar"
	Series    []seriesData    `json:"series,omitempty"`
	Table     json.RawMessage `json:"table,omitempty"` // cohort, funnel, breakdown or feedback JSON as the API returns it
	Unit      string          `json:"unit,omitempty"`
	Objective []objectiveKPI  `json:"objective,omitempty"`
}

// cardData is a KPI card.
type cardData struct {
	Value        string        `json:"value"`
	Period       string        `json:"period,omitempty"`
	PartialLabel string        `json:"partial_label,omitempty"`
	Status       statusJSON    `json:"status"`
	Change       *changeJSON   `json:"change,omitempty"`
	ChangeNone   string        `json:"change_none,omitempty"`
	Progress     *progressJSON `json:"progress,omitempty"`
	Warnings     []string      `json:"warnings,omitempty"`
	Sparkline    *chartSpec    `json:"sparkline,omitempty"`

	// ReviewDue and Retired come from the KPI's review schedule.
	ReviewDue bool `json:"review_due,omitempty"`
	Retired   bool `json:"retired,omitempty"`
}

// statusJSON is a statusView for the page's script.
type statusJSON struct {
	Class  string `json:"class"`
	Label  string `json:"label"`
	Icon   string `json:"icon"`
	Period string `json:"period,omitempty"`
}

// changeJSON is a changeView for the page's script.
type changeJSON struct {
	Arrow    string `json:"arrow"`
	Text     string `json:"text"`
	Compared string `json:"compared"`
	Class    string `json:"class"`
}

// progressJSON is a progressView for the page's script.
type progressJSON struct {
	Percent int    `json:"percent"`
	Text    string `json:"text"`
}

func newStatusJSON(v statusView) statusJSON {
	return statusJSON{Class: v.Class, Label: v.Label, Icon: v.Icon, Period: v.Period}
}

// seriesData is one KPI's series on a chart, as GET /api/v1/kpis/{id}/series
// returns it, with the KPI's name and unit.
type seriesData struct {
	KPI    string          `json:"kpi"`
	Name   string          `json:"name"`
	Unit   string          `json:"unit"`
	Series json.RawMessage `json:"series,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// objectiveKPI is one KPI of an objective progress widget.
type objectiveKPI struct {
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	Href   string     `json:"href"`
	Value  string     `json:"value"`
	Status statusJSON `json:"status"`
}

// noDataHint is the next step an empty widget suggests.
const noDataHint = "No data yet: send events to /api/v1/events or import them with northstar import csv, and this widget updates."

// computeDashboard computes every widget of d under the controls c. Errors
// in a KPI's definition show in its widget; only internal errors fail it.
func (s *Server) computeDashboard(r *http.Request, d store.Dashboard, c dashboardControls) (dashboardData, error) {
	out := dashboardData{Dashboard: newDashboardJSON(d, true), AsOf: s.newPageBase(r, "").AsOf, Widgets: make([]widgetData, 0, len(d.Widgets))}
	defs := s.currentDefinitions(r)

	// Widgets are computed in parallel, a few at a time, because each may
	// scan events; the results keep the widgets' order.
	results := make([]widgetData, len(d.Widgets))
	ctx := context.WithValue(r.Context(), seriesMemoKey{}, &seriesMemo{entries: map[string]*seriesMemoEntry{}})
	r = r.WithContext(ctx)
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(widgetWorkers)
	for i, wd := range d.Widgets {
		g.Go(func() error {
			data, err := s.computeWidget(r, defs, wd, c)
			results[i] = data
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return out, err
	}
	out.Widgets = append(out.Widgets, results...)
	return out, nil
}

// widgetWorkers is how many widgets of one dashboard are computed at once.
const widgetWorkers = 4

// computeWidget computes one widget. A KPI that no longer exists, or a
// definition that cannot be computed, becomes the widget's Error.
func (s *Server) computeWidget(r *http.Request, defs *kpi.Definitions, wd store.Widget, c dashboardControls) (widgetData, error) {
	out := widgetData{ID: wd.ID, Kind: wd.Kind}
	opts, _ := parseWidgetOptions(wd.Options)

	var kpis []*kpi.KPI
	for _, id := range wd.KPIs {
		k, err := defs.KPI(id)
		if err != nil {
			out.Title = id
			out.Error = "KPI " + strconv.Quote(id) + " is no longer defined: remove this widget or add the KPI back to the KPI file."
			return out, nil
		}
		kpis = append(kpis, k)
	}
	if len(kpis) > 0 {
		out.Title, out.Href = kpiName(kpis[0]), "/kpis/"+url.PathEscape(kpis[0].ID)
	}

	var err error
	switch wd.Kind {
	case "kpi_card":
		err = s.computeCard(r.Context(), defs, kpis[0], c, &out)
	case "chart":
		err = s.computeChart(r, kpis, c, opts, &out)
	case "cohort":
		err = s.computeTable(r, kpis[0], s.handleKPICohorts, nil, c, &out)
	case "funnel":
		err = s.computeTable(r, kpis[0], s.handleKPIFunnel, nil, c, &out)
	case "breakdown":
		out.Title += " by " + opts.By
		err = s.computeTable(r, kpis[0], s.handleKPIBreakdown, url.Values{"by": {opts.By}}, c, &out)
	case "objective":
		err = s.computeObjective(r.Context(), defs, opts.Objective, c, &out)
	case "feedback":
		out.Title = "Feedback on " + out.Title
		err = s.computeFeedback(r, kpis[0], &out)
	}
	if opts.Title != "" {
		out.Title = opts.Title
	}
	return out, err
}

func kpiName(k *kpi.KPI) string {
	if k.Name != "" {
		return k.Name
	}
	return k.ID
}

// seriesFor computes k's series under the controls c. Within one
// computeDashboard call each series is computed once, because a KPI often
// shows in a card and in an objective widget too. Callers must not change
// the returned series.
func (s *Server) seriesFor(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, c dashboardControls) (*engine.Series, error) {
	g := c.Grain
	if g == "" {
		g = k.Grain
	}
	compute := func() (*engine.Series, error) {
		return s.in(ctx).series.Series(ctx, defs, k.ID, g, engine.Range{From: c.From, To: c.To})
	}
	memo, ok := ctx.Value(seriesMemoKey{}).(*seriesMemo)
	if !ok {
		return compute()
	}

	memo.mu.Lock()
	entry, found := memo.entries[k.ID+"|"+string(g)]
	if !found {
		entry = &seriesMemoEntry{}
		memo.entries[k.ID+"|"+string(g)] = entry
	}
	memo.mu.Unlock()
	entry.once.Do(func() { entry.series, entry.err = compute() })
	return entry.series, entry.err
}

// seriesMemo holds the series computed for one dashboard, by KPI and grain.
// The range is the dashboard's, the same for every entry.
type seriesMemo struct {
	mu      sync.Mutex
	entries map[string]*seriesMemoEntry
}

type seriesMemoEntry struct {
	once   sync.Once
	series *engine.Series
	err    error
}

type seriesMemoKey struct{}

func (s *Server) computeCard(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, c dashboardControls, out *widgetData) error {
	series, err := s.seriesFor(ctx, defs, k, c)
	if kpi.ErrorCode(err) == kpi.EINTERNAL {
		return err
	}
	card := newKPICard(k, series, err)
	if card.Error != "" {
		out.Error = card.Error
		return nil
	}
	if err := s.addCardReview(ctx, defs, k, &card); err != nil {
		return err
	}
	out.Unit = k.Unit
	data := &cardData{
		Value: card.Value, Period: card.Period, PartialLabel: card.PartialLabel, Status: newStatusJSON(card.Status),
		Warnings: card.Warnings, ReviewDue: card.ReviewDue, Retired: card.Retired,
	}
	if c := card.Change; c != nil {
		data.Change = &changeJSON{Arrow: c.Arrow, Text: c.Text, Compared: c.Compared, Class: c.Class}
	}
	if p := card.Progress; p != nil {
		data.Progress = &progressJSON{Percent: p.Percent, Text: p.Text}
	}
	if card.Change == nil && card.HasValue {
		data.ChangeNone = "No previous period to compare with"
		if card.PreviousZero {
			data.ChangeNone = "Up from 0 in the previous period, so no percentage"
		}
	}
	if len(series.Points) > 0 {
		spark := newChartSpec("sparkline", k, series)
		data.Sparkline = &spark
	}
	if !card.HasValue {
		out.Empty = noDataHint
	}
	out.Card = data
	return nil
}

// computeChart embeds each KPI's series as its series endpoint returns it,
// so that what that endpoint adds (annotations, benchmarks) reaches the chart.
func (s *Server) computeChart(r *http.Request, kpis []*kpi.KPI, c dashboardControls, opts widgetOptions, out *widgetData) error {
	out.Chart = "line"
	if opts.Chart == "bar" {
		out.Chart = "bar"
	}
	if len(kpis) > 1 {
		out.Title += " and " + strconv.Itoa(len(kpis)-1) + " more"
	}

	anyPoints := false
	for _, k := range kpis {
		sd := seriesData{KPI: k.ID, Name: kpiName(k), Unit: k.Unit}
		body, err := s.subrequest(r, s.handleKPISeries, k, c, nil)
		switch {
		case kpi.ErrorCode(err) == kpi.EINTERNAL:
			return err
		case err != nil:
			sd.Error = kpi.ErrorMessage(err)
		default:
			sd.Series = body
			var probe struct {
				Points []json.RawMessage `json:"points"`
			}
			if json.Unmarshal(body, &probe) == nil && len(probe.Points) > 0 {
				anyPoints = true
			}
		}
		out.Series = append(out.Series, sd)
	}
	if len(kpis) == 1 && out.Series[0].Error != "" {
		out.Error, out.Series = out.Series[0].Error, nil
	} else if !anyPoints {
		out.Empty = noDataHint
	}
	return nil
}

// computeTable embeds the JSON of a cohort, funnel or breakdown endpoint.
func (s *Server) computeTable(r *http.Request, k *kpi.KPI, h handlerFunc, extra url.Values, c dashboardControls, out *widgetData) error {
	body, err := s.subrequest(r, h, k, c, extra)
	switch {
	case kpi.ErrorCode(err) == kpi.EINTERNAL:
		return err
	case err != nil:
		out.Error = kpi.ErrorMessage(err)
	default:
		out.Table = body
		out.Unit = k.Unit
	}
	return nil
}

func (s *Server) computeObjective(ctx context.Context, defs *kpi.Definitions, objective string, c dashboardControls, out *widgetData) error {
	out.Title = objectiveName(defs, objective)
	out.Objective = []objectiveKPI{}
	for _, k := range defs.KPIs {
		if k.Objective != objective {
			continue
		}
		series, err := s.seriesFor(ctx, defs, k, c)
		if kpi.ErrorCode(err) == kpi.EINTERNAL {
			return err
		}
		card := newKPICard(k, series, err)
		out.Objective = append(out.Objective, objectiveKPI{ID: k.ID, Name: card.Name, Href: card.Href, Value: card.Value, Status: newStatusJSON(card.Status)})
	}
	if len(out.Objective) == 0 {
		out.Empty = "No KPI serves this objective yet: set objective: " + objective + " on a KPI in the KPI file."
	}
	return nil
}

// computeFeedback embeds the KPI's feedback list as GET
// /api/v1/kpis/{id}/feedback returns it, or an empty state with the steps to
// add feedback when the list is empty or the server has no such route.
func (s *Server) computeFeedback(r *http.Request, k *kpi.KPI, out *widgetData) error {
	path := "/api/v1/kpis/" + url.PathEscape(k.ID) + "/feedback"
	empty := "No feedback yet: add survey comments, interview notes or support themes with POST " + path + " {\"text\": ..., \"author\": ..., \"source\": ...}."

	ctx := r.Context()
	if PrincipalFrom(ctx) == nil {
		ctx = withSharedRead(ctx) // a share link's request, which has no credentials
	}
	req := r.Clone(ctx)
	req.Method, req.Body, req.ContentLength = http.MethodGet, http.NoBody, 0
	req.URL = &url.URL{Path: path}
	req.RequestURI = path
	h, pattern := s.mux.Handler(req)
	if pattern == "" {
		out.Empty = empty
		return nil
	}
	// ServeMux.Handler finds the handler but sets no path values.
	req.SetPathValue("id", k.ID)
	rec := &bufferedResponse{header: http.Header{}}
	h.ServeHTTP(rec, req)
	switch {
	case rec.status == http.StatusOK && !isEmptyList(rec.body.Bytes()):
		out.Table = json.RawMessage(rec.body.Bytes())
	case rec.status == http.StatusOK || rec.status == http.StatusNotFound:
		out.Empty = empty
	default:
		out.Error = "feedback could not be read (status " + strconv.Itoa(rec.status) + ")"
	}
	return nil
}

// isEmptyList reports whether body is an empty JSON array or an object whose
// only array is empty.
func isEmptyList(body []byte) bool {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return true
	}
	switch t := v.(type) {
	case []any:
		return len(t) == 0
	case map[string]any:
		for _, f := range t {
			if list, ok := f.([]any); ok {
				return len(list) == 0
			}
		}
	}
	return false
}

// subrequest runs the API handler h for k with the dashboard's controls as
// query parameters and returns the JSON it wrote, or its error.
func (s *Server) subrequest(r *http.Request, h handlerFunc, k *kpi.KPI, c dashboardControls, extra url.Values) (json.RawMessage, error) {
	q := url.Values{}
	for name, v := range extra {
		q[name] = v
	}
	if c.Grain != "" {
		q.Set("grain", string(c.Grain))
	}
	if !c.From.IsZero() {
		q.Set("from", c.From.String())
	}
	if !c.To.IsZero() {
		q.Set("to", c.To.String())
	}

	ctx := r.Context()
	if PrincipalFrom(ctx) == nil {
		ctx = withSharedRead(ctx) // a share link's request, which has no credentials
	}
	req := r.Clone(ctx)
	req.Method, req.Body, req.ContentLength = http.MethodGet, http.NoBody, 0
	req.URL = &url.URL{Path: "/api/v1/kpis/" + url.PathEscape(k.ID), RawQuery: q.Encode()}
	req.SetPathValue("id", k.ID)

	rec := &bufferedResponse{header: http.Header{}}
	if err := h(rec, req); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimSpace(rec.body.Bytes())), nil
}

// bufferedResponse is a ResponseWriter that keeps what a handler wrote.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

// controlsFor returns the controls of d, overridden by the request's grain,
// from and to query parameters.
func controlsFor(r *http.Request, d store.Dashboard) (dashboardControls, error) {
	q := r.URL.Query()
	grain, from, to := d.Grain, d.From, d.To
	if q.Has("grain") {
		grain = q.Get("grain")
	}
	if q.Has("from") {
		from = q.Get("from")
	}
	if q.Has("to") {
		to = q.Get("to")
	}
	return parseDashboardControls(grain, from, to)
}

// handleDashboardData serves GET /api/v1/dashboards/{id}/data.
func (s *Server) handleDashboardData(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	return s.writeDashboardData(w, r, d)
}

func (s *Server) writeDashboardData(w http.ResponseWriter, r *http.Request, d store.Dashboard) error {
	c, err := controlsFor(r, d)
	if err != nil {
		return err
	}
	data, err := s.computeDashboard(r, d, c)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, http.StatusOK, data)
	return nil
}
