-- The transactional outbox (docs/outbox.md). A store write that emits an
-- event inserts it here in the same transaction; the relay
-- (internal/outbox) publishes unpublished rows in seq order and marks them.
-- seq is the row id, so the order is the order of insertion (the single
-- writer connection makes it the commit order too); id is the event id.

-- +goose Up
CREATE TABLE integration_outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    org_id        TEXT NOT NULL REFERENCES core_organizations (id),
    topic         TEXT NOT NULL CHECK (topic <> ''),
    key           TEXT NOT NULL DEFAULT '',
    headers       TEXT NOT NULL DEFAULT '{}',
    payload       BLOB NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    published_at  TIMESTAMP,
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error    TEXT NOT NULL DEFAULT '',
    claimed_by    TEXT,
    claimed_until TIMESTAMP
);
CREATE INDEX outbox_unpublished ON integration_outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_published ON integration_outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX outbox_org ON integration_outbox (org_id, seq);

-- +goose Down
DROP TABLE integration_outbox;
