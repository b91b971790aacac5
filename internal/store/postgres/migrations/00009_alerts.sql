-- +goose Up
-- Alert rules with their evaluation state, every state transition, every
-- notification attempt, and the schedules of digest reports. Timestamps are
-- Unix microseconds in UTC; durations are seconds. condition and channels
-- are JSON objects.
CREATE TABLE alert_rules (
    id               bigint  PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id     bigint  NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kpi_id           text    NOT NULL,
    name             text    NOT NULL,
    condition        text    NOT NULL,
    channels         text    NOT NULL DEFAULT '{}',
    min_duration     bigint  NOT NULL DEFAULT 0,
    cooldown         bigint  NOT NULL DEFAULT 0,
    muted_until      bigint,
    created_at       bigint  NOT NULL,
    updated_at       bigint  NOT NULL,
    state            text    NOT NULL DEFAULT 'normal',
    state_since      bigint  NOT NULL DEFAULT 0,
    last_value       double precision,
    kpi_status       text    NOT NULL DEFAULT '',
    last_notified_at bigint,
    evaluated_at     bigint
);
CREATE INDEX alert_rules_kpi ON alert_rules (workspace_id, kpi_id);

CREATE TABLE alert_history (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint  NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    rule_id      bigint  NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    at           bigint  NOT NULL,
    from_state   text    NOT NULL,
    to_state     text    NOT NULL,
    value        double precision,
    note         text    NOT NULL DEFAULT ''
);
CREATE INDEX alert_history_rule ON alert_history (rule_id, at);

-- deliveries has no foreign key, so the record of what was sent outlives
-- the rule or schedule that sent it.
CREATE TABLE deliveries (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint  NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    kind         text    NOT NULL,
    ref_id       bigint  NOT NULL,
    channel      text    NOT NULL,
    target       text    NOT NULL,
    attempt      bigint  NOT NULL,
    status       text    NOT NULL,
    error        text    NOT NULL DEFAULT '',
    at           bigint  NOT NULL
);
CREATE INDEX deliveries_ref ON deliveries (workspace_id, kind, ref_id, at);

CREATE TABLE report_schedules (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint  NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    name         text    NOT NULL,
    cron         text    NOT NULL,
    dashboard_id text    NOT NULL DEFAULT '',
    kpi_ids      text    NOT NULL DEFAULT '[]',
    emails       text    NOT NULL DEFAULT '[]',
    chat_webhook text    NOT NULL DEFAULT '',
    created_at   bigint  NOT NULL,
    last_run_at  bigint
);

-- +goose Down
DROP TABLE report_schedules;
DROP TABLE deliveries;
DROP TABLE alert_history;
DROP TABLE alert_rules;
