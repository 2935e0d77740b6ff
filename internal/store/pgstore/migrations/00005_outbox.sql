-- The transactional outbox (docs/outbox.md). A store write that emits an
-- event inserts it here in the same transaction; the relay
-- (internal/outbox) publishes unpublished rows in seq order and marks them.
--
-- Tenancy: row-level security, FORCEd like every tenant table. The
-- application role may INSERT and SELECT its transaction's organization's
-- rows only; it has no UPDATE or DELETE at all. The relay reads and marks
-- every tenant's rows through the narrow SECURITY DEFINER functions below,
-- owned by the migrating role (superuser or BYPASSRLS, so it sees every
-- row): they change only the delivery columns (published_at, attempts,
-- last_error, the claim), never an event's content, and delete only rows
-- published before a given time.

-- +goose Up
CREATE TABLE integration.outbox (
    id            uuid PRIMARY KEY,
    seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    org_id        uuid NOT NULL REFERENCES core.organizations (id),
    topic         text NOT NULL CHECK (topic <> ''),
    key           text NOT NULL DEFAULT '',
    headers       jsonb NOT NULL DEFAULT '{}',
    payload       bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    published_at  timestamptz,
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error    text NOT NULL DEFAULT '',
    claimed_by    uuid,
    claimed_until timestamptz
);
-- The relay's scan: unpublished rows in order.
CREATE INDEX outbox_unpublished ON integration.outbox (seq) WHERE published_at IS NULL;
-- Pruning published rows past their retention.
CREATE INDEX outbox_published ON integration.outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX outbox_org ON integration.outbox (org_id, seq);

ALTER TABLE integration.outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration.outbox
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
GRANT SELECT, INSERT ON integration.outbox TO greenlang_app;

-- integration.outbox_claim leases up to max_rows of the oldest unpublished
-- events (every tenant's) to relay claimer until lease_until and returns
-- them. While another relay holds a live lease on an unpublished event it
-- returns nothing, so one relay at a time publishes, in order.
-- +goose StatementBegin
CREATE FUNCTION integration.outbox_claim(max_rows integer, claimer uuid, now_at timestamptz, lease_until timestamptz)
RETURNS SETOF integration.outbox
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('greenlang.outbox_claim'));
    IF EXISTS (SELECT FROM integration.outbox o
               WHERE o.published_at IS NULL AND o.claimed_until > now_at AND o.claimed_by <> claimer) THEN
        RETURN;
    END IF;
    RETURN QUERY UPDATE integration.outbox o SET claimed_by = claimer, claimed_until = lease_until
        WHERE o.id IN (SELECT i.id FROM integration.outbox i WHERE i.published_at IS NULL ORDER BY i.seq LIMIT max_rows)
        RETURNING o.*;
END
$fn$;
-- +goose StatementEnd

-- integration.outbox_mark marks events published; already published ones
-- are left as they are. It returns how many it marked.
-- +goose StatementBegin
CREATE FUNCTION integration.outbox_mark(ids text[], at timestamptz)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    WITH m AS (
        UPDATE integration.outbox SET published_at = at, claimed_by = NULL, claimed_until = NULL
        WHERE id = ANY (ids::uuid[]) AND published_at IS NULL RETURNING 1)
    SELECT count(*) FROM m;
$fn$;
-- +goose StatementEnd

-- integration.outbox_fail records a failed publish attempt of unpublished events.
-- +goose StatementBegin
CREATE FUNCTION integration.outbox_fail(ids text[], err text)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    WITH m AS (
        UPDATE integration.outbox SET attempts = attempts + 1, last_error = left(err, 2000)
        WHERE id = ANY (ids::uuid[]) AND published_at IS NULL RETURNING 1)
    SELECT count(*) FROM m;
$fn$;
-- +goose StatementEnd

-- integration.outbox_prune deletes events published before before.
-- +goose StatementBegin
CREATE FUNCTION integration.outbox_prune(before timestamptz)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    WITH d AS (DELETE FROM integration.outbox WHERE published_at < before RETURNING 1)
    SELECT count(*) FROM d;
$fn$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION integration.outbox_claim(integer, uuid, timestamptz, timestamptz),
    integration.outbox_mark(text[], timestamptz), integration.outbox_fail(text[], text),
    integration.outbox_prune(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration.outbox_claim(integer, uuid, timestamptz, timestamptz),
    integration.outbox_mark(text[], timestamptz), integration.outbox_fail(text[], text),
    integration.outbox_prune(timestamptz) TO greenlang_app;

-- +goose Down
DROP FUNCTION integration.outbox_prune(timestamptz);
DROP FUNCTION integration.outbox_fail(text[], text);
DROP FUNCTION integration.outbox_mark(text[], timestamptz);
DROP FUNCTION integration.outbox_claim(integer, uuid, timestamptz, timestamptz);
DROP TABLE integration.outbox;
