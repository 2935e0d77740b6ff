-- Idempotency keys of the HTTP API (docs/api.md, "Idempotency keys"): a
-- creating POST with an Idempotency-Key header is claimed (status 0)
-- before it is served and completed with its answer, so a retry replays
-- the answer. SQLite has no roles or row security: tenant scoping is in
-- every query.

-- +goose Up
CREATE TABLE core_idempotency_keys (
    org_id        TEXT NOT NULL REFERENCES core_organizations (id),
    token_id      TEXT NOT NULL,
    key           TEXT NOT NULL CHECK (key <> ''),
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    content_type  TEXT NOT NULL DEFAULT '',
    body          BLOB,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, token_id, key)
);
CREATE INDEX idempotency_keys_created ON core_idempotency_keys (created_at);

-- +goose Down
DROP TABLE core_idempotency_keys;
