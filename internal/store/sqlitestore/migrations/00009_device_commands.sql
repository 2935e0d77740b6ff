-- Device commands and firmware campaigns (docs/iot-commands.md): the same
-- columns as on PostgreSQL. SQLite has no roles or row security: tenant
-- scoping is in every query.

-- +goose Up
CREATE TABLE iot_firmware_campaigns (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES core_organizations (id),
    name             TEXT NOT NULL DEFAULT '',
    firmware_version TEXT NOT NULL CHECK (firmware_version <> ''),
    url              TEXT NOT NULL CHECK (url <> ''),
    sha256           TEXT NOT NULL CHECK (length(sha256) = 64),
    device_type      TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed')),
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    completed_at     TIMESTAMP,
    UNIQUE (org_id, id)
);

CREATE TABLE iot_device_commands (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    campaign_id  TEXT,
    kind         TEXT NOT NULL CHECK (kind <> ''),
    payload      TEXT NOT NULL DEFAULT '{}',
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'sent', 'acknowledged', 'in_progress', 'succeeded', 'failed', 'expired')),
    progress_pct INTEGER NOT NULL DEFAULT 0 CHECK (progress_pct BETWEEN 0 AND 100),
    message      TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    sent_at      TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    expires_at   TIMESTAMP NOT NULL,
    FOREIGN KEY (org_id, device_id) REFERENCES iot_devices (org_id, id),
    FOREIGN KEY (org_id, campaign_id) REFERENCES iot_firmware_campaigns (org_id, id)
);
CREATE INDEX device_commands_open ON iot_device_commands (org_id, created_at)
    WHERE status IN ('queued', 'sent', 'acknowledged', 'in_progress');
CREATE INDEX device_commands_device ON iot_device_commands (org_id, device_id, created_at);
CREATE INDEX device_commands_campaign ON iot_device_commands (org_id, campaign_id) WHERE campaign_id IS NOT NULL;

-- +goose Down
DROP TABLE iot_device_commands;
DROP TABLE iot_firmware_campaigns;
