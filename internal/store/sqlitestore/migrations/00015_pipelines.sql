-- Pipelines (docs/pipelines.md): the scheduler's runs and task instances,
-- which are also the work queue (one process per SQLite file runs every
-- task in-process). Platform state, not tenant data; SQLite has no roles
-- or row security.

-- +goose Up
CREATE TABLE pipeline_runs (
    id           TEXT PRIMARY KEY,
    pipeline     TEXT NOT NULL CHECK (pipeline <> ''),
    org_id       TEXT NOT NULL,
    logical_date TIMESTAMP NOT NULL,
    interval_end TIMESTAMP NOT NULL,
    run_trigger  TEXT NOT NULL CHECK (run_trigger IN ('schedule', 'manual', 'backfill')),
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'success', 'failed')),
    params       TEXT NOT NULL DEFAULT '{}',
    tasks_total  INTEGER NOT NULL CHECK (tasks_total > 0),
    tasks_done   INTEGER NOT NULL DEFAULT 0,
    tasks_failed INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    started_at   TIMESTAMP,
    ended_at     TIMESTAMP,
    UNIQUE (pipeline, org_id, logical_date)
);
CREATE INDEX pipeline_runs_recent ON pipeline_runs (pipeline, logical_date DESC);
CREATE INDEX pipeline_runs_active ON pipeline_runs (created_at) WHERE state IN ('queued', 'running');

CREATE TABLE pipeline_task_instances (
    run_id       TEXT NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    task_id      TEXT NOT NULL CHECK (task_id <> ''),
    pipeline     TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'queued', 'running', 'success', 'failed', 'upstream_failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts > 0),
    available_at TIMESTAMP NOT NULL,
    holder       TEXT,
    lease_until  TIMESTAMP,
    started_at   TIMESTAMP,
    ended_at     TIMESTAMP,
    log          TEXT NOT NULL DEFAULT '',
    output       TEXT,
    error        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, task_id)
) WITHOUT ROWID;
CREATE INDEX pipeline_task_instances_queue ON pipeline_task_instances (available_at) WHERE state = 'queued';
CREATE INDEX pipeline_task_instances_leases ON pipeline_task_instances (lease_until) WHERE state = 'running';

-- +goose Down
DROP TABLE pipeline_task_instances;
DROP TABLE pipeline_runs;
