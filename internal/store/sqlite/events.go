package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// InsertEvents stores events in one transaction. An event whose (Source,
// MessageID) is already stored is counted as a duplicate and left out, so a
// retried batch or a re-imported file adds nothing twice.
func (db *DB) InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error) {
	var res store.InsertResult
	if len(events) == 0 {
		return res, nil
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("begin insert: %w", err)
	}
	defer tx.Rollback()

	res, err = insertEvents(ctx, tx, events)
	if err != nil {
		return store.InsertResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return store.InsertResult{}, fmt.Errorf("commit %d events: %w", len(events), err)
	}
	return res, nil
}

func insertEvents(ctx context.Context, tx *sql.Tx, events []store.Event) (store.InsertResult, error) {
	var res store.InsertResult

	userStmt, err := tx.PrepareContext(ctx, `
		INSERT INTO users (workspace_id, distinct_id, first_seen) VALUES (?, ?, ?)
		ON CONFLICT (workspace_id, distinct_id) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen)
		RETURNING id, merged_into`)
	if err != nil {
		return res, fmt.Errorf("prepare user upsert: %w", err)
	}
	defer userStmt.Close()

	// An aliased distinct_id's events belong to the user it was merged into,
	// whose first_seen must cover them too.
	mergedFirstSeenStmt, err := tx.PrepareContext(ctx,
		`UPDATE users SET first_seen = ?1 WHERE id = ?2 AND first_seen > ?1`)
	if err != nil {
		return res, fmt.Errorf("prepare first_seen update: %w", err)
	}
	defer mergedFirstSeenStmt.Close()

	eventStmt, err := tx.PrepareContext(ctx, `
		INSERT INTO events (workspace_id, name, user_id, distinct_id, ts, received_at, properties, source, message_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, source, message_id) DO NOTHING`)
	if err != nil {
		return res, fmt.Errorf("prepare event insert: %w", err)
	}
	defer eventStmt.Close()

	for i, e := range events {
		if err := store.ValidateEvent(e); err != nil {
			return store.InsertResult{}, fmt.Errorf("event %d: %w", i, err)
		}

		props := []byte("{}")
		if len(e.Properties) > 0 {
			if props, err = json.Marshal(e.Properties); err != nil {
				return store.InsertResult{}, kpi.Errorf(kpi.EINVALID, "event %d (%s): properties are not valid JSON: %v", i, e.Name, err)
			}
		}

		var (
			userID     int64
			mergedInto sql.NullInt64
		)
		if err := userStmt.QueryRowContext(ctx, workspaceID, e.DistinctID, micros(e.Timestamp)).Scan(&userID, &mergedInto); err != nil {
			return store.InsertResult{}, fmt.Errorf("upsert user %q: %w", e.DistinctID, err)
		}
		if mergedInto.Valid {
			userID = mergedInto.Int64
			if _, err := mergedFirstSeenStmt.ExecContext(ctx, micros(e.Timestamp), userID); err != nil {
				return store.InsertResult{}, fmt.Errorf("update first_seen of user %d: %w", userID, err)
			}
		}

		r, err := eventStmt.ExecContext(ctx, workspaceID, e.Name, userID, e.DistinctID,
			micros(e.Timestamp), micros(e.ReceivedAt), string(props), e.Source, e.MessageID)
		if err != nil {
			return store.InsertResult{}, fmt.Errorf("insert event %q of %q: %w", e.Name, e.DistinctID, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			res.Duplicates++
		} else {
			res.Inserted++
		}
	}
	return res, nil
}

// EventSpan returns the time range of all stored events.
func (db *DB) EventSpan(ctx context.Context) (store.Span, error) {
	var first, last sql.NullInt64
	err := db.db.QueryRowContext(ctx,
		`SELECT min(ts), max(ts) FROM events WHERE workspace_id = ?`, workspaceID).Scan(&first, &last)
	if err != nil {
		return store.Span{}, fmt.Errorf("event span: %w", err)
	}
	if !first.Valid {
		return store.Span{Empty: true}, nil
	}
	return store.Span{First: fromMicros(first.Int64), Last: fromMicros(last.Int64)}, nil
}
