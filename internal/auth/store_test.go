package auth_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store/postgres"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/store/storetest"
)

// clock is a settable clock for session expiry.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// opener opens a fresh migrated database and returns its handle and dialect.
type opener func(t *testing.T) (*sql.DB, auth.Dialect)

func openSQLite(t *testing.T) (*sql.DB, auth.Dialect) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "auth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.SQL(), auth.SQLite
}

func openPostgres(t *testing.T) (*sql.DB, auth.Dialect) {
	dsn := storetest.PostgresDatabase(t)
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := db.OpenSQL()
	t.Cleanup(func() {
		sqlDB.Close()
		db.Close()
	})
	return sqlDB, auth.PostgreSQL
}

var storeTests = []struct {
	name string
	fn   func(t *testing.T, open opener)
}{
	{"accounts", testAccounts},
	{"bad input", testBadInput},
	{"workspace calendar", testWorkspaceCalendar},
	{"sessions", testSessions},
	{"tokens", testTokens},
	{"members", testMembers},
	{"audit append-only", testAuditAppendOnly},
	{"audit in caller transaction", testAuditInCallerTransaction},
}

func TestStoreSQLite(t *testing.T) {
	for _, tt := range storeTests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, openSQLite) })
	}
}

func TestStorePostgres(t *testing.T) {
	storetest.PostgresServer(t)
	for _, tt := range storeTests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, openPostgres) })
	}
}

func newStore(t *testing.T, open opener) (*auth.Store, *sql.DB, *clock) {
	t.Helper()
	db, dialect := open(t)
	c := &clock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	return auth.NewStore(db, dialect, c.Now), db, c
}

func count(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if kpi.ErrorCode(err) != code {
		t.Errorf("%s: error %v (code %s), want code %s", what, err, kpi.ErrorCode(err), code)
	}
}

func testAccounts(t *testing.T, open opener) {
	s, db, _ := newStore(t, open)
	ctx := context.Background()

	acc, err := s.CreateAccount(ctx, " Ada@Example.com ", "correct horse battery", 1, auth.RoleAdmin, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if acc.Email != "ada@example.com" {
		t.Errorf("email %q, want it trimmed and lowercased", acc.Email)
	}
	var hash string
	if err := db.QueryRow(`SELECT password_hash FROM accounts`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2a$10$") || strings.Contains(hash, "correct horse") {
		t.Errorf("stored password %q, want a bcrypt hash of cost 10", hash)
	}

	if _, err := s.Authenticate(ctx, "ADA@example.com", "correct horse battery"); err != nil {
		t.Errorf("right password: %v", err)
	}
	_, wrong := s.Authenticate(ctx, "ada@example.com", "wrong horse battery")
	_, unknown := s.Authenticate(ctx, "bob@example.com", "correct horse battery")
	wantCode(t, wrong, kpi.EUNAUTHORIZED, "wrong password")
	wantCode(t, unknown, kpi.EUNAUTHORIZED, "unknown e-mail")
	if wrong == nil || unknown == nil || wrong.Error() != unknown.Error() {
		t.Errorf("wrong password %q and unknown e-mail %q give different messages", wrong, unknown)
	}

	_, err = s.CreateAccount(ctx, "ada@example.com", "another password", 1, auth.RoleViewer, "cli")
	wantCode(t, err, kpi.ECONFLICT, "second account with the address")
	if n := count(t, db, `SELECT count(*) FROM accounts`); n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}
}

func testBadInput(t *testing.T, open opener) {
	s, db, _ := newStore(t, open)
	ctx := context.Background()

	_, err := s.CreateAccount(ctx, "ada@example.com", "correct horse battery", 1, auth.Role("owner"), "cli")
	wantCode(t, err, kpi.EINVALID, "unknown role")
	if err != nil && !strings.Contains(err.Error(), `role "owner" does not exist`) {
		t.Errorf("unknown role: %q, want it to name the role", err)
	}
	_, err = s.CreateAccount(ctx, strings.Repeat("a", 250)+"@example.com", "correct horse battery", 1, auth.RoleViewer, "cli")
	wantCode(t, err, kpi.EINVALID, "over-long e-mail address")
	_, err = s.CreateAccount(ctx, "not an address", "correct horse battery", 1, auth.RoleViewer, "cli")
	wantCode(t, err, kpi.EINVALID, "malformed e-mail address")
	_, err = s.CreateAccount(ctx, "ada@example.com", "short", 1, auth.RoleViewer, "cli")
	wantCode(t, err, kpi.EINVALID, "short password")
	_, err = s.CreateAccount(ctx, "ada@example.com", strings.Repeat("p", 73), 1, auth.RoleViewer, "cli")
	wantCode(t, err, kpi.EINVALID, "password over 72 bytes")
	_, err = s.CreateAccount(ctx, "ada@example.com", "correct horse battery", 99, auth.RoleViewer, "cli")
	wantCode(t, err, kpi.ENOTFOUND, "unknown workspace")
	_, err = s.CreateWorkspace(ctx, strings.Repeat("w", auth.MaxWorkspaceNameLen+1), "cli")
	wantCode(t, err, kpi.EINVALID, "over-long workspace name")
	_, _, err = s.CreateToken(ctx, 1, strings.Repeat("t", auth.MaxTokenNameLen+1), auth.RoleViewer, "cli")
	wantCode(t, err, kpi.EINVALID, "over-long token name")
	_, _, err = s.CreateToken(ctx, 1, "reports", auth.Role("root"), "cli")
	wantCode(t, err, kpi.EINVALID, "token with an unknown role")

	for table, want := range map[string]int{"accounts": 0, "memberships": 0, "api_tokens": 0, "workspaces": 1, "audit_log": 0} {
		if n := count(t, db, `SELECT count(*) FROM `+table); n != want {
			t.Errorf("after rejected input, %s has %d rows, want %d", table, n, want)
		}
	}
}

