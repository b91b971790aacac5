package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// CreateDashboard stores d with its widgets in one transaction and returns
// it with the ids and times set. It returns EINVALID for a bad name or
// widget position.
func (db *DB) CreateDashboard(ctx context.Context, d store.Dashboard) (store.Dashboard, error) {
	name, err := store.NormalizeDashboardName(d.Name)
	if err != nil {
		return store.Dashboard{}, err
	}
	d.Name = name
	for _, w := range d.Widgets {
		if err := store.ValidateWidgetPosition(w.X, w.Y, w.W, w.H); err != nil {
			return store.Dashboard{}, err
		}
	}

	now := time.Now().UTC().Truncate(time.Microsecond)
	d.CreatedAt, d.UpdatedAt = now, now
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO dashboards (workspace_id, name, objective_id, grain, range_from, range_to, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			db.workspaceID, d.Name, d.Objective, d.Grain, d.From, d.To, micros(now), micros(now)).Scan(&d.ID)
		if err != nil {
			return err
		}
		for i := range d.Widgets {
			d.Widgets[i].DashboardID = d.ID
			if d.Widgets[i], err = db.insertWidget(ctx, tx, d.Widgets[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.Dashboard{}, fmt.Errorf("create dashboard %q: %w", d.Name, err)
	}
	return d, nil
}

// ListDashboards returns every dashboard without its widgets, by name.
func (db *DB) ListDashboards(ctx context.Context) ([]store.Dashboard, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT id, name, objective_id, grain, range_from, range_to, created_at, updated_at
		FROM dashboards WHERE workspace_id = ? ORDER BY name, id`, db.workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list dashboards: %w", err)
	}
	defer rows.Close()

	var list []store.Dashboard
	for rows.Next() {
		d, err := scanDashboard(rows)
		if err != nil {
			return nil, fmt.Errorf("list dashboards: %w", err)
		}
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dashboards: %w", err)
	}
	return list, nil
}

// Dashboard returns the dashboard with the given id and its widgets. It
// returns ENOTFOUND when there is none.
func (db *DB) Dashboard(ctx context.Context, id int64) (store.Dashboard, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT id, name, objective_id, grain, range_from, range_to, created_at, updated_at
		FROM dashboards WHERE workspace_id = ? AND id = ?`, db.workspaceID, id)
	d, err := scanDashboard(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Dashboard{}, dashboardNotFound(id)
	}
	if err != nil {
		return store.Dashboard{}, fmt.Errorf("read dashboard %d: %w", id, err)
	}

	rows, err := db.db.QueryContext(ctx, `
		SELECT id, dashboard_id, kind, kpi_ids, x, y, w, h, options
		FROM widgets WHERE dashboard_id = ? ORDER BY y, x, id`, id)
	if err != nil {
		return store.Dashboard{}, fmt.Errorf("read widgets of dashboard %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			w             store.Widget
			kpis, options string
		)
		if err := rows.Scan(&w.ID, &w.DashboardID, &w.Kind, &kpis, &w.X, &w.Y, &w.W, &w.H, &options); err != nil {
			return store.Dashboard{}, fmt.Errorf("read widgets of dashboard %d: %w", id, err)
		}
		if err := json.Unmarshal([]byte(kpis), &w.KPIs); err != nil {
			return store.Dashboard{}, fmt.Errorf("read widget %d: kpi_ids: %w", w.ID, err)
		}
		w.Options = json.RawMessage(options)
		d.Widgets = append(d.Widgets, w)
	}
	if err := rows.Err(); err != nil {
		return store.Dashboard{}, fmt.Errorf("read widgets of dashboard %d: %w", id, err)
	}
	return d, nil
}

// UpdateDashboard stores d's name and time controls. It returns ENOTFOUND
// when the dashboard does not exist and EINVALID for a bad name.
func (db *DB) UpdateDashboard(ctx context.Context, d store.Dashboard) (store.Dashboard, error) {
	name, err := store.NormalizeDashboardName(d.Name)
	if err != nil {
		return store.Dashboard{}, err
	}
	res, err := db.db.ExecContext(ctx, `
		UPDATE dashboards SET name = ?, grain = ?, range_from = ?, range_to = ?, updated_at = ?
		WHERE workspace_id = ? AND id = ?`,
		name, d.Grain, d.From, d.To, micros(time.Now()), db.workspaceID, d.ID)
	if err := checkOneRow(res, err, d.ID); err != nil {
		return store.Dashboard{}, err
	}
	return db.Dashboard(ctx, d.ID)
}

// DeleteDashboard deletes a dashboard with its widgets and share links. It
// returns ENOTFOUND when there is none.
func (db *DB) DeleteDashboard(ctx context.Context, id int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM share_links WHERE dashboard_id = ?`, `DELETE FROM widgets WHERE dashboard_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete dashboard %d: %w", id, err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM dashboards WHERE workspace_id = ? AND id = ?`, db.workspaceID, id)
		return checkOneRow(res, err, id)
	})
}

