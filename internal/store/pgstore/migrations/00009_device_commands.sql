-- Device commands and firmware campaigns (docs/iot-commands.md). A command
-- is queued by an operator (the CLI), published by the platform's
-- Commander on the device's commands topic, and moved along by the
-- device's results: queued -> sent -> acknowledged -> in_progress ->
-- succeeded | failed, or expired when it is not finished by expires_at.
-- Finished commands (succeeded, failed, expired) never change again. A
-- firmware campaign targets devices of one type and holds one
-- firmware_update command per device; its counts are derived from its
-- commands.
--
-- Tenancy: row-level security FORCEd like every tenant table. The
-- application role may SELECT, INSERT and UPDATE its organization's rows,
-- never DELETE: commands and campaigns are history. The Commander finds
-- the organizations with unfinished commands through the narrow SECURITY
-- DEFINER function below, which reveals organization ids only.

-- +goose Up
CREATE TABLE iot.firmware_campaigns (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES core.organizations (id),
    name             text NOT NULL DEFAULT '',
    firmware_version text NOT NULL CHECK (firmware_version <> ''),
    url              text NOT NULL CHECK (url <> ''),
    sha256           text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    device_type      text NOT NULL,
    status           text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed')),
    created_by       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    completed_at     timestamptz,
    UNIQUE (org_id, id)
);

CREATE TABLE iot.device_commands (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL,
    device_id    uuid NOT NULL,
    campaign_id  uuid,
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
    payload      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'sent', 'acknowledged', 'in_progress', 'succeeded', 'failed', 'expired')),
    progress_pct integer NOT NULL DEFAULT 0 CHECK (progress_pct BETWEEN 0 AND 100),
    message      text NOT NULL DEFAULT '',
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    sent_at      timestamptz,
    updated_at   timestamptz NOT NULL,
    completed_at timestamptz,
    expires_at   timestamptz NOT NULL,
    FOREIGN KEY (org_id, device_id) REFERENCES iot.devices (org_id, id),
    FOREIGN KEY (org_id, campaign_id) REFERENCES iot.firmware_campaigns (org_id, id)
);
-- The Commander's scan: unfinished commands per organization.
CREATE INDEX device_commands_open ON iot.device_commands (org_id, created_at)
    WHERE status IN ('queued', 'sent', 'acknowledged', 'in_progress');
CREATE INDEX device_commands_device ON iot.device_commands (org_id, device_id, created_at);
CREATE INDEX device_commands_campaign ON iot.device_commands (org_id, campaign_id) WHERE campaign_id IS NOT NULL;

ALTER TABLE iot.firmware_campaigns ENABLE ROW LEVEL SECURITY;
ALTER TABLE iot.firmware_campaigns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iot.firmware_campaigns
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
ALTER TABLE iot.device_commands ENABLE ROW LEVEL SECURITY;
ALTER TABLE iot.device_commands FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iot.device_commands
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
GRANT SELECT, INSERT, UPDATE ON iot.firmware_campaigns, iot.device_commands TO greenlang_app;

-- iot.device_command_orgs lists the organizations that have unfinished
-- commands (queued, sent, acknowledged, in progress), and nothing else.
-- +goose StatementBegin
CREATE FUNCTION iot.device_command_orgs()
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT DISTINCT org_id FROM iot.device_commands
    WHERE status IN ('queued', 'sent', 'acknowledged', 'in_progress');
$fn$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION iot.device_command_orgs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION iot.device_command_orgs() TO greenlang_app;

-- +goose Down
DROP FUNCTION iot.device_command_orgs();
DROP TABLE iot.device_commands;
DROP TABLE iot.firmware_campaigns;
