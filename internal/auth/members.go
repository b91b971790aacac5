package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// SetMember gives the account with the e-mail address role in workspaceID,
// adding it as a member or changing its role, and records the change in the
// audit log in the same transaction. It returns EINVALID for a role that
// does not exist and ENOTFOUND for an unknown account or workspace.
func (s *Store) SetMember(ctx context.Context, workspaceID int64, email string, role Role, actor string) (Membership, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return Membership{}, err
	}
	if _, err := s.Workspace(ctx, workspaceID); err != nil {
		return Membership{}, err
	}
	acc, err := s.AccountByEmail(ctx, email)
	if err != nil {
		return Membership{}, err
	}

	err = s.inTx(ctx, func(tx *sql.Tx) error {
		return s.setMemberTx(ctx, tx, workspaceID, acc.ID, acc.Email, role, actor)
	})
	if err != nil {
		return Membership{}, wrap(err, "set role of %s in workspace %d", acc.Email, workspaceID)
	}
	return Membership{WorkspaceID: workspaceID, AccountID: acc.ID, Email: acc.Email, Role: role}, nil
}

func (s *Store) setMemberTx(ctx context.Context, tx *sql.Tx, workspaceID, accountID int64, email string, role Role, actor string) error {
	var before *Membership
	var old string
	err := tx.QueryRowContext(ctx, s.q(`SELECT role FROM memberships WHERE workspace_id = ? AND account_id = ?`),
		workspaceID, accountID).Scan(&old)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO memberships (workspace_id, account_id, role, created_at) VALUES (?, ?, ?, ?)`),
			workspaceID, accountID, string(role), s.nowMicros())
	case err == nil:
		before = &Membership{WorkspaceID: workspaceID, AccountID: accountID, Email: email, Role: Role(old)}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE memberships SET role = ? WHERE workspace_id = ? AND account_id = ?`),
			string(role), workspaceID, accountID)
	}
	if err != nil {
		return err
	}

	entry := AuditEntry{WorkspaceID: workspaceID, Actor: actor, Action: "create", ObjectType: "member", ObjectID: email,
		After: Membership{WorkspaceID: workspaceID, AccountID: accountID, Email: email, Role: role}}
	if before != nil {
		entry.Action, entry.Before = "update", before
	}
	return s.recordTx(ctx, tx, entry)
}

// RemoveMember takes the account with the e-mail address out of
// workspaceID, ends its sessions there and records the change. It returns
// ENOTFOUND when the account is not a member, and ECONFLICT when it is the
// workspace's last admin.
func (s *Store) RemoveMember(ctx context.Context, workspaceID int64, email, actor string) error {
	acc, err := s.AccountByEmail(ctx, email)
	if err != nil {
		return err
	}

	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var role string
		err := tx.QueryRowContext(ctx, s.q(`SELECT role FROM memberships WHERE workspace_id = ? AND account_id = ?`),
			workspaceID, acc.ID).Scan(&role)
		if errors.Is(err, sql.ErrNoRows) {
			return kpi.Errorf(kpi.ENOTFOUND, "%s is not a member of workspace %d", acc.Email, workspaceID)
		}
		if err != nil {
			return err
		}
		if Role(role) == RoleAdmin {
			var admins int
			err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM memberships WHERE workspace_id = ? AND role = 'admin'`),
				workspaceID).Scan(&admins)
			if err != nil {
				return err
			}
			if admins <= 1 {
				return kpi.Errorf(kpi.ECONFLICT, "%s is the last admin of workspace %d; make another member admin first", acc.Email, workspaceID)
			}
		}

		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM memberships WHERE workspace_id = ? AND account_id = ?`), workspaceID, acc.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE workspace_id = ? AND account_id = ?`), workspaceID, acc.ID); err != nil {
			return err
		}
		return s.recordTx(ctx, tx, AuditEntry{WorkspaceID: workspaceID, Actor: actor, Action: "delete", ObjectType: "member",
			ObjectID: acc.Email, Before: Membership{WorkspaceID: workspaceID, AccountID: acc.ID, Email: acc.Email, Role: Role(role)}})
	})
	return wrap(err, "remove %s from workspace %d", acc.Email, workspaceID)
}

// Members returns the members of workspaceID, by e-mail address.
func (s *Store) Members(ctx context.Context, workspaceID int64) ([]Membership, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`
		SELECT m.account_id, a.email, m.role FROM memberships m JOIN accounts a ON a.id = m.account_id
		WHERE m.workspace_id = ? ORDER BY a.email`), workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list members of workspace %d: %w", workspaceID, err)
	}
	defer rows.Close()

	list := []Membership{}
	for rows.Next() {
		m := Membership{WorkspaceID: workspaceID}
		if err := rows.Scan(&m.AccountID, &m.Email, &m.Role); err != nil {
			return nil, fmt.Errorf("list members of workspace %d: %w", workspaceID, err)
		}
		list = append(list, m)
	}
	return list, rows.Err()
}

// firstWorkspace returns the lowest workspace id the account is a member
// of, or EFORBIDDEN when it is a member of none.
func (s *Store) firstWorkspace(ctx context.Context, accountID int64, email string) (int64, error) {
	var id sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT min(workspace_id) FROM memberships WHERE account_id = ?`), accountID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("read workspaces of account %s: %w", email, err)
	}
	if !id.Valid {
		return 0, kpi.Errorf(kpi.EFORBIDDEN, "%s is not a member of any workspace; ask an admin to add you", email)
	}
	return id.Int64, nil
}

func formatID(id int64) string { return strconv.FormatInt(id, 10) }