// AddWidget adds w to the dashboard w.DashboardID. It returns ENOTFOUND when
// the dashboard does not exist and EINVALID for a bad position or a
// dashboard that has MaxWidgetsPerDashboard widgets already.
func (db *DB) AddWidget(ctx context.Context, w store.Widget) (store.Widget, error) {
	if err := store.ValidateWidgetPosition(w.X, w.Y, w.W, w.H); err != nil {
		return store.Widget{}, err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `
			SELECT count(w.id) FROM dashboards d LEFT JOIN widgets w ON w.dashboard_id = d.id
			WHERE d.workspace_id = ? AND d.id = ? GROUP BY d.id`, db.workspaceID, w.DashboardID).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return dashboardNotFound(w.DashboardID)
		}
		if err != nil {
			return err
		}
		if n >= store.MaxWidgetsPerDashboard {
			return kpi.Errorf(kpi.EINVALID, "dashboard %d has %d widgets, the limit (remove one first, or make another dashboard)", w.DashboardID, n)
		}
		if w, err = db.insertWidget(ctx, tx, w); err != nil {
			return err
		}
		return touchDashboard(ctx, tx, w.DashboardID)
	})
	if err != nil {
		return store.Widget{}, wrapUnlessCoded(err, "add widget to dashboard %d", w.DashboardID)
	}
	return w, nil
}

// UpdateWidget stores w's KPIs, position, size and options. It returns
// ENOTFOUND when the dashboard has no widget w.ID.
func (db *DB) UpdateWidget(ctx context.Context, w store.Widget) (store.Widget, error) {
	if err := store.ValidateWidgetPosition(w.X, w.Y, w.W, w.H); err != nil {
		return store.Widget{}, err
	}
	kpis, options, err := widgetColumns(w)
	if err != nil {
		return store.Widget{}, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE widgets SET kpi_ids = ?, x = ?, y = ?, w = ?, h = ?, options = ?
			WHERE id = ? AND dashboard_id = ? AND workspace_id = ?`,
			kpis, w.X, w.Y, w.W, w.H, options, w.ID, w.DashboardID, db.workspaceID)
		if err := checkWidgetRow(res, err, w.DashboardID, w.ID); err != nil {
			return err
		}
		return touchDashboard(ctx, tx, w.DashboardID)
	})
	if err != nil {
		return store.Widget{}, wrapUnlessCoded(err, "update widget %d", w.ID)
	}
	return w, nil
}

// DeleteWidget removes a widget from a dashboard. It returns ENOTFOUND when
// the dashboard has no such widget.
func (db *DB) DeleteWidget(ctx context.Context, dashboardID, widgetID int64) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM widgets WHERE id = ? AND dashboard_id = ? AND workspace_id = ?`,
			widgetID, dashboardID, db.workspaceID)
		if err := checkWidgetRow(res, err, dashboardID, widgetID); err != nil {
			return err
		}
		return touchDashboard(ctx, tx, dashboardID)
	})
	return wrapUnlessCoded(err, "delete widget %d", widgetID)
}

