-- Device credentials for MQTT (docs/iot.md): the SHA-256 of each device's
-- issued secret, at most one active per device; rows are never deleted,
-- only revoked. SQLite has no roles or row security: tenant scoping is in
-- every query.

-- +goose Up
CREATE TABLE iot_device_credentials (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL CHECK (length(secret_sha256) = 64),
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    FOREIGN KEY (org_id, device_id) REFERENCES iot_devices (org_id, id)
);
CREATE UNIQUE INDEX device_credentials_active ON iot_device_credentials (org_id, device_id) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE iot_device_credentials;
