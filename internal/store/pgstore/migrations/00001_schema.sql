-- GreenLang relational schema for PostgreSQL: the ten seed schemas.
-- Tenant tables carry org_id; foreign keys between tenant tables are
-- composite (org_id, id) so a record can never point into another tenant.
-- Time-series tables are range-partitioned by month with a DEFAULT partition,
-- so no insert ever fails for a missing partition; maintenance moves rows
-- into monthly partitions created ahead of time (core.maintain_partitions).
-- Rows of tables that others reference by foreign key (activity records,
-- purchase orders) are never moved: a month already holding rows in the
-- DEFAULT partition keeps them there, still correct, only not pruned.

-- +goose Up
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS emissions;
CREATE SCHEMA IF NOT EXISTS supply_chain;
CREATE SCHEMA IF NOT EXISTS csrd;
CREATE SCHEMA IF NOT EXISTS audit;
CREATE SCHEMA IF NOT EXISTS integration;
CREATE SCHEMA IF NOT EXISTS iot;
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE SCHEMA IF NOT EXISTS master_data;
CREATE SCHEMA IF NOT EXISTS reporting;

-- The organization the current transaction acts for (set by the store with
-- set_config('greenlang.org_id', …, true)); NULL outside a tenant transaction.
CREATE FUNCTION core.current_org() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT NULLIF(current_setting('greenlang.org_id', true), '')::uuid $$;

-- ---- core -----------------------------------------------------------------
CREATE TABLE core.organizations (
    id                      uuid PRIMARY KEY,
    name                    text NOT NULL CHECK (name <> ''),
    slug                    text NOT NULL UNIQUE,
    country                 text NOT NULL DEFAULT '',
    industry_naics          text NOT NULL DEFAULT '',
    reporting_currency      text NOT NULL DEFAULT 'EUR' CHECK (length(reporting_currency) = 3),
    fiscal_year_start_month smallint NOT NULL DEFAULT 1 CHECK (fiscal_year_start_month BETWEEN 1 AND 12),
    settings                jsonb NOT NULL DEFAULT '{}',
    audit_seq               bigint NOT NULL DEFAULT 0,
    audit_head              bytea NOT NULL DEFAULT ''::bytea,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL
);

CREATE TABLE core.users (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES core.organizations (id),
    email         text NOT NULL,
    display_name  text NOT NULL DEFAULT '',
    role          text NOT NULL CHECK (role IN ('admin', 'analyst', 'auditor', 'data_steward', 'viewer', 'device')),
    password_hash text NOT NULL DEFAULT '',
    disabled      boolean NOT NULL DEFAULT false,
    last_login_at timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, email)
);

CREATE TABLE core.api_tokens (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES core.organizations (id),
    user_id      uuid,
    name         text NOT NULL,
    prefix       text NOT NULL DEFAULT '',
    token_hash   bytea NOT NULL UNIQUE,
    scopes       jsonb NOT NULL DEFAULT '[]',
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES core.users (org_id, id)
);

CREATE TABLE core.sites (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES core.organizations (id),
    name          text NOT NULL,
    code          text NOT NULL DEFAULT '',
    site_type     text NOT NULL DEFAULT '',
    address       text NOT NULL DEFAULT '',
    country       text NOT NULL DEFAULT '',
    region        text NOT NULL DEFAULT '',
    latitude      numeric(9, 6),
    longitude     numeric(9, 6),
    floor_area_m2 numeric,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX sites_code ON core.sites (org_id, code) WHERE code <> '';

-- ---- emissions ------------------------------------------------------------
CREATE TABLE emissions.emission_sources (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES core.organizations (id),
    site_id     uuid,
    name        text NOT NULL,
    scope       smallint NOT NULL CHECK (scope BETWEEN 1 AND 3),
    category    smallint CHECK (category IS NULL OR (category BETWEEN 1 AND 15 AND scope = 3)),
    source_type text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, site_id) REFERENCES core.sites (org_id, id)
);
CREATE INDEX emission_sources_active ON emissions.emission_sources (org_id, scope) WHERE active;

