-- Keyed stream-processor state (docs/processors.md, "Keyed state"): one
-- row per entry of a partition's keyed state, written with the
-- partition's checkpoint. Platform state, not tenant data (no org_id);
-- SQLite has no roles or row security.

-- +goose Up
CREATE TABLE integration_processor_state_entries (
    processor   TEXT    NOT NULL CHECK (processor <> ''),
    partition_n INTEGER NOT NULL CHECK (partition_n >= 0),
    entry_key   TEXT    NOT NULL CHECK (entry_key <> ''),
    value       BLOB    NOT NULL,
    PRIMARY KEY (processor, partition_n, entry_key)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE integration_processor_state_entries;
