package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

const alertRuleColumns = `id, kpi_id, name, condition, channels, min_duration, cooldown, muted_until,
	created_at, updated_at, state, state_since, last_value, kpi_status, last_notified_at, evaluated_at`

// CreateAlertRule stores a new alert rule in state normal and returns it with
// its id. The caller validates the rule and sets CreatedAt.
func (db *DB) CreateAlertRule(ctx context.Context, r store.AlertRule) (store.AlertRule, error) {
	condition, channels, err := encodeAlertRule(r)
	if err != nil {
		return store.AlertRule{}, err
	}

	r.UpdatedAt = r.CreatedAt
	r.State = store.AlertState{State: "normal", Since: r.CreatedAt}
	err = db.db.QueryRowContext(ctx, `
		INSERT INTO alert_rules (workspace_id, kpi_id, name, condition, channels, min_duration, cooldown,
			muted_until, created_at, updated_at, state, state_since)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		db.workspaceID, r.KPIID, r.Name, condition, channels, seconds(r.MinDuration), seconds(r.Cooldown),
		optMicros(r.MutedUntil), micros(r.CreatedAt), micros(r.UpdatedAt), r.State.State, micros(r.State.Since)).Scan(&r.ID)
	if err != nil {
		return store.AlertRule{}, fmt.Errorf("create alert rule on KPI %q: %w", r.KPIID, err)
	}
	return r, nil
}

// AlertRule returns the alert rule with the given id, or ENOTFOUND.
func (db *DB) AlertRule(ctx context.Context, id int64) (store.AlertRule, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+alertRuleColumns+` FROM alert_rules
		WHERE workspace_id = ? AND id = ?`, db.workspaceID, id)
	if err != nil {
		return store.AlertRule{}, fmt.Errorf("read alert rule %d: %w", id, err)
	}
	rules, err := scanAlertRules(rows)
	if err != nil {
		return store.AlertRule{}, fmt.Errorf("read alert rule %d: %w", id, err)
	}
	if len(rules) == 0 {
		return store.AlertRule{}, kpi.Errorf(kpi.ENOTFOUND, "alert rule %d not found", id)
	}
	return rules[0], nil
}

// AlertRules returns every alert rule, oldest first.
func (db *DB) AlertRules(ctx context.Context) ([]store.AlertRule, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+alertRuleColumns+` FROM alert_rules
		WHERE workspace_id = ? ORDER BY id`, db.workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list alert rules: %w", err)
	}
	rules, err := scanAlertRules(rows)
	if err != nil {
		return nil, fmt.Errorf("list alert rules: %w", err)
	}
	return rules, nil
}

// UpdateAlertRule replaces the definition of rule r.ID (KPI, name, condition,
// channels, timings, mute) and keeps its evaluation state. It sets UpdatedAt
// to r.UpdatedAt and returns ENOTFOUND for an unknown id.
func (db *DB) UpdateAlertRule(ctx context.Context, r store.AlertRule) (store.AlertRule, error) {
	condition, channels, err := encodeAlertRule(r)
	if err != nil {
		return store.AlertRule{}, err
	}

	res, err := db.db.ExecContext(ctx, `
		UPDATE alert_rules SET kpi_id = ?, name = ?, condition = ?, channels = ?, min_duration = ?,
			cooldown = ?, muted_until = ?, updated_at = ?
		WHERE workspace_id = ? AND id = ?`,
		r.KPIID, r.Name, condition, channels, seconds(r.MinDuration), seconds(r.Cooldown),
		optMicros(r.MutedUntil), micros(r.UpdatedAt), db.workspaceID, r.ID)
	if err != nil {
		return store.AlertRule{}, fmt.Errorf("update alert rule %d: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.AlertRule{}, kpi.Errorf(kpi.ENOTFOUND, "alert rule %d not found", r.ID)
	}
	return db.AlertRule(ctx, r.ID)
}

// DeleteAlertRule deletes an alert rule and its history. Its delivery
// records stay. It returns ENOTFOUND for an unknown id.
func (db *DB) DeleteAlertRule(ctx context.Context, id int64) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM alert_rules WHERE workspace_id = ? AND id = ?`, db.workspaceID, id)
	if err != nil {
		return fmt.Errorf("delete alert rule %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return kpi.Errorf(kpi.ENOTFOUND, "alert rule %d not found", id)
	}
	return nil
}

// SaveAlertState stores rule id's evaluation state and appends events to its
// history, in one transaction. It returns ENOTFOUND for an unknown id.
func (db *DB) SaveAlertState(ctx context.Context, id int64, st store.AlertState, events []store.AlertEvent) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save state of alert rule %d: %w", id, err)
	}
	defer tx.Rollback()

	res, err := tx.ExecContext(ctx, `
		UPDATE alert_rules SET state = ?, state_since = ?, last_value = ?, kpi_status = ?,
			last_notified_at = ?, evaluated_at = ?
		WHERE workspace_id = ? AND id = ?`,
		st.State, micros(st.Since), st.Value, st.KPIStatus, optMicros(st.LastNotifiedAt), optMicros(st.EvaluatedAt),
		db.workspaceID, id)
	if err != nil {
		return fmt.Errorf("save state of alert rule %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return kpi.Errorf(kpi.ENOTFOUND, "alert rule %d not found", id)
	}

	for _, e := range events {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO alert_history (workspace_id, rule_id, at, from_state, to_state, value, note)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			db.workspaceID, id, micros(e.At), e.From, e.To, e.Value, e.Note)
		if err != nil {
			return fmt.Errorf("save history of alert rule %d: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save state of alert rule %d: %w", id, err)
	}
	return nil
}