CREATE TABLE emissions.activity_records (
    id            uuid NOT NULL,
    org_id        uuid NOT NULL REFERENCES core.organizations (id),
    source_id     uuid NOT NULL,
    site_id       uuid,
    activity_type text NOT NULL,
    quantity      numeric NOT NULL,
    unit          text NOT NULL,
    period_start  timestamptz NOT NULL,
    period_end    timestamptz NOT NULL,
    data_quality  smallint NOT NULL DEFAULT 3 CHECK (data_quality BETWEEN 1 AND 5),
    origin        text NOT NULL DEFAULT 'manual',
    origin_ref    text NOT NULL DEFAULT '',
    batch_id      uuid,
    attributes    jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (id, period_start),
    UNIQUE (org_id, id, period_start),
    FOREIGN KEY (org_id, source_id) REFERENCES emissions.emission_sources (org_id, id),
    FOREIGN KEY (org_id, site_id) REFERENCES core.sites (org_id, id),
    CHECK (period_end >= period_start)
) PARTITION BY RANGE (period_start);
CREATE TABLE emissions.activity_records_default PARTITION OF emissions.activity_records DEFAULT;
CREATE INDEX activity_records_period_brin ON emissions.activity_records USING brin (period_start);
CREATE INDEX activity_records_source ON emissions.activity_records (org_id, source_id, period_start);
CREATE INDEX activity_records_attributes ON emissions.activity_records USING gin (attributes jsonb_path_ops);

CREATE TABLE emissions.calculation_runs (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES core.organizations (id),
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    engine_version text NOT NULL DEFAULT '',
    gwp_set        text NOT NULL DEFAULT '',
    factor_set_id  uuid,
    parameters     jsonb NOT NULL DEFAULT '{}',
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    records_in     bigint NOT NULL DEFAULT 0,
    records_out    bigint NOT NULL DEFAULT 0,
    error          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (org_id, id)
);

CREATE TABLE emissions.calculated_emissions (
    id                    uuid NOT NULL,
    org_id                uuid NOT NULL REFERENCES core.organizations (id),
    run_id                uuid NOT NULL,
    activity_id           uuid NOT NULL,
    activity_period_start timestamptz NOT NULL,
    source_id             uuid NOT NULL,
    site_id               uuid,
    scope                 smallint NOT NULL CHECK (scope BETWEEN 1 AND 3),
    category              smallint CHECK (category IS NULL OR (category BETWEEN 1 AND 15 AND scope = 3)),
    scope2_basis          text NOT NULL DEFAULT '' CHECK (scope2_basis IN ('', 'location', 'market')),
    method                text NOT NULL DEFAULT '',
    factor_id             uuid,
    gwp_set               text NOT NULL DEFAULT '',
    co2_kg                numeric NOT NULL DEFAULT 0,
    ch4_kg                numeric NOT NULL DEFAULT 0,
    n2o_kg                numeric NOT NULL DEFAULT 0,
    other_gases           jsonb NOT NULL DEFAULT '{}',
    co2e_kg               numeric NOT NULL,
    biogenic_co2_kg       numeric NOT NULL DEFAULT 0,
    uncertainty_pct       numeric,
    data_quality          numeric,
    period_start          timestamptz NOT NULL,
    period_end            timestamptz NOT NULL,
    lineage               jsonb NOT NULL DEFAULT '{}',
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (id, period_start),
    FOREIGN KEY (org_id, run_id) REFERENCES emissions.calculation_runs (org_id, id),
    FOREIGN KEY (org_id, activity_id, activity_period_start) REFERENCES emissions.activity_records (org_id, id, period_start),
    FOREIGN KEY (org_id, source_id) REFERENCES emissions.emission_sources (org_id, id),
    FOREIGN KEY (org_id, site_id) REFERENCES core.sites (org_id, id)
) PARTITION BY RANGE (period_start);
CREATE TABLE emissions.calculated_emissions_default PARTITION OF emissions.calculated_emissions DEFAULT;
CREATE INDEX calculated_emissions_period_brin ON emissions.calculated_emissions USING brin (period_start);
CREATE INDEX calculated_emissions_scope ON emissions.calculated_emissions (org_id, scope, period_start);
CREATE INDEX calculated_emissions_activity ON emissions.calculated_emissions (org_id, activity_id);
CREATE INDEX calculated_emissions_lineage ON emissions.calculated_emissions USING gin (lineage jsonb_path_ops);

