package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// usersLockClass is the first key of the advisory lock held while creating
// users; the workspace id is the second. Creating users one transaction at
// a time keeps their ids dense, because no insert then loses a conflict
// after taking a value from the id sequence.
const usersLockClass = 0x75736572 // "user"

// userSeen is a distinct_id of a batch and its earliest timestamp there.
type userSeen struct {
	distinctID string
	firstSeen  int64 // Unix microseconds
}

// userRow is a stored user: its own id and the id its events are stored
// under, which differs once Alias merged it into another person.
type userRow struct {
	id     int64
	person int64
}

// resolveUsers returns the person id of each distinct_id of seen, creating
// users it has not stored in the order of seen, and lowers first_seen where
// seen has an earlier timestamp. It locks the users' rows FOR SHARE until
// the transaction ends, so Alias cannot merge them in between.
func (db *DB) resolveUsers(ctx context.Context, tx pgx.Tx, seen []userSeen) (map[string]int64, error) {
	ids := make([]string, len(seen))
	for i, s := range seen {
		ids[i] = s.distinctID
	}
	found, err := db.lookupUsers(ctx, tx, ids)
	if err != nil {
		return nil, err
	}

	var missing []userSeen
	for _, s := range seen {
		if _, ok := found[s.distinctID]; !ok {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		if err := db.createUsers(ctx, tx, missing); err != nil {
			return nil, err
		}
		ids = ids[:0]
		for _, s := range missing {
			ids = append(ids, s.distinctID)
		}
		created, err := db.lookupUsers(ctx, tx, ids)
		if err != nil {
			return nil, err
		}
		for id, u := range created {
			found[id] = u
		}
	}

	if err := lowerFirstSeen(ctx, tx, seen, found); err != nil {
		return nil, err
	}

	persons := make(map[string]int64, len(found))
	for id, u := range found {
		persons[id] = u.person
	}
	return persons, nil
}

func (db *DB) lookupUsers(ctx context.Context, tx pgx.Tx, distinctIDs []string) (map[string]userRow, error) {
	rows, err := tx.Query(ctx, `
		SELECT distinct_id, id, coalesce(merged_into, id) FROM users
		WHERE workspace_id = $1 AND distinct_id = ANY($2)
		ORDER BY id FOR SHARE`, db.workspaceID, distinctIDs)
	if err != nil {
		return nil, fmt.Errorf("look up users: %w", err)
	}
	defer rows.Close()

	found := make(map[string]userRow, len(distinctIDs))
	for rows.Next() {
		var (
			distinctID string
			u          userRow
		)
		if err := rows.Scan(&distinctID, &u.id, &u.person); err != nil {
			return nil, fmt.Errorf("look up users: %w", err)
		}
		found[distinctID] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up users: %w", err)
	}
	return found, nil
}

// createUsers inserts users for the distinct_ids of missing, in order, so
// they get increasing ids. One that another transaction created first is
// left as it is.
func (db *DB) createUsers(ctx context.Context, tx pgx.Tx, missing []userSeen) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(usersLockClass), int32(db.workspaceID)); err != nil {
		return fmt.Errorf("lock users: %w", err)
	}

	ids := make([]string, len(missing))
	firstSeen := make([]int64, len(missing))
	for i, s := range missing {
		ids[i], firstSeen[i] = s.distinctID, s.firstSeen
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO users (workspace_id, distinct_id, first_seen)
		SELECT $1, d, f FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS n (d, f, o)
		WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.workspace_id = $1 AND u.distinct_id = n.d)
		ORDER BY o
		ON CONFLICT (workspace_id, distinct_id) DO NOTHING`, db.workspaceID, ids, firstSeen)
	if err != nil {
		return fmt.Errorf("create %d users: %w", len(missing), err)
	}
	return nil
}

// lowerFirstSeen sets first_seen to the earliest timestamp of seen on each
// user row and on the person it was merged into, where that is earlier.
func lowerFirstSeen(ctx context.Context, tx pgx.Tx, seen []userSeen, found map[string]userRow) error {
	earliest := map[int64]int64{}
	note := func(id, ts int64) {
		if cur, ok := earliest[id]; !ok || ts < cur {
			earliest[id] = ts
		}
	}
	for _, s := range seen {
		u := found[s.distinctID]
		note(u.id, s.firstSeen)
		if u.person != u.id {
			note(u.person, s.firstSeen)
		}
	}

	ids := make([]int64, 0, len(earliest))
	for id := range earliest {
		ids = append(ids, id)
	}
	slices.Sort(ids) // one lock order for every transaction
	ts := make([]int64, len(ids))
	for i, id := range ids {
		ts[i] = earliest[id]
	}

	_, err := tx.Exec(ctx, `
		UPDATE users u SET first_seen = v.f
		FROM unnest($1::bigint[], $2::bigint[]) AS v (id, f)
		WHERE u.id = v.id AND u.first_seen > v.f`, ids, ts)
	if err != nil {
		return fmt.Errorf("update first_seen: %w", err)
	}
	return nil
}

// personOf returns the person id of distinctID, creating its user with
// firstSeen (Unix microseconds) when it is new, and locks its row FOR SHARE.
func (db *DB) personOf(ctx context.Context, tx pgx.Tx, distinctID string, firstSeen int64) (int64, error) {
	found, err := db.lookupUsers(ctx, tx, []string{distinctID})
	if err != nil {
		return 0, err
	}
	if u, ok := found[distinctID]; ok {
		return u.person, nil
	}

	if err := db.createUsers(ctx, tx, []userSeen{{distinctID: distinctID, firstSeen: firstSeen}}); err != nil {
		return 0, err
	}
	if found, err = db.lookupUsers(ctx, tx, []string{distinctID}); err != nil {
		return 0, err
	}
	u, ok := found[distinctID]
	if !ok {
		return 0, fmt.Errorf("user %q is missing right after its creation", distinctID)
	}
	return u.person, nil
}
