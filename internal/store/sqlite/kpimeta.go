package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// CreateAnnotation validates and stores a, and returns it with its id and
// creation time. It returns EINVALID for a wrong kind, date or note.
func (db *DB) CreateAnnotation(ctx context.Context, a kpi.Annotation) (kpi.Annotation, error) {
	if err := a.Validate(); err != nil {
		return kpi.Annotation{}, err
	}

	a.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	err := db.db.QueryRowContext(ctx, `
		INSERT INTO annotations (workspace_id, kpi_id, kind, date, note, author, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		db.workspaceID, nullIfEmpty(a.KPI), string(a.Kind), a.Date.String(), a.Note, a.Author, micros(a.CreatedAt)).Scan(&a.ID)
	if err != nil {
		return kpi.Annotation{}, fmt.Errorf("create annotation on %q: %w", a.KPI, err)
	}
	return a, nil
}

// ListAnnotations returns the annotations q selects, by date, then in the
// order they were made.
func (db *DB) ListAnnotations(ctx context.Context, q store.AnnotationQuery) ([]kpi.Annotation, error) {
	from, to := q.Bounds()
	rows, err := db.db.QueryContext(ctx, `
		SELECT id, kpi_id, kind, date, note, author, created_at FROM annotations
		WHERE workspace_id = ? AND (? = '' OR kpi_id IS NULL OR kpi_id = ?) AND date >= ? AND date <= ?
		ORDER BY date, id`,
		db.workspaceID, q.KPI, q.KPI, from, to)
	if err != nil {
		return nil, fmt.Errorf("list annotations: %w", err)
	}
	defer rows.Close()

	var out []kpi.Annotation
	for rows.Next() {
		a, err := scanAnnotation(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list annotations: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list annotations: %w", err)
	}
	return out, nil
}

// Annotation returns the annotation with the given id, or ENOTFOUND.
func (db *DB) Annotation(ctx context.Context, id int64) (kpi.Annotation, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT id, kpi_id, kind, date, note, author, created_at FROM annotations
		WHERE workspace_id = ? AND id = ?`, db.workspaceID, id)
	a, err := scanAnnotation(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return kpi.Annotation{}, kpi.Errorf(kpi.ENOTFOUND, "annotation %d not found", id)
	}
	if err != nil {
		return kpi.Annotation{}, fmt.Errorf("read annotation %d: %w", id, err)
	}
	return a, nil
}