-- ---- supply_chain ---------------------------------------------------------
CREATE TABLE supply_chain.suppliers (
    id         uuid PRIMARY KEY,
    org_id     uuid NOT NULL REFERENCES core.organizations (id),
    name       text NOT NULL,
    legal_name text NOT NULL DEFAULT '',
    tax_id     text NOT NULL DEFAULT '',
    duns       text NOT NULL DEFAULT '',
    country    text NOT NULL DEFAULT '',
    naics      text NOT NULL DEFAULT '',
    website    text NOT NULL DEFAULT '',
    risk_score numeric CHECK (risk_score BETWEEN 0 AND 100),
    esg        jsonb NOT NULL DEFAULT '{}',
    active     boolean NOT NULL DEFAULT true,
    search     tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(legal_name, '') || ' ' || coalesce(tax_id, '') || ' ' || coalesce(duns, ''))
    ) STORED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (org_id, id)
);
CREATE INDEX suppliers_search ON supply_chain.suppliers USING gin (search);
CREATE INDEX suppliers_esg ON supply_chain.suppliers USING gin (esg jsonb_path_ops);
CREATE INDEX suppliers_high_risk ON supply_chain.suppliers (org_id, risk_score) WHERE risk_score > 70;

CREATE TABLE supply_chain.products (
    id                   uuid PRIMARY KEY,
    org_id               uuid NOT NULL REFERENCES core.organizations (id),
    supplier_id          uuid,
    sku                  text NOT NULL DEFAULT '',
    name                 text NOT NULL DEFAULT '',
    category             text NOT NULL DEFAULT '',
    unit                 text NOT NULL DEFAULT '',
    pcf_kg_co2e_per_unit numeric,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, supplier_id) REFERENCES supply_chain.suppliers (org_id, id)
);

CREATE TABLE supply_chain.purchase_orders (
    id            uuid NOT NULL,
    org_id        uuid NOT NULL REFERENCES core.organizations (id),
    supplier_id   uuid,
    po_number     text NOT NULL,
    order_date    timestamptz NOT NULL,
    currency      text NOT NULL DEFAULT 'EUR',
    total_amount  numeric NOT NULL DEFAULT 0,
    status        text NOT NULL DEFAULT 'open',
    source_system text NOT NULL DEFAULT '',
    external_id   text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (id, order_date),
    UNIQUE (org_id, id, order_date),
    FOREIGN KEY (org_id, supplier_id) REFERENCES supply_chain.suppliers (org_id, id)
) PARTITION BY RANGE (order_date);
CREATE TABLE supply_chain.purchase_orders_default PARTITION OF supply_chain.purchase_orders DEFAULT;
CREATE INDEX purchase_orders_date_brin ON supply_chain.purchase_orders USING brin (order_date);
CREATE INDEX purchase_orders_supplier ON supply_chain.purchase_orders (org_id, supplier_id, order_date);

CREATE TABLE supply_chain.purchase_order_lines (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES core.organizations (id),
    po_id          uuid NOT NULL,
    order_date     timestamptz NOT NULL,
    line_no        integer NOT NULL,
    product_id     uuid,
    description    text NOT NULL DEFAULT '',
    quantity       numeric NOT NULL DEFAULT 0,
    unit           text NOT NULL DEFAULT '',
    unit_price     numeric NOT NULL DEFAULT 0,
    amount         numeric NOT NULL DEFAULT 0,
    naics          text NOT NULL DEFAULT '',
    spend_category text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, po_id, line_no),
    FOREIGN KEY (org_id, po_id, order_date) REFERENCES supply_chain.purchase_orders (org_id, id, order_date),
    FOREIGN KEY (org_id, product_id) REFERENCES supply_chain.products (org_id, id)
);

-- ---- csrd -----------------------------------------------------------------
CREATE TABLE csrd.esrs_standards (
    code    text PRIMARY KEY,
    name    text NOT NULL,
    topic   text NOT NULL CHECK (topic IN ('cross_cutting', 'environmental', 'social', 'governance')),
    version text NOT NULL DEFAULT ''
);
INSERT INTO csrd.esrs_standards (code, name, topic, version) VALUES
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

CREATE TABLE csrd.data_points (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES core.organizations (id),
    standard_code  text NOT NULL REFERENCES csrd.esrs_standards (code),
    datapoint_code text NOT NULL,
    name           text NOT NULL DEFAULT '',
    period_start   timestamptz NOT NULL,
    period_end     timestamptz NOT NULL,
    value_numeric  numeric,
    value_text     text NOT NULL DEFAULT '',
    unit           text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'in_review', 'approved', 'published')),
    source         text NOT NULL DEFAULT '',
    lineage        jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, datapoint_code, period_start, period_end)
);

