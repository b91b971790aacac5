package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// InsertMeasurements stores measurements in one transaction. A measurement
// whose (Source, MessageID) is already stored, or repeats one earlier in the
// batch, is counted as a duplicate and left out, as InsertEvents does for
// events. An invalid measurement rejects the whole batch.
func (db *DB) InsertMeasurements(ctx context.Context, measurements []store.Measurement) (store.InsertResult, error) {
	if len(measurements) == 0 {
		return store.InsertResult{}, nil
	}

	type key struct{ source, messageID string }
	seen := make(map[key]bool, len(measurements))
	var rows []store.Measurement
	dims := map[key]string{}
	for i, m := range measurements {
		if err := store.ValidateMeasurement(m); err != nil {
			return store.InsertResult{}, fmt.Errorf("measurement %d: %w", i, err)
		}
		d := []byte("{}")
		if len(m.Dimensions) > 0 {
			var err error
			if d, err = json.Marshal(m.Dimensions); err != nil {
				return store.InsertResult{}, kpi.Errorf(kpi.EINVALID, "measurement %d (%s): dimensions are not valid JSON: %v", i, m.Series, err)
			}
		}

		k := key{m.Source, m.MessageID}
		if seen[k] {
			continue
		}
		seen[k] = true
		dims[k] = string(d)
		rows = append(rows, m)
	}

	n := len(rows)
	var (
		series, dimensions, sources, messageIDs = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ts                                      = make([]int64, n)
		values                                  = make([]float64, n)
	)
	for i, m := range rows {
		series[i], dimensions[i], sources[i], messageIDs[i] = m.Series, dims[key{m.Source, m.MessageID}], m.Source, m.MessageID
		ts[i], values[i] = micros(m.Timestamp), m.Value
	}

	var res store.InsertResult
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		// Ids follow the batch order, and rows insert in key order, as
		// InsertEvents does (see insertUnnestedEventRows).
		tag, err := tx.Exec(ctx, `
			INSERT INTO measurements (id, workspace_id, series, ts, value, dimensions, source, message_id)
			OVERRIDING SYSTEM VALUE
			SELECT id, $1, s, t, v, d::jsonb, src, m
			FROM (
				SELECT nextval(pg_get_serial_sequence('measurements', 'id')) AS id, x.*
				FROM unnest($2::text[], $3::bigint[], $4::float8[], $5::text[], $6::text[], $7::text[])
					WITH ORDINALITY AS x (s, t, v, d, src, m, o)
				ORDER BY x.o
			) AS numbered
			ORDER BY src, m
			ON CONFLICT (workspace_id, source, message_id) DO NOTHING`,
			db.workspaceID, series, ts, values, dimensions, sources, messageIDs)
		if err != nil {
			return err
		}
		inserted := int(tag.RowsAffected())
		res = store.InsertResult{Inserted: inserted, Duplicates: len(measurements) - inserted}
		return nil
	})
	if err != nil {
		return store.InsertResult{}, fmt.Errorf("insert %d measurements: %w", len(measurements), err)
	}
	return res, nil
}
