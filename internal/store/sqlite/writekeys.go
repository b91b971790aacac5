package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// CreateWriteKey creates an active write key for the source name and returns
// it with its secret. Only a hash of the secret is stored, so the returned
// secret is the only copy. It returns EINVALID for a malformed name and
// ECONFLICT when an active key already has the name.
func (db *DB) CreateWriteKey(ctx context.Context, name string) (store.WriteKey, string, error) {
	if err := store.ValidateWriteKeyName(name); err != nil {
		return store.WriteKey{}, "", err
	}

	secret, prefix, hash, err := store.NewWriteKeySecret()
	if err != nil {
		return store.WriteKey{}, "", fmt.Errorf("create write key %q: %w", name, err)
	}

	// NOTE: created_at and revoked_at come from the wall clock, like an
	// event's received_at, because store methods take no clock.
	key := store.WriteKey{WorkspaceID: db.workspaceID, Name: name, Prefix: prefix, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	err = db.db.QueryRowContext(ctx, `
		INSERT INTO write_keys (workspace_id, name, prefix, secret_hash, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		db.workspaceID, name, prefix, hash, micros(key.CreatedAt)).Scan(&key.ID)
	if isUniqueViolation(err) {
		return store.WriteKey{}, "", kpi.Errorf(kpi.ECONFLICT, "an active write key named %q already exists (revoke it first or pick another name)", name)
	}
	if err != nil {
		return store.WriteKey{}, "", fmt.Errorf("create write key %q: %w", name, err)
	}
	return key, secret, nil
}

// ListWriteKeys returns every write key, revoked ones included, oldest first.
func (db *DB) ListWriteKeys(ctx context.Context) ([]store.WriteKey, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT id, name, prefix, created_at, revoked_at FROM write_keys
		WHERE workspace_id = ? ORDER BY created_at, id`, db.workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list write keys: %w", err)
	}
	defer rows.Close()

	var keys []store.WriteKey
	for rows.Next() {
		var (
			key       = store.WriteKey{WorkspaceID: db.workspaceID}
			createdAt int64
			revokedAt sql.NullInt64
		)
		if err := rows.Scan(&key.ID, &key.Name, &key.Prefix, &createdAt, &revokedAt); err != nil {
			return nil, fmt.Errorf("list write keys: %w", err)
		}
		key.CreatedAt = fromMicros(createdAt)
		if revokedAt.Valid {
			t := fromMicros(revokedAt.Int64)
			key.RevokedAt = &t
		}
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list write keys: %w", err)
	}
	return keys, nil
}

// RevokeWriteKey revokes the active write key named name, so its secret no
// longer authenticates. It returns ENOTFOUND when no active key has the name.
func (db *DB) RevokeWriteKey(ctx context.Context, name string) error {
	r, err := db.db.ExecContext(ctx, `
		UPDATE write_keys SET revoked_at = ?
		WHERE workspace_id = ? AND name = ? AND revoked_at IS NULL`,
		micros(time.Now()), db.workspaceID, name)
	if err != nil {
		return fmt.Errorf("revoke write key %q: %w", name, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return kpi.Errorf(kpi.ENOTFOUND, "no active write key named %q", name)
	}
	return nil
}

// AuthenticateWriteKey returns the active write key whose secret is secret,
// in any workspace. It returns EUNAUTHORIZED when the secret is unknown or
// its key revoked.
func (db *DB) AuthenticateWriteKey(ctx context.Context, secret string) (store.WriteKey, error) {
	var (
		key       store.WriteKey
		createdAt int64
		revokedAt sql.NullInt64
	)
	err := db.db.QueryRowContext(ctx, `
		SELECT id, workspace_id, name, prefix, created_at, revoked_at FROM write_keys
		WHERE secret_hash = ?`,
		store.HashWriteKeySecret(secret)).Scan(&key.ID, &key.WorkspaceID, &key.Name, &key.Prefix, &createdAt, &revokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return store.WriteKey{}, kpi.Errorf(kpi.EUNAUTHORIZED, "unknown write key")
	}
	if err != nil {
		return store.WriteKey{}, fmt.Errorf("authenticate write key: %w", err)
	}
	if revokedAt.Valid {
		return store.WriteKey{}, kpi.Errorf(kpi.EUNAUTHORIZED, "write key %s… was revoked", key.Prefix)
	}

	key.CreatedAt = fromMicros(createdAt)
	return key, nil
}

// Ping checks that the database responds to a query.
func (db *DB) Ping(ctx context.Context) error {
	var result int
	if err := db.db.QueryRowContext(ctx, `SELECT 1`).Scan(&result); err != nil {
		return fmt.Errorf("ping database %s: %w", db.path, err)
	}
	return nil
}

// isUniqueViolation reports whether err is SQLite's UNIQUE constraint error.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}