-- ---- audit ----------------------------------------------------------------
-- Append-only: the application role may INSERT and SELECT, nothing else.
-- Values are kept as text, byte for byte as hashed.
CREATE TABLE audit.log (
    org_id      uuid NOT NULL,
    seq         bigint NOT NULL CHECK (seq > 0),
    occurred_at timestamptz NOT NULL,
    actor_type  text NOT NULL,
    actor_id    text NOT NULL,
    action      text NOT NULL,
    entity_type text NOT NULL,
    entity_id   text NOT NULL,
    old_values  text NOT NULL DEFAULT '',
    new_values  text NOT NULL DEFAULT '',
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL,
    PRIMARY KEY (org_id, seq, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE TABLE audit.log_default PARTITION OF audit.log DEFAULT;
CREATE INDEX audit_log_time_brin ON audit.log USING brin (occurred_at);
CREATE INDEX audit_log_entity ON audit.log (org_id, entity_type, entity_id);

-- ---- integration ----------------------------------------------------------
CREATE TABLE integration.erp_connections (
    id                 uuid PRIMARY KEY,
    org_id             uuid NOT NULL REFERENCES core.organizations (id),
    name               text NOT NULL,
    system             text NOT NULL CHECK (system IN ('sap', 'oracle', 'workday', 'dynamics365', 'netsuite', 'spreadsheet')),
    base_url           text NOT NULL DEFAULT '',
    auth_type          text NOT NULL DEFAULT '',
    credentials_enc    bytea,
    credentials_key_id text NOT NULL DEFAULT '',
    settings           jsonb NOT NULL DEFAULT '{}',
    active             boolean NOT NULL DEFAULT true,
    last_sync_at       timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, name)
);

CREATE TABLE integration.sync_jobs (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES core.organizations (id),
    connection_id   uuid NOT NULL,
    entity          text NOT NULL DEFAULT '',
    mode            text NOT NULL DEFAULT 'incremental' CHECK (mode IN ('incremental', 'full')),
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    started_at      timestamptz,
    finished_at     timestamptz,
    records_read    bigint NOT NULL DEFAULT 0,
    records_written bigint NOT NULL DEFAULT 0,
    records_failed  bigint NOT NULL DEFAULT 0,
    watermark       text NOT NULL DEFAULT '',
    error           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, connection_id) REFERENCES integration.erp_connections (org_id, id)
);
CREATE INDEX sync_jobs_connection ON integration.sync_jobs (org_id, connection_id, created_at DESC);

-- ---- iot ------------------------------------------------------------------
CREATE TABLE iot.devices (
    id                 uuid PRIMARY KEY,
    org_id             uuid NOT NULL REFERENCES core.organizations (id),
    site_id            uuid,
    device_type        text NOT NULL CHECK (device_type IN ('air_quality', 'energy_meter', 'water_flow', 'emissions_sensor', 'temp_humidity', 'vehicle_tracker', 'solar_panel', 'waste_bin')),
    serial             text NOT NULL,
    name               text NOT NULL DEFAULT '',
    status             text NOT NULL DEFAULT 'registered' CHECK (status IN ('registered', 'active', 'inactive', 'decommissioned')),
    firmware_version   text NOT NULL DEFAULT '',
    last_seen_at       timestamptz,
    calibrated_at      timestamptz,
    calibration_due_at timestamptz,
    metadata           jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, serial),
    FOREIGN KEY (org_id, site_id) REFERENCES core.sites (org_id, id)
);

CREATE TABLE iot.sensor_readings (
    org_id      uuid NOT NULL,
    device_id   uuid NOT NULL,
    metric      text NOT NULL,
    ts          timestamptz NOT NULL,
    value       numeric NOT NULL,
    unit        text NOT NULL DEFAULT '',
    quality     smallint NOT NULL DEFAULT 0,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, device_id, metric, ts),
    FOREIGN KEY (org_id, device_id) REFERENCES iot.devices (org_id, id)
) PARTITION BY RANGE (ts);
CREATE TABLE iot.sensor_readings_default PARTITION OF iot.sensor_readings DEFAULT;
CREATE INDEX sensor_readings_ts_brin ON iot.sensor_readings USING brin (ts);

CREATE TABLE iot.alerts (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES core.organizations (id),
    device_id   uuid,
    site_id     uuid,
    severity    text NOT NULL DEFAULT 'warning' CHECK (severity IN ('info', 'warning', 'critical')),
    kind        text NOT NULL DEFAULT '',
    message     text NOT NULL DEFAULT '',
    metric      text NOT NULL DEFAULT '',
    value       numeric,
    threshold   numeric,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    raised_at   timestamptz NOT NULL,
    resolved_at timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, device_id) REFERENCES iot.devices (org_id, id),
    FOREIGN KEY (org_id, site_id) REFERENCES core.sites (org_id, id)
);
CREATE INDEX alerts_open ON iot.alerts (org_id, raised_at DESC) WHERE status <> 'resolved';

