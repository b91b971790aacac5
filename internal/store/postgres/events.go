package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// copyThreshold is the batch size from which InsertEvents sends events with
// COPY into a temporary table instead of one INSERT over unnested arrays.
// BenchmarkInsertEvents (bench_test.go) measured both on PostgreSQL 15, on
// the client's own 2-core machine. The INSERT was faster up to about 500
// events, because COPY adds a statement and a round trip. The two were
// within noise from 1,000 to 5,000 events, and COPY was about 9% faster at
// 10,000. From a few hundred events on, the server's work per row dominates.
const copyThreshold = 5000

// eventRow is an event ready to insert.
type eventRow struct {
	name       string
	distinctID string
	ts         int64
	receivedAt int64
	properties string
	source     string
	messageID  string
	userID     int64
}

// InsertEvents stores events in one transaction. An event whose (Source,
// MessageID) is already stored, or repeats one earlier in the batch, is
// counted as a duplicate and left out, so a retried batch or a re-imported
// file adds nothing twice. An invalid event rejects the whole batch.
func (db *DB) InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error) {
	return db.insertEvents(ctx, events, len(events) >= copyThreshold)
}

// insertEvents is InsertEvents, sending the events with COPY when useCopy
// is set.
func (db *DB) insertEvents(ctx context.Context, events []store.Event, useCopy bool) (store.InsertResult, error) {
	if len(events) == 0 {
		return store.InsertResult{}, nil
	}

	rows, err := eventRows(events)
	if err != nil {
		return store.InsertResult{}, err
	}

	var res store.InsertResult
	err = db.withTx(ctx, func(tx pgx.Tx) error {
		inserted, err := db.insertEventRows(ctx, tx, rows, useCopy)
		res = store.InsertResult{Inserted: inserted, Duplicates: len(events) - inserted}
		return err
	})
	if err != nil {
		return store.InsertResult{}, fmt.Errorf("insert %d events: %w", len(events), err)
	}
	return res, nil
}

// eventRows validates events and returns them as rows, without the repeats
// of a (Source, MessageID) inside the batch, whose first event wins.
func eventRows(events []store.Event) ([]eventRow, error) {
	type key struct{ source, messageID string }
	seen := make(map[key]bool, len(events))

	rows := make([]eventRow, 0, len(events))
	for i, e := range events {
		if err := store.ValidateEvent(e); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}

		props := []byte("{}")
		if len(e.Properties) > 0 {
			var err error
			if props, err = json.Marshal(e.Properties); err != nil {
				return nil, kpi.Errorf(kpi.EINVALID, "event %d (%s): properties are not valid JSON: %v", i, e.Name, err)
			}
		}

		k := key{e.Source, e.MessageID}
		if seen[k] {
			continue
		}
		seen[k] = true
		rows = append(rows, eventRow{
			name:       e.Name,
			distinctID: e.DistinctID,
			ts:         micros(e.Timestamp),
			receivedAt: micros(e.ReceivedAt),
			properties: string(props),
			source:     e.Source,
			messageID:  e.MessageID,
		})
	}
	return rows, nil
}

// insertEventRows sets the user ids of rows and inserts them, with COPY when
// useCopy is set. It returns how many rows were new.
func (db *DB) insertEventRows(ctx context.Context, tx pgx.Tx, rows []eventRow, useCopy bool) (int, error) {
	var seen []userSeen
	index := map[string]int{}
	for _, r := range rows {
		if i, ok := index[r.distinctID]; ok {
			seen[i].firstSeen = min(seen[i].firstSeen, r.ts)
			continue
		}
		index[r.distinctID] = len(seen)
		seen = append(seen, userSeen{distinctID: r.distinctID, firstSeen: r.ts})
	}

	persons, err := db.resolveUsers(ctx, tx, seen)
	if err != nil {
		return 0, err
	}
	for i := range rows {
		rows[i].userID = persons[rows[i].distinctID]
	}

	if useCopy {
		return db.copyEventRows(ctx, tx, rows)
	}
	return db.insertUnnestedEventRows(ctx, tx, rows)
}