// DeleteAnnotation deletes the annotation with the given id. It returns
// ENOTFOUND when there is none.
func (db *DB) DeleteAnnotation(ctx context.Context, id int64) error {
	r, err := db.db.ExecContext(ctx, `DELETE FROM annotations WHERE workspace_id = ? AND id = ?`, db.workspaceID, id)
	if err != nil {
		return fmt.Errorf("delete annotation %d: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return kpi.Errorf(kpi.ENOTFOUND, "annotation %d not found", id)
	}
	return nil
}

// CreateFeedback validates and stores f, and returns it with its id and
// creation time. It returns EINVALID for empty or over-long text.
func (db *DB) CreateFeedback(ctx context.Context, f kpi.Feedback) (kpi.Feedback, error) {
	if err := f.Validate(); err != nil {
		return kpi.Feedback{}, err
	}

	f.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	err := db.db.QueryRowContext(ctx, `
		INSERT INTO feedback (workspace_id, kpi_id, text, author, source, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		db.workspaceID, f.KPI, f.Text, f.Author, f.Source, micros(f.CreatedAt)).Scan(&f.ID)
	if err != nil {
		return kpi.Feedback{}, fmt.Errorf("create feedback on %q: %w", f.KPI, err)
	}
	return f, nil
}

// ListFeedback returns the feedback on the KPI kpiID, newest first.
func (db *DB) ListFeedback(ctx context.Context, kpiID string) ([]kpi.Feedback, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT id, kpi_id, text, author, source, created_at FROM feedback
		WHERE workspace_id = ? AND kpi_id = ? ORDER BY created_at DESC, id DESC`, db.workspaceID, kpiID)
	if err != nil {
		return nil, fmt.Errorf("list feedback on %q: %w", kpiID, err)
	}
	defer rows.Close()

	var out []kpi.Feedback
	for rows.Next() {
		var (
			f         kpi.Feedback
			createdAt int64
		)
		if err := rows.Scan(&f.ID, &f.KPI, &f.Text, &f.Author, &f.Source, &createdAt); err != nil {
			return nil, fmt.Errorf("list feedback on %q: %w", kpiID, err)
		}
		f.CreatedAt = fromMicros(createdAt)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list feedback on %q: %w", kpiID, err)
	}
	return out, nil
}

// ListKPIs returns the KPIs made in the UI, by id.
func (db *DB) ListKPIs(ctx context.Context) ([]store.StoredKPI, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT id, name, objective_id, owner, unit, direction, definition, updated_at FROM kpis
		WHERE workspace_id = ? AND managed_by = 'ui' ORDER BY id`, db.workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list KPIs: %w", err)
	}
	defer rows.Close()

	var out []store.StoredKPI
	for rows.Next() {
		var (
			k          store.StoredKPI
			definition string
			updatedAt  int64
		)
		if err := rows.Scan(&k.ID, &k.Name, &k.Objective, &k.Owner, &k.Unit, &k.Direction, &definition, &updatedAt); err != nil {
			return nil, fmt.Errorf("list KPIs: %w", err)
		}
		k.Definition = []byte(definition)
		k.UpdatedAt = fromMicros(updatedAt)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list KPIs: %w", err)
	}
	return out, nil
}

// CreateKPI stores a KPI made in the UI. It returns ECONFLICT when a stored
// KPI already has the id.
func (db *DB) CreateKPI(ctx context.Context, k store.StoredKPI) error {
	_, err := db.db.ExecContext(ctx, `
		INSERT INTO kpis (workspace_id, id, name, objective_id, owner, unit, direction, definition, managed_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ui', ?)`,
		db.workspaceID, k.ID, k.Name, k.Objective, k.Owner, k.Unit, string(k.Direction), string(k.Definition), micros(time.Now()))
	if isPrimaryKeyViolation(err) || isUniqueViolation(err) {
		return kpi.Errorf(kpi.ECONFLICT, "a KPI with id %q already exists (pick another id)", k.ID)
	}
	if err != nil {
		return fmt.Errorf("create KPI %q: %w", k.ID, err)
	}
	return nil
}

// UpdateKPI replaces the stored KPI with k's id. It returns ENOTFOUND when no
// KPI made in the UI has the id.
func (db *DB) UpdateKPI(ctx context.Context, k store.StoredKPI) error {
	r, err := db.db.ExecContext(ctx, `
		UPDATE kpis SET name = ?, objective_id = ?, owner = ?, unit = ?, direction = ?, definition = ?, updated_at = ?
		WHERE workspace_id = ? AND id = ? AND managed_by = 'ui'`,
		k.Name, k.Objective, k.Owner, k.Unit, string(k.Direction), string(k.Definition), micros(time.Now()), db.workspaceID, k.ID)
	if err != nil {
		return fmt.Errorf("update KPI %q: %w", k.ID, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return kpi.Errorf(kpi.ENOTFOUND, "no KPI made in the UI has id %q", k.ID)
	}
	return nil
}

// DeleteKPI deletes the KPI made in the UI with the given id, with its
// annotations, feedback, target revisions and reviews, in one transaction. It returns ENOTFOUND when no
// KPI made in the UI has the id.
func (db *DB) DeleteKPI(ctx context.Context, id string) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete KPI %q: %w", id, err)
	}
	defer tx.Rollback()

	r, err := tx.ExecContext(ctx, `DELETE FROM kpis WHERE workspace_id = ? AND id = ? AND managed_by = 'ui'`, db.workspaceID, id)
	if err != nil {
		return fmt.Errorf("delete KPI %q: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return kpi.Errorf(kpi.ENOTFOUND, "no KPI made in the UI has id %q", id)
	}
	for _, q := range []string{
		`DELETE FROM annotations WHERE workspace_id = ? AND kpi_id = ?`,
		`DELETE FROM feedback WHERE workspace_id = ? AND kpi_id = ?`,
		`DELETE FROM reviews WHERE workspace_id = ? AND kpi_id = ?`,
		`DELETE FROM target_revisions WHERE workspace_id = ? AND kpi_id = ?`,
		`DELETE FROM review_cadences WHERE workspace_id = ? AND kpi_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, db.workspaceID, id); err != nil {
			return fmt.Errorf("delete KPI %q: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete KPI %q: %w", id, err)
	}
	return nil
}

// scanAnnotation reads one annotations row with scan.
func scanAnnotation(scan func(dest ...any) error) (kpi.Annotation, error) {
	var (
		a         kpi.Annotation
		kpiID     sql.NullString
		kind      string
		date      string
		createdAt int64
	)
	if err := scan(&a.ID, &kpiID, &kind, &date, &a.Note, &a.Author, &createdAt); err != nil {
		return a, err
	}
	d, err := timegrain.ParseDate(date)
	if err != nil {
		return a, fmt.Errorf("annotation %d: %w", a.ID, err)
	}
	a.KPI, a.Kind, a.Date, a.CreatedAt = kpiID.String, kpi.AnnotationKind(kind), d, fromMicros(createdAt)
	return a, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// isPrimaryKeyViolation reports whether err is SQLite's PRIMARY KEY
// constraint error.
func isPrimaryKeyViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
