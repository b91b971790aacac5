-- +goose Up
-- KPI metadata. KPIs loaded from a YAML file are mirrored here with
-- managed_by = 'code'; KPIs created in the UI will have managed_by = 'ui'.
CREATE TABLE objectives (
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    id           TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    managed_by   TEXT    NOT NULL DEFAULT 'code',
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE kpis (
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    id           TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    objective_id TEXT    NOT NULL DEFAULT '',
    owner        TEXT    NOT NULL DEFAULT '',
    unit         TEXT    NOT NULL DEFAULT '',
    direction    TEXT    NOT NULL DEFAULT 'up',
    definition   TEXT    NOT NULL, -- the KPI as JSON
    managed_by   TEXT    NOT NULL DEFAULT 'code',
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- target_revisions keeps every target a KPI has had: who set it, when, why,
-- and from which date it applies.
CREATE TABLE target_revisions (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kpi_id       TEXT    NOT NULL,
    value        REAL,
    change       REAL,
    by_date      TEXT    NOT NULL,
    applies_from TEXT    NOT NULL,
    author       TEXT    NOT NULL DEFAULT '',
    reason       TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE INDEX target_revisions_kpi ON target_revisions (workspace_id, kpi_id, applies_from);

CREATE TABLE annotations (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kpi_id       TEXT, -- NULL for a note on every KPI
    kind         TEXT    NOT NULL,
    date         TEXT    NOT NULL,
    note         TEXT    NOT NULL,
    author       TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);

-- +goose Down
DROP TABLE annotations;
DROP TABLE target_revisions;
DROP TABLE kpis;
DROP TABLE objectives;
