package sqlite

import (
	"context"
	"fmt"
)

// EventNames returns the distinct names of the stored events, sorted.
func (db *DB) EventNames(ctx context.Context) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT DISTINCT name FROM events WHERE workspace_id = ? ORDER BY name`, db.workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list event names: %w", err)
	}
	defer rows.Close()

	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list event names: %w", err)
		}
		names = append(names, name)
	}
	return names, rows.Err()
}
