-- Keyed stream-processor state (docs/processors.md, "Keyed state"): a
-- processor whose partition state is a map (the anomaly detector's
-- baselines by device) keeps each entry in its own row, and a commit
-- writes only the entries the batch changed, in the same transaction as
-- the partition's checkpoint row (integration.processor_state) and its
-- outputs. Re-encoding a whole partition's state at every commit cost
-- O(devices) per batch; this costs O(devices the batch touched).
--
-- Tenancy as integration.processor_state: platform state, no org_id,
-- visible only outside a tenant transaction. The application role may
-- DELETE here: dropping an entry (a device whose baselines are gone) is
-- part of normal running, unlike resetting a processor.

-- +goose Up
CREATE TABLE integration.processor_state_entries (
    processor   text    NOT NULL CHECK (processor ~ '^[a-z0-9][a-z0-9-]*$'),
    partition_n integer NOT NULL CHECK (partition_n >= 0),
    entry_key   text    NOT NULL CHECK (entry_key <> ''),
    value       bytea   NOT NULL,
    PRIMARY KEY (processor, partition_n, entry_key)
);

ALTER TABLE integration.processor_state_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.processor_state_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_only ON integration.processor_state_entries
    USING (core.current_org() IS NULL) WITH CHECK (core.current_org() IS NULL);
GRANT SELECT, INSERT, UPDATE, DELETE ON integration.processor_state_entries TO greenlang_app;

-- +goose Down
DROP TABLE integration.processor_state_entries;
