-- +goose Up
-- Sign-in accounts, their workspace memberships and roles, browser
-- sessions, API tokens and the audit log. Timestamps are Unix microseconds
-- in UTC. Secrets (session ids, API tokens) are stored as hex SHA-256 only.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE, -- lowercased
    password_hash TEXT    NOT NULL,        -- bcrypt
    created_at    INTEGER NOT NULL
);

-- role is viewer, editor or admin.
CREATE TABLE memberships (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    role         TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, account_id)
);
CREATE INDEX memberships_account ON memberships (account_id);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT    NOT NULL UNIQUE,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    name         TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    prefix       TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (workspace_id, name) WHERE revoked_at IS NULL;

-- audit_log is append-only: the triggers below reject every UPDATE and
-- DELETE. before_json and after_json are JSON documents or NULL.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    object_type  TEXT    NOT NULL,
    object_id    TEXT    NOT NULL,
    before_json  TEXT,
    after_json   TEXT
);
CREATE INDEX audit_log_workspace_at ON audit_log (workspace_id, at);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TABLE audit_log;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE memberships;
DROP TABLE accounts;
