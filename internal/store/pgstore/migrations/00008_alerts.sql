-- The alert sink (docs/iot-alerts.md): alerts of the stream processors are
-- stored, de-duplicated and auto-resolved. An alert the sink manages has a
-- dedup_key (device, metric, kind and rule); at most one alert per
-- organization and key is not resolved, so a repeat updates it
-- (occurrences, last value, last_raised_at) instead of adding a row.
-- range_min/range_max are a threshold rule's normal range and
-- clear_streak the consecutive readings back inside it since the last
-- occurrence: the sink resolves the alert when the streak reaches its
-- configured count. The table keeps its tenant policy and grants (00002):
-- the application role may SELECT, INSERT, UPDATE and DELETE its rows.

-- +goose Up
ALTER TABLE iot.alerts
    ADD COLUMN rule            text NOT NULL DEFAULT '',
    ADD COLUMN device_ref      text NOT NULL DEFAULT '',
    ADD COLUMN dedup_key       text,
    ADD COLUMN occurrences     bigint NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
    ADD COLUMN last_raised_at  timestamptz,
    ADD COLUMN last_event_id   text NOT NULL DEFAULT '',
    ADD COLUMN range_min       numeric,
    ADD COLUMN range_max       numeric,
    ADD COLUMN clear_streak    integer NOT NULL DEFAULT 0 CHECK (clear_streak >= 0),
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN acknowledged_by text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX alerts_open_key ON iot.alerts (org_id, dedup_key) WHERE status <> 'resolved' AND dedup_key IS NOT NULL;
CREATE INDEX alerts_open_series ON iot.alerts (org_id, device_ref, metric) WHERE status <> 'resolved' AND dedup_key IS NOT NULL;

-- +goose Down
DROP INDEX iot.alerts_open_series;
DROP INDEX iot.alerts_open_key;
ALTER TABLE iot.alerts
    DROP COLUMN rule, DROP COLUMN device_ref, DROP COLUMN dedup_key, DROP COLUMN occurrences,
    DROP COLUMN last_raised_at, DROP COLUMN last_event_id, DROP COLUMN range_min, DROP COLUMN range_max,
    DROP COLUMN clear_streak, DROP COLUMN acknowledged_at, DROP COLUMN acknowledged_by;
