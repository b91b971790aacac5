-- +goose Up
-- dashboards are named, arranged sets of widgets. objective_id is set on the
-- default dashboard of an objective, so that one is made per objective.
-- Timestamps are Unix microseconds in UTC.
CREATE TABLE dashboards (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    name         text   NOT NULL,
    objective_id text   NOT NULL DEFAULT '',
    grain        text   NOT NULL DEFAULT '',
    range_from   text   NOT NULL DEFAULT '',
    range_to     text   NOT NULL DEFAULT '',
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL
);
CREATE INDEX dashboards_workspace ON dashboards (workspace_id, objective_id);

-- widgets are the tiles of a dashboard's 12-column grid. kpi_ids is a JSON
-- array of KPI ids, options a JSON object of the kind's settings.
CREATE TABLE widgets (
    id           bigint  PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint  NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    dashboard_id bigint  NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    kind         text    NOT NULL,
    kpi_ids      jsonb   NOT NULL DEFAULT '[]',
    x            integer NOT NULL CHECK (x >= 0),
    y            integer NOT NULL CHECK (y >= 0),
    w            integer NOT NULL CHECK (w >= 1),
    h            integer NOT NULL CHECK (h >= 1),
    options      jsonb   NOT NULL DEFAULT '{}'
);
CREATE INDEX widgets_dashboard ON widgets (dashboard_id);

-- share_links are read-only links to one dashboard. Only the SHA-256 of the
-- token is kept; a revoked link has revoked_at set.
CREATE TABLE share_links (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    dashboard_id bigint NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    token_hash   text   NOT NULL UNIQUE,
    prefix       text   NOT NULL,
    created_at   bigint NOT NULL,
    revoked_at   bigint
);
CREATE INDEX share_links_dashboard ON share_links (dashboard_id);

-- +goose Down
DROP TABLE share_links;
DROP TABLE widgets;
DROP TABLE dashboards;