func testSessions(t *testing.T, open opener) {
	s, db, c := newStore(t, open)
	ctx := context.Background()
	acc, err := s.CreateAccount(ctx, "ada@example.com", "correct horse battery", 1, auth.RoleEditor, "cli")
	if err != nil {
		t.Fatal(err)
	}

	sess, secret, err := s.CreateSession(ctx, acc, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM sessions WHERE token_hash = '`+secret+`'`); n != 0 {
		t.Error("the session secret is stored in clear")
	}
	got, err := s.SessionBySecret(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sess.ID || got.Role != auth.RoleEditor || got.WorkspaceID != 1 || got.CSRFToken == "" {
		t.Errorf("session %+v, want id %d, editor in workspace 1, with a CSRF token", got, sess.ID)
	}

	c.now = c.now.Add(time.Hour)
	_, err = s.SessionBySecret(ctx, secret)
	wantCode(t, err, kpi.EUNAUTHORIZED, "expired session")
	if err != nil && !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired session: %q, want it to say expired", err)
	}
	if n, err := s.DeleteExpiredSessions(ctx); err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions: %d, %v, want 1", n, err)
	}

	_, secret, err = s.CreateSession(ctx, acc, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, secret); err != nil {
		t.Fatal(err)
	}
	_, err = s.SessionBySecret(ctx, secret)
	wantCode(t, err, kpi.EUNAUTHORIZED, "deleted session")

	// A password change ends the other sessions and keeps the current one.
	keep, keepSecret, err := s.CreateSession(ctx, acc, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, otherSecret, err := s.CreateSession(ctx, acc, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	err = s.ChangePassword(ctx, acc.ID, "wrong", "new password 12345", keep.ID)
	wantCode(t, err, kpi.EUNAUTHORIZED, "change with a wrong current password")
	if err := s.ChangePassword(ctx, acc.ID, "correct horse battery", "new password 12345", keep.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionBySecret(ctx, keepSecret); err != nil {
		t.Errorf("the current session ended with the password change: %v", err)
	}
	_, err = s.SessionBySecret(ctx, otherSecret)
	wantCode(t, err, kpi.EUNAUTHORIZED, "other session after the password change")
	if _, err := s.Authenticate(ctx, "ada@example.com", "new password 12345"); err != nil {
		t.Errorf("the new password does not sign in: %v", err)
	}
}

func testTokens(t *testing.T, open opener) {
	s, db, _ := newStore(t, open)
	ctx := context.Background()

	tok, secret, err := s.CreateToken(ctx, 1, "reports", auth.RoleViewer, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "ns_at_") || len(secret) != len("ns_at_")+52 || !strings.HasPrefix(secret, tok.Prefix) {
		t.Errorf("secret %q with prefix %q, want ns_at_ and 52 base32 characters", secret, tok.Prefix)
	}
	var stored int
	if err := db.QueryRow(s.Dialect().Rebind(`SELECT count(*) FROM api_tokens WHERE secret_hash = ? OR prefix = ?`), secret, secret).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Error("the token secret is stored in clear")
	}

	got, err := s.AuthenticateToken(ctx, secret)
	if err != nil || got.Role != auth.RoleViewer || got.WorkspaceID != 1 || got.Name != "reports" {
		t.Errorf("AuthenticateToken: %+v, %v", got, err)
	}
	_, _, err = s.CreateToken(ctx, 1, "reports", auth.RoleAdmin, "ada@example.com")
	wantCode(t, err, kpi.ECONFLICT, "second active token with the name")

	if err := s.RevokeToken(ctx, 1, "reports", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = s.AuthenticateToken(ctx, secret)
	wantCode(t, err, kpi.EUNAUTHORIZED, "revoked token")
	err = s.RevokeToken(ctx, 1, "reports", "ada@example.com")
	wantCode(t, err, kpi.ENOTFOUND, "revoking twice")

	// After revoking, the name is free again.
	if _, _, err := s.CreateToken(ctx, 1, "reports", auth.RoleViewer, "ada@example.com"); err != nil {
		t.Errorf("new token with a revoked token's name: %v", err)
	}
	list, err := s.Tokens(ctx, 1)
	if err != nil || len(list) != 2 || list[0].RevokedAt == nil || list[1].RevokedAt != nil {
		t.Errorf("Tokens: %+v, %v; want the revoked one, then the new one", list, err)
	}
}

func testMembers(t *testing.T, open opener) {
	s, _, _ := newStore(t, open)
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "ada@example.com", "correct horse battery", 1, auth.RoleAdmin, "cli"); err != nil {
		t.Fatal(err)
	}
	bob, err := s.CreateAccount(ctx, "bob@example.com", "correct horse battery", 1, auth.RoleViewer, "cli")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := s.SetMember(ctx, 1, "bob@example.com", auth.RoleEditor, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = s.SetMember(ctx, 1, "bob@example.com", auth.Role("superuser"), "ada@example.com")
	wantCode(t, err, kpi.EINVALID, "role that does not exist")
	_, err = s.SetMember(ctx, 1, "carol@example.com", auth.RoleViewer, "ada@example.com")
	wantCode(t, err, kpi.ENOTFOUND, "unknown account")

	members, err := s.Members(ctx, 1)
	if err != nil || len(members) != 2 || members[1].Email != "bob@example.com" || members[1].Role != auth.RoleEditor {
		t.Errorf("Members: %+v, %v; want ada and bob, bob an editor", members, err)
	}

	// The role change is in the audit log with before and after.
	entries, err := s.AuditLog(ctx, 1, 0, 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("AuditLog: %+v, %v", entries, err)
	}
	e := entries[0]
	if e.Action != "update" || e.ObjectType != "member" || e.ObjectID != "bob@example.com" || e.Actor != "ada@example.com" {
		t.Errorf("audit entry %+v, want ada's update of member bob", e)
	}
	var before, after auth.Membership
	if err := json.Unmarshal(e.Before.(json.RawMessage), &before); err != nil || before.Role != auth.RoleViewer {
		t.Errorf("before %s, want role viewer", e.Before)
	}
	if err := json.Unmarshal(e.After.(json.RawMessage), &after); err != nil || after.Role != auth.RoleEditor {
		t.Errorf("after %s, want role editor", e.After)
	}

	// Removing a member ends its sessions there; the last admin stays.
	_, secret, err := s.CreateSession(ctx, bob, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ctx, 1, "bob@example.com", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = s.SessionBySecret(ctx, secret)
	wantCode(t, err, kpi.EUNAUTHORIZED, "session of a removed member")
	err = s.RemoveMember(ctx, 1, "ada@example.com", "ada@example.com")
	wantCode(t, err, kpi.ECONFLICT, "removing the last admin")
	bobAgain, err := s.AccountByEmail(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.CreateSession(ctx, bobAgain, time.Hour)
	wantCode(t, err, kpi.EFORBIDDEN, "sign-in of an account without a workspace")
}

func testAuditAppendOnly(t *testing.T, open opener) {
	s, db, _ := newStore(t, open)
	ctx := context.Background()
	err := s.Record(ctx, auth.AuditEntry{WorkspaceID: 1, Actor: "ada@example.com", Action: "update", ObjectType: "target",
		ObjectID: "revenue", Before: map[string]any{"value": 100}, After: map[string]any{"value": 120}})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := db.Exec(`UPDATE audit_log SET actor = 'mallory'`); err == nil {
		t.Error("UPDATE of the audit log succeeded")
	}
	if _, err := db.Exec(`DELETE FROM audit_log`); err == nil {
		t.Error("DELETE from the audit log succeeded")
	}
	entries, err := s.AuditLog(ctx, 1, 0, 10)
	if err != nil || len(entries) != 1 || entries[0].Actor != "ada@example.com" {
		t.Fatalf("AuditLog: %+v, %v; want the one entry unchanged", entries, err)
	}
	if got := string(entries[0].Before.(json.RawMessage)); got != `{"value":100}` {
		t.Errorf("before %s, want {\"value\":100}", got)
	}
	if got := string(entries[0].After.(json.RawMessage)); got != `{"value":120}` {
		t.Errorf("after %s, want {\"value\":120}", got)
	}
}

func testAuditInCallerTransaction(t *testing.T, open opener) {
	s, db, c := newStore(t, open)
	ctx := context.Background()
	entry := auth.AuditEntry{WorkspaceID: 1, Actor: "ada@example.com", Action: "create", ObjectType: "kpi", ObjectID: "mau",
		After: map[string]string{"name": "MAU"}}

	for _, commit := range []bool{false, true} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		query, args, err := entry.InsertStatement(s.Dialect(), c.now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	entries, err := s.AuditLog(ctx, 1, 0, 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("AuditLog: %+v, %v; want only the committed entry", entries, err)
	}
	if !entries[0].At.Equal(c.now) {
		t.Errorf("entry at %v, want %v", entries[0].At, c.now)
	}
}

func TestRoleAllows(t *testing.T) {
	for _, tt := range []struct {
		have, need auth.Role
		want       bool
	}{
		{auth.RoleViewer, auth.RoleViewer, true},
		{auth.RoleViewer, auth.RoleEditor, false},
		{auth.RoleViewer, auth.RoleAdmin, false},
		{auth.RoleEditor, auth.RoleViewer, true},
		{auth.RoleEditor, auth.RoleEditor, true},
		{auth.RoleEditor, auth.RoleAdmin, false},
		{auth.RoleAdmin, auth.RoleEditor, true},
		{auth.RoleAdmin, auth.RoleAdmin, true},
		{auth.Role("owner"), auth.RoleViewer, false},
		{auth.Role(""), auth.RoleViewer, false},
	} {
		if got := tt.have.Allows(tt.need); got != tt.want {
			t.Errorf("%q allows %q = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
}

// TestAuditInsertWithPgx runs InsertStatement's SQL in a pgx transaction,
// as the PostgreSQL store's own methods would, and reads the entry back.
func TestAuditInsertWithPgx(t *testing.T) {
	storetest.PostgresServer(t)
	dsn := storetest.PostgresDatabase(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := db.OpenSQL()
	t.Cleanup(func() {
		sqlDB.Close()
		db.Close()
	})

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	entry := auth.AuditEntry{WorkspaceID: 1, Actor: "ada@example.com", Action: "update", ObjectType: "target", ObjectID: "revenue",
		Before: map[string]float64{"value": 100}, After: map[string]float64{"value": 120}}
	query, args, err := entry.InsertStatement(auth.PostgreSQL, time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, query, args...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	entries, err := auth.NewStore(sqlDB, auth.PostgreSQL, nil).AuditLog(ctx, 1, 0, 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("AuditLog: %+v, %v; want the one entry", entries, err)
	}
	if got := string(entries[0].Before.(json.RawMessage)); got != `{"value":100}` {
		t.Errorf("before %s, want {\"value\":100}", got)
	}
	if got := string(entries[0].After.(json.RawMessage)); got != `{"value":120}` {
		t.Errorf("after %s, want {\"value\":120}", got)
	}
}

func testWorkspaceCalendar(t *testing.T, open opener) {
	s, db, _ := newStore(t, open)
	ctx := context.Background()
	ws, err := s.CreateWorkspace(ctx, "east", "cli")
	if err != nil {
		t.Fatal(err)
	}
	if ws, err = s.Workspace(ctx, ws.ID); err != nil {
		t.Fatal(err)
	}
	if ws.TimeZone != "UTC" || ws.WeekStart != time.Monday {
		t.Errorf("new workspace calendar = %s from %s, want UTC from Monday", ws.TimeZone, ws.WeekStart)
	}

	wantCode(t, s.SetWorkspaceCalendar(ctx, ws.ID, "Mars/Olympus", time.Monday, "cli"), kpi.EINVALID, "unknown time zone")
	wantCode(t, s.SetWorkspaceCalendar(ctx, ws.ID, "", time.Monday, "cli"), kpi.EINVALID, "empty time zone")
	wantCode(t, s.SetWorkspaceCalendar(ctx, ws.ID, "UTC", time.Weekday(7), "cli"), kpi.EINVALID, "week start past Saturday")
	wantCode(t, s.SetWorkspaceCalendar(ctx, 99, "UTC", time.Monday, "cli"), kpi.ENOTFOUND, "unknown workspace")
	if n := count(t, db, `SELECT count(*) FROM audit_log WHERE action = 'update'`); n != 0 {
		t.Errorf("after rejected calendars, %d update entries in the audit log, want 0", n)
	}

	if err := s.SetWorkspaceCalendar(ctx, ws.ID, "America/New_York", time.Sunday, "cli"); err != nil {
		t.Fatal(err)
	}
	if ws, err = s.Workspace(ctx, ws.ID); err != nil {
		t.Fatal(err)
	}
	if ws.TimeZone != "America/New_York" || ws.WeekStart != time.Sunday {
		t.Errorf("workspace calendar = %s from %s, want America/New_York from Sunday", ws.TimeZone, ws.WeekStart)
	}
	if n := count(t, db, `SELECT count(*) FROM audit_log WHERE action = 'update' AND object_type = 'workspace'`); n != 1 {
		t.Errorf("%d workspace update entries in the audit log, want 1", n)
	}
}
