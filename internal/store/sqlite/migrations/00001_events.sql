-- +goose Up
-- Timestamps are Unix microseconds in UTC.
CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    time_zone  TEXT    NOT NULL DEFAULT 'UTC',
    week_start INTEGER NOT NULL DEFAULT 1, -- 0 = Sunday, 1 = Monday
    created_at INTEGER NOT NULL DEFAULT 0
);
INSERT INTO workspaces (id, name) VALUES (1, 'default');

-- users maps a distinct_id to the dense integer id that the activity index
-- uses in its bitmaps.
CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    distinct_id  TEXT    NOT NULL,
    first_seen   INTEGER NOT NULL,
    traits       TEXT    NOT NULL DEFAULT '{}',
    UNIQUE (workspace_id, distinct_id)
);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    name         TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    distinct_id  TEXT    NOT NULL,
    ts           INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    properties   TEXT    NOT NULL DEFAULT '{}',
    source       TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    UNIQUE (workspace_id, source, message_id)
);
CREATE INDEX events_name_ts ON events (workspace_id, name, ts);
CREATE INDEX events_ts ON events (workspace_id, ts);

CREATE TABLE measurements (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    series       TEXT    NOT NULL,
    ts           INTEGER NOT NULL,
    value        REAL    NOT NULL,
    dimensions   TEXT    NOT NULL DEFAULT '{}',
    source       TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    UNIQUE (workspace_id, source, message_id)
);
CREATE INDEX measurements_series_ts ON measurements (workspace_id, series, ts);

-- +goose Down
DROP TABLE measurements;
DROP TABLE events;
DROP TABLE users;
DROP TABLE workspaces;
