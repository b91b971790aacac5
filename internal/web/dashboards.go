package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// DashboardStore keeps dashboards, their widgets and their share links.
// Methods that take an id return ENOTFOUND when it names nothing, and
// EINVALID for a bad name or widget position.
type DashboardStore interface {
	CreateDashboard(ctx context.Context, d store.Dashboard) (store.Dashboard, error)
	ListDashboards(ctx context.Context) ([]store.Dashboard, error)
	Dashboard(ctx context.Context, id int64) (store.Dashboard, error)
	UpdateDashboard(ctx context.Context, d store.Dashboard) (store.Dashboard, error)
	DeleteDashboard(ctx context.Context, id int64) error

	AddWidget(ctx context.Context, w store.Widget) (store.Widget, error)
	UpdateWidget(ctx context.Context, w store.Widget) (store.Widget, error)
	DeleteWidget(ctx context.Context, dashboardID, widgetID int64) error
	SaveLayout(ctx context.Context, dashboardID int64, layout []store.WidgetPosition) error

	CreateShareLink(ctx context.Context, dashboardID int64) (store.ShareLink, string, error)
	ListShareLinks(ctx context.Context, dashboardID int64) ([]store.ShareLink, error)
	RevokeShareLink(ctx context.Context, dashboardID, linkID int64) error
	ShareLinkByToken(ctx context.Context, token string) (store.ShareLink, error)
}

// maxDashboardBody limits the JSON body of a dashboard or widget request.
const maxDashboardBody = 64 << 10

func (s *Server) registerDashboardAPIRoutes() {
	if s.defaultWorkspace.dashboards == nil {
		return
	}
	s.register("GET /api/v1/dashboards", AccessViewer, s.handle(s.handleDashboardList))
	s.register("POST /api/v1/dashboards", AccessEditor, s.handle(s.handleDashboardCreate))
	s.register("GET /api/v1/dashboards/{id}", AccessViewer, s.handle(s.handleDashboardGet))
	s.register("PATCH /api/v1/dashboards/{id}", AccessEditor, s.handle(s.handleDashboardUpdate))
	s.register("DELETE /api/v1/dashboards/{id}", AccessEditor, s.handle(s.handleDashboardDelete))
	s.register("POST /api/v1/dashboards/{id}/duplicate", AccessEditor, s.handle(s.handleDashboardDuplicate))
	s.register("PUT /api/v1/dashboards/{id}/layout", AccessEditor, s.handle(s.handleDashboardLayout))
	s.register("POST /api/v1/dashboards/{id}/widgets", AccessEditor, s.handle(s.handleWidgetCreate))
	s.register("PATCH /api/v1/dashboards/{id}/widgets/{widget}", AccessEditor, s.handle(s.handleWidgetUpdate))
	s.register("DELETE /api/v1/dashboards/{id}/widgets/{widget}", AccessEditor, s.handle(s.handleWidgetDelete))

	s.register("GET /api/v1/dashboards/{id}/data", AccessViewer, s.handle(s.handleDashboardData))
	s.register("GET /api/v1/dashboards/{id}/events", AccessViewer, s.handle(s.handleDashboardEvents))
	s.register("GET /api/v1/dashboards/{id}/export.csv", AccessViewer, s.handle(s.handleDashboardExport))

	s.register("GET /api/v1/dashboards/{id}/share-links", AccessEditor, s.handle(s.handleShareLinkList))
	s.register("POST /api/v1/dashboards/{id}/share-links", AccessEditor, s.handle(s.handleShareLinkCreate))
	s.register("DELETE /api/v1/dashboards/{id}/share-links/{link}", AccessEditor, s.handle(s.handleShareLinkRevoke))
}

