package web

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// widgetKind describes one kind of widget: its default size in grid cells
// and how many KPIs it shows.
type widgetKind struct {
	w, h    int
	minKPIs int
	maxKPIs int
	metric  kpi.MetricKind // the metric kind its KPI must have; "" for any
}

// maxChartKPIs limits the KPIs one chart draws, so that its lines stay
// readable.
const maxChartKPIs = 6

// widgetKinds are the widgets a dashboard can hold, by kind name.
var widgetKinds = map[string]widgetKind{
	"kpi_card":  {w: 3, h: 5, minKPIs: 1, maxKPIs: 1},
	"chart":     {w: 6, h: 5, minKPIs: 1, maxKPIs: maxChartKPIs},
	"cohort":    {w: 6, h: 5, minKPIs: 1, maxKPIs: 1, metric: kpi.Retention},
	"funnel":    {w: 6, h: 5, minKPIs: 1, maxKPIs: 1, metric: kpi.Funnel},
	"breakdown": {w: 6, h: 5, minKPIs: 1, maxKPIs: 1},
	"objective": {w: 4, h: 4},
	"feedback":  {w: 4, h: 4, minKPIs: 1, maxKPIs: 1},
}

func widgetKindNames() []string {
	names := make([]string, 0, len(widgetKinds))
	for name := range widgetKinds {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// widgetOptions are the settings a widget's options object may hold.
type widgetOptions struct {
	Title     string `json:"title,omitempty"`
	Chart     string `json:"chart,omitempty"`     // chart: "line" (default) or "bar"
	By        string `json:"by,omitempty"`        // breakdown: the property to group by
	Objective string `json:"objective,omitempty"` // objective: the objective's id
}

// maxWidgetTitleLen limits a widget's title, in characters.
const maxWidgetTitleLen = 100

// parseWidgetOptions decodes raw, rejecting fields no widget uses.
func parseWidgetOptions(raw json.RawMessage) (widgetOptions, error) {
	var o widgetOptions
	if len(raw) == 0 || string(raw) == "null" {
		return o, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, kpi.Errorf(kpi.EINVALID, "widget options: %v (known options: title, chart, by, objective)", err)
	}
	return o, nil
}

// validateWidget checks wd against its kind and the KPI definitions in
// force. Positions are checked by the store.
func (s *Server) validateWidget(ctx context.Context, wd store.Widget) error {
	kind, ok := widgetKinds[wd.Kind]
	if !ok {
		return kpi.Errorf(kpi.EINVALID, "widget kind %q is unknown (use one of %s)", wd.Kind, strings.Join(widgetKindNames(), ", "))
	}
	if err := store.ValidateWidgetPosition(wd.X, wd.Y, wd.W, wd.H); err != nil {
		return err
	}
	opts, err := parseWidgetOptions(wd.Options)
	if err != nil {
		return err
	}
	if n := len([]rune(opts.Title)); n > maxWidgetTitleLen {
		return kpi.Errorf(kpi.EINVALID, "widget title is %d characters long; the limit is %d", n, maxWidgetTitleLen)
	}

	n := len(wd.KPIs)
	switch {
	case n < kind.minKPIs && kind.minKPIs == kind.maxKPIs:
		return kpi.Errorf(kpi.EINVALID, "a %s widget shows %s; kpis is empty (send \"kpis\": [\"<kpi id>\"])", wd.Kind, countKPIs(kind.minKPIs))
	case n < kind.minKPIs:
		return kpi.Errorf(kpi.EINVALID, "a %s widget needs at least %s (send \"kpis\": [\"<kpi id>\", ...])", wd.Kind, countKPIs(kind.minKPIs))
	case n > kind.maxKPIs && kind.maxKPIs == 0:
		return kpi.Errorf(kpi.EINVALID, "a %s widget takes no KPIs (remove kpis)", wd.Kind)
	case n > kind.maxKPIs:
		return kpi.Errorf(kpi.EINVALID, "a %s widget shows at most %s; got %d", wd.Kind, countKPIs(kind.maxKPIs), n)
	}

	defs := s.definitionsIn(ctx)
	for i, id := range wd.KPIs {
		k, err := defs.KPI(id)
		if err != nil {
			return kpi.Errorf(kpi.EINVALID, "widget for an unknown KPI: %s", kpi.ErrorMessage(err))
		}
		if slices.Contains(wd.KPIs[:i], id) {
			return kpi.Errorf(kpi.EINVALID, "KPI %q is listed twice in kpis", id)
		}
		if kind.metric != "" && k.Metric.Kind != kind.metric {
			return kpi.Errorf(kpi.EINVALID, "a %s widget needs a %s KPI; KPI %q is a %s KPI (use a chart widget for it)", wd.Kind, kind.metric, id, k.Metric.Kind)
		}
	}

	switch wd.Kind {
	case "chart":
		if opts.Chart != "" && opts.Chart != "line" && opts.Chart != "bar" {
			return kpi.Errorf(kpi.EINVALID, "chart option %q is not valid (use \"line\" or \"bar\")", opts.Chart)
		}
	case "breakdown":
		if strings.TrimSpace(opts.By) == "" {
			return kpi.Errorf(kpi.EINVALID, "a breakdown widget needs the property to group by (send \"options\": {\"by\": \"country\"})")
		}
	case "objective":
		if !slices.ContainsFunc(defs.Objectives, func(o kpi.Objective) bool { return o.ID == opts.Objective }) {
			ids := make([]string, 0, len(defs.Objectives))
			for _, o := range defs.Objectives {
				ids = append(ids, o.ID)
			}
			return kpi.Errorf(kpi.EINVALID, "objective %q is unknown (send \"options\": {\"objective\": ID} with one of: %s)", opts.Objective, strings.Join(ids, ", "))
		}
	}
	return nil
}

// listDashboards returns every dashboard after creating the default
// dashboard of each objective in the KPI file that has none.
func (s *Server) listDashboards(ctx context.Context) ([]store.Dashboard, error) {
	s.defaultsMu.Lock()
	defer s.defaultsMu.Unlock()

	list, err := s.in(ctx).dashboards.ListDashboards(ctx)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, d := range list {
		if d.Objective != "" {
			have[d.Objective] = true
		}
	}

	defs := s.definitionsIn(ctx)
	created := false
	for _, o := range defs.Objectives {
		if have[o.ID] {
			continue
		}
		have[o.ID] = true
		d, err := s.in(ctx).dashboards.CreateDashboard(ctx, defaultDashboard(defs, o))
		if err != nil {
			return nil, err
		}
		s.auditChange(ctx, auth.AuditEntry{Action: "create", ObjectType: "dashboard", ObjectID: strconv.FormatInt(d.ID, 10), After: newDashboardJSON(d, true)})
		created = true
	}
	if !created {
		return list, nil
	}
	return s.in(ctx).dashboards.ListDashboards(ctx)
}

// defaultDashboard lays out an objective's dashboard: its progress on top,
// a card per KPI, four to a row, and a chart of its first KPI.
func defaultDashboard(defs *kpi.Definitions, o kpi.Objective) store.Dashboard {
	name := o.Name
	if name == "" {
		name = o.ID
	}
	if r := []rune(name); len(r) > store.MaxDashboardNameLen {
		name = string(r[:store.MaxDashboardNameLen])
	}
	d := store.Dashboard{Name: name, Objective: o.ID}

	opts, _ := json.Marshal(widgetOptions{Objective: o.ID})
	d.Widgets = append(d.Widgets, store.Widget{Kind: "objective", X: 0, Y: 0, W: 12, H: 3, Options: opts})

	var first string
	i := 0
	for _, k := range defs.KPIs {
		if k.Objective != o.ID {
			continue
		}
		if first == "" {
			first = k.ID
		}
		if i == store.MaxWidgetsPerDashboard-2 {
			break
		}
		card := widgetKinds["kpi_card"]
		d.Widgets = append(d.Widgets, store.Widget{
			Kind: "kpi_card", KPIs: []string{k.ID},
			X: (i % 4) * card.w, Y: 3 + (i/4)*card.h, W: card.w, H: card.h,
		})
		i++
	}
	if first != "" {
		chart := widgetKinds["chart"]
		d.Widgets = append(d.Widgets, store.Widget{
			Kind: "chart", KPIs: []string{first},
			X: 0, Y: 3 + ((i+3)/4)*widgetKinds["kpi_card"].h, W: 12, H: chart.h,
		})
	}
	return d
}

// countKPIs returns n with "KPI" or "KPIs": "1 KPI", "8 KPIs".
func countKPIs(n int) string {
	if n == 1 {
		return "1 KPI"
	}
	return strconv.Itoa(n) + " KPIs"
}
