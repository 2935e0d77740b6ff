-- GreenLang relational schema for SQLite: the same tables, columns and
-- constraints as the PostgreSQL schema (pgstore/migrations), derived from it,
-- with schema-qualified names flattened (core.sites -> core_sites). Decimals
-- are TEXT (exact), times are fixed-width UTC TEXT, JSON is TEXT.

-- +goose Up
-- ---- core -----------------------------------------------------------------
CREATE TABLE core_organizations (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL CHECK (name <> ''),
    slug                    TEXT NOT NULL UNIQUE,
    country                 TEXT NOT NULL DEFAULT '',
    industry_naics          TEXT NOT NULL DEFAULT '',
    reporting_currency      TEXT NOT NULL DEFAULT 'EUR' CHECK (length(reporting_currency) = 3),
    fiscal_year_start_month INTEGER NOT NULL DEFAULT 1 CHECK (fiscal_year_start_month BETWEEN 1 AND 12),
    settings                TEXT NOT NULL DEFAULT '{}',
    audit_seq               INTEGER NOT NULL DEFAULT 0,
    audit_head              BLOB NOT NULL DEFAULT X'',
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL
);

CREATE TABLE core_users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES core_organizations (id),
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'auditor', 'data_steward', 'viewer', 'device')),
    password_hash TEXT NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT false,
    last_login_at TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, email)
);

CREATE TABLE core_api_tokens (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES core_organizations (id),
    user_id      TEXT,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL DEFAULT '',
    token_hash   BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL DEFAULT '[]',
    expires_at   TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES core_users (org_id, id)
);

CREATE TABLE core_sites (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES core_organizations (id),
    name          TEXT NOT NULL,
    code          TEXT NOT NULL DEFAULT '',
    site_type     TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    country       TEXT NOT NULL DEFAULT '',
    region        TEXT NOT NULL DEFAULT '',
    latitude      TEXT,
    longitude     TEXT,
    floor_area_m2 TEXT,
    active        BOOLEAN NOT NULL DEFAULT true,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX sites_code ON core_sites (org_id, code) WHERE code <> '';

-- ---- emissions ------------------------------------------------------------
CREATE TABLE emissions_emission_sources (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES core_organizations (id),
    site_id     TEXT,
    name        TEXT NOT NULL,
    scope       INTEGER NOT NULL CHECK (scope BETWEEN 1 AND 3),
    category    INTEGER CHECK (category IS NULL OR (category BETWEEN 1 AND 15 AND scope = 3)),
    source_type TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL DEFAULT true,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, site_id) REFERENCES core_sites (org_id, id)
);
CREATE INDEX emission_sources_active ON emissions_emission_sources (org_id, scope) WHERE active;

CREATE TABLE emissions_activity_records (
    id            TEXT NOT NULL,
    org_id        TEXT NOT NULL REFERENCES core_organizations (id),
    source_id     TEXT NOT NULL,
    site_id       TEXT,
    activity_type TEXT NOT NULL,
    quantity      TEXT NOT NULL,
    unit          TEXT NOT NULL,
    period_start  TIMESTAMP NOT NULL,
    period_end    TIMESTAMP NOT NULL,
    data_quality  INTEGER NOT NULL DEFAULT 3 CHECK (data_quality BETWEEN 1 AND 5),
    origin        TEXT NOT NULL DEFAULT 'manual',
    origin_ref    TEXT NOT NULL DEFAULT '',
    batch_id      TEXT,
    attributes    TEXT NOT NULL DEFAULT '{}',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (id, period_start),
    UNIQUE (org_id, id, period_start),
    FOREIGN KEY (org_id, source_id) REFERENCES emissions_emission_sources (org_id, id),
    FOREIGN KEY (org_id, site_id) REFERENCES core_sites (org_id, id),
    CHECK (period_end >= period_start)
);
CREATE INDEX activity_records_period_time ON emissions_activity_records (period_start);
CREATE INDEX activity_records_source ON emissions_activity_records (org_id, source_id, period_start);

