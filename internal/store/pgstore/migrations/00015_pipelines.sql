-- Pipelines (docs/pipelines.md): the scheduler's runs and task instances.
-- A run is one pipeline for one logical date (and organization, for
-- pipelines that run per tenant; the nil UUID for platform-wide ones).
-- Task instances are also the durable work queue: a worker claims queued
-- rows with FOR UPDATE SKIP LOCKED, holds them under a lease it renews,
-- and a row whose lease expired is given back to the queue by the leader.
--
-- Tenancy: platform state, like integration.processor_state: the rows
-- describe the platform's own work, so they are visible only outside a
-- tenant transaction; the tasks do tenant work through the store's tenant
-- transactions.

-- +goose Up
CREATE SCHEMA IF NOT EXISTS pipeline;
GRANT USAGE ON SCHEMA pipeline TO greenlang_app;

CREATE TABLE pipeline.runs (
    id           uuid PRIMARY KEY,
    pipeline     text NOT NULL CHECK (pipeline ~ '^[a-z][a-z0-9_]*$'),
    org_id       uuid NOT NULL,
    logical_date timestamptz NOT NULL,
    interval_end timestamptz NOT NULL,
    run_trigger  text NOT NULL CHECK (run_trigger IN ('schedule', 'manual', 'backfill')),
    state        text NOT NULL CHECK (state IN ('queued', 'running', 'success', 'failed')),
    params       jsonb NOT NULL DEFAULT '{}',
    tasks_total  integer NOT NULL CHECK (tasks_total > 0),
    tasks_done   integer NOT NULL DEFAULT 0,
    tasks_failed integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    started_at   timestamptz,
    ended_at     timestamptz,
    UNIQUE (pipeline, org_id, logical_date)
);
CREATE INDEX runs_recent ON pipeline.runs (pipeline, logical_date DESC);
CREATE INDEX runs_active ON pipeline.runs (created_at) WHERE state IN ('queued', 'running');

CREATE TABLE pipeline.task_instances (
    run_id       uuid NOT NULL REFERENCES pipeline.runs (id) ON DELETE CASCADE,
    task_id      text NOT NULL CHECK (task_id <> ''),
    -- the run's pipeline: a worker claims only pipelines its build knows
    pipeline     text NOT NULL,
    state        text NOT NULL CHECK (state IN ('pending', 'queued', 'running', 'success', 'failed', 'upstream_failed')),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL CHECK (max_attempts > 0),
    available_at timestamptz NOT NULL,
    holder       text,
    lease_until  timestamptz,
    started_at   timestamptz,
    ended_at     timestamptz,
    log          text NOT NULL DEFAULT '',
    output       jsonb,
    error        text NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, task_id)
);
CREATE INDEX task_instances_queue ON pipeline.task_instances (available_at) WHERE state = 'queued';
CREATE INDEX task_instances_leases ON pipeline.task_instances (lease_until) WHERE state = 'running';

ALTER TABLE pipeline.runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipeline.runs FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_only ON pipeline.runs
    USING (core.current_org() IS NULL) WITH CHECK (core.current_org() IS NULL);
ALTER TABLE pipeline.task_instances ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipeline.task_instances FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_only ON pipeline.task_instances
    USING (core.current_org() IS NULL) WITH CHECK (core.current_org() IS NULL);
GRANT SELECT, INSERT, UPDATE, DELETE ON pipeline.runs, pipeline.task_instances TO greenlang_app;

-- +goose Down
DROP TABLE pipeline.task_instances;
DROP TABLE pipeline.runs;
DROP SCHEMA pipeline;
