-- Tenancy and privileges. The application connects as greenlang_app, a role
-- that owns nothing, cannot bypass row-level security and has no UPDATE or
-- DELETE on the audit trail. Every tenant table has row-level security,
-- FORCEd so that even the owner is subject to it, limiting every statement
-- to the organization set for the transaction (core.current_org()).
-- Partitions get no grants: the application reaches rows only through the
-- partitioned parents, where the policies apply.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'greenlang_app') THEN
        CREATE ROLE greenlang_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'core.users', 'core.api_tokens', 'core.sites',
        'emissions.emission_sources', 'emissions.activity_records', 'emissions.calculation_runs', 'emissions.calculated_emissions',
        'supply_chain.suppliers', 'supply_chain.products', 'supply_chain.purchase_orders', 'supply_chain.purchase_order_lines',
        'csrd.data_points', 'audit.log', 'integration.erp_connections', 'integration.sync_jobs',
        'iot.devices', 'iot.sensor_readings', 'iot.alerts', 'analytics.kpi_definitions', 'analytics.kpi_values']
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %s USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org())', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['master_data.factor_sets', 'master_data.emission_factors']
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_or_official ON %s USING (org_id IS NULL OR org_id = core.current_org()) WITH CHECK (org_id IS NULL OR org_id = core.current_org())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

ALTER TABLE core.organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE core.organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON core.organizations
    USING (id = core.current_org()) WITH CHECK (id = core.current_org());

GRANT USAGE ON SCHEMA core, emissions, supply_chain, csrd, audit, integration, iot, analytics, master_data, reporting TO greenlang_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    core.organizations, core.users, core.api_tokens, core.sites,
    emissions.emission_sources, emissions.activity_records, emissions.calculation_runs, emissions.calculated_emissions,
    supply_chain.suppliers, supply_chain.products, supply_chain.purchase_orders, supply_chain.purchase_order_lines,
    csrd.data_points, integration.erp_connections, integration.sync_jobs,
    iot.devices, iot.sensor_readings, iot.alerts, analytics.kpi_definitions, analytics.kpi_values,
    master_data.factor_sets, master_data.emission_factors
    TO greenlang_app;
GRANT SELECT ON csrd.esrs_standards, master_data.industry_benchmarks, reporting.monthly_emissions, core.organization_directory TO greenlang_app;
GRANT SELECT, INSERT ON audit.log TO greenlang_app;
REVOKE ALL ON reporting.monthly_emissions_by_scope FROM PUBLIC;

-- core.maintain_partitions makes sure monthly partitions of parent exist from
-- months_behind months before now to months_ahead after, and for every month
-- that has rows in the DEFAULT partition, moving those rows into their new
-- partition. Rows of a table that foreign keys point at are not moved (the
-- key's per-partition check would fail): such a month stays in DEFAULT.
-- It runs as the schema owner; the application may call it.
-- +goose StatementBegin
CREATE FUNCTION core.maintain_partitions(parent regclass, months_behind integer, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    nsp     text;
    rel     text;
    key     text;
    dflt    text;
    m       timestamp;
    lo      timestamptz;
    hi      timestamptz;
    part    text;
    created integer := 0;
    referenced boolean;
    waiting boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('greenlang.maintain_partitions ' || parent::text));
    SELECT n.nspname, c.relname INTO nsp, rel
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    SELECT a.attname INTO key
        FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
        WHERE p.partrelid = parent;
    IF key IS NULL THEN
        RAISE EXCEPTION 'core.maintain_partitions: % is not partitioned', parent;
    END IF;
    dflt := rel || '_default';
    referenced := EXISTS (SELECT FROM pg_constraint WHERE confrelid = parent AND contype = 'f');
    FOR m IN EXECUTE format(
        'SELECT g FROM generate_series(date_trunc(''month'', now() AT TIME ZONE ''UTC'') - make_interval(months => $1),
                                       date_trunc(''month'', now() AT TIME ZONE ''UTC'') + make_interval(months => $2),
                                       interval ''1 month'') AS g
         UNION
         SELECT DISTINCT date_trunc(''month'', %I AT TIME ZONE ''UTC'') FROM %I.%I
         ORDER BY 1', key, nsp, dflt) USING months_behind, months_ahead
    LOOP
        part := rel || '_p' || to_char(m, 'YYYYMM');
        CONTINUE WHEN to_regclass(format('%I.%I', nsp, part)) IS NOT NULL;
        lo := m AT TIME ZONE 'UTC';
        hi := (m + interval '1 month') AT TIME ZONE 'UTC';
        IF referenced THEN
            EXECUTE format('SELECT EXISTS (SELECT FROM %I.%I WHERE %I >= $1 AND %I < $2)', nsp, dflt, key, key) INTO waiting USING lo, hi;
            CONTINUE WHEN waiting;
        END IF;
        EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', nsp, part, nsp, rel);
        EXECUTE format('WITH moved AS (DELETE FROM %I.%I WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I.%I SELECT * FROM moved',
            nsp, dflt, key, key, nsp, part) USING lo, hi;
        EXECUTE format('ALTER TABLE %I.%I ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)', nsp, rel, nsp, part, lo, hi);
        created := created + 1;
    END LOOP;
    RETURN created;
END
$fn$;
-- +goose StatementEnd

-- core.refresh_reporting recomputes the reporting aggregates.
-- +goose StatementBegin
CREATE FUNCTION core.refresh_reporting() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('greenlang.refresh_reporting'));
    REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.monthly_emissions_by_scope;
END
$fn$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION core.maintain_partitions(regclass, integer, integer), core.refresh_reporting() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.maintain_partitions(regclass, integer, integer), core.refresh_reporting() TO greenlang_app;

-- +goose Down
DROP FUNCTION IF EXISTS core.refresh_reporting();
DROP FUNCTION IF EXISTS core.maintain_partitions(regclass, integer, integer);
