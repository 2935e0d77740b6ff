-- Idempotency keys of the HTTP API (docs/api.md, "Idempotency keys"): a
-- creating POST sent with an Idempotency-Key header is claimed here
-- (status 0) before it is served and completed with its answer after, so
-- a retry with the same key replays the answer instead of creating again,
-- in any process. The key is scoped to the API token that sent it;
-- request_hash is the SHA-256 of method, path and body, so a key reused
-- for another request is refused. Rows older than a day are expired.
-- Tenancy: row-level security FORCEd like every tenant table.

-- +goose Up
CREATE TABLE core.idempotency_keys (
    org_id        uuid NOT NULL REFERENCES core.organizations (id),
    token_id      uuid NOT NULL,
    key           text NOT NULL CHECK (key <> ''),
    request_hash  text NOT NULL,
    status        integer NOT NULL DEFAULT 0,
    content_type  text NOT NULL DEFAULT '',
    body          bytea,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, token_id, key)
);
CREATE INDEX idempotency_keys_created ON core.idempotency_keys (created_at);
ALTER TABLE core.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE core.idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON core.idempotency_keys
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON core.idempotency_keys TO greenlang_app;

-- +goose Down
DROP TABLE core.idempotency_keys;
