-- +goose Up
-- feedback is qualitative input on a KPI: survey comments, interview notes,
-- support themes. Annotations are in the table from 00002; they are read by
-- date, so they get an index.
CREATE TABLE feedback (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kpi_id       TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    author       TEXT    NOT NULL DEFAULT '',
    source       TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE INDEX feedback_kpi ON feedback (workspace_id, kpi_id, created_at);
CREATE INDEX annotations_date ON annotations (workspace_id, date);

-- +goose Down
DROP INDEX annotations_date;
DROP TABLE feedback;