// AlertHistory returns the transitions of rule id, oldest first. It returns
// ENOTFOUND for an unknown id.
func (db *DB) AlertHistory(ctx context.Context, id int64) ([]store.AlertEvent, error) {
	if _, err := db.AlertRule(ctx, id); err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `
		SELECT id, rule_id, at, from_state, to_state, value, note FROM alert_history
		WHERE workspace_id = ? AND rule_id = ? ORDER BY at, id`, db.workspaceID, id)
	if err != nil {
		return nil, fmt.Errorf("read history of alert rule %d: %w", id, err)
	}
	defer rows.Close()

	events := []store.AlertEvent{}
	for rows.Next() {
		var (
			e  store.AlertEvent
			at int64
		)
		if err := rows.Scan(&e.ID, &e.RuleID, &at, &e.From, &e.To, &e.Value, &e.Note); err != nil {
			return nil, fmt.Errorf("read history of alert rule %d: %w", id, err)
		}
		e.At = fromMicros(at)
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read history of alert rule %d: %w", id, err)
	}
	return events, nil
}

// RecordDelivery stores one delivery attempt or final failure.
func (db *DB) RecordDelivery(ctx context.Context, d store.Delivery) error {
	_, err := db.db.ExecContext(ctx, `
		INSERT INTO deliveries (workspace_id, kind, ref_id, channel, target, attempt, status, error, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		db.workspaceID, d.Kind, d.RefID, d.Channel, d.Target, d.Attempt, d.Status, d.Error, micros(d.At))
	if err != nil {
		return fmt.Errorf("record %s delivery of %s %d: %w", d.Channel, d.Kind, d.RefID, err)
	}
	return nil
}

// Deliveries returns the delivery records of one alert rule or report
// schedule (kind "alert" or "report"), oldest first.
func (db *DB) Deliveries(ctx context.Context, kind string, refID int64) ([]store.Delivery, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT id, kind, ref_id, channel, target, attempt, status, error, at FROM deliveries
		WHERE workspace_id = ? AND kind = ? AND ref_id = ? ORDER BY at, id`, db.workspaceID, kind, refID)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s %d: %w", kind, refID, err)
	}
	defer rows.Close()

	out := []store.Delivery{}
	for rows.Next() {
		var (
			d  store.Delivery
			at int64
		)
		if err := rows.Scan(&d.ID, &d.Kind, &d.RefID, &d.Channel, &d.Target, &d.Attempt, &d.Status, &d.Error, &at); err != nil {
			return nil, fmt.Errorf("list deliveries of %s %d: %w", kind, refID, err)
		}
		d.At = fromMicros(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deliveries of %s %d: %w", kind, refID, err)
	}
	return out, nil
}

func scanAlertRules(rows *sql.Rows) ([]store.AlertRule, error) {
	defer rows.Close()

	rules := []store.AlertRule{}
	for rows.Next() {
		var (
			r                                 store.AlertRule
			condition, channels               string
			minDuration, cooldown             int64
			createdAt, updatedAt, since       int64
			mutedUntil, notifiedAt, evaluated *int64
		)
		err := rows.Scan(&r.ID, &r.KPIID, &r.Name, &condition, &channels, &minDuration, &cooldown, &mutedUntil,
			&createdAt, &updatedAt, &r.State.State, &since, &r.State.Value, &r.State.KPIStatus, &notifiedAt, &evaluated)
		if err != nil {
			return nil, err
		}
		if err := decodeAlertRule(&r, condition, channels); err != nil {
			return nil, err
		}
		r.MinDuration = time.Duration(minDuration) * time.Second
		r.Cooldown = time.Duration(cooldown) * time.Second
		r.MutedUntil = optFromMicros(mutedUntil)
		r.CreatedAt, r.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
		r.State.Since = fromMicros(since)
		r.State.LastNotifiedAt = optFromMicros(notifiedAt)
		r.State.EvaluatedAt = optFromMicros(evaluated)
		rules = append(rules, r)
	}
	return rules, rows.Err()
}

func encodeAlertRule(r store.AlertRule) (condition, channels string, err error) {
	c, err := json.Marshal(r.Condition)
	if err != nil {
		return "", "", fmt.Errorf("encode condition of alert rule %q: %w", r.Name, err)
	}
	ch, err := json.Marshal(r.Channels)
	if err != nil {
		return "", "", fmt.Errorf("encode channels of alert rule %q: %w", r.Name, err)
	}
	return string(c), string(ch), nil
}

func decodeAlertRule(r *store.AlertRule, condition, channels string) error {
	if err := json.Unmarshal([]byte(condition), &r.Condition); err != nil {
		return fmt.Errorf("decode condition of alert rule %d: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(channels), &r.Channels); err != nil {
		return fmt.Errorf("decode channels of alert rule %d: %w", r.ID, err)
	}
	return nil
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func optMicros(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	us := micros(*t)
	return &us
}

func optFromMicros(us *int64) *time.Time {
	if us == nil {
		return nil
	}
	t := fromMicros(*us)
	return &t
}