CREATE TABLE emissions_calculation_runs (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES core_organizations (id),
    status         TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    engine_version TEXT NOT NULL DEFAULT '',
    gwp_set        TEXT NOT NULL DEFAULT '',
    factor_set_id  TEXT,
    parameters     TEXT NOT NULL DEFAULT '{}',
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP,
    records_in     INTEGER NOT NULL DEFAULT 0,
    records_out    INTEGER NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (org_id, id)
);

CREATE TABLE emissions_calculated_emissions (
    id                    TEXT NOT NULL,
    org_id                TEXT NOT NULL REFERENCES core_organizations (id),
    run_id                TEXT NOT NULL,
    activity_id           TEXT NOT NULL,
    activity_period_start TIMESTAMP NOT NULL,
    source_id             TEXT NOT NULL,
    site_id               TEXT,
    scope                 INTEGER NOT NULL CHECK (scope BETWEEN 1 AND 3),
    category              INTEGER CHECK (category IS NULL OR (category BETWEEN 1 AND 15 AND scope = 3)),
    scope2_basis          TEXT NOT NULL DEFAULT '' CHECK (scope2_basis IN ('', 'location', 'market')),
    method                TEXT NOT NULL DEFAULT '',
    factor_id             TEXT,
    gwp_set               TEXT NOT NULL DEFAULT '',
    co2_kg                TEXT NOT NULL DEFAULT 0,
    ch4_kg                TEXT NOT NULL DEFAULT 0,
    n2o_kg                TEXT NOT NULL DEFAULT 0,
    other_gases           TEXT NOT NULL DEFAULT '{}',
    co2e_kg               TEXT NOT NULL,
    biogenic_co2_kg       TEXT NOT NULL DEFAULT 0,
    uncertainty_pct       TEXT,
    data_quality          TEXT,
    period_start          TIMESTAMP NOT NULL,
    period_end            TIMESTAMP NOT NULL,
    lineage               TEXT NOT NULL DEFAULT '{}',
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    PRIMARY KEY (id, period_start),
    FOREIGN KEY (org_id, run_id) REFERENCES emissions_calculation_runs (org_id, id),
    FOREIGN KEY (org_id, activity_id, activity_period_start) REFERENCES emissions_activity_records (org_id, id, period_start),
    FOREIGN KEY (org_id, source_id) REFERENCES emissions_emission_sources (org_id, id),
    FOREIGN KEY (org_id, site_id) REFERENCES core_sites (org_id, id)
);
CREATE INDEX calculated_emissions_period_time ON emissions_calculated_emissions (period_start);
CREATE INDEX calculated_emissions_scope ON emissions_calculated_emissions (org_id, scope, period_start);
CREATE INDEX calculated_emissions_activity ON emissions_calculated_emissions (org_id, activity_id);

-- ---- supply_chain ---------------------------------------------------------
CREATE TABLE supply_chain_suppliers (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES core_organizations (id),
    name       TEXT NOT NULL,
    legal_name TEXT NOT NULL DEFAULT '',
    tax_id     TEXT NOT NULL DEFAULT '',
    duns       TEXT NOT NULL DEFAULT '',
    country    TEXT NOT NULL DEFAULT '',
    naics      TEXT NOT NULL DEFAULT '',
    website    TEXT NOT NULL DEFAULT '',
    risk_score TEXT CHECK (CAST(risk_score AS REAL) BETWEEN 0 AND 100),
    esg        TEXT NOT NULL DEFAULT '{}',
    active     BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, id)
);
CREATE INDEX suppliers_high_risk ON supply_chain_suppliers (org_id, risk_score) WHERE CAST(risk_score AS REAL) > 70;

