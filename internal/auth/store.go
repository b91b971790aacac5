package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Dialect is the SQL dialect of a Store's database.
type Dialect int

// The dialects a Store can use.
const (
	SQLite Dialect = iota
	PostgreSQL
)

// Rebind rewrites the ? placeholders of query into $1, $2, ... for
// PostgreSQL and returns it unchanged for SQLite. Queries must not contain
// a literal question mark.
func (d Dialect) Rebind(query string) string {
	if d != PostgreSQL {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Limits of names.
const (
	MaxWorkspaceNameLen = 100
	MaxTokenNameLen     = 64
)

// Workspace is a set of KPIs, dashboards, events and members that nothing
// crosses out of. Workspace 1, "default", always exists.
type Workspace struct {
	ID   int64
	Name string

	// TimeZone (an IANA name) and WeekStart are the calendar that the
	// workspace's KPIs count days and weeks in, UTC and Monday unless set.
	// The KPI file's calendar overrides them in the default workspace.
	TimeZone  string
	WeekStart time.Weekday
}

// DefaultWorkspaceID is the workspace that the first migration creates.
const DefaultWorkspaceID = 1

// Account is a person who signs in with an e-mail address and a password.
type Account struct {
	ID        int64
	Email     string
	CreatedAt time.Time
}

// Membership gives an account a role in a workspace.
type Membership struct {
	WorkspaceID int64  `json:"workspace_id"`
	AccountID   int64  `json:"account_id"`
	Email       string `json:"email"`
	Role        Role   `json:"role"`
}

// Store keeps accounts, memberships, sessions, API tokens and the audit log
// in a migrated Northstar database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	now     func() time.Time
}

// NewStore returns a store on db, which must have Northstar's migrations
// applied. now is the clock for timestamps and expiry, nil for time.Now.
func NewStore(db *sql.DB, dialect Dialect, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, dialect: dialect, now: now}
}

// Dialect returns the dialect of the store's database.
func (s *Store) Dialect() Dialect { return s.dialect }

func (s *Store) q(query string) string { return s.dialect.Rebind(query) }

func (s *Store) nowMicros() int64 { return s.now().UTC().UnixMicro() }

// inTx runs fn in a transaction and commits it when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// CreateWorkspace creates a workspace named name and returns it. It returns
// EINVALID for an empty or over-long name.
func (s *Store) CreateWorkspace(ctx context.Context, name, actor string) (Workspace, error) {
	name = strings.TrimSpace(name)
	if err := validateName("workspace name", name, MaxWorkspaceNameLen); err != nil {
		return Workspace{}, err
	}

	ws := Workspace{Name: name}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO workspaces (name, created_at) VALUES (?, ?) RETURNING id`),
			name, s.nowMicros()).Scan(&ws.ID)
		if err != nil {
			return err
		}
		return s.recordTx(ctx, tx, AuditEntry{WorkspaceID: ws.ID, Actor: actor, Action: "create", ObjectType: "workspace",
			ObjectID: strconv.FormatInt(ws.ID, 10), After: ws})
	})
	if err != nil {
		return Workspace{}, fmt.Errorf("create workspace %q: %w", name, err)
	}
	return ws, nil
}

// Workspace returns the workspace with id, or ENOTFOUND.
func (s *Store) Workspace(ctx context.Context, id int64) (Workspace, error) {
	ws := Workspace{ID: id}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT name, time_zone, week_start FROM workspaces WHERE id = ?`), id).Scan(&ws.Name, &ws.TimeZone, &ws.WeekStart)
	if errors.Is(err, sql.ErrNoRows) {
		return Workspace{}, kpi.Errorf(kpi.ENOTFOUND, "workspace %d does not exist (list them with northstar workspaces list)", id)
	}
	if err != nil {
		return Workspace{}, fmt.Errorf("read workspace %d: %w", id, err)
	}
	return ws, nil
}

// Workspaces returns every workspace, by id.
func (s *Store) Workspaces(ctx context.Context) ([]Workspace, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, time_zone, week_start FROM workspaces ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	defer rows.Close()
	var list []Workspace
	for rows.Next() {
		var ws Workspace
		if err := rows.Scan(&ws.ID, &ws.Name, &ws.TimeZone, &ws.WeekStart); err != nil {
			return nil, fmt.Errorf("list workspaces: %w", err)
		}
		list = append(list, ws)
	}
	return list, rows.Err()
}

