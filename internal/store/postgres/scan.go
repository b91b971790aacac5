package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/store"
)

// EventNames returns the distinct names of the stored events, sorted by
// their bytes as in the SQLite store, whatever the database's collation.
func (db *DB) EventNames(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT name COLLATE "C" AS name FROM events WHERE workspace_id = $1 ORDER BY 1`, db.workspaceID)
	var names []string
	if err == nil {
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return nil, fmt.Errorf("list event names: %w", err)
	}
	return names, nil
}

// ScanEvents calls fn for each event matching q, in time order (ties in
// insertion order). It stops at the first error fn returns and returns it.
// Each key is returned as the property's text: a string as it is, a number
// or boolean as its JSON spelling, and "" when the property is missing or
// null.
//
// NOTE: fn runs while the query holds a connection of the pool, so a scan
// that calls the store from fn needs a pool of at least two connections.
func (db *DB) ScanEvents(ctx context.Context, q store.ScanQuery, fn func(store.EventRow) error) error {
	var sb strings.Builder
	args := []any{db.workspaceID}
	param := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}

	sb.WriteString("SELECT e.id, e.name, e.user_id, e.ts, ")
	if q.Properties {
		sb.WriteString("e.properties::text, ")
	} else {
		sb.WriteString("NULL::text, ")
	}
	if q.Property != "" {
		p := param(q.Property)
		fmt.Fprintf(&sb, "CASE WHEN jsonb_typeof(e.properties -> %[1]s) = 'number' THEN (e.properties ->> %[1]s)::float8 END", p)
	} else {
		sb.WriteString("NULL::float8")
	}
	for _, key := range q.Keys {
		sb.WriteString(", coalesce(e.properties ->> " + param(key) + ", '')")
	}

	sb.WriteString(" FROM events e WHERE e.workspace_id = $1")
	if len(q.Events) > 0 {
		sb.WriteString(" AND e.name = ANY(" + param(q.Events) + "::text[])")
	}
	if q.AfterID > 0 {
		sb.WriteString(" AND e.id > " + param(q.AfterID))
	}
	if !q.From.IsZero() {
		sb.WriteString(" AND e.ts >= " + param(micros(q.From)))
	}
	if !q.To.IsZero() {
		sb.WriteString(" AND e.ts < " + param(micros(q.To)))
	}
	for _, f := range q.Filters {
		cond, err := filterSQL(f, &args)
		if err != nil {
			return err
		}
		sb.WriteString(" AND " + cond)
	}
	sb.WriteString(" ORDER BY e.ts, e.id")

	rows, err := db.pool.Query(ctx, sb.String(), args...)
	if err != nil {
		return fmt.Errorf("scan events %v: %w", q.Events, err)
	}
	defer rows.Close()

	keys := make([]string, len(q.Keys))
	for rows.Next() {
		var (
			row   store.EventRow
			ts    int64
			value *float64
			props *string
		)
		dest := []any{&row.ID, &row.Event, &row.UserID, &ts, &props, &value}
		for i := range keys {
			dest = append(dest, &keys[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan events %v: %w", q.Events, err)
		}

		row.Timestamp = fromMicros(ts)
		if props != nil {
			row.Properties = []byte(*props)
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
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan events %v: %w", q.Events, err)
	}
	return nil
}
