-- Device credentials for MQTT (docs/iot.md): a device connects with the
-- user name "<org_id>/<device_id>" and a secret the platform issued when
-- it registered the device. The secret is 32 random bytes, so only its
-- SHA-256 is kept (a slow password hash buys nothing against a 256-bit
-- secret and would make every reconnect storm a CPU storm). At most one
-- credential per device is active; issuing a new one revokes the old in
-- the same transaction, and decommissioning a device revokes its
-- credential. Rows are never deleted: the application role may INSERT and
-- set revoked_at only.

-- +goose Up
CREATE TABLE iot.device_credentials (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL,
    device_id     uuid NOT NULL,
    secret_sha256 text NOT NULL CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
    created_by    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    FOREIGN KEY (org_id, device_id) REFERENCES iot.devices (org_id, id)
);
CREATE UNIQUE INDEX device_credentials_active ON iot.device_credentials (org_id, device_id) WHERE revoked_at IS NULL;

ALTER TABLE iot.device_credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE iot.device_credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iot.device_credentials
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
GRANT SELECT, INSERT ON iot.device_credentials TO greenlang_app;
GRANT UPDATE (revoked_at) ON iot.device_credentials TO greenlang_app;

-- +goose Down
DROP TABLE iot.device_credentials;
