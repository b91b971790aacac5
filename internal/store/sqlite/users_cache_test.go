package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/northstar-kpi/northstar/internal/store"
)

// userIDOf returns, with plain SQL, the user id that distinctID's events
// belong to, and that user's first_seen.
func userIDOf(t *testing.T, db *DB, distinctID string) (id, firstSeen int64) {
	t.Helper()
	err := db.SQL().QueryRow(`SELECT p.id, p.first_seen FROM users u JOIN users p ON p.id = coalesce(u.merged_into, u.id)
		WHERE u.distinct_id = ?`, distinctID).Scan(&id, &firstSeen)
	if err != nil {
		t.Fatalf("look up %s: %v", distinctID, err)
	}
	return id, firstSeen
}

// eventUserID returns the user_id stored on the event with message id msgID.
func eventUserID(t *testing.T, db *DB, msgID string) int64 {
	t.Helper()
	var id int64
	if err := db.SQL().QueryRow(`SELECT user_id FROM events WHERE message_id = ?`, msgID).Scan(&id); err != nil {
		t.Fatalf("read event %s: %v", msgID, err)
	}
	return id
}

func TestUserCacheAliasInOtherHandle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "northstar.db")
	server, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	// A second handle has its own cache, as another process would.
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	insert(t, server, event("m1", "visit", "anon-1", at(2, 10, 0, 0), nil), event("m2", "visit", "alice", at(3, 10, 0, 0), nil))
	if n := len(server.users.cachedUsers(server.workspaceID, 0, []string{"anon-1", "alice"})); n != 2 {
		t.Fatalf("the cache holds %d of the 2 users just inserted", n)
	}

	if err := other.Alias(ctx, []store.Alias{{PreviousID: "anon-1", DistinctID: "alice", Timestamp: at(3, 11, 0, 0)}}); err != nil {
		t.Fatalf("alias in the other handle: %v", err)
	}
	insert(t, server, event("m3", "visit", "anon-1", at(4, 10, 0, 0), nil))

	alice, _ := userIDOf(t, server, "alice")
	if got := eventUserID(t, server, "m3"); got != alice {
		t.Errorf("event of anon-1 after the alias has user id %d, want alice's %d", got, alice)
	}
}

func TestUserCacheKeepsEarlierFirstSeen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "northstar.db")
	server, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	insert(t, server, event("m1", "visit", "bob", at(10, 10, 0, 0), nil))
	// The other handle lowers bob's first_seen to March 5; the server's
	// cache still contains March 10.
	insert(t, other, event("m2", "visit", "bob", at(5, 10, 0, 0), nil))
	insert(t, server, event("m3", "visit", "bob", at(8, 10, 0, 0), nil))

	_, firstSeen := userIDOf(t, server, "bob")
	if want := micros(at(5, 10, 0, 0)); firstSeen != want {
		t.Errorf("bob's first_seen = %v, want March 5 (%d), the earliest event", fromMicros(firstSeen), want)
	}
}

func TestUserCacheAliasInSameHandle(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)

	insert(t, db, event("m1", "visit", "anon-2", at(2, 10, 0, 0), nil), event("m2", "visit", "carol", at(3, 10, 0, 0), nil))
	if err := db.Alias(ctx, []store.Alias{{PreviousID: "anon-2", DistinctID: "carol", Timestamp: at(3, 11, 0, 0)}}); err != nil {
		t.Fatalf("alias: %v", err)
	}
	insert(t, db, event("m3", "visit", "anon-2", at(4, 10, 0, 0), nil))

	carol, _ := userIDOf(t, db, "carol")
	if got := eventUserID(t, db, "m3"); got != carol {
		t.Errorf("event of anon-2 after the alias has user id %d, want carol's %d", got, carol)
	}
}
