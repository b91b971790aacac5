-- +goose Up
-- feedback is qualitative input on a KPI, as in the SQLite store.
-- Annotations are in the table from 00002; they are read by date, so they
-- get an index.
CREATE TABLE feedback (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kpi_id       text   NOT NULL,
    text         text   NOT NULL,
    author       text   NOT NULL DEFAULT '',
    source       text   NOT NULL DEFAULT '',
    created_at   bigint NOT NULL
);
CREATE INDEX feedback_kpi ON feedback (workspace_id, kpi_id, created_at);
CREATE INDEX annotations_date ON annotations (workspace_id, date);

-- +goose Down
DROP INDEX annotations_date;
DROP TABLE feedback;
