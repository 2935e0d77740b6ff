-- ERP sync (docs/erp.md): the same tables as on PostgreSQL. SQLite has no
-- roles or row security: tenant scoping is in every query.

-- +goose Up
ALTER TABLE integration_erp_connections ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
ALTER TABLE integration_erp_connections ADD COLUMN sync_holder TEXT;
ALTER TABLE integration_erp_connections ADD COLUMN sync_lease_until TIMESTAMP;

CREATE TABLE integration_erp_records (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES core_organizations (id),
    connection_id TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('supplier', 'material', 'purchase_order_line', 'gl_entry', 'expense_line', 'worker')),
    record_key    TEXT NOT NULL CHECK (record_key <> ''),
    modified_at   TIMESTAMP,
    deleted       BOOLEAN NOT NULL DEFAULT false,
    content_hash  TEXT NOT NULL,
    data          TEXT NOT NULL,
    original      TEXT,
    first_job     TEXT NOT NULL,
    last_job      TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'posted', 'unmapped', 'skipped', 'quarantined')),
    note          TEXT NOT NULL DEFAULT '',
    posting       TEXT,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (org_id, connection_id, kind, record_key),
    FOREIGN KEY (org_id, connection_id) REFERENCES integration_erp_connections (org_id, id)
) WITHOUT ROWID;
CREATE INDEX erp_records_pending ON integration_erp_records (org_id, connection_id) WHERE state = 'pending';
CREATE INDEX erp_records_unmapped ON integration_erp_records (org_id, connection_id) WHERE state = 'unmapped';

CREATE TABLE integration_sync_state (
    org_id        TEXT NOT NULL REFERENCES core_organizations (id),
    connection_id TEXT NOT NULL,
    entity        TEXT NOT NULL CHECK (entity <> ''),
    watermark     TEXT NOT NULL DEFAULT '',
    resume_cursor TEXT NOT NULL DEFAULT '',
    resume_since  TEXT NOT NULL DEFAULT '',
    resume_job    TEXT,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, connection_id, entity),
    FOREIGN KEY (org_id, connection_id) REFERENCES integration_erp_connections (org_id, id)
);

CREATE TABLE integration_sync_errors (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES core_organizations (id),
    job_id        TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    entity        TEXT NOT NULL DEFAULT '',
    record_key    TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL CHECK (reason <> ''),
    raw           TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    FOREIGN KEY (org_id, job_id) REFERENCES integration_sync_jobs (org_id, id)
);
CREATE INDEX sync_errors_job ON integration_sync_errors (org_id, job_id, created_at);

CREATE TABLE integration_activity_mappings (
    org_id     TEXT NOT NULL REFERENCES core_organizations (id),
    version    INTEGER NOT NULL CHECK (version > 0),
    rules      TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, version)
);

-- +goose Down
DROP TABLE integration_activity_mappings;
DROP TABLE integration_sync_errors;
DROP TABLE integration_sync_state;
DROP TABLE integration_erp_records;
ALTER TABLE integration_erp_connections DROP COLUMN sync_lease_until;
ALTER TABLE integration_erp_connections DROP COLUMN sync_holder;
ALTER TABLE integration_erp_connections DROP COLUMN schedule;
