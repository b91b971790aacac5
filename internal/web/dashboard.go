package web

import (
	"net/http"
	"strconv"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

func (s *Server) registerDashboardRoutes() {
	s.register("GET /{$}", AccessViewer, s.handle(s.handleDashboard))
}

// dashboardPage is the data of templates/dashboard.html.
type dashboardPage struct {
	pageBase
	Groups  []objectiveGroup
	NoKPIs  bool
	NoData  bool   // no KPI has a value in its latest period or before it
	KPIFile string // the path of the KPI file, for the empty state
}

// objectiveGroup is the KPIs that serve one objective.
type objectiveGroup struct {
	ID          string
	Name        string
	Description string
	Cards       []kpiCard
}

// handleDashboard serves GET /: a card per KPI, grouped by objective.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	page := dashboardPage{
		pageBase: s.newPageBase(r, "Dashboard"),
		NoKPIs:   len(defs.KPIs) == 0,
		NoData:   true,
		KPIFile:  defs.Path,
	}

	groups := newObjectiveGroups(defs)
	charts := map[string]chartSpec{}
	for i, k := range defs.KPIs {
		series, err := s.defaultSeries(r.Context(), defs, k)
		if kpi.ErrorCode(err) == kpi.EINTERNAL {
			return err
		}

		card := newKPICard(k, series, err)
		if err := s.addCardReview(r.Context(), defs, k, &card); err != nil {
			return err
		}
		if err == nil && len(series.Points) > 0 {
			card.ChartKey = "spark-" + strconv.Itoa(i)
			charts[card.ChartKey] = newChartSpec("sparkline", k, series)
			for _, p := range series.Points {
				page.NoData = page.NoData && p.Value == nil
			}
		}
		groups.add(k.Objective, card)
	}
	page.Groups = groups.list()

	data, err := chartJSON(charts)
	if err != nil {
		return err
	}
	page.ChartData = data
	return s.renderPage(w, r, http.StatusOK, "dashboard", page)
}

// objectiveGroups collects cards by objective, in the order the KPI file
// lists the objectives, then objectives it does not list, then KPIs without
// an objective.
type objectiveGroups struct {
	defs   *kpi.Definitions
	byID   map[string]*objectiveGroup
	order  []string
	noGoal *objectiveGroup
}

func newObjectiveGroups(defs *kpi.Definitions) *objectiveGroups {
	g := &objectiveGroups{defs: defs, byID: map[string]*objectiveGroup{}}
	for _, o := range defs.Objectives {
		if _, dup := g.byID[o.ID]; dup {
			continue
		}
		g.byID[o.ID] = &objectiveGroup{ID: o.ID, Name: objectiveName(defs, o.ID), Description: o.Description}
		g.order = append(g.order, o.ID)
	}
	return g
}

// add puts card in the group of the objective with the given id.
func (g *objectiveGroups) add(objective string, card kpiCard) {
	if objective == "" {
		if g.noGoal == nil {
			g.noGoal = &objectiveGroup{Name: "KPIs without an objective"}
		}
		g.noGoal.Cards = append(g.noGoal.Cards, card)
		return
	}

	group, ok := g.byID[objective]
	if !ok {
		group = &objectiveGroup{ID: objective, Name: objective}
		g.byID[objective] = group
		g.order = append(g.order, objective)
	}
	group.Cards = append(group.Cards, card)
}

// list returns the groups that have cards, in order.
func (g *objectiveGroups) list() []objectiveGroup {
	var out []objectiveGroup
	for _, id := range g.order {
		if group := g.byID[id]; len(group.Cards) > 0 {
			out = append(out, *group)
		}
	}
	if g.noGoal != nil {
		out = append(out, *g.noGoal)
	}
	return out
}
