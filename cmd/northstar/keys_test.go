package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store/postgres"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/store/storetest"
)

// printedSecret matches a write key secret: "ns_wk_" and 52 base32 characters.
var printedSecret = regexp.MustCompile(`ns_wk_[a-z2-7]{52}`)

// createKeyCLI runs keys create and returns the secret it printed.
func createKeyCLI(t *testing.T, db, name string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, "keys", "create", "--name", name, "--db", db)
	if code != exitOK {
		t.Fatalf("keys create --name %s: exit code %d; stderr: %s", name, code, stderr)
	}
	secrets := printedSecret.FindAllString(stdout, -1)
	if len(secrets) != 1 {
		t.Fatalf("keys create printed %d secrets, want 1:\n%s", len(secrets), stdout)
	}
	if !strings.Contains(stdout, "will not be shown again") {
		t.Errorf("keys create does not say the secret will not be shown again:\n%s", stdout)
	}
	return secrets[0]
}

func TestKeysCreateListRevoke(t *testing.T) {
	db := filepath.Join(t.TempDir(), "northstar.db")
	ctx := context.Background()

	webSecret := createKeyCLI(t, db, "web")
	backendSecret := createKeyCLI(t, db, "backend")

	// The printed secret is the one the store accepts.
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key, err := store.AuthenticateWriteKey(ctx, webSecret)
	if err != nil {
		t.Fatalf("the printed secret does not authenticate: %v", err)
	}
	if key.Name != "web" {
		t.Errorf("the printed secret belongs to key %q, want web", key.Name)
	}

	code, stdout, stderr := runCLI(t, "keys", "list", "--db", db)
	if code != exitOK {
		t.Fatalf("keys list: exit code %d; stderr: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("keys list printed %d lines, want a header and 2 keys:\n%s", len(lines), stdout)
	}
	if fields := strings.Fields(lines[0]); strings.Join(fields, " ") != "NAME PREFIX CREATED REVOKED" {
		t.Errorf("header = %q", lines[0])
	}
	// name, prefix, created date, time and zone, revoked
	web := strings.Fields(lines[1])
	if len(web) != 6 || web[0] != "web" || web[1] != webSecret[:12]+"…" || web[5] != "-" {
		t.Errorf("web line = %q, want web, %s…, created, -", lines[1], webSecret[:12])
	}
	if !strings.HasPrefix(lines[2], "backend ") {
		t.Errorf("second line = %q, want the backend key", lines[2])
	}
	if strings.Contains(stdout, webSecret) || strings.Contains(stdout, backendSecret) {
		t.Error("keys list shows a whole secret")
	}

	code, stdout, stderr = runCLI(t, "keys", "revoke", "--name", "web", "--db", db)
	if code != exitOK {
		t.Fatalf("keys revoke: exit code %d; stderr: %s", code, stderr)
	}
	if !strings.Contains(stdout, `Revoked write key "web"`) {
		t.Errorf("keys revoke printed %q", stdout)
	}
	if _, err := store.AuthenticateWriteKey(ctx, webSecret); kpi.ErrorCode(err) != kpi.EUNAUTHORIZED {
		t.Errorf("revoked secret: error %v, want %s", err, kpi.EUNAUTHORIZED)
	}

	_, stdout, _ = runCLI(t, "keys", "list", "--db", db)
	web = strings.Fields(strings.Split(stdout, "\n")[1])
	if len(web) != 8 || web[0] != "web" {
		t.Errorf("web line after revoke = %q, want a revocation date and time", web)
	}
}

func TestKeysErrors(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "northstar.db")
	createKeyCLI(t, db, "web")

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"create without name", []string{"keys", "create", "--db", db}, exitInvalid, "--name NAME is required"},
		{"create invalid name", []string{"keys", "create", "--name", "web app", "--db", db}, exitInvalid, `"web app" contains ' '`},
		{"create taken name", []string{"keys", "create", "--name", "web", "--db", db}, exitFailure, `an active write key named "web" already exists`},
		{"revoke unknown name", []string{"keys", "revoke", "--name", "mobile", "--db", db}, exitInvalid, `no active write key named "mobile"`},
		{"revoke without name", []string{"keys", "revoke", "--db", db}, exitInvalid, "--name NAME is required"},
		{"unknown command", []string{"keys", "rotate"}, exitInvalid, `unknown command "rotate"`},
		{"no command", []string{"keys"}, exitInvalid, "create, list or revoke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)

			if code != tt.code {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.want)
			}
		})
	}
}

// list and revoke do not create a database, unlike create.
func TestKeysMissingDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "missing.db")

	for _, args := range [][]string{{"keys", "list"}, {"keys", "revoke", "--name", "web"}} {
		code, _, stderr := runCLI(t, append(args, "--db", db)...)

		if code != exitInvalid {
			t.Errorf("%v: exit code = %d, want %d; stderr: %s", args, code, exitInvalid, stderr)
		}
		if !strings.Contains(stderr, "does not exist") {
			t.Errorf("%v: stderr %q does not say the database does not exist", args, stderr)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("keys list or revoke created %s (stat: %v)", db, err)
	}

	code, _, _ := runCLI(t, "keys", "list", "--db", db)
	if code != exitInvalid {
		t.Errorf("second keys list: exit code %d", code)
	}
	createKeyCLI(t, db, "web")
	if _, err := os.Stat(db); err != nil {
		t.Errorf("keys create did not create %s: %v", db, err)
	}
}

