package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/web"
)

// workspaceState is the server's state for one workspace: its store view
// with the activity index kept up to date, the engine on that index, and its
// alert and report services.
type workspaceState struct {
	id          int64
	db          *indexedStore
	definitions func() *kpi.Definitions // the KPI file's definitions for the workspace
	series      *engine.Engine
	alerts      workspaceAlerts
}

// location returns the time zone that the workspace's KPIs count days in.
func (ws *workspaceState) location() *time.Location {
	if d := ws.definitions(); d != nil && d.Workspace.Location != nil {
		return d.Workspace.Location
	}
	return time.UTC
}

// webServices returns the services that the web server uses in the workspace.
func (ws *workspaceState) webServices() web.WorkspaceServices {
	svc := web.WorkspaceServices{
		Definitions: ws.definitions,
		Series:      ws.series,
		Ingest:      ws.db,
		Dashboards:  ws.db,
		Targets:     ws.db,
		Alerts:      ws.alerts.rules,
		Reports:     ws.alerts.reports,
	}
	svc.KPIMeta, _ = ws.db.appStore.(web.KPIMetaStore)
	return svc
}

// workspaceRegistry opens the state of each workspace at its first use and
// keeps it until the server stops. The default workspace's state is made at
// start; the others when a request or a scheduled job first needs them.
type workspaceRegistry struct {
	base    appStore // the store without a workspace view: the default workspace
	auth    *auth.Store
	mailer  *notify.Mailer
	baseURL func() string
	now     func() time.Time
	logger  *slog.Logger

	// definitionsIn returns the definitions in force in a workspace, with
	// the KPIs made in its UI; set once the web server exists.
	definitionsIn func(id int64) *kpi.Definitions

	mu   sync.Mutex
	byID map[int64]*registryEntry
}

// registryEntry is one workspace's state, opened at most once at a time, so
// that opening one workspace holds up only the callers that need it.
type registryEntry struct {
	mu sync.Mutex
	ws *workspaceState // nil until opened
}

// get returns the state of workspace id, opening it at the first call. A
// failed call leaves it to the next call to try again.
func (reg *workspaceRegistry) get(ctx context.Context, id int64) (*workspaceState, error) {
	reg.mu.Lock()
	entry, ok := reg.byID[id]
	if !ok {
		entry = &registryEntry{}
		reg.byID[id] = entry
	}
	reg.mu.Unlock()

	entry.mu.Lock()
	defer entry.mu.Unlock()
	if entry.ws != nil {
		return entry.ws, nil
	}
	ws, err := reg.open(ctx, id)
	if err != nil {
		return nil, err
	}
	entry.ws = ws
	return ws, nil
}

// open opens the state of workspace id, which is not the default one. Its
// definitions have no KPIs of the KPI file, which belong to the default
// workspace, and take the workspace's own time zone and week start.
func (reg *workspaceRegistry) open(ctx context.Context, id int64) (*workspaceState, error) {
	info, err := reg.auth.Workspace(ctx, id)
	if err != nil {
		return nil, err
	}
	view, err := workspaceView(reg.base, id)
	if err != nil {
		return nil, err
	}

	logger := reg.logger.With(slog.Int64("workspace", id))
	loc, err := time.LoadLocation(info.TimeZone)
	if err != nil {
		// The CLI checks the zone, so only a zone set by hand or one that
		// this binary's time zone database lacks gets here.
		logger.Error("unknown workspace time zone; counting days in UTC", slog.String("time_zone", info.TimeZone), slog.Any("error", err))
		loc = time.UTC
	}
	defs := &kpi.Definitions{Workspace: kpi.Workspace{Name: info.Name, Location: loc, WeekStart: info.WeekStart}}
	meta, _ := view.(web.KPIMetaStore)
	indexDefs, err := withStoredKPIs(ctx, defs, meta, reg.now())
	if err != nil {
		return nil, fmt.Errorf("read the KPIs of workspace %d: %w", id, err)
	}
	ix, err := openIndex(ctx, view, indexDefs, logger)
	if err != nil {
		return nil, fmt.Errorf("workspace %d: %w", id, err)
	}

	indexed := newIndexedStore(view, ix, logger)
	ws := &workspaceState{
		id:          id,
		db:          indexed,
		definitions: func() *kpi.Definitions { return defs },
		series:      engine.NewWithIndex(indexed, ix, reg.now).WithHistory(indexed),
	}
	ws.alerts = newWorkspaceAlerts(indexed, reg.definitionsOf(id, defs), ws.series, reg.mailer, reg.baseURL(), reg.now, logger)
	logger.Info("workspace opened", slog.String("name", info.Name))
	return ws, nil
}

// definitionsOf returns the function that the alert services of workspace
// id call for its definitions: the web server's, which include the KPIs made
// in the UI, or fallback before the web server exists.
func (reg *workspaceRegistry) definitionsOf(id int64, fallback *kpi.Definitions) func() *kpi.Definitions {
	return func() *kpi.Definitions {
		if reg.definitionsIn != nil {
			return reg.definitionsIn(id)
		}
		return fallback
	}
}

// webFactory returns the web server's factory of workspace services.
func (reg *workspaceRegistry) webFactory() web.WorkspaceFactory {
	return func(ctx context.Context, id int64) (web.WorkspaceServices, error) {
		ws, err := reg.get(ctx, id)
		if err != nil {
			return web.WorkspaceServices{}, err
		}
		return ws.webServices(), nil
	}
}

// runJob runs the scheduled job name in every workspace. A failure in one
// workspace is logged and does not keep the job from the others.
func (reg *workspaceRegistry) runJob(ctx context.Context, name string, at time.Time) error {
	list, err := reg.auth.Workspaces(ctx)
	if err != nil {
		return fmt.Errorf("job %s: %w", name, err)
	}

	var errs []error
	for _, info := range list {
		ws, err := reg.get(ctx, info.ID)
		if err == nil && name == "reviews" && !reviewsDue(at, ws.location()) {
			continue
		}
		if err == nil {
			if job := ws.alerts.jobs[name]; job != nil {
				err = job(ctx, at)
			}
		}
		if err != nil {
			reg.logger.Error("scheduled job failed in a workspace", slog.String("job", name), slog.Int64("workspace", info.ID), slog.Any("error", err))
			errs = append(errs, fmt.Errorf("workspace %d: %w", info.ID, err))
		}
	}
	return errors.Join(errs...)
}

// saveIndexes persists the activity index of every workspace but the
// default one, whose store the server closes itself. The views share the
// default store's connections, so they are not closed.
func (reg *workspaceRegistry) saveIndexes() {
	reg.mu.Lock()
	entries := make([]*registryEntry, 0, len(reg.byID))
	for id, entry := range reg.byID {
		if id != auth.DefaultWorkspaceID {
			entries = append(entries, entry)
		}
	}
	reg.mu.Unlock()

	for _, entry := range entries {
		entry.mu.Lock()
		if ws := entry.ws; ws != nil {
			ws.db.mu.Lock()
			ws.db.save(context.Background())
			ws.db.mu.Unlock()
		}
		entry.mu.Unlock()
	}
}
