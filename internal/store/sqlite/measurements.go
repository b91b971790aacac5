package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// InsertMeasurements stores measurements in one transaction. A measurement
// whose (Source, MessageID) is already stored is counted as a duplicate and
// left out, as InsertEvents does for events. An invalid measurement rejects
// the whole batch.
func (db *DB) InsertMeasurements(ctx context.Context, measurements []store.Measurement) (store.InsertResult, error) {
	var res store.InsertResult
	if len(measurements) == 0 {
		return res, nil
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("begin insert: %w", err)
	}
	defer tx.Rollback()

	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO measurements (workspace_id, series, ts, value, dimensions, source, message_id)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, source, message_id) DO NOTHING`)
	if err != nil {
		return res, fmt.Errorf("prepare measurement insert: %w", err)
	}
	defer stmt.Close()

	for i, m := range measurements {
		if err := store.ValidateMeasurement(m); err != nil {
			return store.InsertResult{}, fmt.Errorf("measurement %d: %w", i, err)
		}

		dims := []byte("{}")
		if len(m.Dimensions) > 0 {
			if dims, err = json.Marshal(m.Dimensions); err != nil {
				return store.InsertResult{}, kpi.Errorf(kpi.EINVALID, "measurement %d (%s): dimensions are not valid JSON: %v", i, m.Series, err)
			}
		}

		r, err := stmt.ExecContext(ctx, db.workspaceID, m.Series, micros(m.Timestamp), m.Value, string(dims), m.Source, m.MessageID)
		if err != nil {
			return store.InsertResult{}, fmt.Errorf("insert measurement of %q: %w", m.Series, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			res.Duplicates++
		} else {
			res.Inserted++
		}
	}

	if err := tx.Commit(); err != nil {
		return store.InsertResult{}, fmt.Errorf("commit %d measurements: %w", len(measurements), err)
	}
	return res, nil
}
