package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// AddTargetRevision stores r and returns it with its id. It returns EINVALID
// when r fails store.ValidateTargetRevision. The store does not check that
// the KPI exists: KPIs may live in a KPI file.
func (db *DB) AddTargetRevision(ctx context.Context, r kpi.TargetRevision) (kpi.TargetRevision, error) {
	if err := store.ValidateTargetRevision(r); err != nil {
		return kpi.TargetRevision{}, err
	}
	stored := r
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		stored = r
		return db.insertTargetRevision(ctx, tx, &stored)
	})
	if err != nil {
		return kpi.TargetRevision{}, err
	}
	return stored, nil
}

func (db *DB) insertTargetRevision(ctx context.Context, tx pgx.Tx, r *kpi.TargetRevision) error {
	r.Source = kpi.SourceAPI
	err := tx.QueryRow(ctx, `
		INSERT INTO target_revisions (workspace_id, kpi_id, value, change, by_date, applies_from, author, reason, milestones, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		db.workspaceID, r.KPI, r.Target.Value, r.Target.Change, r.Target.By.String(), r.AppliesFrom.String(),
		r.Author, r.Reason, store.EncodeMilestones(r.Target.Milestones), micros(r.CreatedAt)).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("add target revision of kpi %q: %w", r.KPI, err)
	}
	return nil
}

// AddReview stores r and returns it with its id. A review that adjusts the
// target stores its target revision in the same transaction, so either both
// are stored or neither. It returns EINVALID when r fails
// store.ValidateReview.
func (db *DB) AddReview(ctx context.Context, r kpi.Review) (kpi.Review, error) {
	if err := store.ValidateReview(r); err != nil {
		return kpi.Review{}, err
	}
	in := r
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		r = in
		var revisionID *int64
		if r.Revision != nil {
			rev := *r.Revision
			if err := db.insertTargetRevision(ctx, tx, &rev); err != nil {
				return err
			}
			r.Revision, revisionID = &rev, &rev.ID
		}
		err := tx.QueryRow(ctx, `
		INSERT INTO reviews (workspace_id, kpi_id, date, reviewer, decision, note, target_revision_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			db.workspaceID, r.KPI, r.Date.String(), r.Reviewer, string(r.Decision), r.Note, revisionID, micros(r.CreatedAt)).Scan(&r.ID)
		if err != nil {
			return fmt.Errorf("add review of kpi %q: %w", r.KPI, err)
		}
		return nil
	})
	if err != nil {
		return kpi.Review{}, err
	}
	return r, nil
}

// SetReviewCadence stores the review cadence of the KPI id, or removes it
// when c is kpi.NoCadence. It returns EINVALID for an unknown cadence.
func (db *DB) SetReviewCadence(ctx context.Context, id string, c kpi.Cadence, at time.Time) error {
	if c == kpi.NoCadence {
		if _, err := db.pool.Exec(ctx, `DELETE FROM review_cadences WHERE workspace_id = $1 AND kpi_id = $2`, db.workspaceID, id); err != nil {
			return fmt.Errorf("remove review cadence of kpi %q: %w", id, err)
		}
		return nil
	}
	if _, err := kpi.ParseCadence(string(c)); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, `
		INSERT INTO review_cadences (workspace_id, kpi_id, cadence, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (workspace_id, kpi_id) DO UPDATE SET cadence = excluded.cadence, updated_at = excluded.updated_at`,
		db.workspaceID, id, string(c), micros(at))
	if err != nil {
		return fmt.Errorf("set review cadence of kpi %q: %w", id, err)
	}
	return nil
}

// KPIHistory returns the target revisions (in the order they were stored),
// the reviews (by date) and the review cadence stored for the KPI id. A KPI
// with none gets an empty History.
func (db *DB) KPIHistory(ctx context.Context, id string) (kpi.History, error) {
	var h kpi.History
	revisions, err := db.targetRevisions(ctx, id)
	if err != nil {
		return h, err
	}
	h.Revisions = revisions

	byID := map[int64]*kpi.TargetRevision{}
	for i := range h.Revisions {
		byID[h.Revisions[i].ID] = &h.Revisions[i]
	}
	if h.Reviews, err = db.reviews(ctx, id, byID); err != nil {
		return h, err
	}

	var cadence string
	err = db.pool.QueryRow(ctx, `SELECT cadence FROM review_cadences WHERE workspace_id = $1 AND kpi_id = $2`, db.workspaceID, id).Scan(&cadence)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return h, fmt.Errorf("read review cadence of kpi %q: %w", id, err)
	default:
		h.Cadence = kpi.Cadence(cadence)
	}
	return h, nil
}

func (db *DB) targetRevisions(ctx context.Context, id string) ([]kpi.TargetRevision, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, value, change, by_date, applies_from, author, reason, milestones, created_at
		FROM target_revisions WHERE workspace_id = $1 AND kpi_id = $2 ORDER BY id`, db.workspaceID, id)
	if err != nil {
		return nil, fmt.Errorf("read target revisions of kpi %q: %w", id, err)
	}
	defer rows.Close()

	out := []kpi.TargetRevision{}
	for rows.Next() {
		var (
			r                          = kpi.TargetRevision{KPI: id, Source: kpi.SourceAPI}
			value, change              *float64
			by, appliesFrom, milestone string
			createdAt                  int64
		)
		if err := rows.Scan(&r.ID, &value, &change, &by, &appliesFrom, &r.Author, &r.Reason, &milestone, &createdAt); err != nil {
			return nil, fmt.Errorf("read target revisions of kpi %q: %w", id, err)
		}
		r.Target.Value, r.Target.Change = value, change
		if r.Target.By, err = store.ParseDateColumn(by); err != nil {
			return nil, fmt.Errorf("target revision %d: %w", r.ID, err)
		}
		if r.AppliesFrom, err = store.ParseDateColumn(appliesFrom); err != nil {
			return nil, fmt.Errorf("target revision %d: %w", r.ID, err)
		}
		if r.Target.Milestones, err = store.DecodeMilestones(milestone); err != nil {
			return nil, fmt.Errorf("target revision %d: %w", r.ID, err)
		}
		r.CreatedAt = fromMicros(createdAt)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read target revisions of kpi %q: %w", id, err)
	}
	return out, nil
}

func (db *DB) reviews(ctx context.Context, id string, revisions map[int64]*kpi.TargetRevision) ([]kpi.Review, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, date, reviewer, decision, note, target_revision_id, created_at
		FROM reviews WHERE workspace_id = $1 AND kpi_id = $2 ORDER BY date, id`, db.workspaceID, id)
	if err != nil {
		return nil, fmt.Errorf("read reviews of kpi %q: %w", id, err)
	}
	defer rows.Close()

	out := []kpi.Review{}
	for rows.Next() {
		var (
			r          = kpi.Review{KPI: id}
			date       string
			decision   string
			revisionID *int64
			createdAt  int64
		)
		if err := rows.Scan(&r.ID, &date, &r.Reviewer, &decision, &r.Note, &revisionID, &createdAt); err != nil {
			return nil, fmt.Errorf("read reviews of kpi %q: %w", id, err)
		}
		if r.Date, err = store.ParseDateColumn(date); err != nil {
			return nil, fmt.Errorf("review %d: %w", r.ID, err)
		}
		r.Decision = kpi.Decision(decision)
		if revisionID != nil {
			r.Revision = revisions[*revisionID]
		}
		r.CreatedAt = fromMicros(createdAt)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read reviews of kpi %q: %w", id, err)
	}
	return out, nil
}
