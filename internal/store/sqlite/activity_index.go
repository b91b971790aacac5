package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// indexMetaKey is the key of the record that describes the others.
const indexMetaKey = "meta"

// LoadIndexBlobs calls fn with the stored meta record of the activity index
// and then with every other record, in key order. It returns nil without
// calling fn when nothing is stored.
func (db *DB) LoadIndexBlobs(ctx context.Context, fn func(store.IndexBlob) error) error {
	rows, err := db.db.QueryContext(ctx,
		`SELECT key, data FROM activity_index WHERE workspace_id = ? ORDER BY key <> ?, key`, db.workspaceID, indexMetaKey)
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
	return rows.Err()
}

// SaveIndexBlobs stores the records of s in one transaction, after checking
// that the stored meta record is s.Expect. It returns a kpi.ECONFLICT error
// when another process saved the index since.
func (db *DB) SaveIndexBlobs(ctx context.Context, s store.IndexSave) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin activity index save: %w", err)
	}
	defer tx.Rollback()

	var current []byte
	err = tx.QueryRowContext(ctx, `SELECT data FROM activity_index WHERE workspace_id = ? AND key = ?`, db.workspaceID, indexMetaKey).Scan(&current)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read activity index meta: %w", err)
	}
	if !bytes.Equal(current, s.Expect) || (current == nil) != (s.Expect == nil) {
		return kpi.Errorf(kpi.ECONFLICT, "the stored activity index changed since it was loaded (another process saved it)")
	}

	if s.Reset {
		if _, err := tx.ExecContext(ctx, `DELETE FROM activity_index WHERE workspace_id = ?`, db.workspaceID); err != nil {
			return fmt.Errorf("reset activity index: %w", err)
		}
	}
	put, err := tx.PrepareContext(ctx, `INSERT INTO activity_index (workspace_id, key, data) VALUES (?, ?, ?)
		ON CONFLICT (workspace_id, key) DO UPDATE SET data = excluded.data`)
	if err != nil {
		return fmt.Errorf("prepare activity index save: %w", err)
	}
	defer put.Close()
	del, err := tx.PrepareContext(ctx, `DELETE FROM activity_index WHERE workspace_id = ? AND key = ?`)
	if err != nil {
		return fmt.Errorf("prepare activity index save: %w", err)
	}
	defer del.Close()

	blobs := append(s.Blobs, store.IndexBlob{Key: indexMetaKey, Data: s.Meta})
	for _, b := range blobs {
		if b.Data == nil {
			_, err = del.ExecContext(ctx, db.workspaceID, b.Key)
		} else {
			_, err = put.ExecContext(ctx, db.workspaceID, b.Key, b.Data)
		}
		if err != nil {
			return fmt.Errorf("save activity index record %q: %w", b.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit activity index: %w", err)
	}
	return nil
}
