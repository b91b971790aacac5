package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// AggregateMeasurements returns, for each interval of q in order, the sum and
// count of the values of series q.Series whose timestamps fall in it, and the
// value with the latest timestamp. Of two values at the same time, the one
// stored last counts as the latest.
//
// Filters compare dimension values as text. A number or boolean in a filter
// matches its decimal or true/false spelling, so {region: 1} matches the
// dimension "1". A measurement without the dimension is not equal to any
// value. Filters that order values (gt, gte, lt, lte) are rejected with
// kpi.EINVALID, because dimensions are text.
func (db *DB) AggregateMeasurements(ctx context.Context, q store.MeasurementQuery) ([]store.MeasurementAggregate, error) {
	return inChunks(q.Intervals, func(intervals []store.Interval) ([]store.MeasurementAggregate, error) {
		return db.aggregateMeasurements(ctx, q, intervals)
	})
}

func (db *DB) aggregateMeasurements(ctx context.Context, q store.MeasurementQuery, intervals []store.Interval) ([]store.MeasurementAggregate, error) {
	var (
		sb   strings.Builder
		args []any
	)

	args = writeBuckets(&sb, args, intervals)
	sb.WriteString(",\n")

	// Rank the values of each bucket from the latest, so that rank 1 is the
	// level at the end of the interval.
	sb.WriteString(`matched AS (
	SELECT b.i, m.value, m.ts,
		row_number() OVER (PARTITION BY b.i ORDER BY m.ts DESC, m.id DESC) AS latest
	FROM buckets b
	JOIN measurements m ON m.workspace_id = ? AND m.series = ? AND m.ts >= b.lo AND m.ts < b.hi`)
	args = append(args, db.workspaceID, q.Series)
	for _, f := range q.Filters {
		cond, fargs, err := dimensionFilterSQL(f)
		if err != nil {
			return nil, err
		}
		sb.WriteString(" AND ")
		sb.WriteString(cond)
		args = append(args, fargs...)
	}
	sb.WriteString(`
)
SELECT i, sum(value), count(*), max(CASE WHEN latest = 1 THEN value END), max(CASE WHEN latest = 1 THEN ts END)
FROM matched GROUP BY i ORDER BY i`)

	rows, err := db.db.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("aggregate measurements of %q: %w", q.Series, err)
	}
	defer rows.Close()

	out := make([]store.MeasurementAggregate, len(intervals))
	for rows.Next() {
		var (
			i      int
			a      store.MeasurementAggregate
			lastAt int64
		)
		if err := rows.Scan(&i, &a.Sum, &a.Count, &a.Last, &lastAt); err != nil {
			return nil, fmt.Errorf("aggregate measurements of %q: %w", q.Series, err)
		}
		a.LastAt = fromMicros(lastAt)
		out[i] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("aggregate measurements of %q: %w", q.Series, err)
	}
	return out, nil
}

// dimensionFilterSQL returns the condition and parameters of one filter on
// the dimensions of measurement m.
func dimensionFilterSQL(f kpi.Filter) (string, []any, error) {
	path := jsonPath(f.Property)
	switch f.Op {
	case kpi.OpEq:
		text, err := dimensionText(f.Property, f.Value)
		return "json_extract(m.dimensions, ?) = ?", []any{path, text}, err
	case kpi.OpNeq:
		text, err := dimensionText(f.Property, f.Value)
		return "coalesce(json_extract(m.dimensions, ?) <> ?, 1)", []any{path, text}, err
	case kpi.OpIn:
		if len(f.Values) == 0 {
			return "0", nil, nil
		}
		args := []any{path}
		for _, v := range f.Values {
			text, err := dimensionText(f.Property, v)
			if err != nil {
				return "", nil, err
			}
			args = append(args, text)
		}
		return "json_extract(m.dimensions, ?) IN (?" + strings.Repeat(", ?", len(f.Values)-1) + ")", args, nil
	case kpi.OpGt, kpi.OpGte, kpi.OpLt, kpi.OpLte:
		return "", nil, kpi.Errorf(kpi.EINVALID, "filter on dimension %q: %s is not supported, because dimensions are text (use eq, neq or in)", f.Property, f.Op)
	}
	return "", nil, kpi.Errorf(kpi.EINVALID, "filter on dimension %q: unknown operator %q", f.Property, f.Op)
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
