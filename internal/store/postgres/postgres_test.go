package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/storetest"
)

// openTestDB opens a fresh, migrated database and closes it when the test
// ends, before its database is dropped. Each of params, such as
// "pool_max_conns=2", is added to the URL's query.
func openTestDB(t testing.TB, params ...string) *DB {
	t.Helper()
	dsn := storetest.PostgresDatabase(t)
	for _, p := range params {
		if strings.Contains(dsn, "?") {
			dsn += "&" + p
		} else {
			dsn += "?" + p
		}
	}
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// storeUnderTest adds the storetest.Inspector the shared suite checks with.
type storeUnderTest struct{ *DB }

func (s storeUnderTest) QueryRow(ctx context.Context, query string, dest ...any) error {
	return s.pool.QueryRow(ctx, query).Scan(dest...)
}

func (s storeUnderTest) InWorkspace(id int64) storetest.Store { return storeUnderTest{s.Workspace(id)} }

func TestStore(t *testing.T) {
	storetest.PostgresServer(t)
	storetest.Run(t, func(t *testing.T) storetest.Store { return storeUnderTest{openTestDB(t)} })
}

// copyStore sends every batch with COPY, whatever its size.
type copyStore struct{ storeUnderTest }

func (s copyStore) InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error) {
	return s.insertEvents(ctx, events, true)
}

func (s copyStore) InWorkspace(id int64) storetest.Store {
	return copyStore{storeUnderTest{s.Workspace(id)}}
}

// The suite again with every event sent through COPY, the path InsertEvents
// takes for batches of copyThreshold events or more.
func TestStoreCopy(t *testing.T) {
	storetest.PostgresServer(t)
	storetest.Run(t, func(t *testing.T) storetest.Store { return copyStore{storeUnderTest{openTestDB(t)}} })
}

func TestOpenInvalidURL(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"empty", "", "URL is empty"},
		{"not postgres", "mysql://root@127.0.0.1/northstar", "invalid PostgreSQL URL"},
		{"bad pool size", "postgres://u:secret-pw@127.0.0.1:5432/db?pool_max_conns=0", "pool_max_conns"},
		{"pool size not a number", "postgres://u:secret-pw@127.0.0.1:5432/db?pool_max_conns=many", "pool_max_conns"},
		{"bad health check period", "postgres://u:secret-pw@127.0.0.1:5432/db?pool_health_check_period=soon", "pool_health_check_period"},
		{"more minimum than maximum connections", "postgres://u:secret-pw@127.0.0.1:5432/db?pool_min_conns=5&pool_max_conns=2", "pool_min_conns=5 is more than pool_max_conns=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.dsn)

			if code := kpi.ErrorCode(err); code != kpi.EINVALID {
				t.Fatalf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// Port 1 on the loopback interface has no server, so the connection is
// refused at once.
func TestOpenNoServer(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:secret-pw@127.0.0.1:1/northstar?sslmode=disable&connect_timeout=5")

	if code := kpi.ErrorCode(err); code != kpi.EINVALID {
		t.Fatalf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
	}
	if !strings.Contains(err.Error(), "cannot connect to PostgreSQL at postgres://u:xxxxx@127.0.0.1:1/northstar") {
		t.Errorf("error %q does not name the server", err)
	}
	if strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("error %q shows the password", err)
	}
}

// Opening a database again applies no migration twice, and goose's table
// lists every migration once.
func TestOpenAgainKeepsData(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDatabase(t)

	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	if _, _, err := db.CreateWriteKey(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(ctx, dsn+"&pool_max_conns=2")
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer db.Close()

	s := storeUnderTest{db}
	var keys, workspaces, versions, applied int64
	if err := s.QueryRow(ctx, "SELECT count(*) FROM write_keys", &keys); err != nil {
		t.Fatal(err)
	}
	if err := s.QueryRow(ctx, "SELECT count(*) FROM workspaces", &workspaces); err != nil {
		t.Fatal(err)
	}
	if err := s.QueryRow(ctx, "SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE is_applied", &versions, &applied); err != nil {
		t.Fatal(err)
	}
	if keys != 1 {
		t.Errorf("write keys after reopening = %d, want 1", keys)
	}
	if workspaces != 1 {
		t.Errorf("workspaces after reopening = %d, want 1 (migrations ran twice?)", workspaces)
	}
	// Version 0 marks the table's creation; each file adds one version.
	want := int64(1 + len(migrationFileVersions(t)))
	if versions != want || applied != want {
		t.Errorf("goose_db_version has %d rows for %d versions, want %d for %d", versions, applied, want, want)
	}
	if got := db.pool.Config().MaxConns; got != 2 {
		t.Errorf("pool size = %d, want 2 from pool_max_conns", got)
	}
}
