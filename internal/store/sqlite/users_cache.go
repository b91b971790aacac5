package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// maxCachedUsers bounds the users cached per workspace; a cache that grows
// past it starts again empty. 2M entries take roughly 200 MB.
const maxCachedUsers = 2_000_000

// userCache holds the users that inserts of one workspace resolved, so that
// later batches need no lookup. It is valid for one users_version of the
// workspace: an alias merges users and raises the version, and the next
// insert that reads the new version empties the cache.
type userCache struct {
	version int64
	users   map[string]storedUser
}

// userCaches holds the user cache of each workspace. The workspace views of
// one database share it.
type userCaches struct {
	mu          sync.Mutex
	byWorkspace map[int64]*userCache
}

// usersVersion returns the users_version of db's workspace, read in tx.
func (db *DB) usersVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	var version int64
	err := tx.QueryRowContext(ctx, `SELECT users_version FROM workspaces WHERE id = ?`, db.workspaceID).Scan(&version)
	if err != nil {
		return 0, fmt.Errorf("read the users version of workspace %d: %w", db.workspaceID, err)
	}
	return version, nil
}

// cachedUsers returns the cached users among distinctIDs, valid at version.
// It empties a cache of another version.
func (c *userCaches) cachedUsers(workspaceID, version int64, distinctIDs []string) map[string]storedUser {
	c.mu.Lock()
	defer c.mu.Unlock()
	cache := c.byWorkspace[workspaceID]
	if cache == nil || cache.version != version {
		return nil
	}
	found := make(map[string]storedUser, len(distinctIDs))
	for _, id := range distinctIDs {
		if u, ok := cache.users[id]; ok {
			found[id] = u
		}
	}
	return found
}

// remember adds users, as a committed transaction that read version left
// them, to the cache of workspaceID. A cache of another version is replaced,
// unless it is of a later version, which users may already be stale for.
func (c *userCaches) remember(workspaceID, version int64, users map[string]storedUser) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byWorkspace == nil {
		c.byWorkspace = map[int64]*userCache{}
	}
	cache := c.byWorkspace[workspaceID]
	switch {
	case cache != nil && cache.version > version:
		return
	case cache == nil || cache.version != version || len(cache.users)+len(users) > maxCachedUsers:
		cache = &userCache{version: version, users: make(map[string]storedUser, len(users))}
		c.byWorkspace[workspaceID] = cache
	}
	for id, u := range users {
		cache.users[id] = u
	}
}

// forget empties the cache of workspaceID, after an alias in this process.
func (c *userCaches) forget(workspaceID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byWorkspace, workspaceID)
}