CREATE TABLE supply_chain_products (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL REFERENCES core_organizations (id),
    supplier_id          TEXT,
    sku                  TEXT NOT NULL DEFAULT '',
    name                 TEXT NOT NULL DEFAULT '',
    category             TEXT NOT NULL DEFAULT '',
    unit                 TEXT NOT NULL DEFAULT '',
    pcf_kg_co2e_per_unit TEXT,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, supplier_id) REFERENCES supply_chain_suppliers (org_id, id)
);

CREATE TABLE supply_chain_purchase_orders (
    id            TEXT NOT NULL,
    org_id        TEXT NOT NULL REFERENCES core_organizations (id),
    supplier_id   TEXT,
    po_number     TEXT NOT NULL,
    order_date    TIMESTAMP NOT NULL,
    currency      TEXT NOT NULL DEFAULT 'EUR',
    total_amount  TEXT NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'open',
    source_system TEXT NOT NULL DEFAULT '',
    external_id   TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (id, order_date),
    UNIQUE (org_id, id, order_date),
    FOREIGN KEY (org_id, supplier_id) REFERENCES supply_chain_suppliers (org_id, id)
);
CREATE INDEX purchase_orders_date_time ON supply_chain_purchase_orders (order_date);
CREATE INDEX purchase_orders_supplier ON supply_chain_purchase_orders (org_id, supplier_id, order_date);

CREATE TABLE supply_chain_purchase_order_lines (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES core_organizations (id),
    po_id          TEXT NOT NULL,
    order_date     TIMESTAMP NOT NULL,
    line_no        INTEGER NOT NULL,
    product_id     TEXT,
    description    TEXT NOT NULL DEFAULT '',
    quantity       TEXT NOT NULL DEFAULT 0,
    unit           TEXT NOT NULL DEFAULT '',
    unit_price     TEXT NOT NULL DEFAULT 0,
    amount         TEXT NOT NULL DEFAULT 0,
    naics          TEXT NOT NULL DEFAULT '',
    spend_category TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, po_id, line_no),
    FOREIGN KEY (org_id, po_id, order_date) REFERENCES supply_chain_purchase_orders (org_id, id, order_date),
    FOREIGN KEY (org_id, product_id) REFERENCES supply_chain_products (org_id, id)
);

-- ---- csrd -----------------------------------------------------------------
CREATE TABLE csrd_esrs_standards (
    code    TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    topic   TEXT NOT NULL CHECK (topic IN ('cross_cutting', 'environmental', 'social', 'governance')),
    version TEXT NOT NULL DEFAULT ''
);
INSERT INTO csrd_esrs_standards (code, name, topic, version) VALUES
    ('ESRS 1', 'General requirements', 'cross_cutting', '2023'),
    ('ESRS 2', 'General disclosures', 'cross_cutting', '2023'),
    ('E1', 'Climate change', 'environmental', '2023'),
    ('E2', 'Pollution', 'environmental', '2023'),
    ('E3', 'Water and marine resources', 'environmental', '2023'),
    ('E4', 'Biodiversity and ecosystems', 'environmental', '2023'),
    ('E5', 'Resource use and circular economy', 'environmental', '2023'),
    ('S1', 'Own workforce', 'social', '2023'),
    ('S2', 'Workers in the value chain', 'social', '2023'),
    ('S3', 'Affected communities', 'social', '2023'),
    ('S4', 'Consumers and end-users', 'social', '2023'),
    ('G1', 'Business conduct', 'governance', '2023');

CREATE TABLE csrd_data_points (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES core_organizations (id),
    standard_code  TEXT NOT NULL REFERENCES csrd_esrs_standards (code),
    datapoint_code TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    period_start   TIMESTAMP NOT NULL,
    period_end     TIMESTAMP NOT NULL,
    value_numeric  TEXT,
    value_text     TEXT NOT NULL DEFAULT '',
    unit           TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'in_review', 'approved', 'published')),
    source         TEXT NOT NULL DEFAULT '',
    lineage        TEXT NOT NULL DEFAULT '{}',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, datapoint_code, period_start, period_end)
);

