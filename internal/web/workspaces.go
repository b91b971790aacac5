package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

// WorkspaceServices are the stores and services of one workspace. Each one
// reads and changes only that workspace's data. A nil field serves nothing
// of its kind, as the Config field of the same name does.
type WorkspaceServices struct {
	// Definitions returns the KPI file's definitions for the workspace, to
	// which the server adds the KPIs made in the UI. Nil means no KPI file.
	Definitions func() *kpi.Definitions

	Series     SeriesComputer
	Ingest     IngestStore
	KPIMeta    KPIMetaStore
	Dashboards DashboardStore
	Targets    TargetStore
	Alerts     *alerting.Rules
	Reports    *alerting.Reports
}

// WorkspaceFactory returns the services of workspace id, which is never the
// default workspace: Config's own fields serve that one. The server calls it
// once per workspace, at the first request that needs it, and keeps the
// result until it stops.
type WorkspaceFactory func(ctx context.Context, id int64) (WorkspaceServices, error)

// workspace is the server's state for one workspace: its services, the KPIs
// made in the UI, and the live-update hub of its open dashboards.
type workspace struct {
	id          int64
	definitions func() *kpi.Definitions
	series      SeriesComputer
	ingest      IngestStore
	kpiMeta     KPIMetaStore
	catalog     *kpiCatalog // nil without kpiMeta
	dashboards  DashboardStore
	targets     TargetStore
	alerts      *alerting.Rules
	reports     *alerting.Reports
	live        *liveHub
}

// newWorkspace returns the server's state for workspace id with services svc.
func (s *Server) newWorkspace(id int64, svc WorkspaceServices) *workspace {
	ws := &workspace{
		id:          id,
		definitions: svc.Definitions,
		series:      svc.Series,
		ingest:      svc.Ingest,
		kpiMeta:     svc.KPIMeta,
		dashboards:  svc.Dashboards,
		targets:     svc.Targets,
		alerts:      svc.Alerts,
		reports:     svc.Reports,
		live:        s.liveHubs.newHub(),
	}
	if ws.definitions == nil {
		ws.definitions = func() *kpi.Definitions { return nil }
	}
	if svc.KPIMeta != nil {
		ws.catalog = &kpiCatalog{store: svc.KPIMeta, logger: s.logger.With(slog.Int64("workspace", id)), now: s.now}
	}
	return ws
}

// workspaces keeps the server's state of every workspace that a request has
// needed, keyed by workspace id.
type workspaces struct {
	factory WorkspaceFactory

	mu   sync.Mutex
	byID map[int64]*workspaceEntry
}

// workspaceEntry is one workspace's state, opened at most once at a time,
// so that opening one workspace holds up only the requests to it.
type workspaceEntry struct {
	mu sync.Mutex
	ws *workspace // nil until opened
}

// workspace returns the state of workspace id, creating it with the factory
// at the first call. A failed call leaves it to the next call to try again.
// It returns EFORBIDDEN when the server has no factory, so that it serves
// only the default workspace.
func (s *Server) workspace(ctx context.Context, id int64) (*workspace, error) {
	if id == auth.DefaultWorkspaceID {
		return s.defaultWorkspace, nil
	}
	if s.workspaces.factory == nil {
		return nil, kpi.Errorf(kpi.EFORBIDDEN, "this server serves only the default workspace (1), and you are signed in to workspace %d", id)
	}

	s.workspaces.mu.Lock()
	entry, ok := s.workspaces.byID[id]
	if !ok {
		entry = &workspaceEntry{}
		s.workspaces.byID[id] = entry
	}
	s.workspaces.mu.Unlock()

	entry.mu.Lock()
	defer entry.mu.Unlock()
	if entry.ws != nil {
		return entry.ws, nil
	}
	svc, err := s.workspaces.factory(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("open workspace %d: %w", id, err)
	}
	entry.ws = s.newWorkspace(id, svc)
	return entry.ws, nil
}

type workspaceKey struct{}

// withWorkspace returns ctx carrying the state of workspace id, which every
// handler below reads and changes through Server.in.
func (s *Server) withWorkspace(ctx context.Context, id int64) (context.Context, error) {
	ws, err := s.workspace(ctx, id)
	if err != nil {
		return nil, err
	}
	return context.WithValue(ctx, workspaceKey{}, ws), nil
}

// in returns the workspace that ctx carries: the principal's workspace on
// routes that need one, the share link's on share routes, and the write
// key's on ingestion routes. Without one, as for public routes and
// in-process calls, it returns the default workspace.
func (s *Server) in(ctx context.Context) *workspace {
	if ws, ok := ctx.Value(workspaceKey{}).(*workspace); ok {
		return ws
	}
	return s.defaultWorkspace
}

// inRequest returns the workspace of r: see Server.in.
func (s *Server) inRequest(r *http.Request) *workspace { return s.in(r.Context()) }

// WorkspaceDefinitions returns the definitions in force in workspace id:
// the KPI file's for the workspace with the KPIs made in its UI. It returns
// empty definitions for a workspace that the server cannot open, and logs
// why.
func (s *Server) WorkspaceDefinitions(id int64) *kpi.Definitions {
	ws, err := s.workspace(context.Background(), id)
	if err != nil {
		s.logger.Error("read the definitions of a workspace failed", slog.Int64("workspace", id), slog.Any("error", err))
		return &kpi.Definitions{}
	}
	return ws.currentDefinitions()
}

// currentDefinitions returns the workspace's definitions with the KPIs made
// in its UI, or empty ones when none are loaded, so that handlers need not
// check for nil.
func (ws *workspace) currentDefinitions() *kpi.Definitions {
	d := ws.definitions()
	if d == nil {
		d = &kpi.Definitions{}
	}
	if ws.catalog != nil {
		return ws.catalog.definitions(d)
	}
	return d
}

// liveHubs keeps the live-update hub of every workspace, so that closing the
// server's streams reaches the hubs of workspaces opened later too.
type liveHubs struct {
	mu     sync.Mutex
	hubs   []*liveHub
	closed bool
}

func (h *liveHubs) newHub() *liveHub {
	h.mu.Lock()
	defer h.mu.Unlock()
	hub := newLiveHub()
	if h.closed {
		hub.close()
	}
	h.hubs = append(h.hubs, hub)
	return hub
}

func (h *liveHubs) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, hub := range h.hubs {
		hub.close()
	}
}
