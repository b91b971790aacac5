-- +goose Up
-- users_version counts the alias calls that merged users of the workspace.
-- A store that keeps distinct_id to user id mappings in memory drops them
-- when it finds the version changed, because a merge elsewhere moved them.
ALTER TABLE workspaces ADD COLUMN users_version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE workspaces DROP COLUMN users_version;
