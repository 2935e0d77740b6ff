-- Data-quality expectation suites (docs/quality.md): each run of a suite
-- against one dataset of an organization, with its data-quality KPIs
-- (shares between 0 and 1; NULL where the suite has no expectation that
-- measures one), and the result of each of its expectations: what was
-- observed, how many rows failed and up to ten of them as samples. A run
-- is history: the application role may read and add runs, never change
-- them. quality.suite_runs is read back for KPI trends and by the drift
-- expectation, which compares a run with the suite's previous one.
--
-- Tenancy: row-level security FORCEd like every tenant table.

-- +goose Up
CREATE SCHEMA IF NOT EXISTS quality;
GRANT USAGE ON SCHEMA quality TO greenlang_app;

CREATE TABLE quality.suite_runs (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES core.organizations (id),
    suite        text NOT NULL CHECK (suite <> ''),
    dataset      text NOT NULL CHECK (dataset <> ''),
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz NOT NULL,
    passed       boolean NOT NULL,
    row_count    bigint NOT NULL CHECK (row_count >= 0),
    expectations integer NOT NULL CHECK (expectations >= 0),
    failed       integer NOT NULL CHECK (failed >= 0),
    warned       integer NOT NULL CHECK (warned >= 0),
    completeness numeric CHECK (completeness BETWEEN 0 AND 1),
    validity     numeric CHECK (validity BETWEEN 0 AND 1),
    uniqueness   numeric CHECK (uniqueness BETWEEN 0 AND 1),
    timeliness   numeric CHECK (timeliness BETWEEN 0 AND 1),
    consistency  numeric CHECK (consistency BETWEEN 0 AND 1),
    accuracy     numeric CHECK (accuracy BETWEEN 0 AND 1),
    created_at   timestamptz NOT NULL,
    UNIQUE (org_id, id),
    CHECK (ended_at >= started_at),
    CHECK (passed = (failed = 0))
);
CREATE INDEX suite_runs_recent ON quality.suite_runs (org_id, suite, started_at DESC);

CREATE TABLE quality.expectation_results (
    org_id        uuid NOT NULL,
    run_id        uuid NOT NULL,
    idx           integer NOT NULL CHECK (idx >= 1),
    name          text NOT NULL CHECK (name <> ''),
    kind          text NOT NULL CHECK (kind IN ('not_null', 'unique', 'between', 'in_set', 'regex', 'referential', 'freshness', 'row_count', 'drift', 'custom_sql')),
    columns       jsonb NOT NULL DEFAULT '[]',
    severity      text NOT NULL CHECK (severity IN ('warn', 'fail')),
    passed        boolean NOT NULL,
    observed      jsonb NOT NULL DEFAULT '{}',
    failing_count bigint NOT NULL DEFAULT 0 CHECK (failing_count >= 0),
    samples       jsonb NOT NULL DEFAULT '[]',
    message       text NOT NULL DEFAULT '',
    PRIMARY KEY (org_id, run_id, idx),
    FOREIGN KEY (org_id, run_id) REFERENCES quality.suite_runs (org_id, id) ON DELETE CASCADE
);

ALTER TABLE quality.suite_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE quality.suite_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON quality.suite_runs
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
ALTER TABLE quality.expectation_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE quality.expectation_results FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON quality.expectation_results
    USING (org_id = core.current_org()) WITH CHECK (org_id = core.current_org());
GRANT SELECT, INSERT ON quality.suite_runs, quality.expectation_results TO greenlang_app;

-- +goose Down
DROP TABLE quality.expectation_results;
DROP TABLE quality.suite_runs;
DROP SCHEMA quality;
