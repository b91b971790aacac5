-- +goose Up
-- Milestones of a target revision, as a JSON list of {"by": "YYYY-MM-DD", "value": n}.
ALTER TABLE target_revisions ADD COLUMN milestones text NOT NULL DEFAULT '[]';

-- reviews records that a KPI was reviewed and what was decided. A review
-- that adjusts the target points at the target revision it created.
CREATE TABLE reviews (
    id                 bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id       bigint NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kpi_id             text   NOT NULL,
    date               text   NOT NULL,
    reviewer           text   NOT NULL,
    decision           text   NOT NULL CHECK (decision IN ('keep', 'adjust_target', 'retire')),
    note               text   NOT NULL DEFAULT '',
    target_revision_id bigint REFERENCES target_revisions (id),
    created_at         bigint NOT NULL
);
CREATE INDEX reviews_kpi ON reviews (workspace_id, kpi_id, date);

-- review_cadences holds the review cadence set through the API, for KPIs
-- whose definition sets none.
CREATE TABLE review_cadences (
    workspace_id bigint NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kpi_id       text   NOT NULL,
    cadence      text   NOT NULL CHECK (cadence IN ('weekly', 'monthly', 'quarterly')),
    updated_at   bigint NOT NULL,
    PRIMARY KEY (workspace_id, kpi_id)
);

-- +goose Down
DROP TABLE review_cadences;
DROP TABLE reviews;
ALTER TABLE target_revisions DROP COLUMN milestones;
