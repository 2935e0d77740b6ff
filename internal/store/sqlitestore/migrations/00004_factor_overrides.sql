-- A tenant's factor overrides: its own documented factor for one activity
-- type and region, used instead of the library's in every calculation of
-- that organization (master_data, beside the factor sets it overrides).
--
-- Rows are append-only: an override is never changed or deleted, only
-- retired, once (retired_at, retired_by and retire_reason set together);
-- triggers refuse everything else. At most one override per organization,
-- activity type and region is active at a time.

-- +goose Up
CREATE TABLE master_data_factor_overrides (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES core_organizations (id),
    activity_type TEXT NOT NULL CHECK (activity_type <> ''),
    region        TEXT NOT NULL DEFAULT '',
    table_row     TEXT NOT NULL CHECK (table_row <> ''),
    reason        TEXT NOT NULL CHECK (trim(reason) <> ''),
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    retired_at    TIMESTAMP,
    retired_by    TEXT,
    retire_reason TEXT,
    CHECK ((retired_at IS NULL AND retired_by IS NULL AND retire_reason IS NULL) OR
           (retired_at IS NOT NULL AND retired_by IS NOT NULL AND trim(retire_reason) <> ''))
);
CREATE UNIQUE INDEX factor_overrides_active ON master_data_factor_overrides (org_id, activity_type, region)
    WHERE retired_at IS NULL;
CREATE INDEX factor_overrides_org ON master_data_factor_overrides (org_id, created_at);

-- +goose StatementBegin
CREATE TRIGGER factor_overrides_no_delete BEFORE DELETE ON master_data_factor_overrides
BEGIN SELECT RAISE(ABORT, 'a factor override is never deleted: retire it'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER factor_overrides_retired_once BEFORE UPDATE ON master_data_factor_overrides
WHEN OLD.retired_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a factor override is already retired'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER factor_overrides_append_only BEFORE UPDATE ON master_data_factor_overrides
WHEN NEW.retired_at IS NULL
    OR NEW.id IS NOT OLD.id OR NEW.org_id IS NOT OLD.org_id
    OR NEW.activity_type IS NOT OLD.activity_type OR NEW.region IS NOT OLD.region
    OR NEW.table_row IS NOT OLD.table_row OR NEW.reason IS NOT OLD.reason
    OR NEW.created_by IS NOT OLD.created_by OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'a factor override is append-only: the only change allowed is retiring it'); END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER factor_overrides_append_only;
DROP TRIGGER factor_overrides_retired_once;
DROP TRIGGER factor_overrides_no_delete;
DROP TABLE master_data_factor_overrides;
