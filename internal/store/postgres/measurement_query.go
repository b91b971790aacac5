package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// AggregateMeasurements returns, for each interval of q in order, the sum and
// count of the values of series q.Series whose timestamps fall in it, and the
// value with the latest timestamp (of two at the same time, the one stored
// last), as the SQLite store does. Filters compare dimension values as text:
// a number or boolean in a filter matches its decimal or true/false
// spelling. A measurement without the dimension is not equal to any value.
// Filters that order values (gt, gte, lt, lte) are rejected with
// kpi.EINVALID, because dimensions are text.
func (db *DB) AggregateMeasurements(ctx context.Context, q store.MeasurementQuery) ([]store.MeasurementAggregate, error) {
	out := make([]store.MeasurementAggregate, len(q.Intervals))
	if len(q.Intervals) == 0 {
		return out, nil
	}

	lo := make([]int64, len(q.Intervals))
	hi := make([]int64, len(q.Intervals))
	for i, iv := range q.Intervals {
		lo[i], hi[i] = micros(iv.Start), micros(iv.End)
	}
	args := []any{lo, hi, db.workspaceID, q.Series}

	// Rank the values of each interval from the latest, so that rank 1 is
	// the level at the end of the interval.
	var sb strings.Builder
	sb.WriteString(`WITH matched AS (
	SELECT b.i, m.value, m.ts,
		row_number() OVER (PARTITION BY b.i ORDER BY m.ts DESC, m.id DESC) AS latest
	FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS b (lo, hi, i)
	JOIN measurements m ON m.workspace_id = $3 AND m.series = $4 AND m.ts >= b.lo AND m.ts < b.hi`)
	for _, f := range q.Filters {
		cond, err := dimensionFilterSQL(f, &args)
		if err != nil {
			return nil, err
		}
		sb.WriteString(" AND " + cond)
	}
	sb.WriteString(`
)
SELECT i, sum(value), count(*), max(CASE WHEN latest = 1 THEN value END), max(CASE WHEN latest = 1 THEN ts END)
FROM matched GROUP BY i ORDER BY i`)

	var (
		i      int64
		a      store.MeasurementAggregate
		lastAt int64
	)
	rows, err := db.pool.Query(ctx, sb.String(), args...)
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&i, &a.Sum, &a.Count, &a.Last, &lastAt}, func() error {
			a.LastAt = fromMicros(lastAt)
			out[i-1] = a // WITH ORDINALITY counts from 1
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("aggregate measurements of %q: %w", q.Series, err)
	}
	return out, nil
}

// dimensionFilterSQL returns the condition of one filter on the dimensions
// of measurement m, appending its parameters to args.
func dimensionFilterSQL(f kpi.Filter, args *[]any) (string, error) {
	param := func(v any) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}

	switch f.Op {
	case kpi.OpEq, kpi.OpNeq:
		text, err := dimensionText(f.Property, f.Value)
		if err != nil {
			return "", err
		}
		cond := "m.dimensions ->> " + param(f.Property) + " = " + param(text) + "::text"
		if f.Op == kpi.OpNeq {
			return "(" + cond + ") IS NOT TRUE", nil
		}
		return cond, nil
	case kpi.OpIn:
		if len(f.Values) == 0 {
			return "false", nil
		}
		texts := make([]string, len(f.Values))
		for i, v := range f.Values {
			var err error
			if texts[i], err = dimensionText(f.Property, v); err != nil {
				return "", err
			}
		}
		return "m.dimensions ->> " + param(f.Property) + " = ANY(" + param(texts) + "::text[])", nil
	case kpi.OpGt, kpi.OpGte, kpi.OpLt, kpi.OpLte:
		return "", kpi.Errorf(kpi.EINVALID, "filter on dimension %q: %s is not supported, because dimensions are text (use eq, neq or in)", f.Property, f.Op)
	}
	return "", kpi.Errorf(kpi.EINVALID, "filter on dimension %q: unknown operator %q", f.Property, f.Op)
}

// dimensionText returns the text that a filter value matches in a dimension.
func dimensionText(property string, v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", kpi.Errorf(kpi.EINVALID, "filter on dimension %q: value %v has type %T (want a string, number or boolean)", property, v, v)
}
