package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/backup"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/pipeline/seed"
	"github.com/greenlang/greenlang/internal/quality"
	"github.com/greenlang/greenlang/internal/store"
)

// QualitySuites are the built-in expectation suites, with the suites of
// pipeline.quality_dir replacing built-in ones of the same name.
func QualitySuites(cfg config.Config) ([]quality.Suite, error) {
	suites, err := quality.Builtin()
	if err != nil {
		return nil, err
	}
	if cfg.Pipeline.QualityDir == "" {
		return suites, nil
	}
	own, err := quality.Load(cfg.Pipeline.QualityDir)
	if err != nil {
		return nil, err
	}
	for _, s := range own {
		if i := slices.IndexFunc(suites, func(b quality.Suite) bool { return b.Name == s.Name }); i >= 0 {
			suites[i] = s
		} else {
			suites = append(suites, s)
		}
	}
	return suites, nil
}

// qualityDeps gives the pipelines the expectation suites as gates.
func qualityDeps(cfg config.Config, d *seed.Deps) error {
	suites, err := QualitySuites(cfg)
	if err != nil {
		return fmt.Errorf("app: quality suites: %w", err)
	}
	st := d.Store
	d.Datasets = func() []string {
		var out []string
		for _, s := range suites {
			if !slices.Contains(out, s.Dataset) {
				out = append(out, s.Dataset)
			}
		}
		slices.Sort(out)
		return out
	}
	d.Quality = func(ctx context.Context, org uuid.UUID, dataset string, now time.Time) ([]seed.GateResult, error) {
		var out []seed.GateResult
		for _, s := range suites {
			if s.Dataset != dataset {
				continue
			}
			r, err := quality.Run(ctx, st, org, s, now)
			if err != nil {
				return nil, err
			}
			g := seed.GateResult{Suite: s.Name, Dataset: s.Dataset, Passed: r.Passed, RunID: r.ID.String()}
			for _, e := range r.Results {
				if e.Passed {
					continue
				}
				msg := fmt.Sprintf("%d %s (%d failing rows)", e.Index, e.Name, e.FailingCount)
				if e.Severity == store.QualityFail {
					g.Failures = append(g.Failures, msg)
				} else {
					g.Warnings = append(g.Warnings, msg)
				}
			}
			out = append(out, g)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no expectation suite checks %s", dataset)
		}
		return out, nil
	}
	return nil
}

// backupDeps gives disaster_recovery_backup its target.
func backupDeps(cfg config.Config, d *seed.Deps) {
	st, log := d.Store, d.Log
	d.Backup = func(ctx context.Context, now time.Time) (string, error) {
		path, _, err := backup.ToFile(ctx, st, cfg.Pipeline.BackupDir, now, backup.Options{Logger: log, Keep: cfg.Pipeline.BackupKeep})
		return path, err
	}
}
