-- Recalculation supersedes results, never deletes them: a superseded
-- calculated emission names the run that replaced it. Reports read only
-- current results. Published factor sets are immutable. (Migration 00002 is
-- PostgreSQL's security migration; SQLite has no roles, so its number is
-- unused here and the versions of both engines stay aligned.)

-- +goose Up
ALTER TABLE emissions_calculated_emissions ADD COLUMN superseded_by TEXT;
ALTER TABLE emissions_calculated_emissions ADD COLUMN superseded_at TIMESTAMP;
CREATE INDEX calculated_emissions_current ON emissions_calculated_emissions (org_id, period_start)
    WHERE superseded_by IS NULL;
CREATE INDEX emission_factors_set ON master_data_emission_factors (factor_set_id);
-- The same activities are stored once per organization: a run that records
-- the input hash of its file is unique by it (recalculation runs record none).
CREATE UNIQUE INDEX calculation_runs_input_hash ON emissions_calculation_runs (org_id, (parameters ->> 'input_hash'))
    WHERE parameters ->> 'input_hash' IS NOT NULL;

-- +goose StatementBegin
CREATE TRIGGER factor_sets_immutable_update BEFORE UPDATE ON master_data_factor_sets
BEGIN SELECT RAISE(ABORT, 'a published factor set is immutable: publish a new edition'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER factor_sets_immutable_delete BEFORE DELETE ON master_data_factor_sets
BEGIN SELECT RAISE(ABORT, 'a published factor set is immutable: publish a new edition'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER emission_factors_immutable_update BEFORE UPDATE ON master_data_emission_factors
BEGIN SELECT RAISE(ABORT, 'a published factor is immutable: publish a new edition'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER emission_factors_immutable_delete BEFORE DELETE ON master_data_emission_factors
BEGIN SELECT RAISE(ABORT, 'a published factor is immutable: publish a new edition'); END;
-- +goose StatementEnd

-- +goose Down
DROP INDEX calculation_runs_input_hash;
DROP TRIGGER emission_factors_immutable_delete;
DROP TRIGGER emission_factors_immutable_update;
DROP TRIGGER factor_sets_immutable_delete;
DROP TRIGGER factor_sets_immutable_update;
DROP INDEX emission_factors_set;
DROP INDEX calculated_emissions_current;
ALTER TABLE emissions_calculated_emissions DROP COLUMN superseded_at;
ALTER TABLE emissions_calculated_emissions DROP COLUMN superseded_by;
