-- A tenant's factor overrides: its own documented factor for one activity
-- type and region, used instead of the library's in every calculation of
-- that organization. They live in master_data beside the factor sets they
-- override, but belong to one tenant (org_id NOT NULL, tenant policy).
--
-- Rows are append-only: an override is never changed or deleted, only
-- retired, once (retired_at, retired_by and retire_reason set together).
-- The application role may INSERT and UPDATE only the three retirement
-- columns, has no DELETE, and a trigger refuses any other change even to
-- the schema owner. At most one override per organization, activity type
-- and region is active at a time.

-- +goose Up
CREATE TABLE master_data.factor_overrides (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES core.organizations (id),
    activity_type text NOT NULL CHECK (activity_type <> ''),
    region        text NOT NULL DEFAULT '',
    table_row     text NOT NULL CHECK (table_row <> ''),
    reason        text NOT NULL CHECK (btrim(reason) <> ''),
    created_by    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    retired_at    timestamptz,
    retired_by    text,
    retire_reason text,
    CONSTRAINT factor_overrides_retirement CHECK (
        (retired_at IS NULL AND retired_by IS NULL AND retire_reason IS NULL) OR
        (retired_at IS NOT NULL AND retired_by IS NOT NULL AND btrim(retire_reason) <> ''))
);
CREATE UNIQUE INDEX factor_overrides_active ON master_data.factor_overrides (org_id, activity_type, region)
    WHERE retired_at IS NULL;
CREATE INDEX factor_overrides_org ON master_data.factor_overrides (org_id, created_at);

-- +goose StatementBegin
CREATE FUNCTION master_data.factor_overrides_append_only() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'a factor override is never deleted: retire it'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.retired_at IS NOT NULL THEN
        RAISE EXCEPTION 'factor override % is already retired', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.retired_at IS NULL
       OR NEW.id IS DISTINCT FROM OLD.id OR NEW.org_id IS DISTINCT FROM OLD.org_id
       OR NEW.activity_type IS DISTINCT FROM OLD.activity_type OR NEW.region IS DISTINCT FROM OLD.region
       OR NEW.table_row IS DISTINCT FROM OLD.table_row OR NEW.reason IS DISTINCT FROM OLD.reason
       OR NEW.created_by IS DISTINCT FROM OLD.created_by OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'factor override % is append-only: the only change allowed is retiring it', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$fn$;
-- +goose StatementEnd
CREATE TRIGGER factor_overrides_append_only BEFORE UPDATE OR DELETE ON master_data.factor_overrides
    FOR EACH ROW EXECUTE FUNCTION master_data.factor_overrides_append_only();
CREATE TRIGGER factor_overrides_no_truncate BEFORE TRUNCATE ON master_data.factor_overrides
    FOR EACH STATEMENT EXECUTE FUNCTION master_data.factor_overrides_append_only();

ALTER TABLE master_data.factor_overrides ENABLE ROW LEVEL SECURITY;
ALTER TABLE master_data.factor_overrides FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON master_data.factor_overrides
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
GRANT SELECT, INSERT ON master_data.factor_overrides TO greenlang_app;
GRANT UPDATE (retired_at, retired_by, retire_reason) ON master_data.factor_overrides TO greenlang_app;

-- +goose Down
DROP TABLE master_data.factor_overrides;
DROP FUNCTION master_data.factor_overrides_append_only();
