package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/store/storetest"
)

// Migration 00012 rewrites the message IDs of events imported from CSV
// before it into the form the import now derives, so that importing a file
// again stores nothing twice. The expected IDs are written out by hand.
func TestMigrationRewritesCSVEventIDs(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDatabase(t)
	migrateLikeOldRunner(t, dsn, 11)

	oldHex := strings.Repeat("ab", 32)
	rows := []struct {
		source, messageID string
		ts                int64
		want              string
	}{
		// 1709287200000000 µs is 2024-03-01T10:00:00Z.
		{"csv", oldHex, 1709287200000000, "0006129670600800" + strings.Repeat("ab", 16)},
		{"csv", strings.Repeat("cd", 32), -1, "ffffffffffffffff" + strings.Repeat("cd", 16)},
		{"csv", "order-17", 1709287200000000, "order-17"},
		{"csv", strings.ToUpper(oldHex), 1709287200000000, strings.ToUpper(oldHex)},
		{"web", oldHex, 1709287200000000, oldHex},
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		_, err := conn.Exec(ctx, `INSERT INTO events (name, user_id, distinct_id, ts, received_at, source, message_id)
			VALUES ('visit', 1, 'u1', $1, 0, $2, $3)`, r.ts, r.source, r.messageID)
		if err != nil {
			conn.Close(ctx)
			t.Fatalf("insert event %s/%s: %v", r.source, r.messageID, err)
		}
	}
	conn.Close(ctx)

	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open and migrate: %v", err)
	}
	defer db.Close()
	for i, r := range rows {
		var got string
		if err := db.pool.QueryRow(ctx, `SELECT message_id FROM events WHERE id = $1`, i+1).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != r.want {
			t.Errorf("event %d (%s, %s) message_id = %s, want %s", i+1, r.source, r.messageID, got, r.want)
		}
	}
}
