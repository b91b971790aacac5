-- +goose Up
-- merged_into is set on a user whose distinct_id was aliased to another
-- person. It always points at the surviving user, never at another merged
-- one, so a lookup takes one step. traits_at is the timestamp (Unix
-- microseconds) of the newest identify call merged into traits.
ALTER TABLE users ADD COLUMN merged_into INTEGER REFERENCES users (id);
ALTER TABLE users ADD COLUMN traits_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_merged_into ON users (merged_into) WHERE merged_into IS NOT NULL;

-- Alias moves a person's events to the surviving user id.
CREATE INDEX events_user ON events (user_id);

-- write_keys stores the SHA-256 of each secret (hex), never the secret.
-- name is the Source of the events sent with the key; at most one active
-- (not revoked) key has a given name.
CREATE TABLE write_keys (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX write_keys_active_name ON write_keys (workspace_id, name) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE write_keys;
DROP INDEX events_user;
DROP INDEX users_merged_into;
ALTER TABLE users DROP COLUMN traits_at;
ALTER TABLE users DROP COLUMN merged_into;
