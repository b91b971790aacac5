-- +goose Up
-- merged_into is set on a user whose distinct_id was aliased to another
-- person. It always points at the surviving user, never at another merged
-- one, so a lookup takes one step. traits_at is the timestamp (Unix
-- microseconds) of the newest identify call merged into traits.
ALTER TABLE users ADD COLUMN merged_into bigint REFERENCES users (id);
ALTER TABLE users ADD COLUMN traits_at bigint NOT NULL DEFAULT 0;
CREATE INDEX users_merged_into ON users (merged_into) WHERE merged_into IS NOT NULL;

-- Alias moves a person's events to the surviving user id.
CREATE INDEX events_user ON events (user_id);

-- json_merge_patch applies patch to target as RFC 7396 says, like SQLite's
-- json_patch: object keys merge recursively, a null removes the key, and
-- any other value replaces the target whole.
-- +goose StatementBegin
CREATE FUNCTION json_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    result jsonb;
    k      text;
    v      jsonb;
BEGIN
    IF jsonb_typeof(patch) IS DISTINCT FROM 'object' THEN
        RETURN patch;
    END IF;
    IF jsonb_typeof(target) IS DISTINCT FROM 'object' THEN
        result := '{}';
    ELSE
        result := target;
    END IF;
    FOR k, v IN SELECT key, value FROM jsonb_each(patch) LOOP
        IF jsonb_typeof(v) = 'null' THEN
            result := result - k;
        ELSE
            result := result || jsonb_build_object(k, json_merge_patch(result -> k, v));
        END IF;
    END LOOP;
    RETURN result;
END
$$;
-- +goose StatementEnd

-- write_keys stores the SHA-256 of each secret (hex), never the secret.
-- name is the Source of the events sent with the key; at most one active
-- (not revoked) key has a given name.
CREATE TABLE write_keys (
    id           bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL DEFAULT 1 REFERENCES workspaces (id),
    name         text   NOT NULL,
    prefix       text   NOT NULL,
    secret_hash  text   NOT NULL UNIQUE,
    created_at   bigint NOT NULL,
    revoked_at   bigint
);
CREATE UNIQUE INDEX write_keys_active_name ON write_keys (workspace_id, name) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE write_keys;
DROP FUNCTION json_merge_patch(jsonb, jsonb);
DROP INDEX events_user;
DROP INDEX users_merged_into;
ALTER TABLE users DROP COLUMN traits_at;
ALTER TABLE users DROP COLUMN merged_into;