// SetWorkspaceCalendar sets the time zone and week start of workspace id
// and records the change in its audit log. It returns EINVALID for a time
// zone that is not an IANA name, ENOTFOUND for an unknown workspace.
func (s *Store) SetWorkspaceCalendar(ctx context.Context, id int64, timeZone string, weekStart time.Weekday, actor string) error {
	if _, err := time.LoadLocation(timeZone); err != nil || timeZone == "" || timeZone == "Local" {
		return kpi.Errorf(kpi.EINVALID, "time zone %q is not a known IANA name (want one such as Europe/Berlin or America/New_York)", timeZone)
	}
	if weekStart < time.Sunday || weekStart > time.Saturday {
		return kpi.Errorf(kpi.EINVALID, "week start %d is not a weekday (want 0 for Sunday to 6 for Saturday)", weekStart)
	}
	before, err := s.Workspace(ctx, id)
	if err != nil {
		return err
	}

	after := before
	after.TimeZone, after.WeekStart = timeZone, weekStart
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE workspaces SET time_zone = ?, week_start = ? WHERE id = ?`), timeZone, int(weekStart), id); err != nil {
			return fmt.Errorf("set the calendar of workspace %d: %w", id, err)
		}
		return s.recordTx(ctx, tx, AuditEntry{WorkspaceID: id, Actor: actor, Action: "update", ObjectType: "workspace",
			ObjectID: strconv.FormatInt(id, 10), Before: before, After: after})
	})
}

// CreateAccount creates an account with a member role in workspaceID, and
// records both in the audit log, in one transaction. It returns EINVALID
// for a bad e-mail address, password or role, ENOTFOUND for an unknown
// workspace and ECONFLICT when the address already has an account.
func (s *Store) CreateAccount(ctx context.Context, email, password string, workspaceID int64, role Role, actor string) (Account, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return Account{}, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return Account{}, err
	}
	if _, err := s.Workspace(ctx, workspaceID); err != nil {
		return Account{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return Account{}, err
	}

	acc := Account{Email: email, CreatedAt: time.UnixMicro(s.nowMicros()).UTC()}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var exists int
		err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM accounts WHERE email = ?`), email).Scan(&exists)
		if err != nil {
			return err
		}
		if exists > 0 {
			return kpi.Errorf(kpi.ECONFLICT, "an account with the e-mail address %s already exists", email)
		}
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO accounts (email, password_hash, created_at) VALUES (?, ?, ?) RETURNING id`),
			email, hash, acc.CreatedAt.UnixMicro()).Scan(&acc.ID)
		if err != nil {
			return err
		}
		if err := s.recordTx(ctx, tx, AuditEntry{WorkspaceID: workspaceID, Actor: actor, Action: "create", ObjectType: "account",
			ObjectID: email, After: map[string]any{"id": acc.ID, "email": email}}); err != nil {
			return err
		}
		return s.setMemberTx(ctx, tx, workspaceID, acc.ID, email, role, actor)
	})
	if err != nil {
		return Account{}, wrap(err, "create account %s", email)
	}
	return acc, nil
}

// AccountByEmail returns the account with the e-mail address, or ENOTFOUND.
func (s *Store) AccountByEmail(ctx context.Context, email string) (Account, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	acc := Account{Email: email}
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, created_at FROM accounts WHERE email = ?`), email).Scan(&acc.ID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, kpi.Errorf(kpi.ENOTFOUND, "no account has the e-mail address %s", email)
	}
	if err != nil {
		return Account{}, fmt.Errorf("read account %s: %w", email, err)
	}
	acc.CreatedAt = time.UnixMicro(created).UTC()
	return acc, nil
}

// ErrWrongCredentials is the one message for an unknown e-mail address and
// a wrong password, so that sign-in does not reveal which addresses exist.
const ErrWrongCredentials = "wrong e-mail address or password"

// Authenticate returns the account whose e-mail address and password match.
// It returns EUNAUTHORIZED with ErrWrongCredentials for an unknown address
// and for a wrong password alike, after the same bcrypt work.
func (s *Store) Authenticate(ctx context.Context, email, password string) (Account, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	acc := Account{Email: email}
	var hash string
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, password_hash, created_at FROM accounts WHERE email = ?`), email).
		Scan(&acc.ID, &hash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		_, _ = checkPassword(string(dummyHash), password)
		return Account{}, kpi.Errorf(kpi.EUNAUTHORIZED, ErrWrongCredentials)
	}
	if err != nil {
		return Account{}, fmt.Errorf("read account %s: %w", email, err)
	}
	ok, err := checkPassword(hash, password)
	if err != nil {
		return Account{}, err
	}
	if !ok {
		return Account{}, kpi.Errorf(kpi.EUNAUTHORIZED, ErrWrongCredentials)
	}
	acc.CreatedAt = time.UnixMicro(created).UTC()
	return acc, nil
}

// ChangePassword replaces the password of the account after checking the
// current one, and ends the account's other sessions. It returns
// EUNAUTHORIZED when current is wrong and EINVALID for a bad new password.
func (s *Store) ChangePassword(ctx context.Context, accountID int64, current, next string, keepSessionID int64) error {
	var email, hash string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT email, password_hash FROM accounts WHERE id = ?`), accountID).Scan(&email, &hash)
	if err != nil {
		return fmt.Errorf("read account %d: %w", accountID, err)
	}
	ok, err := checkPassword(hash, current)
	if err != nil {
		return err
	}
	if !ok {
		return kpi.Errorf(kpi.EUNAUTHORIZED, "the current password is wrong; the password was not changed")
	}
	newHash, err := HashPassword(next)
	if err != nil {
		return err
	}

	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE accounts SET password_hash = ? WHERE id = ?`), newHash, accountID); err != nil {
			return fmt.Errorf("change password of %s: %w", email, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE account_id = ? AND id <> ?`), accountID, keepSessionID); err != nil {
			return fmt.Errorf("end other sessions of %s: %w", email, err)
		}
		return s.recordTx(ctx, tx, AuditEntry{WorkspaceID: DefaultWorkspaceID, Actor: email, Action: "change_password",
			ObjectType: "account", ObjectID: email})
	})
}

// validateName returns EINVALID for an empty name or one longer than max
// characters.
func validateName(what, name string, max int) error {
	if name == "" {
		return kpi.Errorf(kpi.EINVALID, "%s is empty", what)
	}
	if n := len([]rune(name)); n > max {
		return kpi.Errorf(kpi.EINVALID, "%s is %d characters long; the maximum is %d", what, n, max)
	}
	return nil
}

// wrap adds context to an internal error and returns a *kpi.Error as is,
// so that its message reaches the user unchanged.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var ke *kpi.Error
	if errors.As(err, &ke) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
