-- The alert sink (docs/iot-alerts.md): de-duplication key, occurrence
-- count, last occurrence, a threshold rule's normal range and the streak of
-- readings back inside it, acknowledgement. At most one alert per
-- organization and key is not resolved. SQLite has no roles or row
-- security: tenant scoping is in every query.

-- +goose Up
ALTER TABLE iot_alerts ADD COLUMN rule TEXT NOT NULL DEFAULT '';
ALTER TABLE iot_alerts ADD COLUMN device_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE iot_alerts ADD COLUMN dedup_key TEXT;
ALTER TABLE iot_alerts ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1 CHECK (occurrences >= 1);
ALTER TABLE iot_alerts ADD COLUMN last_raised_at TIMESTAMP;
ALTER TABLE iot_alerts ADD COLUMN last_event_id TEXT NOT NULL DEFAULT '';
ALTER TABLE iot_alerts ADD COLUMN range_min TEXT;
ALTER TABLE iot_alerts ADD COLUMN range_max TEXT;
ALTER TABLE iot_alerts ADD COLUMN clear_streak INTEGER NOT NULL DEFAULT 0 CHECK (clear_streak >= 0);
ALTER TABLE iot_alerts ADD COLUMN acknowledged_at TIMESTAMP;
ALTER TABLE iot_alerts ADD COLUMN acknowledged_by TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX alerts_open_key ON iot_alerts (org_id, dedup_key) WHERE status <> 'resolved' AND dedup_key IS NOT NULL;
CREATE INDEX alerts_open_series ON iot_alerts (org_id, device_ref, metric) WHERE status <> 'resolved' AND dedup_key IS NOT NULL;

-- +goose Down
DROP INDEX alerts_open_series;
DROP INDEX alerts_open_key;
ALTER TABLE iot_alerts DROP COLUMN acknowledged_by;
ALTER TABLE iot_alerts DROP COLUMN acknowledged_at;
ALTER TABLE iot_alerts DROP COLUMN clear_streak;
ALTER TABLE iot_alerts DROP COLUMN range_max;
ALTER TABLE iot_alerts DROP COLUMN range_min;
ALTER TABLE iot_alerts DROP COLUMN last_event_id;
ALTER TABLE iot_alerts DROP COLUMN last_raised_at;
ALTER TABLE iot_alerts DROP COLUMN occurrences;
ALTER TABLE iot_alerts DROP COLUMN dedup_key;
ALTER TABLE iot_alerts DROP COLUMN device_ref;
ALTER TABLE iot_alerts DROP COLUMN rule;
