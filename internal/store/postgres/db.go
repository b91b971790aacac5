// Package postgres is Northstar's PostgreSQL store, for production: the same
// records and methods as the SQLite store, with the same meaning, on jsonb
// properties and bigint timestamps in Unix microseconds. It uses pgx/v5 and
// migrates the database at open.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// workspaceID is the one workspace until accounts and workspaces arrive.
// TODO: take the workspace from the caller once workspaces exist.
const workspaceID = 1

// maxTxAttempts bounds how often a transaction runs when PostgreSQL aborts
// it for a deadlock or a serialization failure, which a retry resolves.
const maxTxAttempts = 3

// DB is an open Northstar database on a PostgreSQL server.
type DB struct {
	pool *connPool
	name string // the DSN without its password, for messages
}

// Open connects to the PostgreSQL database at dsn, a postgres:// URL, and
// applies any pending migrations. The URL parameter pool_max_conns limits
// the open connections (default: the number of CPUs, at least 4). The other
// parameters are those of libpq, such as sslmode.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if dsn == "" {
		return nil, kpi.Errorf(kpi.EINVALID, "PostgreSQL URL is empty (set --db postgres://USER@HOST/DATABASE)")
	}

	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, kpi.Errorf(kpi.EINVALID, "invalid PostgreSQL URL (want postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=...)")
	}
	name := u.Redacted()

	maxConns := max(4, runtime.NumCPU())
	q := u.Query()
	if v := q.Get("pool_max_conns"); v != "" {
		if maxConns, err = strconv.Atoi(v); err != nil || maxConns < 1 {
			return nil, kpi.Errorf(kpi.EINVALID, "PostgreSQL URL %s: pool_max_conns=%q is not a positive integer", name, v)
		}
		q.Del("pool_max_conns")
		u.RawQuery = q.Encode()
	}

	config, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "invalid PostgreSQL URL %s: %v", name, err)
	}

	db := &DB{pool: newConnPool(config, maxConns), name: name}
	conn, err := db.pool.acquire(ctx)
	if err != nil {
		db.Close()
		return nil, kpi.Errorf(kpi.EINVALID, "cannot connect to PostgreSQL at %s: %v (check that the server runs and the URL)", name, err)
	}
	db.pool.release(conn)

	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the connections. Calls in progress finish first.
func (db *DB) Close() error {
	db.pool.close()
	return nil
}

// Ping checks that the database responds to a query.
func (db *DB) Ping(ctx context.Context) error {
	return db.withConn(ctx, func(conn *pgx.Conn) error {
		var result int
		if err := conn.QueryRow(ctx, `SELECT 1`).Scan(&result); err != nil {
			return fmt.Errorf("ping database %s: %w", db.name, err)
		}
		return nil
	})
}

// withConn runs fn on a connection borrowed from the pool.
func (db *DB) withConn(ctx context.Context, fn func(conn *pgx.Conn) error) error {
	conn, err := db.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", db.name, err)
	}
	defer db.pool.release(conn)
	return fn(conn)
}

// withTx runs fn in a transaction and commits it. When PostgreSQL aborts the
// transaction for a deadlock or a serialization failure, it runs fn again in
// a new one, so fn must set its results afresh on each run.
func (db *DB) withTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return db.withConn(ctx, func(conn *pgx.Conn) error {
		var err error
		for attempt := 1; attempt <= maxTxAttempts; attempt++ {
			err = runTx(ctx, conn, fn)
			if !isRetryable(err) {
				return err
			}
			select {
			case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
			case <-ctx.Done():
				return err
			}
		}
		return err
	})
}

func runTx(ctx context.Context, conn *pgx.Conn, fn func(tx pgx.Tx) error) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// SQLSTATE codes the store handles; see PostgreSQL's "Errcodes" appendix.
const (
	sqlStateUniqueViolation      = "23505"
	sqlStateSerializationFailure = "40001"
	sqlStateDeadlockDetected     = "40P01"
)

func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == sqlStateDeadlockDetected || pgErr.Code == sqlStateSerializationFailure)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == sqlStateUniqueViolation
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
