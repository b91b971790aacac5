package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// hasUserIndex reports whether the events (user_id) index exists, read from
// sqlite_master.
func hasUserIndex(t *testing.T, db *DB) bool {
	t.Helper()
	return countRows(t, db, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_user'`) == 1
}

func TestDeferUserIndexEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)

	deferred, err := db.DeferUserIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !deferred {
		t.Error("DeferUserIndex on an empty database = false, want true")
	}
	if hasUserIndex(t, db) {
		t.Error("events_user exists after DeferUserIndex")
	}

	insert(t, db, event("m1", "visit", "u1", at(1, 10, 0, 0), nil))
	if err := db.RestoreUserIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if !hasUserIndex(t, db) {
		t.Error("events_user is missing after RestoreUserIndex")
	}
}

func TestDeferUserIndexKeepsItWithEvents(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	insert(t, db, event("m1", "visit", "u1", at(1, 10, 0, 0), nil))

	// Events of another workspace count too, because the index covers all.
	deferred, err := db.Workspace(2).DeferUserIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if deferred {
		t.Error("DeferUserIndex with stored events = true, want false")
	}
	if !hasUserIndex(t, db) {
		t.Error("events_user was dropped although events are stored")
	}
}

// A process that stops between DeferUserIndex and RestoreUserIndex leaves
// the index out, and the next Open builds it.
func TestOpenRestoresUserIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "northstar.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeferUserIndex(ctx); err != nil {
		t.Fatal(err)
	}
	insert(t, db, event("m1", "visit", "u1", at(1, 10, 0, 0), nil))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !hasUserIndex(t, db) {
		t.Error("events_user is missing after Open")
	}
}
