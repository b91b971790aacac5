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
	"sync"
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
	workspaceID int64      // every query reads and writes only this workspace's rows
	stmts       *stmtCache // shared by the workspace views of one database
	users       *userCaches
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
	// Statement journals, which a multi-row INSERT ... ON CONFLICT writes
	// inside a transaction, stay in memory instead of a temporary file.
	// They only undo one statement, so this changes no durability.
	q.Add("_pragma", "temp_store(MEMORY)")
	// A commit that brings the WAL file over this many pages copies them
	// into the database file and fsyncs it, while holding the write lock.
	// 16,384 pages of 4 KiB (64 MiB) makes that rarer than SQLite's default
	// of 1,000 pages, and a page changed by many commits is copied once.
	// Storing 1M events sent by `northstar bench ingest` then took 17 s of
	// server CPU time instead of 20 s (2 cores, docs/benchmarks.md).
	q.Add("_pragma", "wal_autocheckpoint(16384)")
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

	db := &DB{db: sqlDB, path: path, workspaceID: defaultWorkspaceID, stmts: &stmtCache{}, users: &userCaches{}}
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

	// An import that stopped between DeferUserIndex and RestoreUserIndex
	// left the index out.
	if err := db.RestoreUserIndex(ctx); err != nil {
		return fmt.Errorf("database %s: %w", db.path, err)
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
func (db *DB) Close() error {
	db.stmts.close()
	return db.db.Close()
}

// stmtCache holds the statements of the insert path, by SQL text.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// prepared returns query prepared once for this database; database/sql
// prepares it on each connection the first time that connection runs it.
// Parsing the multi-row statements of the insert path took about a tenth of
// an insert's CPU time when each transaction prepared them again.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	c := db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if stmt, ok := c.stmts[query]; ok {
		return stmt, nil
	}
	stmt, err := db.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = stmt
	return stmt, nil
}

// close closes the cached statements.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, stmt := range c.stmts {
		stmt.Close()
	}
	c.stmts = nil
}

// SQL returns the underlying handle, for tests that check results with plain SQL.
func (db *DB) SQL() *sql.DB { return db.db }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