// The statements that insert events number them in batch order, so ids
// follow the order of the batch as in the SQLite store, and ties in time
// scan in that order. They then insert in (source, message_id) order, so
// that concurrent batches repeating each other's events wait for each other
// on a repeated key instead of deadlocking.

// insertUnnestedEventRows inserts rows in one statement, as arrays that
// unnest into rows, so a batch costs one round trip.
func (db *DB) insertUnnestedEventRows(ctx context.Context, tx pgx.Tx, rows []eventRow) (int, error) {
	n := len(rows)
	var (
		names, distinctIDs, props, sources, messageIDs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		userIDs, ts, receivedAt                        = make([]int64, n), make([]int64, n), make([]int64, n)
	)
	for i, r := range rows {
		names[i], distinctIDs[i], props[i], sources[i], messageIDs[i] = r.name, r.distinctID, r.properties, r.source, r.messageID
		userIDs[i], ts[i], receivedAt[i] = r.userID, r.ts, r.receivedAt
	}

	tag, err := tx.Exec(ctx, `
		INSERT INTO events (id, workspace_id, name, user_id, distinct_id, ts, received_at, properties, source, message_id)
		OVERRIDING SYSTEM VALUE
		SELECT id, $1, n, u, d, t, r, p::jsonb, s, m
		FROM (
			SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id, x.*
			FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[])
				WITH ORDINALITY AS x (n, u, d, t, r, p, s, m, o)
			ORDER BY x.o
		) AS numbered
		ORDER BY s, m
		ON CONFLICT (workspace_id, source, message_id) DO NOTHING`,
		db.workspaceID, names, userIDs, distinctIDs, ts, receivedAt, props, sources, messageIDs)
	if err != nil {
		return 0, fmt.Errorf("insert events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// copyEventRows sends rows with COPY into a temporary table, then moves the
// new ones into events. COPY skips the per-row parameter handling of INSERT,
// which pays for the extra statements on large batches.
func (db *DB) copyEventRows(ctx context.Context, tx pgx.Tx, rows []eventRow) (int, error) {
	// The table lives as long as the connection; ON COMMIT DELETE ROWS
	// empties it at the end of each transaction.
	_, err := tx.Exec(ctx, `
		CREATE TEMPORARY TABLE IF NOT EXISTS incoming_events (
			ord integer, name text, user_id bigint, distinct_id text, ts bigint, received_at bigint,
			properties text, source text, message_id text
		) ON COMMIT DELETE ROWS`)
	if err != nil {
		return 0, fmt.Errorf("create temporary table: %w", err)
	}

	columns := []string{"ord", "name", "user_id", "distinct_id", "ts", "received_at", "properties", "source", "message_id"}
	source := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := rows[i]
		return []any{int32(i), r.name, r.userID, r.distinctID, r.ts, r.receivedAt, r.properties, r.source, r.messageID}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"incoming_events"}, columns, source); err != nil {
		return 0, fmt.Errorf("copy events: %w", err)
	}

	tag, err := tx.Exec(ctx, `
		INSERT INTO events (id, workspace_id, name, user_id, distinct_id, ts, received_at, properties, source, message_id)
		OVERRIDING SYSTEM VALUE
		SELECT id, $1, name, user_id, distinct_id, ts, received_at, properties::jsonb, source, message_id
		FROM (
			SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id, i.*
			FROM incoming_events i ORDER BY i.ord
		) AS numbered
		ORDER BY source, message_id
		ON CONFLICT (workspace_id, source, message_id) DO NOTHING`, db.workspaceID)
	if err != nil {
		return 0, fmt.Errorf("insert copied events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// EventSpan returns the time range of all stored events.
func (db *DB) EventSpan(ctx context.Context) (store.Span, error) {
	var first, last *int64
	err := db.pool.QueryRow(ctx, `SELECT min(ts), max(ts) FROM events WHERE workspace_id = $1`, db.workspaceID).Scan(&first, &last)
	if err != nil {
		return store.Span{}, fmt.Errorf("event span: %w", err)
	}
	if first == nil {
		return store.Span{Empty: true}, nil
	}
	return store.Span{First: fromMicros(*first), Last: fromMicros(*last)}, nil
}
