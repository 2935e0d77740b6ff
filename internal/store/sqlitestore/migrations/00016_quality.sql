-- Data-quality expectation suites (docs/quality.md): the same tables as on
-- PostgreSQL, runs of a suite with their KPIs and each expectation's
-- result. SQLite has no roles or row security: tenant scoping is in every
-- query.

-- +goose Up
CREATE TABLE quality_suite_runs (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES core_organizations (id),
    suite        TEXT NOT NULL CHECK (suite <> ''),
    dataset      TEXT NOT NULL CHECK (dataset <> ''),
    started_at   TIMESTAMP NOT NULL,
    ended_at     TIMESTAMP NOT NULL,
    passed       BOOLEAN NOT NULL,
    row_count    INTEGER NOT NULL CHECK (row_count >= 0),
    expectations INTEGER NOT NULL CHECK (expectations >= 0),
    failed       INTEGER NOT NULL CHECK (failed >= 0),
    warned       INTEGER NOT NULL CHECK (warned >= 0),
    completeness TEXT CHECK (CAST(completeness AS REAL) BETWEEN 0 AND 1),
    validity     TEXT CHECK (CAST(validity AS REAL) BETWEEN 0 AND 1),
    uniqueness   TEXT CHECK (CAST(uniqueness AS REAL) BETWEEN 0 AND 1),
    timeliness   TEXT CHECK (CAST(timeliness AS REAL) BETWEEN 0 AND 1),
    consistency  TEXT CHECK (CAST(consistency AS REAL) BETWEEN 0 AND 1),
    accuracy     TEXT CHECK (CAST(accuracy AS REAL) BETWEEN 0 AND 1),
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (org_id, id),
    CHECK (ended_at >= started_at),
    CHECK (passed = (failed = 0))
);
CREATE INDEX suite_runs_recent ON quality_suite_runs (org_id, suite, started_at DESC);

CREATE TABLE quality_expectation_results (
    org_id        TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    idx           INTEGER NOT NULL CHECK (idx >= 1),
    name          TEXT NOT NULL CHECK (name <> ''),
    kind          TEXT NOT NULL CHECK (kind IN ('not_null', 'unique', 'between', 'in_set', 'regex', 'referential', 'freshness', 'row_count', 'drift', 'custom_sql')),
    columns       TEXT NOT NULL DEFAULT '[]',
    severity      TEXT NOT NULL CHECK (severity IN ('warn', 'fail')),
    passed        BOOLEAN NOT NULL,
    observed      TEXT NOT NULL DEFAULT '{}',
    failing_count INTEGER NOT NULL DEFAULT 0 CHECK (failing_count >= 0),
    samples       TEXT NOT NULL DEFAULT '[]',
    message       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (org_id, run_id, idx),
    FOREIGN KEY (org_id, run_id) REFERENCES quality_suite_runs (org_id, id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE quality_expectation_results;
DROP TABLE quality_suite_runs;