// dashboardJSON is a dashboard in the API.
type dashboardJSON struct {
	ID        int64        `json:"id"`
	Name      string       `json:"name"`
	Objective string       `json:"objective,omitempty"`
	Grain     string       `json:"grain"`
	From      string       `json:"from"`
	To        string       `json:"to"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	Widgets   []widgetJSON `json:"widgets,omitempty"`
	Page      string       `json:"page"`
}

// widgetJSON is a widget in the API.
type widgetJSON struct {
	ID      int64           `json:"id"`
	Kind    string          `json:"kind"`
	KPIs    []string        `json:"kpis"`
	X       int             `json:"x"`
	Y       int             `json:"y"`
	W       int             `json:"w"`
	H       int             `json:"h"`
	Options json.RawMessage `json:"options"`
}

func newDashboardJSON(d store.Dashboard, withWidgets bool) dashboardJSON {
	out := dashboardJSON{
		ID: d.ID, Name: d.Name, Objective: d.Objective, Grain: d.Grain, From: d.From, To: d.To,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Page: "/dashboards/" + strconv.FormatInt(d.ID, 10),
	}
	if withWidgets {
		out.Widgets = make([]widgetJSON, 0, len(d.Widgets))
		for _, w := range d.Widgets {
			out.Widgets = append(out.Widgets, newWidgetJSON(w))
		}
	}
	return out
}

func newWidgetJSON(w store.Widget) widgetJSON {
	kpis := w.KPIs
	if kpis == nil {
		kpis = []string{}
	}
	opts := w.Options
	if len(opts) == 0 {
		opts = json.RawMessage("{}")
	}
	return widgetJSON{ID: w.ID, Kind: w.Kind, KPIs: kpis, X: w.X, Y: w.Y, W: w.W, H: w.H, Options: opts}
}

// handleDashboardList serves GET /api/v1/dashboards, creating the default
// dashboard of every objective that has none first.
func (s *Server) handleDashboardList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.listDashboards(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Dashboards []dashboardJSON `json:"dashboards"`
	}{Dashboards: make([]dashboardJSON, 0, len(list))}
	for _, d := range list {
		out.Dashboards = append(out.Dashboards, newDashboardJSON(d, false))
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// dashboardInput is the body of a request that creates or changes a
// dashboard. Absent fields keep their value.
type dashboardInput struct {
	Name  *string `json:"name"`
	Grain *string `json:"grain"`
	From  *string `json:"from"`
	To    *string `json:"to"`
}

// apply sets the fields of in on d and checks the time controls.
func (in dashboardInput) apply(d *store.Dashboard) error {
	if in.Name != nil {
		d.Name = *in.Name
	}
	if in.Grain != nil {
		d.Grain = strings.TrimSpace(*in.Grain)
	}
	if in.From != nil {
		d.From = strings.TrimSpace(*in.From)
	}
	if in.To != nil {
		d.To = strings.TrimSpace(*in.To)
	}
	_, err := parseDashboardControls(d.Grain, d.From, d.To)
	return err
}

// dashboardControls are the grain and range a dashboard's widgets show.
type dashboardControls struct {
	Grain timegrain.Grain // "" for each KPI's own grain
	From  timegrain.Date
	To    timegrain.Date
}

// parseDashboardControls checks a grain and a date range, any of which may
// be empty.
func parseDashboardControls(grain, from, to string) (dashboardControls, error) {
	var c dashboardControls
	if grain != "" {
		g, err := timegrain.ParseGrain(grain)
		if err != nil {
			return c, kpi.Errorf(kpi.EINVALID, "grain: %v", err)
		}
		c.Grain = g
	}
	for _, p := range []struct {
		name, value string
		date        *timegrain.Date
	}{{"from", from, &c.From}, {"to", to, &c.To}} {
		if p.value == "" {
			continue
		}
		d, err := timegrain.ParseDate(p.value)
		if err != nil {
			return c, kpi.Errorf(kpi.EINVALID, "%s: %v", p.name, err)
		}
		*p.date = d
	}
	if !c.From.IsZero() && !c.To.IsZero() && c.To.String() < c.From.String() {
		return c, kpi.Errorf(kpi.EINVALID, "from %s is after to %s (swap the dates)", c.From, c.To)
	}
	return c, nil
}

// handleDashboardCreate serves POST /api/v1/dashboards.
func (s *Server) handleDashboardCreate(w http.ResponseWriter, r *http.Request) error {
	var in dashboardInput
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return kpi.Errorf(kpi.EINVALID, "name is missing (send {\"name\": \"Growth\"})")
	}
	var d store.Dashboard
	if err := in.apply(&d); err != nil {
		return err
	}
	d, err := s.inRequest(r).dashboards.CreateDashboard(r.Context(), d)
	if err != nil {
		return err
	}
	s.auditDashboard(r, "create", d.ID, nil, newDashboardJSON(d, true))
	s.writeJSON(w, r, http.StatusCreated, newDashboardJSON(d, true))
	return nil
}

// handleDashboardGet serves GET /api/v1/dashboards/{id}.
func (s *Server) handleDashboardGet(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newDashboardJSON(d, true))
	return nil
}

// handleDashboardUpdate serves PATCH /api/v1/dashboards/{id}: rename, or
// change the grain and range.
func (s *Server) handleDashboardUpdate(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	var in dashboardInput
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	before := newDashboardJSON(d, false)
	if err := in.apply(&d); err != nil {
		return err
	}
	if d, err = s.inRequest(r).dashboards.UpdateDashboard(r.Context(), d); err != nil {
		return err
	}
	s.auditDashboard(r, "update", d.ID, before, newDashboardJSON(d, false))
	s.writeJSON(w, r, http.StatusOK, newDashboardJSON(d, true))
	return nil
}

// handleDashboardDelete serves DELETE /api/v1/dashboards/{id}.
func (s *Server) handleDashboardDelete(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	if err := s.inRequest(r).dashboards.DeleteDashboard(r.Context(), d.ID); err != nil {
		return err
	}
	s.auditDashboard(r, "delete", d.ID, newDashboardJSON(d, true), nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleDashboardDuplicate serves POST /api/v1/dashboards/{id}/duplicate: a
// copy with the same widgets and controls, named "Copy of …" unless the body
// names it. Share links are not copied.
func (s *Server) handleDashboardDuplicate(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	var in dashboardInput
	if r.ContentLength != 0 {
		if err := decodeBody(w, r, &in); err != nil {
			return err
		}
	}
	name := "Copy of " + d.Name
	if in.Name != nil {
		name = *in.Name
	} else if n := []rune(name); len(n) > store.MaxDashboardNameLen {
		name = string(n[:store.MaxDashboardNameLen])
	}

	copied := store.Dashboard{Name: name, Grain: d.Grain, From: d.From, To: d.To}
	for _, wd := range d.Widgets {
		wd.ID, wd.DashboardID = 0, 0
		copied.Widgets = append(copied.Widgets, wd)
	}
	if copied, err = s.inRequest(r).dashboards.CreateDashboard(r.Context(), copied); err != nil {
		return err
	}
	s.auditDashboard(r, "duplicate", copied.ID, map[string]int64{"duplicate_of": d.ID}, newDashboardJSON(copied, true))
	s.writeJSON(w, r, http.StatusCreated, newDashboardJSON(copied, true))
	return nil
}

// layoutInput is the body of PUT /api/v1/dashboards/{id}/layout.
type layoutInput struct {
	Widgets []struct {
		ID int64 `json:"id"`
		X  *int  `json:"x"`
		Y  *int  `json:"y"`
		W  *int  `json:"w"`
		H  *int  `json:"h"`
	} `json:"widgets"`
}

// handleDashboardLayout serves PUT /api/v1/dashboards/{id}/layout: the place
// and size of some or all widgets, saved together.
func (s *Server) handleDashboardLayout(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "dashboard")
	if err != nil {
		return err
	}
	var in layoutInput
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	layout := make([]store.WidgetPosition, 0, len(in.Widgets))
	for i, p := range in.Widgets {
		if p.X == nil || p.Y == nil || p.W == nil || p.H == nil {
			return kpi.Errorf(kpi.EINVALID, "widgets[%d] (id %d): x, y, w and h are all required", i, p.ID)
		}
		layout = append(layout, store.WidgetPosition{ID: p.ID, X: *p.X, Y: *p.Y, W: *p.W, H: *p.H})
	}
	before, err := s.inRequest(r).dashboards.Dashboard(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.inRequest(r).dashboards.SaveLayout(r.Context(), id, layout); err != nil {
		return err
	}
	d, err := s.inRequest(r).dashboards.Dashboard(r.Context(), id)
	if err != nil {
		return err
	}
	s.auditDashboard(r, "layout", id, newDashboardJSON(before, true).Widgets, newDashboardJSON(d, true).Widgets)
	s.writeJSON(w, r, http.StatusOK, newDashboardJSON(d, true))
	return nil
}

// widgetInput is the body of a request that adds or changes a widget.
// Absent fields keep their value, or take the kind's default on a new widget.
type widgetInput struct {
	Kind    *string         `json:"kind"`
	KPIs    []string        `json:"kpis"`
	X       *int            `json:"x"`
	Y       *int            `json:"y"`
	W       *int            `json:"w"`
	H       *int            `json:"h"`
	Options json.RawMessage `json:"options"`
}

// apply sets the fields of in on wd.
func (in widgetInput) apply(wd *store.Widget) {
	if in.KPIs != nil {
		wd.KPIs = in.KPIs
	}
	for _, f := range []struct {
		from *int
		to   *int
	}{{in.X, &wd.X}, {in.Y, &wd.Y}, {in.W, &wd.W}, {in.H, &wd.H}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if in.Options != nil {
		wd.Options = in.Options
	}
}

// handleWidgetCreate serves POST /api/v1/dashboards/{id}/widgets. A widget
// without a position goes in the first free place.
func (s *Server) handleWidgetCreate(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	var in widgetInput
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if in.Kind == nil {
		return kpi.Errorf(kpi.EINVALID, "kind is missing (one of %s)", strings.Join(widgetKindNames(), ", "))
	}
	kind, ok := widgetKinds[*in.Kind]
	if !ok {
		return kpi.Errorf(kpi.EINVALID, "widget kind %q is unknown (use one of %s)", *in.Kind, strings.Join(widgetKindNames(), ", "))
	}

	wd := store.Widget{DashboardID: d.ID, Kind: *in.Kind, W: kind.w, H: kind.h}
	in.apply(&wd)
	if in.X == nil && in.Y == nil {
		wd.X, wd.Y = freeSpot(d, wd.W, wd.H)
	}
	if err := s.validateWidget(r.Context(), wd); err != nil {
		return err
	}
	if wd, err = s.inRequest(r).dashboards.AddWidget(r.Context(), wd); err != nil {
		return err
	}
	s.auditWidget(r, "create", wd, nil, newWidgetJSON(wd))
	s.writeJSON(w, r, http.StatusCreated, newWidgetJSON(wd))
	return nil
}

// handleWidgetUpdate serves PATCH /api/v1/dashboards/{id}/widgets/{widget}:
// move, resize, or change the KPIs or options. The kind cannot change.
func (s *Server) handleWidgetUpdate(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	wd, err := widgetFromPath(r, d)
	if err != nil {
		return err
	}
	var in widgetInput
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if in.Kind != nil && *in.Kind != wd.Kind {
		return kpi.Errorf(kpi.EINVALID, "widget %d is a %s widget and its kind cannot change (add a new %s widget instead)", wd.ID, wd.Kind, *in.Kind)
	}
	before := newWidgetJSON(wd)
	in.apply(&wd)
	if err := s.validateWidget(r.Context(), wd); err != nil {
		return err
	}
	if wd, err = s.inRequest(r).dashboards.UpdateWidget(r.Context(), wd); err != nil {
		return err
	}
	s.auditWidget(r, "update", wd, before, newWidgetJSON(wd))
	s.writeJSON(w, r, http.StatusOK, newWidgetJSON(wd))
	return nil
}

// handleWidgetDelete serves DELETE /api/v1/dashboards/{id}/widgets/{widget}.
func (s *Server) handleWidgetDelete(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	wd, err := widgetFromPath(r, d)
	if err != nil {
		return err
	}
	if err := s.inRequest(r).dashboards.DeleteWidget(r.Context(), d.ID, wd.ID); err != nil {
		return err
	}
	s.auditWidget(r, "delete", wd, newWidgetJSON(wd), nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// dashboardFromPath reads the dashboard the {id} path value names.
func (s *Server) dashboardFromPath(r *http.Request) (store.Dashboard, error) {
	id, err := pathID(r, "id", "dashboard")
	if err != nil {
		return store.Dashboard{}, err
	}
	return s.inRequest(r).dashboards.Dashboard(r.Context(), id)
}

// widgetFromPath returns the widget of d that the {widget} path value names.
func widgetFromPath(r *http.Request, d store.Dashboard) (store.Widget, error) {
	id, err := pathID(r, "widget", "widget")
	if err != nil {
		return store.Widget{}, err
	}
	for _, wd := range d.Widgets {
		if wd.ID == id {
			return wd, nil
		}
	}
	return store.Widget{}, kpi.Errorf(kpi.ENOTFOUND, "dashboard %d has no widget %d", d.ID, id)
}

// pathID parses the path value name as a positive id of the named thing.
func pathID(r *http.Request, name, thing string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, kpi.Errorf(kpi.ENOTFOUND, "%s %q not found (%s ids are positive numbers)", thing, v, thing)
	}
	return id, nil
}

// freeSpot returns the first place, row by row from the top left, where a
// widget of w by h cells overlaps no widget of d.
func freeSpot(d store.Dashboard, w, h int) (x, y int) {
	w = min(max(w, 1), store.GridColumns)
	bottom := 0
	for _, o := range d.Widgets {
		bottom = max(bottom, o.Y+o.H)
	}
	for y := 0; y < bottom; y++ {
		for x := 0; x+w <= store.GridColumns; x++ {
			free := true
			for _, o := range d.Widgets {
				if x < o.X+o.W && o.X < x+w && y < o.Y+o.H && o.Y < y+h {
					free = false
					break
				}
			}
			if free {
				return x, y
			}
		}
	}
	return 0, bottom
}

// decodeBody decodes the JSON body of r into v, rejecting unknown fields,
// trailing data and bodies over maxDashboardBody.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxDashboardBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return kpi.Errorf(kpi.ETOOLARGE, "request body is larger than %d bytes", maxDashboardBody)
		case errors.Is(err, io.EOF):
			return kpi.Errorf(kpi.EINVALID, "request body is empty (send a JSON object)")
		}
		return kpi.Errorf(kpi.EINVALID, "request body is not valid JSON for this request: %v", err)
	}
	if dec.More() {
		return kpi.Errorf(kpi.EINVALID, "request body has data after the JSON object (send one object)")
	}
	return nil
}

// auditDashboard records a change of dashboard id in the audit log.
func (s *Server) auditDashboard(r *http.Request, action string, id int64, before, after any) {
	s.auditChange(r.Context(), auth.AuditEntry{
		Action: action, ObjectType: "dashboard", ObjectID: strconv.FormatInt(id, 10), Before: before, After: after,
	})
}

// auditWidget records a change of widget wd in the audit log, under the id
// "DASHBOARD/WIDGET".
func (s *Server) auditWidget(r *http.Request, action string, wd store.Widget, before, after any) {
	s.auditChange(r.Context(), auth.AuditEntry{
		Action: action, ObjectType: "widget", ObjectID: strconv.FormatInt(wd.DashboardID, 10) + "/" + strconv.FormatInt(wd.ID, 10),
		Before: before, After: after,
	})
}