-- ---- audit ----------------------------------------------------------------
-- Append-only by convention here: SQLite has no roles; the chain makes edits evident.
-- Values are kept as TEXT, byte for byte as hashed.
CREATE TABLE audit_log (
    org_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq > 0),
    occurred_at TIMESTAMP NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    old_values  TEXT NOT NULL DEFAULT '',
    new_values  TEXT NOT NULL DEFAULT '',
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL,
    PRIMARY KEY (org_id, seq, occurred_at)
);
CREATE INDEX audit_log_time_time ON audit_log (occurred_at);
CREATE INDEX audit_log_entity ON audit_log (org_id, entity_type, entity_id);

-- ---- integration ----------------------------------------------------------
CREATE TABLE integration_erp_connections (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES core_organizations (id),
    name               TEXT NOT NULL,
    system             TEXT NOT NULL CHECK (system IN ('sap', 'oracle', 'workday', 'dynamics365', 'netsuite', 'spreadsheet')),
    base_url           TEXT NOT NULL DEFAULT '',
    auth_type          TEXT NOT NULL DEFAULT '',
    credentials_enc    BLOB,
    credentials_key_id TEXT NOT NULL DEFAULT '',
    settings           TEXT NOT NULL DEFAULT '{}',
    active             BOOLEAN NOT NULL DEFAULT true,
    last_sync_at       TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, name)
);

CREATE TABLE integration_sync_jobs (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES core_organizations (id),
    connection_id   TEXT NOT NULL,
    entity          TEXT NOT NULL DEFAULT '',
    mode            TEXT NOT NULL DEFAULT 'incremental' CHECK (mode IN ('incremental', 'full')),
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    started_at      TIMESTAMP,
    finished_at     TIMESTAMP,
    records_read    INTEGER NOT NULL DEFAULT 0,
    records_written INTEGER NOT NULL DEFAULT 0,
    records_failed  INTEGER NOT NULL DEFAULT 0,
    watermark       TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, connection_id) REFERENCES integration_erp_connections (org_id, id)
);
CREATE INDEX sync_jobs_connection ON integration_sync_jobs (org_id, connection_id, created_at DESC);

-- ---- iot ------------------------------------------------------------------
CREATE TABLE iot_devices (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES core_organizations (id),
    site_id            TEXT,
    device_type        TEXT NOT NULL CHECK (device_type IN ('air_quality', 'energy_meter', 'water_flow', 'emissions_sensor', 'temp_humidity', 'vehicle_tracker', 'solar_panel', 'waste_bin')),
    serial             TEXT NOT NULL,
    name               TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT 'registered' CHECK (status IN ('registered', 'active', 'inactive', 'decommissioned')),
    firmware_version   TEXT NOT NULL DEFAULT '',
    last_seen_at       TIMESTAMP,
    calibrated_at      TIMESTAMP,
    calibration_due_at TIMESTAMP,
    metadata           TEXT NOT NULL DEFAULT '{}',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, serial),
    FOREIGN KEY (org_id, site_id) REFERENCES core_sites (org_id, id)
);

CREATE TABLE iot_sensor_readings (
    org_id      TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    metric      TEXT NOT NULL,
    ts          TIMESTAMP NOT NULL,
    value       TEXT NOT NULL,
    unit        TEXT NOT NULL DEFAULT '',
    quality     INTEGER NOT NULL DEFAULT 0,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, device_id, metric, ts),
    FOREIGN KEY (org_id, device_id) REFERENCES iot_devices (org_id, id)
);
CREATE INDEX sensor_readings_ts_time ON iot_sensor_readings (ts);

CREATE TABLE iot_alerts (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES core_organizations (id),
    device_id   TEXT,
    site_id     TEXT,
    severity    TEXT NOT NULL DEFAULT 'warning' CHECK (severity IN ('info', 'warning', 'critical')),
    kind        TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    metric      TEXT NOT NULL DEFAULT '',
    value       TEXT,
    threshold   TEXT,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    raised_at   TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, device_id) REFERENCES iot_devices (org_id, id),
    FOREIGN KEY (org_id, site_id) REFERENCES core_sites (org_id, id)
);
CREATE INDEX alerts_open ON iot_alerts (org_id, raised_at DESC) WHERE status <> 'resolved';