// SaveLayout moves and resizes widgets of one dashboard in one transaction,
// so a layout is saved whole or not at all. It returns ENOTFOUND when a
// widget is not on the dashboard and EINVALID for a bad position.
func (db *DB) SaveLayout(ctx context.Context, dashboardID int64, layout []store.WidgetPosition) error {
	for _, p := range layout {
		if err := store.ValidateWidgetPosition(p.X, p.Y, p.W, p.H); err != nil {
			return kpi.Errorf(kpi.EINVALID, "widget %d: %s", p.ID, kpi.ErrorMessage(err))
		}
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, p := range layout {
			res, err := tx.ExecContext(ctx, `
				UPDATE widgets SET x = ?, y = ?, w = ?, h = ?
				WHERE id = ? AND dashboard_id = ? AND workspace_id = ?`,
				p.X, p.Y, p.W, p.H, p.ID, dashboardID, db.workspaceID)
			if err := checkWidgetRow(res, err, dashboardID, p.ID); err != nil {
				return err
			}
		}
		return touchDashboard(ctx, tx, dashboardID)
	})
	return wrapUnlessCoded(err, "save layout of dashboard %d", dashboardID)
}

// CreateShareLink creates a read-only link to a dashboard and returns it with
// its token, which is not stored and so cannot be shown again. It returns
// ENOTFOUND when the dashboard does not exist.
func (db *DB) CreateShareLink(ctx context.Context, dashboardID int64) (store.ShareLink, string, error) {
	token, prefix, hash, err := store.NewShareToken()
	if err != nil {
		return store.ShareLink{}, "", fmt.Errorf("create share link: %w", err)
	}
	link := store.ShareLink{WorkspaceID: db.workspaceID, DashboardID: dashboardID, Prefix: prefix, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM dashboards WHERE workspace_id = ? AND id = ?`, db.workspaceID, dashboardID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return dashboardNotFound(dashboardID)
		}
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `
			INSERT INTO share_links (workspace_id, dashboard_id, token_hash, prefix, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			db.workspaceID, dashboardID, hash, prefix, micros(link.CreatedAt)).Scan(&link.ID)
	})
	if err != nil {
		return store.ShareLink{}, "", wrapUnlessCoded(err, "create share link for dashboard %d", dashboardID)
	}
	return link, token, nil
}

