package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry records one change: who made it, when, to what, and the object
// before and after. Before is nil for a creation and After for a deletion.
type AuditEntry struct {
	ID          int64     `json:"id"`
	WorkspaceID int64     `json:"workspace_id"`
	At          time.Time `json:"at"`          // set by the store when zero
	Actor       string    `json:"actor"`       // an e-mail address, "token:NAME" or "cli"
	Action      string    `json:"action"`      // create, update, delete, revoke, ...
	ObjectType  string    `json:"object_type"` // kpi, target, dashboard, alert_rule, member, api_token, ...
	ObjectID    string    `json:"object_id"`
	Before      any       `json:"before"` // marshalled to JSON when stored; json.RawMessage when read
	After       any       `json:"after"`
}

// auditInsert is the statement that InsertStatement and recordTx run.
const auditInsert = `INSERT INTO audit_log (workspace_id, at, actor, action, object_type, object_id, before_json, after_json)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// InsertStatement returns the SQL and arguments that append e to the audit
// log, for stores that record a change in their own transaction: run them
// with that transaction's Exec. A zero e.At becomes now.
func (e AuditEntry) InsertStatement(d Dialect, now time.Time) (string, []any, error) {
	at := e.At
	if at.IsZero() {
		at = now
	}
	before, err := auditJSON(e.Before)
	if err != nil {
		return "", nil, fmt.Errorf("audit %s %s %q: before: %w", e.Action, e.ObjectType, e.ObjectID, err)
	}
	after, err := auditJSON(e.After)
	if err != nil {
		return "", nil, fmt.Errorf("audit %s %s %q: after: %w", e.Action, e.ObjectType, e.ObjectID, err)
	}
	return d.Rebind(auditInsert), []any{e.WorkspaceID, at.UTC().UnixMicro(), e.Actor, e.Action, e.ObjectType, e.ObjectID, before, after}, nil
}

// auditJSON returns v as a JSON string, or NULL for nil.
func auditJSON(v any) (sql.NullString, error) {
	if v == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// Record appends e to the audit log in a transaction of its own. Prefer
// recording in the transaction that makes the change (InsertStatement).
func (s *Store) Record(ctx context.Context, e AuditEntry) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.recordTx(ctx, tx, e) })
}

func (s *Store) recordTx(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	query, args, err := e.InsertStatement(s.dialect, s.now())
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("audit %s %s %q: %w", e.Action, e.ObjectType, e.ObjectID, err)
	}
	return nil
}

// AuditLog returns up to limit entries of workspaceID, newest first, with
// ids below beforeID when beforeID is positive (for paging).
func (s *Store) AuditLog(ctx context.Context, workspaceID int64, beforeID int64, limit int) ([]AuditEntry, error) {
	query := `SELECT id, at, actor, action, object_type, object_id, before_json, after_json FROM audit_log WHERE workspace_id = ?`
	args := []any{workspaceID}
	if beforeID > 0 {
		query += ` AND id < ?`
		args = append(args, beforeID)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)

	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log of workspace %d: %w", workspaceID, err)
	}
	defer rows.Close()

	list := []AuditEntry{}
	for rows.Next() {
		e := AuditEntry{WorkspaceID: workspaceID}
		var at int64
		var before, after sql.NullString
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &before, &after); err != nil {
			return nil, fmt.Errorf("read audit log of workspace %d: %w", workspaceID, err)
		}
		e.At = time.UnixMicro(at).UTC()
		if before.Valid {
			e.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			e.After = json.RawMessage(after.String)
		}
		list = append(list, e)
	}
	return list, rows.Err()
}
