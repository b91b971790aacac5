package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// Identify merges the traits of each call into its user's stored traits,
// creating users it has not seen, in one transaction. Traits merge as a JSON
// merge patch (RFC 7396, the migration's json_merge_patch, like SQLite's
// json_patch): a key of a newer call replaces the stored value, a null
// removes the key, and nested objects merge recursively. A call older than
// the newest one already merged only fills keys that are missing. A
// distinct_id merged by Alias updates the traits of the user it was merged
// into. An invalid call rejects the whole batch.
func (db *DB) Identify(ctx context.Context, calls []store.Identify) error {
	if len(calls) == 0 {
		return nil
	}

	traits := make([]string, len(calls))
	for i, c := range calls {
		if err := store.ValidateIdentify(c); err != nil {
			return fmt.Errorf("identify %d: %w", i, err)
		}
		traits[i] = "{}"
		if len(c.Traits) > 0 {
			b, err := json.Marshal(c.Traits)
			if err != nil {
				return kpi.Errorf(kpi.EINVALID, "identify of %q: traits are not valid JSON: %v", c.DistinctID, err)
			}
			traits[i] = string(b)
		}
	}

	return db.withTx(ctx, func(tx pgx.Tx) error {
		for i, c := range calls {
			if err := db.identify(ctx, tx, c, traits[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) identify(ctx context.Context, tx pgx.Tx, c store.Identify, traits string) error {
	userID, err := db.personOf(ctx, tx, c.DistinctID, micros(c.Timestamp))
	if err != nil {
		return err
	}

	// For an older call, merging the patch into {} first drops its nulls,
	// because they remove keys that a newer call may have set again.
	_, err = tx.Exec(ctx, `
		UPDATE users SET
			traits = CASE WHEN $1 >= traits_at THEN json_merge_patch(traits, $2::text::jsonb)
			              ELSE json_merge_patch(json_merge_patch('{}', $2::text::jsonb), traits) END,
			traits_at = greatest(traits_at, $1)
		WHERE id = $3`,
		micros(c.Timestamp), traits, userID)
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
	for i, c := range calls {
		if err := store.ValidateAlias(c); err != nil {
			return fmt.Errorf("alias %d: %w", i, err)
		}
	}

	return db.withTx(ctx, func(tx pgx.Tx) error {
		for _, c := range calls {
			if err := db.alias(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) alias(ctx context.Context, tx pgx.Tx, c store.Alias) error {
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

	// Updating the person's rows waits for InsertEvents calls that hold
	// them FOR SHARE, so the events they add are committed before they move.
	_, err = tx.Exec(ctx, `UPDATE users SET merged_into = $1 WHERE id = $2 OR merged_into = $2`, target, previous)
	if err != nil {
		return fmt.Errorf("merge user %q into %q: %w", c.PreviousID, c.DistinctID, err)
	}

	_, err = tx.Exec(ctx, `UPDATE events SET user_id = $1 WHERE user_id = $2`, target, previous)
	if err != nil {
		return fmt.Errorf("move events of %q to %q: %w", c.PreviousID, c.DistinctID, err)
	}

	_, err = tx.Exec(ctx, `
		UPDATE users SET
			first_seen = least(users.first_seen, p.first_seen),
			traits = json_merge_patch(p.traits, users.traits),
			traits_at = greatest(users.traits_at, p.traits_at)
		FROM (SELECT first_seen, traits, traits_at FROM users WHERE id = $2) AS p
		WHERE users.id = $1`, target, previous)
	if err != nil {
		return fmt.Errorf("merge traits of %q into %q: %w", c.PreviousID, c.DistinctID, err)
	}
	return nil
}
