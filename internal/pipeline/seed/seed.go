// Package seed declares the seed's eight Airflow DAGs (docs/pipelines.md,
// "The seed's pipelines") as GreenLang pipelines over the platform's real
// data paths: ERP syncs, the IoT roll-up, the GHG calculation and
// recalculation, supplier risk, ESRS data points, quality suites and the
// store's backup. Every task is idempotent per logical date: what it
// writes is keyed by the date (or synced by watermark), so a re-run
// replaces rather than adds.
package seed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/store"
)

// Pipeline names.
const (
	Emissions          = "emissions_data_pipeline"
	SupplyChain        = "supply_chain_integration"
	CSRD               = "csrd_reporting_pipeline"
	IoTStream          = "iot_stream_processing"
	QualityMonitoring  = "data_quality_monitoring"
	MLTraining         = "ml_model_training"
	MasterOrchestation = "master_orchestration"
	Backup             = "disaster_recovery_backup"
)

// GateResult is what a quality gate found.
type GateResult struct {
	Suite   string `json:"suite"`
	Dataset string `json:"dataset"`
	Passed  bool   `json:"passed"`
	// Failures are the failing expectations, fail severity first.
	Failures []string `json:"failures,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	RunID    string   `json:"quality_run_id,omitempty"`
}

// Deps are the services the pipelines use. Store and Calc are required;
// a nil ERP or Rollup leaves its extract task with nothing to do (it says
// so in its output).
type Deps struct {
	Store  *store.Store
	Calc   *calculation.Service
	ERP    *erp.Syncer
	Rollup *iot.Rollup
	// Quality runs the expectation suites of a dataset for org over the
	// data interval and stores the result (internal/quality).
	Quality func(ctx context.Context, org uuid.UUID, dataset string, now time.Time) ([]GateResult, error)
	// Datasets lists the datasets that have suites.
	Datasets func() []string
	// Backup writes a backup of the whole store and returns where.
	Backup func(ctx context.Context, now time.Time) (string, error)
	Now    func() time.Time
	Log    *slog.Logger
}

// Pipelines returns the seed's pipelines.
func Pipelines(d Deps) []pipeline.Pipeline {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return []pipeline.Pipeline{
		emissions(d), supplyChain(d), csrd(d), iotStream(d), qualityMonitoring(d), mlTraining(d), master(d), backup(d),
	}
}

// gate runs dataset's suites as a gate: a failing fail-severity
// expectation fails the task (and so stops downstream tasks) and raises
// an alert naming the suite and the expectations.
func gate(d Deps, dataset string) func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
	return func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
		res, err := checkSuites(ctx, d, tc, dataset)
		if err != nil {
			return nil, err
		}
		var failed []string
		for _, r := range res {
			if !r.Passed {
				failed = append(failed, fmt.Sprintf("%s: %v", r.Suite, r.Failures))
			}
		}
		if len(failed) > 0 {
			return res, fmt.Errorf("quality gate on %s failed: %v", dataset, failed)
		}
		return res, nil
	}
}

// monitor runs dataset's suites for monitoring: a breach (a failed
// expectation of severity fail) raises an alert; warnings are in the
// stored results and their KPIs. The task itself succeeds (there is
// nothing downstream to stop).
func monitor(d Deps, dataset string) func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
	return func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
		res, err := checkSuites(ctx, d, tc, dataset)
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}

// checkSuites runs dataset's suites and raises an alert for each suite
// that failed.
func checkSuites(ctx context.Context, d Deps, tc *pipeline.TaskContext, dataset string) ([]GateResult, error) {
	if d.Quality == nil {
		return nil, errors.New("no quality suites are configured in this process")
	}
	res, err := d.Quality(ctx, tc.OrgID, dataset, d.Now())
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		for _, w := range r.Warnings {
			tc.Log.Warn("quality warning", "suite", r.Suite, "expectation", w)
		}
		for _, f := range r.Failures {
			tc.Log.Error("quality failure", "suite", r.Suite, "expectation", f)
		}
		if r.Passed {
			continue
		}
		if err := raiseQualityAlert(ctx, d, tc, r, r.Failures); err != nil {
			return nil, fmt.Errorf("raising the quality alert of suite %s: %w", r.Suite, err)
		}
	}
	return res, nil
}

// raiseQualityAlert opens (or adds an occurrence to) the organization's
// alert for a suite's breaches.
func raiseQualityAlert(ctx context.Context, d Deps, tc *pipeline.TaskContext, r GateResult, what []string) error {
	if tc.OrgID == uuid.Nil {
		return nil
	}
	key := "quality:" + r.Suite
	_, err := d.Store.AlertRaise(ctx, &store.AlertRaiseParams{
		OrgID: tc.OrgID, ID: uuid.NewSHA1(tc.RunID, []byte(key)), EventID: tc.RunID.String() + ":" + key, DedupKey: key,
		Severity: "warning", Kind: "data_quality", Rule: r.Suite, Metric: r.Dataset,
		Message:  fmt.Sprintf("quality suite %s on %s (pipeline %s, logical date %s): %s", r.Suite, r.Dataset, tc.Pipeline, tc.LogicalDate.Format(time.DateOnly), strings.Join(what, "; ")),
		Value:    decimal.NewFromInt(int64(len(what))),
		RaisedAt: d.Now().UTC(),
	})
	return err
}
