package web

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// This file serves the dashboard pages: the list, one dashboard with its
// editing controls, and TV mode. The pages carry no data of their own;
// assets/board.js fetches and draws it.

func (s *Server) registerDashboardPageRoutes() {
	if s.defaultWorkspace.dashboards == nil {
		return
	}
	for _, name := range []string{"dashboards", "board"} {
		s.templates[name] = mustParsePage(name)
	}
	s.register("GET /dashboards", AccessViewer, s.handle(s.handleDashboardsPage))
	s.register("GET /dashboards/{id}", AccessViewer, s.handle(s.handleBoardPage))
	s.register("GET /tv", AccessViewer, s.handle(s.handleTVPage))
	s.registerShareRoutes()
}

// dashboardsPage is the data of templates/dashboards.html.
type dashboardsPage struct {
	pageBase
	Dashboards []dashboardJSON
	NoKPIs     bool
}

// handleDashboardsPage serves GET /dashboards.
func (s *Server) handleDashboardsPage(w http.ResponseWriter, r *http.Request) error {
	list, err := s.listDashboards(r.Context())
	if err != nil {
		return err
	}
	page := dashboardsPage{pageBase: s.newPageBase(r, "Dashboards"), NoKPIs: len(s.currentDefinitions(r).KPIs) == 0}
	for _, d := range list {
		page.Dashboards = append(page.Dashboards, newDashboardJSON(d, false))
	}
	return s.renderPage(w, r, http.StatusOK, "dashboards", page)
}

// boardConfig is the configuration of board.js: what to draw and where to fetch it.
type boardConfig struct {
	Mode      string `json:"mode"` // "edit", "view" (a viewer's), "shared" or "tv"
	ID        int64  `json:"id,omitempty"`
	Name      string `json:"name"`
	DataURL   string `json:"data_url"`
	EventsURL string `json:"events_url"`
	ExportURL string `json:"export_url"`
	APIURL    string `json:"api_url,omitempty"` // the dashboard's API resource, in edit mode

	Grain string `json:"grain,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`

	KPIs       []boardKPI       `json:"kpis,omitempty"`
	Objectives []boardObjective `json:"objectives,omitempty"`
	Kinds      []string         `json:"kinds,omitempty"`

	// TV mode cycles through Rotation, showing each for Seconds.
	Rotation []boardConfig `json:"rotation,omitempty"`
	Seconds  int           `json:"seconds,omitempty"`
}

type boardKPI struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Metric    string `json:"metric"`
	Objective string `json:"objective,omitempty"`
}

type boardObjective struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// boardPage is the data of templates/board.html.
type boardPage struct {
	pageBase
	Name     string
	Mode     string
	Editable bool
	Config   template.JS
	Grains   []string
}

// handleBoardPage serves GET /dashboards/{id}.
func (s *Server) handleBoardPage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	api := "/api/v1/dashboards/" + strconv.FormatInt(d.ID, 10)
	cfg := boardConfig{Mode: "view", DataURL: api + "/data", EventsURL: api + "/events", ExportURL: api + "/export.csv"}
	if p := PrincipalFrom(r.Context()); p != nil && p.Role.Allows(auth.RoleEditor) {
		cfg.Mode, cfg.APIURL = "edit", api // a viewer gets the same page without its editing controls
	}
	defs := s.currentDefinitions(r)
	for _, k := range defs.KPIs {
		cfg.KPIs = append(cfg.KPIs, boardKPI{ID: k.ID, Name: kpiName(k), Metric: string(k.Metric.Kind), Objective: k.Objective})
	}
	for _, o := range defs.Objectives {
		cfg.Objectives = append(cfg.Objectives, boardObjective{ID: o.ID, Name: objectiveName(defs, o.ID)})
	}
	cfg.Kinds = widgetKindNames()
	return s.renderBoard(w, r, d, cfg)
}

// maxTVDashboards limits how many dashboards TV mode cycles through.
const maxTVDashboards = 20

// handleTVPage serves GET /tv?d=ID&d=ID&seconds=N: full screen, no controls,
// cycling through the chosen dashboards.
func (s *Server) handleTVPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	seconds := 30
	if v := q.Get("seconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 3600 {
			return kpi.Errorf(kpi.EINVALID, "seconds %q is not valid (want a whole number of seconds from 5 to 3600)", v)
		}
		seconds = n
	}
	ids := q["d"]
	if len(ids) == 0 {
		return kpi.Errorf(kpi.EINVALID, "no dashboard chosen for TV mode (pick them on /dashboards, or add ?d=ID for each)")
	}
	if len(ids) > maxTVDashboards {
		return kpi.Errorf(kpi.EINVALID, "TV mode cycles through at most %d dashboards; %d were chosen", maxTVDashboards, len(ids))
	}

	var boards []store.Dashboard
	for _, v := range ids {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return kpi.Errorf(kpi.EINVALID, "dashboard id %q in d is not a number", v)
		}
		d, err := s.inRequest(r).dashboards.Dashboard(r.Context(), id)
		if err != nil {
			return err
		}
		boards = append(boards, d)
	}

	cfg := boardConfig{Mode: "tv", Seconds: seconds}
	for _, d := range boards {
		api := "/api/v1/dashboards/" + strconv.FormatInt(d.ID, 10)
		cfg.Rotation = append(cfg.Rotation, boardConfig{ID: d.ID, Name: d.Name, DataURL: api + "/data", EventsURL: api + "/events"})
	}
	return s.renderBoard(w, r, boards[0], cfg)
}

// renderBoard renders the page of dashboard d with the script configuration cfg.
func (s *Server) renderBoard(w http.ResponseWriter, r *http.Request, d store.Dashboard, cfg boardConfig) error {
	cfg.ID, cfg.Name = d.ID, d.Name
	cfg.Grain, cfg.From, cfg.To = d.Grain, d.From, d.To
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	page := boardPage{
		pageBase: s.newPageBase(r, d.Name),
		Name:     d.Name,
		Mode:     cfg.Mode,
		Editable: cfg.Mode == "edit",
		Config:   template.JS(b),
		Grains:   []string{"day", "week", "month", "quarter"},
	}
	return s.renderPage(w, r, http.StatusOK, "board", page)
}
