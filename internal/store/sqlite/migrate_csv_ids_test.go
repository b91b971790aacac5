package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
)

// Migration 00012 rewrites the message IDs of events imported from CSV
// before it into the form the import now derives, so that importing a file
// again stores nothing twice. The expected IDs are written out by hand.
func TestMigrationRewritesCSVEventIDs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "northstar.db")

	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, raw, sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 11); err != nil {
		t.Fatalf("migrate to version 11: %v", err)
	}

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
	if _, err := raw.ExecContext(ctx, `INSERT INTO users (id, distinct_id, first_seen) VALUES (1, 'u1', 0)`); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		_, err := raw.ExecContext(ctx, `INSERT INTO events (name, user_id, distinct_id, ts, received_at, source, message_id)
			VALUES ('visit', 1, 'u1', ?, 0, ?, ?)`, r.ts, r.source, r.messageID)
		if err != nil {
			t.Fatalf("insert event %s/%s: %v", r.source, r.messageID, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open and migrate: %v", err)
	}
	defer db.Close()
	for i, r := range rows {
		var got string
		if err := db.SQL().QueryRowContext(ctx, `SELECT message_id FROM events WHERE id = ?`, i+1).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != r.want {
			t.Errorf("event %d (%s, %s) message_id = %s, want %s", i+1, r.source, r.messageID, got, r.want)
		}
	}
}
