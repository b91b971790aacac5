// Package sqlite is Northstar's embedded store: one SQLite file in WAL mode,
// migrated at open. It uses modernc.org/sqlite, so the binary needs no cgo.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/northstar-kpi/northstar/internal/kpi"
)

//go:embed migrations/*.sql
var migrations embed.FS

// defaultWorkspaceID is the workspace that the DB from Open reads and writes: the one
// the first migration creates.
const defaultWorkspaceID = 1

// uriPathEscaper percent-encodes the characters that end or change the path
// of an SQLite URI filename. Unescaped, a directory named "C# projects" would
// make SQLite open the file "C" in its parent.
var uriPathEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// DB is an open Northstar database.
type DB struct {
	db          *sql.DB
	path        string
	workspaceID int64 // every query reads and writes only this workspace's rows
}

// Open opens (creating if needed) the database file at path and applies any
// pending migrations. Use ":memory:" only for a single-connection test.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, kpi.Errorf(kpi.EINVALID, "database path is empty (set --db PATH)")
	}

	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// A 64 MiB page cache per connection (SQLite's default is 2 MiB) keeps the
	// index pages that inserts touch in memory. Importing 1M generated events
	// took 43 s with it and 66 s without (2 cores, docs/benchmarks.md).
	q.Add("_pragma", "cache_size(-65536)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + uriPathEscaper.Replace(path) + "?" + q.Encode()

	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, kpi.Errorf(kpi.EINVALID, "cannot open database %s: %v (check the path and its permissions)", path, err)
	}

	db := &DB{db: sqlDB, path: path, workspaceID: defaultWorkspaceID}
	if err := db.migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, db.db, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate database %s: %w", db.path, err)
	}
	return nil
}

// Workspace returns a view of the database that reads and writes only the
// rows of workspace id. The view shares db's connections, so it costs one
// allocation, and closing either one closes both.
func (db *DB) Workspace(id int64) *DB {
	view := *db
	view.workspaceID = id
	return &view
}

// WorkspaceID returns the workspace that db reads and writes.
func (db *DB) WorkspaceID() int64 { return db.workspaceID }

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }

// SQL returns the underlying handle, for tests that check results with plain SQL.
func (db *DB) SQL() *sql.DB { return db.db }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