// ListShareLinks returns a dashboard's share links, revoked ones included,
// oldest first.
func (db *DB) ListShareLinks(ctx context.Context, dashboardID int64) ([]store.ShareLink, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT id, dashboard_id, prefix, created_at, revoked_at FROM share_links
		WHERE workspace_id = ? AND dashboard_id = ? ORDER BY created_at, id`, db.workspaceID, dashboardID)
	if err != nil {
		return nil, fmt.Errorf("list share links of dashboard %d: %w", dashboardID, err)
	}
	defer rows.Close()

	var links []store.ShareLink
	for rows.Next() {
		var (
			l         = store.ShareLink{WorkspaceID: db.workspaceID}
			createdAt int64
			revokedAt sql.NullInt64
		)
		if err := rows.Scan(&l.ID, &l.DashboardID, &l.Prefix, &createdAt, &revokedAt); err != nil {
			return nil, fmt.Errorf("list share links of dashboard %d: %w", dashboardID, err)
		}
		l.CreatedAt = fromMicros(createdAt)
		if revokedAt.Valid {
			t := fromMicros(revokedAt.Int64)
			l.RevokedAt = &t
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list share links of dashboard %d: %w", dashboardID, err)
	}
	return links, nil
}

// RevokeShareLink revokes an active share link of a dashboard. It returns
// ENOTFOUND when the dashboard has no such active link.
func (db *DB) RevokeShareLink(ctx context.Context, dashboardID, linkID int64) error {
	res, err := db.db.ExecContext(ctx, `
		UPDATE share_links SET revoked_at = ?
		WHERE workspace_id = ? AND dashboard_id = ? AND id = ? AND revoked_at IS NULL`,
		micros(time.Now()), db.workspaceID, dashboardID, linkID)
	if err != nil {
		return fmt.Errorf("revoke share link %d: %w", linkID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return kpi.Errorf(kpi.ENOTFOUND, "dashboard %d has no active share link %d", dashboardID, linkID)
	}
	return nil
}

// ShareLinkByToken returns the active share link whose token is token, in
// any workspace, so a public page can serve the workspace of its link. It
// returns ENOTFOUND for an unknown or revoked token.
func (db *DB) ShareLinkByToken(ctx context.Context, token string) (store.ShareLink, error) {
	var (
		l         store.ShareLink
		createdAt int64
	)
	err := db.db.QueryRowContext(ctx, `
		SELECT id, workspace_id, dashboard_id, prefix, created_at FROM share_links
		WHERE token_hash = ? AND revoked_at IS NULL`,
		store.HashWriteKeySecret(token)).Scan(&l.ID, &l.WorkspaceID, &l.DashboardID, &l.Prefix, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ShareLink{}, kpi.Errorf(kpi.ENOTFOUND, "share link not found or revoked")
	}
	if err != nil {
		return store.ShareLink{}, fmt.Errorf("look up share link: %w", err)
	}
	l.CreatedAt = fromMicros(createdAt)
	return l, nil
}

// inTx runs fn in a transaction and commits it when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (db *DB) insertWidget(ctx context.Context, tx *sql.Tx, w store.Widget) (store.Widget, error) {
	kpis, options, err := widgetColumns(w)
	if err != nil {
		return w, err
	}
	err = tx.QueryRowContext(ctx, `
		INSERT INTO widgets (workspace_id, dashboard_id, kind, kpi_ids, x, y, w, h, options)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		db.workspaceID, w.DashboardID, w.Kind, kpis, w.X, w.Y, w.W, w.H, options).Scan(&w.ID)
	if w.KPIs == nil {
		w.KPIs = []string{}
	}
	w.Options = json.RawMessage(options)
	return w, err
}

// widgetColumns returns the kpi_ids and options columns of w.
func widgetColumns(w store.Widget) (kpis, options string, err error) {
	ids := w.KPIs
	if ids == nil {
		ids = []string{}
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return "", "", err
	}
	options, err = store.WidgetOptionsJSON(w.Options)
	return string(b), options, err
}

func touchDashboard(ctx context.Context, tx *sql.Tx, id int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE dashboards SET updated_at = ? WHERE id = ?`, micros(time.Now()), id)
	return err
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanDashboard(row rowScanner) (store.Dashboard, error) {
	var (
		d                    store.Dashboard
		createdAt, updatedAt int64
	)
	err := row.Scan(&d.ID, &d.Name, &d.Objective, &d.Grain, &d.From, &d.To, &createdAt, &updatedAt)
	d.CreatedAt, d.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	return d, err
}

func checkOneRow(res sql.Result, err error, dashboardID int64) error {
	if err != nil {
		return fmt.Errorf("dashboard %d: %w", dashboardID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return dashboardNotFound(dashboardID)
	}
	return nil
}

func checkWidgetRow(res sql.Result, err error, dashboardID, widgetID int64) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return kpi.Errorf(kpi.ENOTFOUND, "dashboard %d has no widget %d", dashboardID, widgetID)
	}
	return nil
}

func dashboardNotFound(id int64) error {
	return kpi.Errorf(kpi.ENOTFOUND, "dashboard %d not found", id)
}

// wrapUnlessCoded adds context to an internal error and returns an error
// with a kpi code (not found, invalid) unchanged, so its message stays the
// one the user reads.
func wrapUnlessCoded(err error, format string, args ...any) error {
	if err == nil || kpi.ErrorCode(err) != kpi.EINTERNAL {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
