package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// indexMetaKey is the key of the record that describes the others.
const indexMetaKey = "meta"

// LoadIndexBlobs calls fn with the stored meta record of the activity index
// and then with every other record, in key order. It returns nil without
// calling fn when nothing is stored.
func (db *DB) LoadIndexBlobs(ctx context.Context, fn func(store.IndexBlob) error) error {
	rows, err := db.pool.Query(ctx,
		`SELECT key, data FROM activity_index WHERE workspace_id = $1 ORDER BY key <> $2, key COLLATE "C"`, db.workspaceID, indexMetaKey)
	if err != nil {
		return fmt.Errorf("load activity index: %w", err)
	}
	defer rows.Close()

	for rows.Next() {
		var b store.IndexBlob
		if err := rows.Scan(&b.Key, &b.Data); err != nil {
			return fmt.Errorf("load activity index: %w", err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load activity index: %w", err)
	}
	return nil
}

// SaveIndexBlobs stores the records of s in one transaction, after checking
// that the stored meta record is s.Expect. It returns a kpi.ECONFLICT error
// when another process saved the index since.
func (db *DB) SaveIndexBlobs(ctx context.Context, s store.IndexSave) error {
	return db.withTx(ctx, func(tx pgx.Tx) error {
		var current []byte
		err := tx.QueryRow(ctx, `SELECT data FROM activity_index WHERE workspace_id = $1 AND key = $2 FOR UPDATE`,
			db.workspaceID, indexMetaKey).Scan(&current)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read activity index meta: %w", err)
		}
		if !bytes.Equal(current, s.Expect) || (current == nil) != (s.Expect == nil) {
			return kpi.Errorf(kpi.ECONFLICT, "the stored activity index changed since it was loaded (another process saved it)")
		}

		if s.Reset {
			if _, err := tx.Exec(ctx, `DELETE FROM activity_index WHERE workspace_id = $1`, db.workspaceID); err != nil {
				return fmt.Errorf("reset activity index: %w", err)
			}
		}
		batch := &pgx.Batch{}
		for _, b := range append(s.Blobs, store.IndexBlob{Key: indexMetaKey, Data: s.Meta}) {
			if b.Data == nil {
				batch.Queue(`DELETE FROM activity_index WHERE workspace_id = $1 AND key = $2`, db.workspaceID, b.Key)
				continue
			}
			batch.Queue(`INSERT INTO activity_index (workspace_id, key, data) VALUES ($1, $2, $3)
				ON CONFLICT (workspace_id, key) DO UPDATE SET data = excluded.data`, db.workspaceID, b.Key, b.Data)
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("save activity index: %w", err)
		}
		return nil
	})
}
