package sqlite

import (
	"context"
	"fmt"
)

// userIndexSQL creates the (user_id) index of events, which only the UPDATE
// of an alias merge reads. Migration 00003 created it first.
const userIndexSQL = `CREATE INDEX IF NOT EXISTS events_user ON events (user_id)`

// DeferUserIndex drops the (user_id) index of events if the events table of
// every workspace is empty, and reports whether it did. A bulk import then
// builds the index once at the end, with RestoreUserIndex, instead of adding
// each row to it. User ids are spread over the whole index, so at 10M rows
// every commit of the import rewrote most of its pages.
//
// Until RestoreUserIndex runs, an alias merge reads the whole events table.
// If the process dies first, the next Open builds the index.
func (db *DB) DeferUserIndex(ctx context.Context) (bool, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin dropping the events (user_id) index: %w", err)
	}
	defer tx.Rollback()

	var hasEvents bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events)`).Scan(&hasEvents); err != nil {
		return false, fmt.Errorf("check for stored events: %w", err)
	}
	if hasEvents {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `DROP INDEX IF EXISTS events_user`); err != nil {
		return false, fmt.Errorf("drop the events (user_id) index: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit dropping the events (user_id) index: %w", err)
	}
	return true, nil
}

// RestoreUserIndex builds the (user_id) index of events if it is missing.
// At 10M events it took about 7 s of CPU time (modernc.org/sqlite v1.62.0,
// docs/benchmarks.md).
func (db *DB) RestoreUserIndex(ctx context.Context) error {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("build the events (user_id) index: %w", err)
	}
	defer conn.Close()

	// SQLite sorts the index entries in temporary storage. With
	// temp_store=MEMORY, which the insert path uses, that sort raised the
	// peak RSS of a 10M-event import from 1.2 GB to 1.7 GB. A temporary
	// file keeps the sort's memory to the page cache.
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return fmt.Errorf("build the events (user_id) index: set temp_store: %w", err)
	}
	_, err = conn.ExecContext(ctx, userIndexSQL)
	if _, resetErr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = MEMORY`); resetErr != nil && err == nil {
		err = fmt.Errorf("reset temp_store: %w", resetErr)
	}
	if err != nil {
		return fmt.Errorf("build the events (user_id) index: %w", err)
	}
	return nil
}
