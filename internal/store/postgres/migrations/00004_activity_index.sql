-- +goose Up
-- activity_index holds the engine's activity index between runs: opaque
-- records under a key, one of them ('meta') describing the rest.
CREATE TABLE activity_index (
    workspace_id bigint NOT NULL DEFAULT 1,
    key          text   NOT NULL,
    data         bytea  NOT NULL,
    PRIMARY KEY (workspace_id, key)
);

-- +goose Down
DROP TABLE activity_index;
