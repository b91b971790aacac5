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
	results, _, err := db.InsertEventBatches(ctx, [][]store.Event{events})
	if err != nil {
		return store.InsertResult{}, err
	}
	return results[0], nil
}

// InsertEventBatches stores several batches of events in one transaction,
// so that concurrent requests share one commit, and returns what each batch
// added. Duplicates are left out as by InsertEvents, also between batches. An
// invalid event rejects every batch.
//
// When every event was new, it also returns the stored events in id order
// with their ids and user ids, so the activity index can add them without
// reading them back. Otherwise the second result is nil.
func (db *DB) InsertEventBatches(ctx context.Context, batches [][]store.Event) ([]store.InsertResult, []store.InsertedEvent, error) {
	results := make([]store.InsertResult, len(batches))
	rows := make([][]eventRow, len(batches))
	var all []store.Event
	total := 0
	for i, events := range batches {
		var err error
		if rows[i], err = encodeEventRows(events); err != nil {
			if len(batches) > 1 {
				err = fmt.Errorf("batch %d: %w", i, err)
			}
			return nil, nil, err
		}
		total += len(events)
	}
	if total == 0 {
		return results, nil, nil
	}
	if len(batches) == 1 {
		all = batches[0]
	} else {
		all = make([]store.Event, 0, total)
		for _, events := range batches {
			all = append(all, events...)
		}
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("begin insert: %w", err)
	}
	defer tx.Rollback()

	// The transaction holds the write lock from its start (_txlock=immediate),
	// so no other writer adds events before it commits.
	lastID, err := maxEventID(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	users, resolved, err := db.resolveUsers(ctx, tx, all)
	if err != nil {
		return nil, nil, err
	}
	inserted := 0
	for i := range batches {
		if results[i], err = db.insertEventRows(ctx, tx, rows[i], users); err != nil {
			return nil, nil, err
		}
		inserted += results[i].Inserted
	}
	newLastID, err := maxEventID(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("commit %d events: %w", total, err)
	}
	db.users.remember(db.workspaceID, resolved.version, resolved.users)

	// SQLite gives a new row the largest rowid plus one, so when every event
	// was new and the largest id grew by their number, the events got the
	// ids after lastID in batch order.
	if inserted != total || newLastID-lastID != int64(total) {
		return results, nil, nil
	}
	stored := make([]store.InsertedEvent, total)
	for i := range all {
		stored[i] = store.InsertedEvent{ID: lastID + 1 + int64(i), UserID: users[all[i].DistinctID], Event: &all[i]}
	}
	return results, stored, nil
}

// maxEventID returns the largest event id, or 0 when there are no events.
func maxEventID(ctx context.Context, tx *sql.Tx) (int64, error) {
	var id sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(id) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("read the largest event id: %w", err)
	}
	return id.Int64, nil
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
				stmt, err := db.prepared(ctx, db.eventInsertSQL(eventInsertChunk))
				if err != nil {
					return store.InsertResult{}, fmt.Errorf("prepare event insert: %w", err)
				}
				fullChunk = tx.StmtContext(ctx, stmt)
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
