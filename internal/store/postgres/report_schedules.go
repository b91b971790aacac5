package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// CreateReportSchedule stores a report schedule and returns it with its id.
// The caller validates it and sets CreatedAt.
func (db *DB) CreateReportSchedule(ctx context.Context, s store.ReportSchedule) (store.ReportSchedule, error) {
	kpiIDs, emails, err := encodeScheduleLists(s)
	if err != nil {
		return store.ReportSchedule{}, err
	}
	err = db.pool.QueryRow(ctx, `
		INSERT INTO report_schedules (workspace_id, name, cron, dashboard_id, kpi_ids, emails, chat_webhook, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		db.workspaceID, s.Name, s.Cron, s.DashboardID, kpiIDs, emails, s.ChatWebhook, micros(s.CreatedAt)).Scan(&s.ID)
	if err != nil {
		return store.ReportSchedule{}, fmt.Errorf("create report schedule %q: %w", s.Name, err)
	}
	return s, nil
}

// ReportSchedules returns every report schedule, oldest first.
func (db *DB) ReportSchedules(ctx context.Context) ([]store.ReportSchedule, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, name, cron, dashboard_id, kpi_ids, emails, chat_webhook, created_at, last_run_at
		FROM report_schedules WHERE workspace_id = $1 ORDER BY id`, db.workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list report schedules: %w", err)
	}
	defer rows.Close()

	out := []store.ReportSchedule{}
	for rows.Next() {
		var (
			s              store.ReportSchedule
			kpiIDs, emails string
			createdAt      int64
			lastRun        *int64
		)
		if err := rows.Scan(&s.ID, &s.Name, &s.Cron, &s.DashboardID, &kpiIDs, &emails, &s.ChatWebhook, &createdAt, &lastRun); err != nil {
			return nil, fmt.Errorf("list report schedules: %w", err)
		}
		if err := decodeScheduleLists(&s, kpiIDs, emails); err != nil {
			return nil, err
		}
		s.CreatedAt = fromMicros(createdAt)
		s.LastRunAt = optFromMicros(lastRun)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list report schedules: %w", err)
	}
	return out, nil
}

// DeleteReportSchedule deletes a report schedule, or returns ENOTFOUND.
func (db *DB) DeleteReportSchedule(ctx context.Context, id int64) error {
	res, err := db.pool.Exec(ctx, `DELETE FROM report_schedules WHERE workspace_id = $1 AND id = $2`, db.workspaceID, id)
	if err != nil {
		return fmt.Errorf("delete report schedule %d: %w", id, err)
	}
	if res.RowsAffected() == 0 {
		return kpi.Errorf(kpi.ENOTFOUND, "report schedule %d not found", id)
	}
	return nil
}

// MarkReportScheduleRun records that schedule id ran at s.LastRunAt.
func (db *DB) MarkReportScheduleRun(ctx context.Context, s store.ReportSchedule) error {
	_, err := db.pool.Exec(ctx, `UPDATE report_schedules SET last_run_at = $1 WHERE workspace_id = $2 AND id = $3`,
		optMicros(s.LastRunAt), db.workspaceID, s.ID)
	if err != nil {
		return fmt.Errorf("mark report schedule %d as run: %w", s.ID, err)
	}
	return nil
}

func encodeScheduleLists(s store.ReportSchedule) (kpiIDs, emails string, err error) {
	k, err := json.Marshal(nonNil(s.KPIIDs))
	if err != nil {
		return "", "", fmt.Errorf("encode KPIs of report schedule %q: %w", s.Name, err)
	}
	e, err := json.Marshal(nonNil(s.Emails))
	if err != nil {
		return "", "", fmt.Errorf("encode recipients of report schedule %q: %w", s.Name, err)
	}
	return string(k), string(e), nil
}

func decodeScheduleLists(s *store.ReportSchedule, kpiIDs, emails string) error {
	if err := json.Unmarshal([]byte(kpiIDs), &s.KPIIDs); err != nil {
		return fmt.Errorf("decode KPIs of report schedule %d: %w", s.ID, err)
	}
	if err := json.Unmarshal([]byte(emails), &s.Emails); err != nil {
		return fmt.Errorf("decode recipients of report schedule %d: %w", s.ID, err)
	}
	return nil
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
