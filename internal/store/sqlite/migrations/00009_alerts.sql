-- +goose Up
-- Alert rules with their evaluation state, every state transition, every
-- notification attempt, and the schedules of digest reports. Timestamps are
-- Unix microseconds in UTC; durations are seconds. condition and channels
-- are JSON objects.
CREATE TABLE alert_rules (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kpi_id           TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    condition        TEXT    NOT NULL,
    channels         TEXT    NOT NULL DEFAULT '{}',
    min_duration     INTEGER NOT NULL DEFAULT 0,
    cooldown         INTEGER NOT NULL DEFAULT 0,
    muted_until      INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'normal',
    state_since      INTEGER NOT NULL DEFAULT 0,
    last_value       REAL,
    kpi_status       TEXT    NOT NULL DEFAULT '',
    last_notified_at INTEGER,
    evaluated_at     INTEGER
);
CREATE INDEX alert_rules_kpi ON alert_rules (workspace_id, kpi_id);

CREATE TABLE alert_history (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    rule_id      INTEGER NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    at           INTEGER NOT NULL,
    from_state   TEXT    NOT NULL,
    to_state     TEXT    NOT NULL,
    value        REAL,
    note         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX alert_history_rule ON alert_history (rule_id, at);

-- deliveries has no foreign key, so the record of what was sent outlives
-- the rule or schedule that sent it.
CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kind         TEXT    NOT NULL,
    ref_id       INTEGER NOT NULL,
    channel      TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    error        TEXT    NOT NULL DEFAULT '',
    at           INTEGER NOT NULL
);
CREATE INDEX deliveries_ref ON deliveries (workspace_id, kind, ref_id, at);

CREATE TABLE report_schedules (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    name         TEXT    NOT NULL,
    cron         TEXT    NOT NULL,
    dashboard_id TEXT    NOT NULL DEFAULT '',
    kpi_ids      TEXT    NOT NULL DEFAULT '[]',
    emails       TEXT    NOT NULL DEFAULT '[]',
    chat_webhook TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_run_at  INTEGER
);

-- +goose Down
DROP TABLE report_schedules;
DROP TABLE deliveries;
DROP TABLE alert_history;
DROP TABLE alert_rules;
