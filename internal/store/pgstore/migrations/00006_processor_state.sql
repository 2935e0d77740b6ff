-- Stream-processor state and checkpoints (docs/processors.md). One row per
-- processor and input partition: the partition's state (windows,
-- aggregates; JSON) and the offset of the last input message whose effect
-- is committed. A processor writes it in the same transaction as the
-- outbox events it emits, so state, position and outputs move together.
--
-- Tenancy: this is platform state, not tenant data. A row belongs to a
-- processor, not to an organization (one partition's state holds the
-- windows of every organization whose events hash to it), so there is no
-- org_id and no tenant policy. It is still behind FORCEd row-level
-- security, with a policy that shows rows only OUTSIDE a tenant
-- transaction (no greenlang.org_id set): the processor runtime's system
-- transactions see them, a tenant request never does, even through a SQL
-- mistake. The application role has SELECT, INSERT and UPDATE (the runtime
-- upserts checkpoints) and no DELETE: resetting a processor is an
-- operator's job, as the schema owner.

-- +goose Up
CREATE TABLE integration.processor_state (
    processor   text    NOT NULL CHECK (processor ~ '^[a-z0-9][a-z0-9-]*$'),
    partition_n integer NOT NULL CHECK (partition_n >= 0),
    input_offset bigint NOT NULL CHECK (input_offset >= 0),
    version     bigint  NOT NULL CHECK (version >= 1),
    state       bytea   NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (processor, partition_n)
);

ALTER TABLE integration.processor_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.processor_state FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_only ON integration.processor_state
    USING (core.current_org() IS NULL) WITH CHECK (core.current_org() IS NULL);
GRANT SELECT, INSERT, UPDATE ON integration.processor_state TO greenlang_app;

-- +goose Down
DROP TABLE integration.processor_state;
