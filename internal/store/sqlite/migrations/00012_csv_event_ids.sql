-- +goose Up
-- Events imported from CSV get message IDs that start with their time:
-- the time as written in the file, in Unix microseconds as if it were UTC,
-- as 16 hex digits, then the first 32
-- hex digits of the SHA-256 that identified the row before. Files sorted
-- by time then add to the end of the unique (workspace_id, source,
-- message_id) index instead of random places. Rewriting the stored IDs the
-- same way keeps a re-import of a file imported before from storing its
-- rows twice. Only 64-digit lowercase hex IDs of source 'csv' have the old
-- form, so events sent with a write key named "csv" and other IDs keep theirs.
-- The stored time is UTC, so the rewritten IDs match those of a re-import
-- only for files imported in UTC (the default) or with offsets of +00:00.
UPDATE events
SET message_id = printf('%016x', ts) || substr(message_id, 1, 32)
WHERE source = 'csv' AND length(message_id) = 64 AND message_id NOT GLOB '*[^0-9a-f]*';

-- +goose Down
-- The last 32 hex digits of the old IDs are gone, so the IDs stay as they are.
