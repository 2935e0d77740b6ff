package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// Data-quality runs (docs/quality.md, migration 00016_quality.sql): each
// run of an expectation suite (internal/quality) against one dataset of an
// organization, its KPIs and the result of each expectation. Runs are
// history: stored once, never changed. Saving one appends an audit entry
// of entity type "quality_run" with the run's summary (not its samples).

// Quality expectation severities (QualityExpectationResult.Severity).
const (
	QualityWarn = "warn"
	QualityFail = "fail"
)

// QualityKinds are the expectation kinds a result may have.
func QualityKinds() []string {
	return []string{"not_null", "unique", "between", "in_set", "regex", "referential", "freshness", "row_count", "drift", "custom_sql"}
}

// QualityKPIs are a run's data-quality KPIs, each a share between 0 and 1,
// invalid (NULL) when the suite has no expectation that measures it.
type QualityKPIs struct {
	Completeness decimal.NullDecimal `json:"completeness"`
	Validity     decimal.NullDecimal `json:"validity"`
	Uniqueness   decimal.NullDecimal `json:"uniqueness"`
	Timeliness   decimal.NullDecimal `json:"timeliness"`
	Consistency  decimal.NullDecimal `json:"consistency"`
	Accuracy     decimal.NullDecimal `json:"accuracy"`
}

func (k *QualityKPIs) all() []*decimal.NullDecimal {
	return []*decimal.NullDecimal{&k.Completeness, &k.Validity, &k.Uniqueness, &k.Timeliness, &k.Consistency, &k.Accuracy}
}

// QualityExpectationResult is one expectation's outcome in a run.
type QualityExpectationResult struct {
	// Index is the expectation's position in its suite, from 1.
	Index int `json:"index"`
	// Name identifies the expectation within its suite across runs (the
	// drift expectation finds its previous value by it).
	Name     string     `json:"name"`
	Kind     string     `json:"kind"`
	Columns  StringList `json:"columns"`
	Severity string     `json:"severity"`
	Passed   bool       `json:"passed"`
	// Observed is what was measured, a JSON object whose fields depend on
	// the kind (rows, nulls, latest, value, previous, ...).
	Observed JSON `json:"observed"`
	// FailingCount is the number of rows that failed the expectation.
	FailingCount int64 `json:"failing_count"`
	// Samples is a JSON array of up to 10 failing rows: the involved
	// columns and the row's id when the dataset has one.
	Samples JSON `json:"samples"`
	// Message explains the outcome in one line.
	Message string `json:"message,omitempty"`
}