-- ---- analytics ------------------------------------------------------------
CREATE TABLE analytics.kpi_definitions (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES core.organizations (id),
    code        text NOT NULL,
    name        text NOT NULL DEFAULT '',
    unit        text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    direction   text NOT NULL DEFAULT 'lower_better' CHECK (direction IN ('lower_better', 'higher_better')),
    target      numeric,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, code)
);

CREATE TABLE analytics.kpi_values (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES core.organizations (id),
    kpi_id       uuid NOT NULL,
    site_id      uuid,
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL,
    value        numeric NOT NULL,
    computed_at  timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, kpi_id) REFERENCES analytics.kpi_definitions (org_id, id),
    FOREIGN KEY (org_id, site_id) REFERENCES core.sites (org_id, id)
);
CREATE INDEX kpi_values_period ON analytics.kpi_values (org_id, kpi_id, period_start);

-- ---- master_data ----------------------------------------------------------
-- Official factor sets have no organization and are visible to every tenant;
-- a tenant's own sets (supplier-specific factors) only to that tenant.
CREATE TABLE master_data.factor_sets (
    id         uuid PRIMARY KEY,
    org_id     uuid REFERENCES core.organizations (id),
    name       text NOT NULL,
    publisher  text NOT NULL DEFAULT '',
    edition    text NOT NULL DEFAULT '',
    version    text NOT NULL DEFAULT '',
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz,
    source_url text NOT NULL DEFAULT '',
    license    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    UNIQUE (name, version),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);

CREATE TABLE master_data.emission_factors (
    id              uuid PRIMARY KEY,
    org_id          uuid REFERENCES core.organizations (id),
    factor_set_id   uuid NOT NULL REFERENCES master_data.factor_sets (id),
    activity_type   text NOT NULL,
    name            text NOT NULL DEFAULT '',
    region          text NOT NULL DEFAULT '',
    gas             text NOT NULL,
    value           numeric NOT NULL,
    value_unit      text NOT NULL,
    per_unit        text NOT NULL,
    heat_content    numeric,
    heat_basis      text NOT NULL DEFAULT '' CHECK (heat_basis IN ('', 'HHV', 'NCV')),
    uncertainty_pct numeric,
    source_table    text NOT NULL DEFAULT '',
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz,
    attributes      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX emission_factors_lookup ON master_data.emission_factors (factor_set_id, activity_type, region, gas);
CREATE INDEX emission_factors_attributes ON master_data.emission_factors USING gin (attributes jsonb_path_ops);

CREATE TABLE master_data.industry_benchmarks (
    id     uuid PRIMARY KEY,
    naics  text NOT NULL,
    region text NOT NULL DEFAULT '',
    metric text NOT NULL,
    year   integer NOT NULL,
    value  numeric NOT NULL,
    unit   text NOT NULL,
    source text NOT NULL DEFAULT '',
    UNIQUE (naics, region, metric, year)
);

-- ---- reporting ------------------------------------------------------------
-- Materialized across tenants (refreshed by core.refresh_reporting()), read
-- only through the tenant-filtering view below: materialized views have no
-- row-level security of their own, so the application gets no grant on it.
CREATE MATERIALIZED VIEW reporting.monthly_emissions_by_scope AS
SELECT org_id,
       date_trunc('month', period_start, 'UTC') AS month,
       scope,
       scope2_basis,
       sum(co2e_kg) AS co2e_kg,
       count(*) AS records
FROM emissions.calculated_emissions
GROUP BY org_id, date_trunc('month', period_start, 'UTC'), scope, scope2_basis
WITH DATA;
CREATE UNIQUE INDEX monthly_emissions_by_scope_key ON reporting.monthly_emissions_by_scope (org_id, month, scope, scope2_basis);

CREATE VIEW reporting.monthly_emissions WITH (security_barrier) AS
SELECT org_id, month, scope, scope2_basis, co2e_kg, records
FROM reporting.monthly_emissions_by_scope
WHERE org_id = core.current_org();

-- Tenant ids, for platform work that visits every tenant.
CREATE VIEW core.organization_directory AS SELECT id FROM core.organizations;

-- +goose Down
DROP SCHEMA IF EXISTS reporting, master_data, analytics, iot, integration, audit, csrd, supply_chain, emissions, core CASCADE;
