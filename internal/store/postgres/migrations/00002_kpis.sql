-- +goose Up
-- KPI metadata, as in the SQLite store. KPIs loaded from a YAML file are
-- mirrored here with managed_by = 'code'; KPIs created in the UI will have
-- managed_by = 'ui'.
CREATE TABLE objectives (
    workspace_id bigint NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    id           text   NOT NULL,
    name         text   NOT NULL,
    description  text   NOT NULL DEFAULT '',
    managed_by   text   NOT NULL DEFAULT 'code',
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE kpis (
    workspace_id bigint NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    id           text   NOT NULL,
    name         text   NOT NULL,
    objective_id text   NOT NULL DEFAULT '',
    owner        text   NOT NULL DEFAULT '',
    unit         text   NOT NULL DEFAULT '',
    direction    text   NOT NULL DEFAULT 'up',
    definition   jsonb  NOT NULL, -- the KPI as JSON
    managed_by   text   NOT NULL DEFAULT 'code',
    updated_at   bigint NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- target_revisions keeps every target a KPI has had: who set it, when, why,
-- and from which date it applies.
CREATE TABLE target_revisions (
    id           bigint           PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint           NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kpi_id       text             NOT NULL,
    value        double precision,
    change       double precision,
    by_date      text             NOT NULL,
    applies_from text             NOT NULL,
    author       text             NOT NULL DEFAULT '',
    reason       text             NOT NULL DEFAULT '',
    created_at   bigint           NOT NULL
);
CREATE INDEX target_revisions_kpi ON target_revisions (workspace_id, kpi_id, applies_from);

CREATE TABLE annotations (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kpi_id       text, -- NULL for a note on every KPI
    kind         text   NOT NULL,
    date         text   NOT NULL,
    note         text   NOT NULL,
    author       text   NOT NULL DEFAULT '',
    created_at   bigint NOT NULL
);

-- +goose Down
DROP TABLE annotations;
DROP TABLE target_revisions;
DROP TABLE kpis;
DROP TABLE objectives;
