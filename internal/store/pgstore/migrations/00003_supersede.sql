-- Recalculation supersedes results, never deletes them: a superseded
-- calculated emission names the run that replaced it. Reports read only
-- current results. Published factor sets are immutable.

-- +goose Up
ALTER TABLE emissions.calculated_emissions
    ADD COLUMN superseded_by uuid,
    ADD COLUMN superseded_at timestamptz,
    ADD CONSTRAINT calculated_emissions_superseded_by
        FOREIGN KEY (org_id, superseded_by) REFERENCES emissions.calculation_runs (org_id, id),
    ADD CONSTRAINT calculated_emissions_superseded_pair
        CHECK ((superseded_by IS NULL) = (superseded_at IS NULL));
CREATE INDEX calculated_emissions_current ON emissions.calculated_emissions (org_id, period_start)
    WHERE superseded_by IS NULL;
-- The same activities are stored once per organization: a run that records
-- the input hash of its file is unique by it (recalculation runs record none).
CREATE UNIQUE INDEX calculation_runs_input_hash ON emissions.calculation_runs (org_id, (parameters ->> 'input_hash'))
    WHERE parameters ? 'input_hash';

DROP VIEW reporting.monthly_emissions;
DROP MATERIALIZED VIEW reporting.monthly_emissions_by_scope;
CREATE MATERIALIZED VIEW reporting.monthly_emissions_by_scope AS
SELECT org_id,
       date_trunc('month', period_start, 'UTC') AS month,
       scope,
       scope2_basis,
       sum(co2e_kg) AS co2e_kg,
       count(*) AS records
FROM emissions.calculated_emissions
WHERE superseded_by IS NULL
GROUP BY org_id, date_trunc('month', period_start, 'UTC'), scope, scope2_basis
WITH DATA;
CREATE UNIQUE INDEX monthly_emissions_by_scope_key ON reporting.monthly_emissions_by_scope (org_id, month, scope, scope2_basis);
REVOKE ALL ON reporting.monthly_emissions_by_scope FROM PUBLIC;
CREATE VIEW reporting.monthly_emissions WITH (security_barrier) AS
SELECT org_id, month, scope, scope2_basis, co2e_kg, records
FROM reporting.monthly_emissions_by_scope
WHERE org_id = core.current_org();
GRANT SELECT ON reporting.monthly_emissions TO greenlang_app;

-- A published factor set and its values never change; a new edition is a new set.
REVOKE UPDATE, DELETE ON master_data.factor_sets, master_data.emission_factors FROM greenlang_app;
CREATE INDEX emission_factors_set ON master_data.emission_factors (factor_set_id);

-- +goose Down
DROP INDEX emissions.calculation_runs_input_hash;
DROP INDEX master_data.emission_factors_set;
GRANT UPDATE, DELETE ON master_data.factor_sets, master_data.emission_factors TO greenlang_app;
DROP VIEW reporting.monthly_emissions;
DROP MATERIALIZED VIEW reporting.monthly_emissions_by_scope;
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
REVOKE ALL ON reporting.monthly_emissions_by_scope FROM PUBLIC;
CREATE VIEW reporting.monthly_emissions WITH (security_barrier) AS
SELECT org_id, month, scope, scope2_basis, co2e_kg, records
FROM reporting.monthly_emissions_by_scope
WHERE org_id = core.current_org();
GRANT SELECT ON reporting.monthly_emissions TO greenlang_app;
DROP INDEX emissions.calculated_emissions_current;
ALTER TABLE emissions.calculated_emissions
    DROP CONSTRAINT calculated_emissions_superseded_pair,
    DROP CONSTRAINT calculated_emissions_superseded_by,
    DROP COLUMN superseded_at,
    DROP COLUMN superseded_by;
