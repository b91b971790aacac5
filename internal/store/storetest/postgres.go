package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresServer returns the URL in NORTHSTAR_TEST_POSTGRES, of a
// PostgreSQL role that may create databases. Without it the test skips,
// except under CI=true, where it fails.
func PostgresServer(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("NORTHSTAR_TEST_POSTGRES")
	if dsn != "" {
		return dsn
	}
	const instructions = "set NORTHSTAR_TEST_POSTGRES to the URL of a role that may create databases, " +
		"such as postgres://northstar_test:northstar_test@127.0.0.1:5432/postgres?sslmode=disable; " +
		"as root, scripts/start-postgres.sh starts PostgreSQL and prints that URL, and scripts/test.sh runs it"
	if os.Getenv("CI") == "true" {
		t.Fatal("NORTHSTAR_TEST_POSTGRES is not set: " + instructions)
	}
	t.Skip("PostgreSQL tests skipped: " + instructions)
	return ""
}

// PostgresDatabase creates an empty database with a unique name on the
// server of PostgresServer, drops it when the test ends, and returns its
// URL. Register the cleanups that close connections to it after calling
// PostgresDatabase, so that they run before the drop.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	server := PostgresServer(t)

	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	name := "northstar_test_" + hex.EncodeToString(suffix)

	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}

	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("connect to the test server to drop %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		// Without FORCE, because PostgreSQL 15 then refuses to stop an
		// autovacuum worker for a role that is not a superuser. Plain DROP
		// stops it itself, and fails when the test left a connection open.
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})

	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("NORTHSTAR_TEST_POSTGRES is not a URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
