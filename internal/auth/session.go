package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Session is a signed-in browser. Its secret lives only in the browser's
// cookie; the store keeps its hash.
type Session struct {
	ID          int64
	AccountID   int64
	Email       string
	WorkspaceID int64
	Role        Role   // the account's current role in WorkspaceID
	CSRFToken   string // sent back with every state-changing request
	ExpiresAt   time.Time
}

// CreateSession starts a session for the account in the lowest-numbered
// workspace it is a member of, valid for ttl. It returns the session and
// its secret, the cookie value. It returns EFORBIDDEN when the account is
// a member of no workspace.
func (s *Store) CreateSession(ctx context.Context, acc Account, ttl time.Duration) (Session, string, error) {
	workspaceID, err := s.firstWorkspace(ctx, acc.ID, acc.Email)
	if err != nil {
		return Session{}, "", err
	}
	secret, err := newSecret(sessionPrefix)
	if err != nil {
		return Session{}, "", fmt.Errorf("create session: %w", err)
	}
	csrf, err := newSecret("")
	if err != nil {
		return Session{}, "", fmt.Errorf("create session: %w", err)
	}

	now := s.now().UTC()
	sess := Session{AccountID: acc.ID, Email: acc.Email, WorkspaceID: workspaceID, CSRFToken: csrf,
		ExpiresAt: now.Add(ttl).Truncate(time.Microsecond)}
	err = s.db.QueryRowContext(ctx, s.q(`
		INSERT INTO sessions (token_hash, account_id, workspace_id, csrf_token, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
		hashSecret(secret), acc.ID, workspaceID, csrf, now.UnixMicro(), sess.ExpiresAt.UnixMicro()).Scan(&sess.ID)
	if err != nil {
		return Session{}, "", fmt.Errorf("create session for %s: %w", acc.Email, err)
	}
	return sess, secret, nil
}

// SessionBySecret returns the session whose cookie value is secret, with
// the account's current role in its workspace. It returns EUNAUTHORIZED for
// an unknown or expired session, and for an account that is no longer a
// member of the session's workspace.
func (s *Store) SessionBySecret(ctx context.Context, secret string) (Session, error) {
	var sess Session
	var expires int64
	var role sql.NullString
	err := s.db.QueryRowContext(ctx, s.q(`
		SELECT s.id, s.account_id, a.email, s.workspace_id, s.csrf_token, s.expires_at, m.role
		FROM sessions s
		JOIN accounts a ON a.id = s.account_id
		LEFT JOIN memberships m ON m.account_id = s.account_id AND m.workspace_id = s.workspace_id
		WHERE s.token_hash = ?`), hashSecret(secret)).
		Scan(&sess.ID, &sess.AccountID, &sess.Email, &sess.WorkspaceID, &sess.CSRFToken, &expires, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, kpi.Errorf(kpi.EUNAUTHORIZED, "the session has ended; sign in again")
	}
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	sess.ExpiresAt = time.UnixMicro(expires).UTC()
	if !s.now().Before(sess.ExpiresAt) {
		return Session{}, kpi.Errorf(kpi.EUNAUTHORIZED, "the session expired at %s; sign in again", sess.ExpiresAt.Format(time.RFC3339))
	}
	if !role.Valid {
		return Session{}, kpi.Errorf(kpi.EUNAUTHORIZED, "%s is no longer a member of workspace %d; sign in again", sess.Email, sess.WorkspaceID)
	}
	sess.Role = Role(role.String)
	return sess, nil
}

// DeleteSession ends the session whose cookie value is secret. Ending an
// unknown session does nothing.
func (s *Store) DeleteSession(ctx context.Context, secret string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE token_hash = ?`), hashSecret(secret)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions that expired before now and
// returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	r, err := s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at <= ?`), s.nowMicros())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return r.RowsAffected()
}

// AccountWorkspace is a workspace that an account is a member of.
type AccountWorkspace struct {
	Workspace
	Role Role
}

// AccountWorkspaces returns the workspaces the account is a member of, by id.
func (s *Store) AccountWorkspaces(ctx context.Context, accountID int64) ([]AccountWorkspace, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`
		SELECT w.id, w.name, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
		WHERE m.account_id = ? ORDER BY w.id`), accountID)
	if err != nil {
		return nil, fmt.Errorf("list workspaces of account %d: %w", accountID, err)
	}
	defer rows.Close()

	var list []AccountWorkspace
	for rows.Next() {
		var aw AccountWorkspace
		if err := rows.Scan(&aw.ID, &aw.Name, &aw.Role); err != nil {
			return nil, fmt.Errorf("list workspaces of account %d: %w", accountID, err)
		}
		list = append(list, aw)
	}
	return list, rows.Err()
}

// SwitchWorkspace moves the session to workspaceID. It returns EFORBIDDEN
// when the session's account is not a member of that workspace, and then
// changes nothing.
func (s *Store) SwitchWorkspace(ctx context.Context, sess Session, workspaceID int64) error {
	var role string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT role FROM memberships WHERE workspace_id = ? AND account_id = ?`),
		workspaceID, sess.AccountID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return kpi.Errorf(kpi.EFORBIDDEN, "%s is not a member of workspace %d", sess.Email, workspaceID)
	}
	if err != nil {
		return fmt.Errorf("switch session to workspace %d: %w", workspaceID, err)
	}
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE sessions SET workspace_id = ? WHERE id = ?`), workspaceID, sess.ID); err != nil {
		return fmt.Errorf("switch session to workspace %d: %w", workspaceID, err)
	}
	return nil
}
