package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// Aggregate returns, for each interval of q in order, the number of matching
// events, their distinct users, and the sum and count of q.Property where it
// is a JSON number. It reads raw events in one statement, whatever the
// number of intervals, which arrive as two arrays of bounds.
func (db *DB) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.Aggregate, error) {
	out := make([]store.Aggregate, len(q.Intervals))
	if len(q.Intervals) == 0 {
		return out, nil
	}

	lo := make([]int64, len(q.Intervals))
	hi := make([]int64, len(q.Intervals))
	for i, iv := range q.Intervals {
		lo[i], hi[i] = micros(iv.Start), micros(iv.End)
	}
	args := []any{lo, hi, db.workspaceID, q.Event}

	value := "NULL::float8"
	if q.Property != "" {
		args = append(args, q.Property)
		p := fmt.Sprintf("$%d", len(args))
		value = fmt.Sprintf("CASE WHEN jsonb_typeof(e.properties -> %[1]s) = 'number' THEN (e.properties ->> %[1]s)::float8 END", p)
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, `SELECT b.i, count(e.id), count(DISTINCT e.user_id), coalesce(sum(%[1]s), 0), count(%[1]s)
FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS b (lo, hi, i)
LEFT JOIN events e ON e.workspace_id = $3 AND e.name = $4 AND e.ts >= b.lo AND e.ts < b.hi`, value)
	for _, f := range q.Filters {
		cond, err := filterSQL(f, &args)
		if err != nil {
			return nil, err
		}
		sb.WriteString(" AND ")
		sb.WriteString(cond)
	}
	sb.WriteString("\nGROUP BY b.i ORDER BY b.i")

	var (
		i int64
		a store.Aggregate
	)
	rows, err := db.pool.Query(ctx, sb.String(), args...)
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&i, &a.Events, &a.Users, &a.Sum, &a.Values}, func() error {
			out[i-1] = a // WITH ORDINALITY counts from 1
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("aggregate %q: %w", q.Event, err)
	}
	return out, nil
}

// filterSQL returns the condition for one property filter, appending its
// parameters to args. Values compare as jsonb, which compares by JSON type,
// so the text "10" never equals the number 10 and true never equals 1.
// Only numbers are ordered.
func filterSQL(f kpi.Filter, args *[]any) (string, error) {
	param := func(v any) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}
	if f.Op == kpi.OpIn && len(f.Values) == 0 {
		return "false", nil
	}
	prop := "e.properties -> " + param(f.Property)

	switch f.Op {
	case kpi.OpEq, kpi.OpNeq:
		v, err := jsonValue(f.Property, f.Value)
		if err != nil {
			return "", err
		}
		cond := prop + " = " + param(v) + "::text::jsonb"
		if f.Op == kpi.OpNeq {
			// An event without the property counts as "not equal".
			return "(" + cond + ") IS NOT TRUE", nil
		}
		return cond, nil
	case kpi.OpIn:
		values := make([]string, len(f.Values))
		for i, v := range f.Values {
			var err error
			if values[i], err = jsonValue(f.Property, v); err != nil {
				return "", err
			}
		}
		return prop + " = ANY(" + param(values) + "::text[]::jsonb[])", nil
	case kpi.OpGt, kpi.OpGte, kpi.OpLt, kpi.OpLte:
		switch f.Value.(type) {
		case float64, int, int64:
		default:
			return "", kpi.Errorf(kpi.EINVALID, "filter on %q: %s needs a number, not %v", f.Property, f.Op, f.Value)
		}
		v, err := jsonValue(f.Property, f.Value)
		if err != nil {
			return "", err
		}
		op := map[kpi.FilterOp]string{kpi.OpGt: ">", kpi.OpGte: ">=", kpi.OpLt: "<", kpi.OpLte: "<="}[f.Op]
		return "(jsonb_typeof(" + prop + ") = 'number' AND " + prop + " " + op + " " + param(v) + "::text::jsonb)", nil
	}
	return "", kpi.Errorf(kpi.EINVALID, "filter on %q: unknown operator %q", f.Property, f.Op)
}

// jsonValue returns the JSON text of a filter value.
func jsonValue(property string, v any) (string, error) {
	switch v.(type) {
	case string, float64, int, int64, bool:
		b, err := json.Marshal(v)
		if err != nil {
			return "", kpi.Errorf(kpi.EINVALID, "filter on %q: value %v is not valid JSON: %v", property, v, err)
		}
		return string(b), nil
	}
	return "", kpi.Errorf(kpi.EINVALID, "filter on %q: value %v has type %T (want a string, number or boolean)", property, v, v)
}