func TestOpenStoreSelectsBackend(t *testing.T) {
	ctx := context.Background()

	db, err := openStore(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatalf("openStore of a file: %v", err)
	}
	if _, ok := db.(*sqlite.DB); !ok {
		t.Errorf("openStore of a file returned %T, want *sqlite.DB", db)
	}
	db.Close()

	// Port 1 on the loopback interface refuses connections, so the URL
	// must reach the PostgreSQL store and fail there, returning no store.
	for _, dsn := range []string{"postgres://u:secret-pw@127.0.0.1:1/northstar", "postgresql://u@127.0.0.1:1/northstar"} {
		db, err := openStore(ctx, dsn)
		if err == nil || !strings.Contains(err.Error(), "cannot connect to PostgreSQL") {
			t.Errorf("openStore(%q) error = %v, want a PostgreSQL connection error", dsn, err)
		}
		if db != nil {
			t.Errorf("openStore(%q) returned store %#v with its error, want nil", dsn, db)
		}
		if err != nil && strings.Contains(err.Error(), "secret-pw") {
			t.Errorf("error %q shows the password", err)
		}
	}
}

func TestDisplayDSN(t *testing.T) {
	tests := map[string]string{
		"northstar.db": "northstar.db",
		"postgres://northstar:s3cret@127.0.0.1:5432/northstar?sslmode=disable": "postgres://northstar:xxxxx@127.0.0.1:5432/northstar?sslmode=disable",
		"postgresql://northstar@127.0.0.1/northstar":                           "postgresql://northstar@127.0.0.1/northstar",
	}
	for dsn, want := range tests {
		if got := displayDSN(dsn); got != want {
			t.Errorf("displayDSN(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// The keys commands work the same on PostgreSQL, chosen by a postgres:// --db.
func TestKeysPostgres(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	ctx := context.Background()

	secret := createKeyCLI(t, dsn, "web")

	store, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if key, err := store.AuthenticateWriteKey(ctx, secret); err != nil || key.Name != "web" {
		t.Fatalf("the printed secret authenticates as %+v, %v; want key web", key, err)
	}

	code, stdout, stderr := runCLI(t, "keys", "list", "--db", dsn)
	if code != exitOK || !strings.Contains(stdout, secret[:12]+"…") {
		t.Errorf("keys list: exit code %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	code, _, stderr = runCLI(t, "keys", "revoke", "--name", "web", "--db", dsn)
	if code != exitOK {
		t.Fatalf("keys revoke: exit code %d; stderr: %s", code, stderr)
	}
	if _, err := store.AuthenticateWriteKey(ctx, secret); kpi.ErrorCode(err) != kpi.EUNAUTHORIZED {
		t.Errorf("revoked secret: error %v, want %s", err, kpi.EUNAUTHORIZED)
	}
}

// TestKeysWorkspace creates keys of one name in two workspaces and checks
// that each lists, revokes and authenticates in its own.
func TestKeysWorkspace(t *testing.T) {
	db := filepath.Join(t.TempDir(), "northstar.db")
	ctx := context.Background()
	defaultSecret := createKeyCLI(t, db, "web")

	if code, _, stderr := runCLI(t, "workspaces", "create", "second", "--db", db); code != exitOK {
		t.Fatalf("workspaces create: exit code %d; stderr: %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "keys", "create", "--name", "web", "--workspace", "2", "--db", db)
	if code != exitOK {
		t.Fatalf("keys create --workspace 2: exit code %d; stderr: %s", code, stderr)
	}
	secondSecret := printedSecret.FindString(stdout)

	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for secret, want := range map[string]int64{defaultSecret: 1, secondSecret: 2} {
		key, err := store.AuthenticateWriteKey(ctx, secret)
		if err != nil {
			t.Fatalf("secret of workspace %d does not authenticate: %v", want, err)
		}
		if key.WorkspaceID != want {
			t.Errorf("secret of workspace %d belongs to workspace %d", want, key.WorkspaceID)
		}
	}
	var audited int
	if err := store.SQL().QueryRow(`SELECT count(*) FROM audit_log WHERE workspace_id = 2 AND object_type = 'write_key'`).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited != 1 {
		t.Errorf("workspace 2 audit log has %d write key entries, want 1", audited)
	}

	if code, _, stderr := runCLI(t, "keys", "revoke", "--name", "web", "--workspace", "2", "--db", db); code != exitOK {
		t.Fatalf("keys revoke --workspace 2: exit code %d; stderr: %s", code, stderr)
	}
	if _, err := store.AuthenticateWriteKey(ctx, defaultSecret); err != nil {
		t.Errorf("workspace 1's key after revoking workspace 2's key of the same name: %v, want still active", err)
	}
	if _, err := store.AuthenticateWriteKey(ctx, secondSecret); kpi.ErrorCode(err) != kpi.EUNAUTHORIZED {
		t.Errorf("workspace 2's revoked key: %v, want unauthorized", err)
	}
	code, stdout, _ = runCLI(t, "keys", "list", "--workspace", "2", "--db", db)
	if code != exitOK || !strings.Contains(stdout, "web") || strings.Count(stdout, "\n") != 2 {
		t.Errorf("keys list --workspace 2: exit %d, want a header and its one revoked key:\n%s", code, stdout)
	}

	code, _, stderr = runCLI(t, "keys", "create", "--name", "app", "--workspace", "99", "--db", db)
	if code == exitOK || !strings.Contains(stderr, "workspace 99 does not exist") {
		t.Errorf("keys create --workspace 99: exit %d, stderr %q; want an error naming workspace 99", code, stderr)
	}
}
