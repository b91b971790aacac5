package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// APIToken lets a script call the API with a role in one workspace. Only a
// hash of its secret is stored; the secret is shown once, at creation.
type APIToken struct {
	ID          int64      `json:"id"`
	WorkspaceID int64      `json:"workspace_id"`
	Name        string     `json:"name"`
	Role        Role       `json:"role"`
	Prefix      string     `json:"prefix"` // the first characters of the secret
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// CreateToken creates an API token and returns it with its secret, the
// only copy. It returns EINVALID for a bad name or role, ENOTFOUND for an
// unknown workspace and ECONFLICT when an active token has the name.
func (s *Store) CreateToken(ctx context.Context, workspaceID int64, name string, role Role, actor string) (APIToken, string, error) {
	name = strings.TrimSpace(name)
	if err := validateName("token name", name, MaxTokenNameLen); err != nil {
		return APIToken{}, "", err
	}
	// Like write key names, token names go in URL paths and commands, so
	// they take no spaces.
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return APIToken{}, "", kpi.Errorf(kpi.EINVALID, "token name %q contains %q (use letters, digits, '.', '_' and '-', such as \"weekly-report\")", name, r)
		}
	}
	if _, err := ParseRole(string(role)); err != nil {
		return APIToken{}, "", err
	}
	if _, err := s.Workspace(ctx, workspaceID); err != nil {
		return APIToken{}, "", err
	}
	secret, err := newSecret(APITokenPrefix)
	if err != nil {
		return APIToken{}, "", fmt.Errorf("create API token: %w", err)
	}

	tok := APIToken{WorkspaceID: workspaceID, Name: name, Role: role,
		Prefix: secret[:len(APITokenPrefix)+shownRandomChars], CreatedAt: time.UnixMicro(s.nowMicros()).UTC()}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var active int
		err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM api_tokens WHERE workspace_id = ? AND name = ? AND revoked_at IS NULL`),
			workspaceID, name).Scan(&active)
		if err != nil {
			return err
		}
		if active > 0 {
			return kpi.Errorf(kpi.ECONFLICT, "an active API token named %q already exists in workspace %d (revoke it first or pick another name)", name, workspaceID)
		}
		err = tx.QueryRowContext(ctx, s.q(`
			INSERT INTO api_tokens (workspace_id, name, role, prefix, secret_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			workspaceID, name, string(role), tok.Prefix, hashSecret(secret), tok.CreatedAt.UnixMicro()).Scan(&tok.ID)
		if err != nil {
			return err
		}
		return s.recordTx(ctx, tx, AuditEntry{WorkspaceID: workspaceID, Actor: actor, Action: "create", ObjectType: "api_token",
			ObjectID: name, After: tok})
	})
	if err != nil {
		return APIToken{}, "", wrap(err, "create API token %q", name)
	}
	return tok, secret, nil
}

// Tokens returns the API tokens of workspaceID, revoked ones included,
// oldest first.
func (s *Store) Tokens(ctx context.Context, workspaceID int64) ([]APIToken, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`
		SELECT id, name, role, prefix, created_at, revoked_at FROM api_tokens
		WHERE workspace_id = ? ORDER BY created_at, id`), workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	defer rows.Close()

	list := []APIToken{}
	for rows.Next() {
		tok := APIToken{WorkspaceID: workspaceID}
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&tok.ID, &tok.Name, &tok.Role, &tok.Prefix, &created, &revoked); err != nil {
			return nil, fmt.Errorf("list API tokens: %w", err)
		}
		tok.CreatedAt = time.UnixMicro(created).UTC()
		if revoked.Valid {
			t := time.UnixMicro(revoked.Int64).UTC()
			tok.RevokedAt = &t
		}
		list = append(list, tok)
	}
	return list, rows.Err()
}

// RevokeToken revokes the active API token named name in workspaceID and
// records it. It returns ENOTFOUND when no active token has the name.
func (s *Store) RevokeToken(ctx context.Context, workspaceID int64, name, actor string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.nowMicros()
		r, err := tx.ExecContext(ctx, s.q(`UPDATE api_tokens SET revoked_at = ? WHERE workspace_id = ? AND name = ? AND revoked_at IS NULL`),
			now, workspaceID, name)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return kpi.Errorf(kpi.ENOTFOUND, "no active API token named %q in workspace %d", name, workspaceID)
		}
		return s.recordTx(ctx, tx, AuditEntry{WorkspaceID: workspaceID, Actor: actor, Action: "revoke", ObjectType: "api_token",
			ObjectID: name, Before: map[string]any{"revoked_at": nil}, After: map[string]any{"revoked_at": time.UnixMicro(now).UTC()}})
	})
	return wrap(err, "revoke API token %q", name)
}

// AuthenticateToken returns the active API token whose secret is secret.
// It returns EUNAUTHORIZED when the secret is unknown or the token revoked.
func (s *Store) AuthenticateToken(ctx context.Context, secret string) (APIToken, error) {
	var tok APIToken
	var created int64
	var revoked sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q(`
		SELECT id, workspace_id, name, role, prefix, created_at, revoked_at FROM api_tokens WHERE secret_hash = ?`),
		hashSecret(secret)).Scan(&tok.ID, &tok.WorkspaceID, &tok.Name, &tok.Role, &tok.Prefix, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, kpi.Errorf(kpi.EUNAUTHORIZED, "unknown API token")
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("authenticate API token: %w", err)
	}
	if revoked.Valid {
		return APIToken{}, kpi.Errorf(kpi.EUNAUTHORIZED, "API token %s… was revoked", tok.Prefix)
	}
	tok.CreatedAt = time.UnixMicro(created).UTC()
	return tok, nil
}