// QualityRun is one run of an expectation suite against a dataset of one
// organization.
type QualityRun struct {
	ID        uuid.UUID `json:"id"`
	OrgID     uuid.UUID `json:"org_id"`
	Suite     string    `json:"suite"`
	Dataset   string    `json:"dataset"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	// Passed is false when an expectation of severity fail was not met.
	Passed bool `json:"passed"`
	// Rows is the number of the organization's rows in the dataset.
	Rows int64 `json:"rows"`
	// Expectations counts the suite's expectations; Failed those of
	// severity fail that were not met, Warned those of severity warn.
	Expectations int         `json:"expectations"`
	Failed       int         `json:"failed"`
	Warned       int         `json:"warned"`
	KPIs         QualityKPIs `json:"kpis"`
	// Results are the expectations' outcomes in suite order; QualityRuns
	// leaves them out.
	Results []QualityExpectationResult `json:"results,omitempty"`
}

const qualityRunCols = `id, org_id, suite, dataset, started_at, ended_at, passed, row_count, expectations, failed, warned,
	completeness, validity, uniqueness, timeliness, consistency, accuracy`

// validate checks a run before it is stored and fills Expectations,
// Failed, Warned and Passed from the results.
func (r *QualityRun) validate() error {
	switch {
	case r.Suite == "":
		return fmt.Errorf("suite name is required")
	case r.Dataset == "":
		return fmt.Errorf("dataset is required")
	case r.StartedAt.IsZero() || r.EndedAt.Before(r.StartedAt):
		return fmt.Errorf("started_at is required and ended_at may not be before it")
	case r.Rows < 0:
		return fmt.Errorf("rows %d is negative", r.Rows)
	}
	for _, k := range r.KPIs.all() {
		if k.Valid && (k.Decimal.IsNegative() || k.Decimal.GreaterThan(decimal.NewFromInt(1))) {
			return fmt.Errorf("KPI %s is not between 0 and 1", k.Decimal)
		}
	}
	r.Expectations, r.Failed, r.Warned = len(r.Results), 0, 0
	for i := range r.Results {
		e := &r.Results[i]
		where := fmt.Sprintf("result %d (%s)", i+1, e.Name)
		switch {
		case e.Index != i+1:
			return fmt.Errorf("%s: index %d, want %d", where, e.Index, i+1)
		case e.Name == "":
			return fmt.Errorf("result %d: name is required", i+1)
		case !slices.Contains(QualityKinds(), e.Kind):
			return fmt.Errorf("%s: unknown kind %q", where, e.Kind)
		case e.Severity != QualityWarn && e.Severity != QualityFail:
			return fmt.Errorf("%s: severity %q: warn or fail", where, e.Severity)
		case e.FailingCount < 0:
			return fmt.Errorf("%s: failing count %d is negative", where, e.FailingCount)
		}
		if len(e.Samples) > 0 {
			var arr []json.RawMessage
			if err := json.Unmarshal(e.Samples, &arr); err != nil {
				return fmt.Errorf("%s: samples are not a JSON array", where)
			}
		} else {
			e.Samples = JSON("[]")
		}
		if len(e.Observed) > 0 && !json.Valid(e.Observed) {
			return fmt.Errorf("%s: observed is not JSON", where)
		}
		if !e.Passed {
			if e.Severity == QualityFail {
				r.Failed++
			} else {
				r.Warned++
			}
		}
	}
	r.Passed = r.Failed == 0
	return nil
}

// QualityRunSave stores a run and its results for org. It sets the run's
// id when it is nil and fills Expectations, Failed, Warned and Passed from
// the results.
func (s *Store) QualityRunSave(ctx context.Context, org uuid.UUID, r *QualityRun) error {
	const op = "store: saving a data-quality run"
	if err := r.validate(); err != nil {
		return errorf(CodeInvalidArgument, op, "%v", err)
	}
	if r.ID == uuid.Nil {
		r.ID = newID()
	}
	r.OrgID = org
	r.StartedAt = r.StartedAt.UTC().Truncate(time.Microsecond)
	r.EndedAt = r.EndedAt.UTC().Truncate(time.Microsecond)
	return s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		k := &r.KPIs
		if _, err := q.Exec(ctx, `INSERT INTO quality.suite_runs (`+qualityRunCols+`, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
			r.ID, org, r.Suite, r.Dataset, r.StartedAt, r.EndedAt, r.Passed, r.Rows, int64(r.Expectations), int64(r.Failed), int64(r.Warned),
			k.Completeness, k.Validity, k.Uniqueness, k.Timeliness, k.Consistency, k.Accuracy, s.nowUTC()); err != nil {
			return err
		}
		for _, e := range r.Results {
			if _, err := q.Exec(ctx, `INSERT INTO quality.expectation_results (org_id, run_id, idx, name, kind, columns, severity,
				passed, observed, failing_count, samples, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				org, r.ID, int64(e.Index), e.Name, e.Kind, e.Columns, e.Severity, e.Passed, e.Observed, e.FailingCount, e.Samples, e.Message); err != nil {
				return fmt.Errorf("storing result %d (%s): %w", e.Index, e.Name, err)
			}
		}
		summary := *r
		summary.Results = nil
		return s.appendAudit(ctx, q, org, audit.ActionCreate, "quality_run", r.ID.String(), nil, summary)
	})
}

func scanQualityRun(row driver.Row) (QualityRun, error) {
	var r QualityRun
	var exp, failed, warned int64
	k := &r.KPIs
	err := row.Scan(&r.ID, &r.OrgID, &r.Suite, &r.Dataset, &r.StartedAt, &r.EndedAt, &r.Passed, &r.Rows, &exp, &failed, &warned,
		&k.Completeness, &k.Validity, &k.Uniqueness, &k.Timeliness, &k.Consistency, &k.Accuracy)
	r.Expectations, r.Failed, r.Warned = int(exp), int(failed), int(warned)
	r.StartedAt, r.EndedAt = r.StartedAt.UTC(), r.EndedAt.UTC()
	return r, err
}

// QualityRuns lists org's runs, the latest first, without their
// expectation results: the suite's KPI trend. An empty suite lists every
// suite's runs. limit 0 means 100, at most 1000.
func (s *Store) QualityRuns(ctx context.Context, org uuid.UUID, suite string, limit int) ([]QualityRun, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var out []QualityRun
	err := s.tenantTx(ctx, "store: listing data-quality runs", org, true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, `SELECT `+qualityRunCols+` FROM quality.suite_runs
			WHERE org_id = $1 AND ($2 = '' OR suite = $2) ORDER BY started_at DESC, id DESC LIMIT $3`, org, suite, int64(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanQualityRun(rows)
			if err != nil {
				return fmt.Errorf("scanning a data-quality run: %w", err)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// QualityRunGet reads one of org's runs with its expectation results.
func (s *Store) QualityRunGet(ctx context.Context, org, id uuid.UUID) (*QualityRun, error) {
	var r QualityRun
	err := s.tenantTx(ctx, "store: reading data-quality run "+id.String(), org, true, func(q driver.Querier) error {
		var err error
		r, err = scanQualityRun(q.QueryRow(ctx, `SELECT `+qualityRunCols+` FROM quality.suite_runs WHERE org_id = $1 AND id = $2`, org, id))
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT idx, name, kind, columns, severity, passed, observed, failing_count, samples, message
			FROM quality.expectation_results WHERE org_id = $1 AND run_id = $2 ORDER BY idx`, org, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e QualityExpectationResult
			var idx int64
			if err := rows.Scan(&idx, &e.Name, &e.Kind, &e.Columns, &e.Severity, &e.Passed, &e.Observed, &e.FailingCount,
				&e.Samples, &e.Message); err != nil {
				return fmt.Errorf("scanning a data-quality result: %w", err)
			}
			e.Index = int(idx)
			r.Results = append(r.Results, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}
