-- ERP sync (docs/erp.md): the normalized records every connector maps
-- into, each connection's per-entity watermark and resume point, the
-- records a sync quarantined, and the tenant's versioned mapping from ERP
-- records to activity data.
--
-- integration.erp_records keeps one row per record of a connection, by
-- kind and the source's key (document id + line): a sync upserts it, so a
-- record read twice is stored once. Its id is a UUIDv5 of connection, kind
-- and key, so a page's records are looked up by one primary-key column:
-- an IN list on the last column of (org, connection, kind, key) is
-- planned as a filter over the whole connection while the table's
-- statistics are stale (as they are during a first sync), which made
-- each page's lookup O(records stored). content_hash detects a change. state
-- says whether the record's current content has been turned into
-- activity data: pending (not yet), posted (posting holds what was
-- stored, so a later change or deletion can be reversed), unmapped (no
-- mapping applies; the reason is in note), skipped (a kind that is not
-- activity data: suppliers, materials, workers), or quarantined.
--
-- Tenancy: row-level security FORCEd like every tenant table. Records and
-- states are updated in place; quarantine entries and mappings are
-- history (no UPDATE or DELETE for the application role).

-- +goose Up
-- Each connection's sync schedule: a cron expression (5 fields or @daily,
-- optionally CRON_TZ=<zone> first); empty for none.
ALTER TABLE integration.erp_connections ADD COLUMN schedule text NOT NULL DEFAULT '';
-- One sync of a connection at a time, across processes: the syncing
-- process holds a lease it renews while it runs; a lease left by a process
-- that died expires.
ALTER TABLE integration.erp_connections ADD COLUMN sync_holder uuid, ADD COLUMN sync_lease_until timestamptz;

CREATE TABLE integration.erp_records (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES core.organizations (id),
    connection_id uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('supplier', 'material', 'purchase_order_line', 'gl_entry', 'expense_line', 'worker')),
    record_key    text NOT NULL CHECK (record_key <> ''),
    modified_at   timestamptz,
    deleted       boolean NOT NULL DEFAULT false,
    content_hash  text NOT NULL,
    data          jsonb NOT NULL,
    original      jsonb,
    first_job     uuid NOT NULL,
    last_job      uuid NOT NULL,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'posted', 'unmapped', 'skipped', 'quarantined')),
    note          text NOT NULL DEFAULT '',
    posting       jsonb,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (org_id, connection_id, kind, record_key),
    FOREIGN KEY (org_id, connection_id) REFERENCES integration.erp_connections (org_id, id)
);
CREATE INDEX erp_records_pending ON integration.erp_records (org_id, connection_id) WHERE state = 'pending';
CREATE INDEX erp_records_unmapped ON integration.erp_records (org_id, connection_id) WHERE state = 'unmapped';

CREATE TABLE integration.sync_state (
    org_id        uuid NOT NULL REFERENCES core.organizations (id),
    connection_id uuid NOT NULL,
    entity        text NOT NULL CHECK (entity <> ''),
    watermark     text NOT NULL DEFAULT '',
    resume_cursor text NOT NULL DEFAULT '',
    resume_since  text NOT NULL DEFAULT '',
    resume_job    uuid,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, connection_id, entity),
    FOREIGN KEY (org_id, connection_id) REFERENCES integration.erp_connections (org_id, id)
);

CREATE TABLE integration.sync_errors (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES core.organizations (id),
    job_id        uuid NOT NULL,
    connection_id uuid NOT NULL,
    entity        text NOT NULL DEFAULT '',
    record_key    text NOT NULL DEFAULT '',
    reason        text NOT NULL CHECK (reason <> ''),
    raw           text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    FOREIGN KEY (org_id, job_id) REFERENCES integration.sync_jobs (org_id, id)
);
CREATE INDEX sync_errors_job ON integration.sync_errors (org_id, job_id, created_at);

CREATE TABLE integration.activity_mappings (
    org_id     uuid NOT NULL REFERENCES core.organizations (id),
    version    integer NOT NULL CHECK (version > 0),
    rules      jsonb NOT NULL,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, version)
);

ALTER TABLE integration.erp_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.erp_records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration.erp_records
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
ALTER TABLE integration.sync_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.sync_state FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration.sync_state
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
ALTER TABLE integration.sync_errors ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.sync_errors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration.sync_errors
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
ALTER TABLE integration.activity_mappings ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.activity_mappings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration.activity_mappings
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
GRANT SELECT, INSERT, UPDATE ON integration.erp_records, integration.sync_state TO greenlang_app;
GRANT SELECT, INSERT ON integration.sync_errors, integration.activity_mappings TO greenlang_app;

-- +goose Down
DROP TABLE integration.activity_mappings;
DROP TABLE integration.sync_errors;
DROP TABLE integration.sync_state;
DROP TABLE integration.erp_records;
ALTER TABLE integration.erp_connections DROP COLUMN schedule, DROP COLUMN sync_holder, DROP COLUMN sync_lease_until;
