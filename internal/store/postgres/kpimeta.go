package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	err := db.pool.QueryRow(ctx, `
		INSERT INTO annotations (workspace_id, kpi_id, kind, date, note, author, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
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
	rows, err := db.pool.Query(ctx, `
		SELECT id, kpi_id, kind, date, note, author, created_at FROM annotations
		WHERE workspace_id = $1 AND ($2 = '' OR kpi_id IS NULL OR kpi_id = $2) AND date >= $3 AND date <= $4
		ORDER BY date, id`,
		db.workspaceID, q.KPI, from, to)
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
	row := db.pool.QueryRow(ctx, `
		SELECT id, kpi_id, kind, date, note, author, created_at FROM annotations
		WHERE workspace_id = $1 AND id = $2`, db.workspaceID, id)
	a, err := scanAnnotation(row.Scan)
	if errors.Is(err, pgx.ErrNoRows) {
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
	tag, err := db.pool.Exec(ctx, `DELETE FROM annotations WHERE workspace_id = $1 AND id = $2`, db.workspaceID, id)
	if err != nil {
		return fmt.Errorf("delete annotation %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
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
	err := db.pool.QueryRow(ctx, `
		INSERT INTO feedback (workspace_id, kpi_id, text, author, source, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		db.workspaceID, f.KPI, f.Text, f.Author, f.Source, micros(f.CreatedAt)).Scan(&f.ID)
	if err != nil {
		return kpi.Feedback{}, fmt.Errorf("create feedback on %q: %w", f.KPI, err)
	}
	return f, nil
}

// ListFeedback returns the feedback on the KPI kpiID, newest first.
func (db *DB) ListFeedback(ctx context.Context, kpiID string) ([]kpi.Feedback, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, kpi_id, text, author, source, created_at FROM feedback
		WHERE workspace_id = $1 AND kpi_id = $2 ORDER BY created_at DESC, id DESC`, db.workspaceID, kpiID)
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
	rows, err := db.pool.Query(ctx, `
		SELECT id, name, objective_id, owner, unit, direction, definition::text, updated_at FROM kpis
		WHERE workspace_id = $1 AND managed_by = 'ui' ORDER BY id`, db.workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list KPIs: %w", err)
	}
	defer rows.Close()

	var out []store.StoredKPI
	for rows.Next() {
		var (
			k          store.StoredKPI
			direction  string
			definition string
			updatedAt  int64
		)
		if err := rows.Scan(&k.ID, &k.Name, &k.Objective, &k.Owner, &k.Unit, &direction, &definition, &updatedAt); err != nil {
			return nil, fmt.Errorf("list KPIs: %w", err)
		}
		k.Direction = kpi.Direction(direction)
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
	_, err := db.pool.Exec(ctx, `
		INSERT INTO kpis (workspace_id, id, name, objective_id, owner, unit, direction, definition, managed_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, 'ui', $9)`,
		db.workspaceID, k.ID, k.Name, k.Objective, k.Owner, k.Unit, string(k.Direction), string(k.Definition), micros(time.Now()))
	if isUniqueViolation(err) {
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
	tag, err := db.pool.Exec(ctx, `
		UPDATE kpis SET name = $1, objective_id = $2, owner = $3, unit = $4, direction = $5, definition = $6::jsonb, updated_at = $7
		WHERE workspace_id = $8 AND id = $9 AND managed_by = 'ui'`,
		k.Name, k.Objective, k.Owner, k.Unit, string(k.Direction), string(k.Definition), micros(time.Now()), db.workspaceID, k.ID)
	if err != nil {
		return fmt.Errorf("update KPI %q: %w", k.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return kpi.Errorf(kpi.ENOTFOUND, "no KPI made in the UI has id %q", k.ID)
	}
	return nil
}

// DeleteKPI deletes the KPI made in the UI with the given id, with its
// annotations, feedback, target revisions and reviews, in one transaction. It returns ENOTFOUND when no
// KPI made in the UI has the id.
func (db *DB) DeleteKPI(ctx context.Context, id string) error {
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM kpis WHERE workspace_id = $1 AND id = $2 AND managed_by = 'ui'`, db.workspaceID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kpi.Errorf(kpi.ENOTFOUND, "no KPI made in the UI has id %q", id)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM annotations WHERE workspace_id = $1 AND kpi_id = $2`, db.workspaceID, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM feedback WHERE workspace_id = $1 AND kpi_id = $2`,
			`DELETE FROM reviews WHERE workspace_id = $1 AND kpi_id = $2`,
			`DELETE FROM target_revisions WHERE workspace_id = $1 AND kpi_id = $2`,
			`DELETE FROM review_cadences WHERE workspace_id = $1 AND kpi_id = $2`,
		} {
			if _, err := tx.Exec(ctx, q, db.workspaceID, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && kpi.ErrorCode(err) == kpi.EINTERNAL {
		return fmt.Errorf("delete KPI %q: %w", id, err)
	}
	return err
}

// scanAnnotation reads one annotations row with scan.
func scanAnnotation(scan func(dest ...any) error) (kpi.Annotation, error) {
	var (
		a         kpi.Annotation
		kpiID     *string
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
	if kpiID != nil {
		a.KPI = *kpiID
	}
	a.Kind, a.Date, a.CreatedAt = kpi.AnnotationKind(kind), d, fromMicros(createdAt)
	return a, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
