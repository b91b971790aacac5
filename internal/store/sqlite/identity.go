package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// Identify merges the traits of each call into its user's stored traits,
// creating users it has not seen, in one transaction. Traits merge as a JSON
// merge patch (RFC 7396, SQLite's json_patch): a key of a newer call replaces
// the stored value, a null removes the key, and nested objects merge
// recursively. A call older than the newest one already merged only fills
// keys that are missing. A distinct_id merged by Alias updates the traits of
// the user it was merged into. An invalid call rejects the whole batch.
func (db *DB) Identify(ctx context.Context, calls []store.Identify) error {
	if len(calls) == 0 {
		return nil
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin identify: %w", err)
	}
	defer tx.Rollback()

	for i, c := range calls {
		if err := store.ValidateIdentify(c); err != nil {
			return fmt.Errorf("identify %d: %w", i, err)
		}
		if err := db.identify(ctx, tx, c); err != nil {
			return err
		}
	}

	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %d identify calls: %w", len(calls), err)
	}
	return nil
}

func (db *DB) identify(ctx context.Context, tx *sql.Tx, c store.Identify) error {
	traits := []byte("{}")
	if len(c.Traits) > 0 {
		var err error
		if traits, err = json.Marshal(c.Traits); err != nil {
			return kpi.Errorf(kpi.EINVALID, "identify of %q: traits are not valid JSON: %v", c.DistinctID, err)
		}
	}

	userID, err := db.personOf(ctx, tx, c.DistinctID, micros(c.Timestamp))
	if err != nil {
		return err
	}

	// For an older call, json_patch('{}', new) drops the call's nulls first,
	// because they remove keys that a newer call may have set again.
	_, err = tx.ExecContext(ctx, `
		UPDATE users SET
			traits = CASE WHEN ?1 >= traits_at THEN json_patch(traits, ?2)
			              ELSE json_patch(json_patch('{}', ?2), traits) END,
			traits_at = max(traits_at, ?1)
		WHERE id = ?3`,
		micros(c.Timestamp), string(traits), userID)
	if err != nil {
		return fmt.Errorf("update traits of %q: %w", c.DistinctID, err)
	}
	return nil
}

// Alias makes each call's PreviousID another name of its DistinctID, in one
// transaction. When the two ids belong to different persons, the person of
// PreviousID is merged into the person of DistinctID, also when both already
// have events. The merged distinct_ids then map to DistinctID's user id, and
// their events move to that user id, so every period counts the person once,
// past periods included. The earlier first_seen of the two is kept, and the
// traits of PreviousID fill the keys that DistinctID's traits lack. Ids not seen before are
// created with the call's timestamp as first_seen. Aliasing an id to itself
// or repeating an alias changes nothing. An invalid call rejects the batch.
func (db *DB) Alias(ctx context.Context, calls []store.Alias) error {
	if len(calls) == 0 {
		return nil
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin alias: %w", err)
	}
	defer tx.Rollback()

	for i, c := range calls {
		if err := store.ValidateAlias(c); err != nil {
			return fmt.Errorf("alias %d: %w", i, err)
		}
		if err := db.alias(ctx, tx, c); err != nil {
			return err
		}
	}

	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %d alias calls: %w", len(calls), err)
	}
	return nil
}

func (db *DB) alias(ctx context.Context, tx *sql.Tx, c store.Alias) error {
	if c.PreviousID == c.DistinctID {
		return nil
	}

	target, err := db.personOf(ctx, tx, c.DistinctID, micros(c.Timestamp))
	if err != nil {
		return err
	}
	previous, err := db.personOf(ctx, tx, c.PreviousID, micros(c.Timestamp))
	if err != nil {
		return err
	}
	if previous == target {
		return nil
	}

	_, err = tx.ExecContext(ctx,
		`UPDATE users SET merged_into = ?1 WHERE id = ?2 OR merged_into = ?2`, target, previous)
	if err != nil {
		return fmt.Errorf("merge user %q into %q: %w", c.PreviousID, c.DistinctID, err)
	}

	_, err = tx.ExecContext(ctx, `UPDATE events SET user_id = ?1 WHERE user_id = ?2`, target, previous)
	if err != nil {
		return fmt.Errorf("move events of %q to %q: %w", c.PreviousID, c.DistinctID, err)
	}

	_, err = tx.ExecContext(ctx, `
		UPDATE users SET
			first_seen = min(users.first_seen, p.first_seen),
			traits = json_patch(p.traits, users.traits),
			traits_at = max(users.traits_at, p.traits_at)
		FROM (SELECT first_seen, traits, traits_at FROM users WHERE id = ?2) AS p
		WHERE users.id = ?1`, target, previous)
	if err != nil {
		return fmt.Errorf("merge traits of %q into %q: %w", c.PreviousID, c.DistinctID, err)
	}
	return nil
}

// personOf returns the user id that distinctID's events are stored under:
// its own, or that of the user it was merged into. A distinct_id not seen
// before gets a new user whose first_seen is firstSeen (Unix microseconds).
func (db *DB) personOf(ctx context.Context, tx *sql.Tx, distinctID string, firstSeen int64) (int64, error) {
	// The no-op update makes RETURNING report an existing row too.
	var id int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO users (workspace_id, distinct_id, first_seen) VALUES (?, ?, ?)
		ON CONFLICT (workspace_id, distinct_id) DO UPDATE SET distinct_id = excluded.distinct_id
		RETURNING coalesce(merged_into, id)`,
		db.workspaceID, distinctID, firstSeen).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("look up user %q: %w", distinctID, err)
	}
	return id, nil
}
