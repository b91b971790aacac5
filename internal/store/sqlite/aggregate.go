package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// maxIntervalsPerQuery keeps one statement well under SQLite's limit of
// 32,766 bound parameters (three per interval).
const maxIntervalsPerQuery = 5000

// Aggregate returns, for each interval of q in order, the number of matching
// events, their distinct users, and the sum and count of q.Property where it
// is a JSON number. It reads raw events with plain SQL.
func (db *DB) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.Aggregate, error) {
	return inChunks(q.Intervals, func(intervals []store.Interval) ([]store.Aggregate, error) {
		return db.aggregate(ctx, q, intervals)
	})
}

// inChunks calls query on runs of at most maxIntervalsPerQuery intervals and
// joins the results in order.
func inChunks[T any](intervals []store.Interval, query func([]store.Interval) ([]T, error)) ([]T, error) {
	out := make([]T, 0, len(intervals))
	for start := 0; start < len(intervals); start += maxIntervalsPerQuery {
		end := min(start+maxIntervalsPerQuery, len(intervals))
		part, err := query(intervals[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
	}
	return out, nil
}

// writeBuckets writes the common table "buckets (i, lo, hi)" of intervals,
// with the bounds in Unix microseconds, and appends its parameters to args.
func writeBuckets(sb *strings.Builder, args []any, intervals []store.Interval) []any {
	sb.WriteString("WITH buckets (i, lo, hi) AS (VALUES ")
	for i, iv := range intervals {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, ?)")
		args = append(args, i, micros(iv.Start), micros(iv.End))
	}
	sb.WriteString(")")
	return args
}

func (db *DB) aggregate(ctx context.Context, q store.AggregateQuery, intervals []store.Interval) ([]store.Aggregate, error) {
	var (
		sb   strings.Builder
		args []any
	)

	args = writeBuckets(&sb, args, intervals)
	sb.WriteString("\n")

	value := "NULL"
	if q.Property != "" {
		path := jsonPath(q.Property)
		value = "CASE WHEN json_type(e.properties, ?) IN ('integer', 'real') THEN json_extract(e.properties, ?) END"
		args = append(args, path, path)
	}
	fmt.Fprintf(&sb, `SELECT b.i, count(e.id), count(DISTINCT e.user_id), coalesce(sum(%[1]s), 0), count(%[1]s)
FROM buckets b
LEFT JOIN events e ON e.workspace_id = ? AND e.name = ? AND e.ts >= b.lo AND e.ts < b.hi`, value)
	if q.Property != "" {
		// The value expression appears twice, so its parameters do too.
		path := jsonPath(q.Property)
		args = append(args, path, path)
	}
	args = append(args, db.workspaceID, q.Event)

	for _, f := range q.Filters {
		cond, fargs, err := filterSQL(f)
		if err != nil {
			return nil, err
		}
		sb.WriteString(" AND ")
		sb.WriteString(cond)
		args = append(args, fargs...)
	}
	sb.WriteString("\nGROUP BY b.i ORDER BY b.i")

	rows, err := db.db.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("aggregate %q: %w", q.Event, err)
	}
	defer rows.Close()

	out := make([]store.Aggregate, len(intervals))
	for rows.Next() {
		var (
			i int
			a store.Aggregate
		)
		if err := rows.Scan(&i, &a.Events, &a.Users, &a.Sum, &a.Values); err != nil {
			return nil, fmt.Errorf("aggregate %q: %w", q.Event, err)
		}
		out[i] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("aggregate %q: %w", q.Event, err)
	}
	return out, nil
}

// jsonPath returns the SQLite JSON path of a top-level property. The name is
// quoted so that names with dots or spaces address one key.
func jsonPath(property string) string {
	return `$."` + property + `"`
}

// filterSQL returns the condition and its parameters for one property
// filter. Values compare by JSON type, so the text "10" never equals the
// number 10 and true never equals 1, although json_extract returns 1 for
// true. Only numbers are ordered.
func filterSQL(f kpi.Filter) (string, []any, error) {
	path := jsonPath(f.Property)
	switch f.Op {
	case kpi.OpEq:
		return equalSQL(f.Property, path, f.Value)
	case kpi.OpNeq:
		// An event without the property counts as "not equal".
		cond, args, err := equalSQL(f.Property, path, f.Value)
		return "NOT coalesce(" + cond + ", 0)", args, err
	case kpi.OpIn:
		if len(f.Values) == 0 {
			return "0", nil, nil
		}
		var (
			conds []string
			args  []any
		)
		for _, v := range f.Values {
			cond, vargs, err := equalSQL(f.Property, path, v)
			if err != nil {
				return "", nil, err
			}
			conds = append(conds, cond)
			args = append(args, vargs...)
		}
		return "(" + strings.Join(conds, " OR ") + ")", args, nil
	case kpi.OpGt, kpi.OpGte, kpi.OpLt, kpi.OpLte:
		switch f.Value.(type) {
		case float64, int, int64:
		default:
			return "", nil, kpi.Errorf(kpi.EINVALID, "filter on %q: %s needs a number, not %v", f.Property, f.Op, f.Value)
		}
		op := map[kpi.FilterOp]string{kpi.OpGt: ">", kpi.OpGte: ">=", kpi.OpLt: "<", kpi.OpLte: "<="}[f.Op]
		return "(json_type(e.properties, ?) IN ('integer', 'real') AND json_extract(e.properties, ?) " + op + " ?)",
			[]any{path, path, f.Value}, nil
	}
	return "", nil, kpi.Errorf(kpi.EINVALID, "filter on %q: unknown operator %q", f.Property, f.Op)
}

// equalSQL returns the condition that the property at path is the JSON value v.
func equalSQL(property, path string, v any) (string, []any, error) {
	switch v := v.(type) {
	case string:
		return "(json_type(e.properties, ?) = 'text' AND json_extract(e.properties, ?) = ?)", []any{path, path, v}, nil
	case float64, int, int64:
		return "(json_type(e.properties, ?) IN ('integer', 'real') AND json_extract(e.properties, ?) = ?)", []any{path, path, v}, nil
	case bool:
		return "json_type(e.properties, ?) = ?", []any{path, strconv.FormatBool(v)}, nil
	}
	return "", nil, kpi.Errorf(kpi.EINVALID, "filter on %q: value %v has type %T (want a string, number or boolean)", property, v, v)
}
