package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/northstar-kpi/northstar/internal/store"
)

// ScanEvents calls fn for each event matching q, in time order (ties in
// insertion order). It stops at the first error fn returns and returns it.
func (db *DB) ScanEvents(ctx context.Context, q store.ScanQuery, fn func(store.EventRow) error) error {
	var (
		sb   strings.Builder
		args []any
	)

	sb.WriteString("SELECT e.id, e.name, e.user_id, e.ts, ")
	if q.Properties {
		sb.WriteString("e.properties, ")
	} else {
		sb.WriteString("NULL, ")
	}
	if q.Property != "" {
		path := jsonPath(q.Property)
		sb.WriteString("CASE WHEN json_type(e.properties, ?) IN ('integer', 'real') THEN json_extract(e.properties, ?) END")
		args = append(args, path, path)
	} else {
		sb.WriteString("NULL")
	}
	for _, key := range q.Keys {
		// json_extract returns JSON booleans as 1 and 0, so they are spelled out.
		sb.WriteString(", CASE json_type(e.properties, ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' " +
			"ELSE coalesce(CAST(json_extract(e.properties, ?) AS TEXT), '') END")
		args = append(args, jsonPath(key), jsonPath(key))
	}

	if q.AfterID > 0 {
		// The unary + keeps SQLite from walking the (workspace_id, ts) index
		// over every event to find the few newer than AfterID. It searches the
		// primary key and sorts the new rows instead, which cut a sync at 1M
		// events from 60 ms to under 1 ms.
		sb.WriteString(" FROM events e WHERE +e.workspace_id = ?")
	} else {
		sb.WriteString(" FROM events e WHERE e.workspace_id = ?")
	}
	args = append(args, db.workspaceID)
	if len(q.Events) > 0 {
		sb.WriteString(" AND e.name IN (?" + strings.Repeat(", ?", len(q.Events)-1) + ")")
		for _, name := range q.Events {
			args = append(args, name)
		}
	}
	if q.AfterID > 0 {
		sb.WriteString(" AND e.id > ?")
		args = append(args, q.AfterID)
	}
	if !q.From.IsZero() {
		sb.WriteString(" AND e.ts >= ?")
		args = append(args, micros(q.From))
	}
	if !q.To.IsZero() {
		sb.WriteString(" AND e.ts < ?")
		args = append(args, micros(q.To))
	}
	for _, f := range q.Filters {
		cond, fargs, err := filterSQL(f)
		if err != nil {
			return err
		}
		sb.WriteString(" AND " + cond)
		args = append(args, fargs...)
	}
	sb.WriteString(" ORDER BY e.ts, e.id")

	rows, err := db.db.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return fmt.Errorf("scan events %v: %w", q.Events, err)
	}
	defer rows.Close()

	keys := make([]string, len(q.Keys))
	dest := make([]any, 6, 6+len(keys))
	for rows.Next() {
		var (
			row   store.EventRow
			ts    int64
			value *float64
			props []byte
		)
		dest[0], dest[1], dest[2], dest[3], dest[4], dest[5] = &row.ID, &row.Event, &row.UserID, &ts, &props, &value
		dest = dest[:6]
		for i := range keys {
			dest = append(dest, &keys[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan events %v: %w", q.Events, err)
		}
		row.Timestamp = fromMicros(ts)
		if q.Properties {
			row.Properties = props
		}
		if value != nil {
			row.Value, row.HasValue = *value, true
		}
		if len(keys) > 0 {
			row.Keys = append([]string(nil), keys...)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}
