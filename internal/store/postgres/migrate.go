package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockID is the key of the session advisory lock that keeps two
// processes from migrating one database at once. Earlier Northstar versions
// took the same key with pg_advisory_xact_lock, so an old and a new process
// starting together also wait for each other.
const migrationLockID = 0x6e6f7274 // "nort"

// migrate applies the pending migrations with goose, each in its own
// transaction, and records them in goose's table, goose_db_version.
// Databases migrated by earlier Northstar versions, which wrote that table
// themselves in goose's layout, are recognised as migrated.
func (db *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID))
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}

	// Closing sqlDB returns its connections to the pool and leaves the pool open.
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer sqlDB.Close()

	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate database %s: %w", db.name, err)
	}
	return nil
}
