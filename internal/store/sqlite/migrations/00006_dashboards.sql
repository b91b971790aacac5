-- +goose Up
-- dashboards are named, arranged sets of widgets. objective_id is set on the
-- default dashboard of an objective, so that one is made per objective.
-- Timestamps are Unix microseconds in UTC.
CREATE TABLE dashboards (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    name         TEXT    NOT NULL,
    objective_id TEXT    NOT NULL DEFAULT '',
    grain        TEXT    NOT NULL DEFAULT '',
    range_from   TEXT    NOT NULL DEFAULT '',
    range_to     TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX dashboards_workspace ON dashboards (workspace_id, objective_id);

-- widgets are the tiles of a dashboard's 12-column grid. kpi_ids is a JSON
-- array of KPI ids, options a JSON object of the kind's settings.
CREATE TABLE widgets (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    dashboard_id INTEGER NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    kpi_ids      TEXT    NOT NULL DEFAULT '[]',
    x            INTEGER NOT NULL CHECK (x >= 0),
    y            INTEGER NOT NULL CHECK (y >= 0),
    w            INTEGER NOT NULL CHECK (w >= 1),
    h            INTEGER NOT NULL CHECK (h >= 1),
    options      TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX widgets_dashboard ON widgets (dashboard_id);

-- share_links are read-only links to one dashboard. Only the SHA-256 of the
-- token is kept; a revoked link has revoked_at set.
CREATE TABLE share_links (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    dashboard_id INTEGER NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX share_links_dashboard ON share_links (dashboard_id);

-- +goose Down
DROP TABLE share_links;
DROP TABLE widgets;
DROP TABLE dashboards;
