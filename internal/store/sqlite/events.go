package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

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

	res, err = db.insertEvents(ctx, tx, events)
	if err != nil {
		return store.InsertResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return store.InsertResult{}, fmt.Errorf("commit %d events: %w", len(events), err)
	}
	return res, nil
}

// insertEvents validates events, resolves their distinct_ids to user ids and
// inserts them with multi-row statements, so a batch of 500 events takes a
// handful of statements rather than 1,000.
func (db *DB) insertEvents(ctx context.Context, tx *sql.Tx, events []store.Event) (store.InsertResult, error) {
	rows, err := encodeEventRows(events)
	if err != nil {
		return store.InsertResult{}, err
	}
	users, err := db.resolveUsers(ctx, tx, events)
	if err != nil {
		return store.InsertResult{}, err
	}
	return db.insertEventRows(ctx, tx, rows, users)
}

// eventRow is an event with its properties in their stored JSON form.
type eventRow struct {
	event *store.Event
	props string
}

// encodeEventRows validates each event and encodes its properties. An
// invalid event rejects the whole batch.
func encodeEventRows(events []store.Event) ([]eventRow, error) {
	rows := make([]eventRow, len(events))
	for i := range events {
		e := &events[i]
		if err := store.ValidateEvent(*e); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}

		props := "{}"
		if len(e.Properties) > 0 {
			data, err := json.Marshal(e.Properties)
			if err != nil {
				return nil, kpi.Errorf(kpi.EINVALID, "event %d (%s): properties are not valid JSON: %v", i, e.Name, err)
			}
			props = string(data)
		}
		rows[i] = eventRow{event: e, props: props}
	}
	return rows, nil
}

// eventInsertChunk is the number of events per multi-row INSERT. With 8
// parameters an event, a chunk stays far below SQLite's limit of 32,766
// parameters a statement.
const eventInsertChunk = 100

// insertEventRows inserts rows, skipping those whose (source, message_id) is
// stored already, and counts those as duplicates. users maps each distinct_id
// to its user id.
func (db *DB) insertEventRows(ctx context.Context, tx *sql.Tx, rows []eventRow, users map[string]int64) (store.InsertResult, error) {
	var res store.InsertResult
	var fullChunk *sql.Stmt
	defer func() {
		if fullChunk != nil {
			fullChunk.Close()
		}
	}()

	args := make([]any, 0, 8*eventInsertChunk)
	for start := 0; start < len(rows); start += eventInsertChunk {
		chunk := rows[start:min(start+eventInsertChunk, len(rows))]

		args = args[:0]
		for _, r := range chunk {
			e := r.event
			args = append(args, e.Name, users[e.DistinctID], e.DistinctID, micros(e.Timestamp),
				micros(e.ReceivedAt), r.props, e.Source, e.MessageID)
		}

		// Every chunk but the last has the full size, so one prepared
		// statement serves them all.
		var (
			result sql.Result
			err    error
		)
		if len(chunk) == eventInsertChunk {
			if fullChunk == nil {
				if fullChunk, err = tx.PrepareContext(ctx, db.eventInsertSQL(eventInsertChunk)); err != nil {
					return store.InsertResult{}, fmt.Errorf("prepare event insert: %w", err)
				}
			}
			result, err = fullChunk.ExecContext(ctx, args...)
		} else {
			result, err = tx.ExecContext(ctx, db.eventInsertSQL(len(chunk)), args...)
		}
		if err != nil {
			return store.InsertResult{}, fmt.Errorf("insert events %d to %d: %w", start, start+len(chunk)-1, err)
		}

		inserted, err := result.RowsAffected()
		if err != nil {
			return store.InsertResult{}, fmt.Errorf("count inserted events: %w", err)
		}
		res.Inserted += int(inserted)
		res.Duplicates += len(chunk) - int(inserted)
	}
	return res, nil
}

// eventInsertSQL returns an INSERT of n events that skips those whose
// (source, message_id) is stored. SQLite inserts the rows of one statement in
// order, so the second of two equal pairs within a batch is skipped too.
func (db *DB) eventInsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (workspace_id, name, user_id, distinct_id, ts, received_at, properties, source, message_id) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d,?,?,?,?,?,?,?,?)", db.workspaceID)
	}
	b.WriteString(` ON CONFLICT (workspace_id, source, message_id) DO NOTHING`)
	return b.String()
}

// EventSpan returns the time range of all stored events.
func (db *DB) EventSpan(ctx context.Context) (store.Span, error) {
	var first, last sql.NullInt64
	// Two subqueries, because SQLite reads the (workspace_id, ts) index at
	// one end for a lone min() or max(), but scans all of it for both in one
	// SELECT (about 90 ms at 1M events).
	err := db.db.QueryRowContext(ctx,
		`SELECT (SELECT min(ts) FROM events WHERE workspace_id = ?), (SELECT max(ts) FROM events WHERE workspace_id = ?)`,
		db.workspaceID, db.workspaceID).Scan(&first, &last)
	if err != nil {
		return store.Span{}, fmt.Errorf("event span: %w", err)
	}
	if !first.Valid {
		return store.Span{Empty: true}, nil
	}
	return store.Span{First: fromMicros(first.Int64), Last: fromMicros(last.Int64)}, nil
}
