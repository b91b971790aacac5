package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/northstar-kpi/northstar/internal/store"
)

// userLookupChunk is the number of distinct_ids per statement when users are
// looked up or created.
const userLookupChunk = 250

// storedUser is a users row that an event batch refers to.
type storedUser struct {
	id         int64
	mergedInto sql.NullInt64
	firstSeen  int64
}

// resolveUsers returns the user id of each distinct_id in events, creating
// users it has not seen with their earliest timestamp in events as
// first_seen. It lowers first_seen of a stored user, and of the user that an
// aliased distinct_id was merged into, to the earliest timestamp in events.
// The distinct_id of a merged user resolves to the user it was merged into.
//
// It looks users up and creates them with a few multi-row statements. The
// transaction holds SQLite's write lock from its start (_txlock=immediate),
// so no other writer creates a user between the lookup and the insert.
func (db *DB) resolveUsers(ctx context.Context, tx *sql.Tx, events []store.Event) (map[string]int64, error) {
	// The earliest timestamp of each distinct_id, and the distinct_ids in
	// order of first appearance, so that new users get ids in event order.
	firstSeen := make(map[string]int64)
	var order []string
	for i := range events {
		e := &events[i]
		ts := micros(e.Timestamp)
		if seen, ok := firstSeen[e.DistinctID]; !ok {
			firstSeen[e.DistinctID] = ts
			order = append(order, e.DistinctID)
		} else if ts < seen {
			firstSeen[e.DistinctID] = ts
		}
	}

	stored, err := db.lookUpUsers(ctx, tx, order)
	if err != nil {
		return nil, err
	}

	ids := make(map[string]int64, len(order))
	var missing []string
	for _, distinctID := range order {
		u, ok := stored[distinctID]
		if !ok {
			missing = append(missing, distinctID)
			continue
		}
		id, err := lowerFirstSeen(ctx, tx, u, firstSeen[distinctID])
		if err != nil {
			return nil, fmt.Errorf("update first_seen of user %q: %w", distinctID, err)
		}
		ids[distinctID] = id
	}

	if err := db.createUsers(ctx, tx, missing, firstSeen, ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// lookUpUsers returns the stored users among distinctIDs.
func (db *DB) lookUpUsers(ctx context.Context, tx *sql.Tx, distinctIDs []string) (map[string]storedUser, error) {
	stored := make(map[string]storedUser, len(distinctIDs))
	args := make([]any, 0, userLookupChunk+1)
	for start := 0; start < len(distinctIDs); start += userLookupChunk {
		chunk := distinctIDs[start:min(start+userLookupChunk, len(distinctIDs))]

		args = append(args[:0], db.workspaceID)
		for _, id := range chunk {
			args = append(args, id)
		}
		query := `SELECT distinct_id, id, merged_into, first_seen FROM users
			WHERE workspace_id = ? AND distinct_id IN (` + placeholders(len(chunk)) + `)`
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("look up %d users: %w", len(chunk), err)
		}
		for rows.Next() {
			var (
				distinctID string
				u          storedUser
			)
			if err := rows.Scan(&distinctID, &u.id, &u.mergedInto, &u.firstSeen); err != nil {
				rows.Close()
				return nil, fmt.Errorf("look up users: %w", err)
			}
			stored[distinctID] = u
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("look up users: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("look up users: %w", err)
		}
	}
	return stored, nil
}

// lowerFirstSeen sets first_seen of u, and of the user that u was merged
// into, to ts where ts is earlier, and returns the user id that u's events
// belong to.
func lowerFirstSeen(ctx context.Context, tx *sql.Tx, u storedUser, ts int64) (int64, error) {
	if ts < u.firstSeen {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET first_seen = ? WHERE id = ?`, ts, u.id); err != nil {
			return 0, err
		}
	}
	if !u.mergedInto.Valid {
		return u.id, nil
	}

	// An aliased distinct_id's events belong to the user it was merged into,
	// whose first_seen must cover them too.
	target := u.mergedInto.Int64
	if _, err := tx.ExecContext(ctx, `UPDATE users SET first_seen = ?1 WHERE id = ?2 AND first_seen > ?1`, ts, target); err != nil {
		return 0, err
	}
	return target, nil
}

// createUsers inserts a user for each of distinctIDs, none of which is
// stored, and adds their new ids to ids.
func (db *DB) createUsers(ctx context.Context, tx *sql.Tx, distinctIDs []string, firstSeen map[string]int64, ids map[string]int64) error {
	args := make([]any, 0, 2*userLookupChunk)
	for start := 0; start < len(distinctIDs); start += userLookupChunk {
		chunk := distinctIDs[start:min(start+userLookupChunk, len(distinctIDs))]

		var values strings.Builder
		args = args[:0]
		for i, id := range chunk {
			if i > 0 {
				values.WriteByte(',')
			}
			fmt.Fprintf(&values, "(%d,?,?)", db.workspaceID)
			args = append(args, id, firstSeen[id])
		}

		// RETURNING gives the rows in no promised order, so each row names
		// its distinct_id.
		rows, err := tx.QueryContext(ctx, `INSERT INTO users (workspace_id, distinct_id, first_seen) VALUES `+
			values.String()+` RETURNING distinct_id, id`, args...)
		if err != nil {
			return fmt.Errorf("create %d users: %w", len(chunk), err)
		}
		for rows.Next() {
			var (
				distinctID string
				id         int64
			)
			if err := rows.Scan(&distinctID, &id); err != nil {
				rows.Close()
				return fmt.Errorf("create users: %w", err)
			}
			ids[distinctID] = id
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("create users: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("create users: %w", err)
		}
	}
	return nil
}

// placeholders returns n comma-separated question marks.
func placeholders(n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}
