package postgres

import (
	"database/sql"

	"github.com/jackc/pgx/v5/stdlib"
)

// OpenSQL returns a database/sql handle on the store's connection pool, for
// code written against database/sql, such as the account store. Closing it
// returns its connections to the pool and leaves the pool open.
func (db *DB) OpenSQL() *sql.DB { return stdlib.OpenDBFromPool(db.pool) }
