-- Stream-processor state and checkpoints (docs/processors.md): one row per
-- processor and input partition, written in the same transaction as the
-- outbox events the processor emits. Platform state, not tenant data (no
-- org_id); SQLite has no roles or row security.

-- +goose Up
CREATE TABLE integration_processor_state (
    processor    TEXT    NOT NULL CHECK (processor <> ''),
    partition_n  INTEGER NOT NULL CHECK (partition_n >= 0),
    input_offset INTEGER NOT NULL CHECK (input_offset >= 0),
    version      INTEGER NOT NULL CHECK (version >= 1),
    state        BLOB    NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (processor, partition_n)
);

-- +goose Down
DROP TABLE integration_processor_state;
