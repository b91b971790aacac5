-- +goose Up
-- Sign-in accounts, their workspace memberships and roles, browser
-- sessions, API tokens and the audit log. Timestamps are Unix microseconds
-- in UTC. Secrets (session ids, API tokens) are stored as hex SHA-256 only.
CREATE TABLE accounts (
    id            bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    email         text   NOT NULL UNIQUE, -- lowercased
    password_hash text   NOT NULL,        -- bcrypt
    created_at    bigint NOT NULL
);

-- role is viewer, editor or admin.
CREATE TABLE memberships (
    workspace_id bigint NOT NULL REFERENCES workspaces (id),
    account_id   bigint NOT NULL REFERENCES accounts (id),
    role         text   NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at   bigint NOT NULL,
    PRIMARY KEY (workspace_id, account_id)
);
CREATE INDEX memberships_account ON memberships (account_id);

CREATE TABLE sessions (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    token_hash   text   NOT NULL UNIQUE,
    account_id   bigint NOT NULL REFERENCES accounts (id),
    workspace_id bigint NOT NULL REFERENCES workspaces (id),
    csrf_token   text   NOT NULL,
    created_at   bigint NOT NULL,
    expires_at   bigint NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE api_tokens (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id),
    name         text   NOT NULL,
    role         text   NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    prefix       text   NOT NULL,
    secret_hash  text   NOT NULL UNIQUE,
    created_at   bigint NOT NULL,
    revoked_at   bigint
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (workspace_id, name) WHERE revoked_at IS NULL;

-- audit_log is append-only: the trigger below rejects every UPDATE and
-- DELETE. before_json and after_json are JSON documents or NULL.
CREATE TABLE audit_log (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id),
    at           bigint NOT NULL,
    actor        text   NOT NULL,
    action       text   NOT NULL,
    object_type  text   NOT NULL,
    object_id    text   NOT NULL,
    before_json  text,
    after_json   text
);
CREATE INDEX audit_log_workspace_at ON audit_log (workspace_id, at);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();


-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE memberships;
DROP TABLE accounts;