-- ---- analytics ------------------------------------------------------------
CREATE TABLE analytics_kpi_definitions (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES core_organizations (id),
    code        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    unit        TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    direction   TEXT NOT NULL DEFAULT 'lower_better' CHECK (direction IN ('lower_better', 'higher_better')),
    target      TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, code)
);

CREATE TABLE analytics_kpi_values (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES core_organizations (id),
    kpi_id       TEXT NOT NULL,
    site_id      TEXT,
    period_start TIMESTAMP NOT NULL,
    period_end   TIMESTAMP NOT NULL,
    value        TEXT NOT NULL,
    computed_at  TIMESTAMP NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, kpi_id) REFERENCES analytics_kpi_definitions (org_id, id),
    FOREIGN KEY (org_id, site_id) REFERENCES core_sites (org_id, id)
);
CREATE INDEX kpi_values_period ON analytics_kpi_values (org_id, kpi_id, period_start);

-- ---- master_data ----------------------------------------------------------
-- Official factor sets have no organization and are visible to every tenant;
-- a tenant's own sets (supplier-specific factors) only to that tenant.
CREATE TABLE master_data_factor_sets (
    id         TEXT PRIMARY KEY,
    org_id     TEXT REFERENCES core_organizations (id),
    name       TEXT NOT NULL,
    publisher  TEXT NOT NULL DEFAULT '',
    edition    TEXT NOT NULL DEFAULT '',
    version    TEXT NOT NULL DEFAULT '',
    valid_from TIMESTAMP NOT NULL,
    valid_to   TIMESTAMP,
    source_url TEXT NOT NULL DEFAULT '',
    license    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    UNIQUE (name, version),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);

CREATE TABLE master_data_emission_factors (
    id              TEXT PRIMARY KEY,
    org_id          TEXT REFERENCES core_organizations (id),
    factor_set_id   TEXT NOT NULL REFERENCES master_data_factor_sets (id),
    activity_type   TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    region          TEXT NOT NULL DEFAULT '',
    gas             TEXT NOT NULL,
    value           TEXT NOT NULL,
    value_unit      TEXT NOT NULL,
    per_unit        TEXT NOT NULL,
    heat_content    TEXT,
    heat_basis      TEXT NOT NULL DEFAULT '' CHECK (heat_basis IN ('', 'HHV', 'NCV')),
    uncertainty_pct TEXT,
    source_table    TEXT NOT NULL DEFAULT '',
    valid_from      TIMESTAMP NOT NULL,
    valid_to        TIMESTAMP,
    attributes      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX emission_factors_lookup ON master_data_emission_factors (factor_set_id, activity_type, region, gas);

CREATE TABLE master_data_industry_benchmarks (
    id     TEXT PRIMARY KEY,
    naics  TEXT NOT NULL,
    region TEXT NOT NULL DEFAULT '',
    metric TEXT NOT NULL,
    year   INTEGER NOT NULL,
    value  TEXT NOT NULL,
    unit   TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    UNIQUE (naics, region, metric, year)
);

-- ---- reporting ------------------------------------------------------------
-- Refreshed by the driver's Maintain (decimal sums computed exactly in Go).
CREATE TABLE reporting_monthly_emissions (
    org_id       TEXT NOT NULL,
    month        TIMESTAMP NOT NULL,
    scope        INTEGER NOT NULL,
    scope2_basis TEXT NOT NULL,
    co2e_kg      TEXT NOT NULL,
    records      INTEGER NOT NULL,
    PRIMARY KEY (org_id, month, scope, scope2_basis)
);

-- Tenant ids, for platform work that visits every tenant.
CREATE VIEW core_organization_directory AS SELECT id FROM core_organizations;

-- +goose Down
SELECT 1;
