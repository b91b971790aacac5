package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/postgres"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/web"
)

// appStore is the storage the commands use: the engine's reads, the
// ingestion writes, write keys, and Close.
type appStore interface {
	engine.EventAggregator
	engine.IndexStore

	InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error)
	Identify(ctx context.Context, calls []store.Identify) error
	Alias(ctx context.Context, calls []store.Alias) error
	InsertMeasurements(ctx context.Context, measurements []store.Measurement) (store.InsertResult, error)

	CreateWriteKey(ctx context.Context, name string) (store.WriteKey, string, error)
	ListWriteKeys(ctx context.Context) ([]store.WriteKey, error)
	RevokeWriteKey(ctx context.Context, name string) error
	AuthenticateWriteKey(ctx context.Context, secret string) (store.WriteKey, error)

	alertStore
	web.DashboardStore
	web.TargetStore

	Ping(ctx context.Context) error
	Close() error
}

var (
	_ appStore = (*sqlite.DB)(nil)
	_ appStore = (*postgres.DB)(nil)
)

// Both stores also have what the engine's activity and measurement metrics
// and its event name hints look for.
var (
	_ engine.EventScanner          = (*sqlite.DB)(nil)
	_ engine.EventScanner          = (*postgres.DB)(nil)
	_ engine.MeasurementAggregator = (*sqlite.DB)(nil)
	_ engine.MeasurementAggregator = (*postgres.DB)(nil)
	_ engine.EventNamer            = (*sqlite.DB)(nil)
	_ engine.EventNamer            = (*postgres.DB)(nil)
)

// openStore opens the PostgreSQL database at dsn when it is a postgres:// or
// postgresql:// URL, and the SQLite file at path dsn otherwise.
func openStore(ctx context.Context, dsn string) (appStore, error) {
	if isPostgresURL(dsn) {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return db, nil
	}

	db, err := sqlite.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// workspaceView returns the view of db that reads and writes only
// workspace id's rows.
func workspaceView(db appStore, id int64) (appStore, error) {
	switch db := db.(type) {
	case *sqlite.DB:
		return db.Workspace(id), nil
	case *postgres.DB:
		return db.Workspace(id), nil
	}
	return nil, fmt.Errorf("store %T keeps no workspaces", db)
}

// workspaceIDOf returns the workspace that db reads and writes.
func workspaceIDOf(db appStore) int64 {
	if view, ok := db.(interface{ WorkspaceID() int64 }); ok {
		return view.WorkspaceID()
	}
	return auth.DefaultWorkspaceID
}

// isPostgresURL reports whether dsn selects the PostgreSQL store.
func isPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// displayDSN returns dsn for logs and messages: a PostgreSQL URL with its
// password replaced by "xxxxx", any other dsn unchanged.
func displayDSN(dsn string) string {
	if !isPostgresURL(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unreadable PostgreSQL URL)"
	}
	return u.Redacted()
}
