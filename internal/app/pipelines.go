package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/iot/telemetry"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/pipeline/seed"
	"github.com/greenlang/greenlang/internal/store"
)

// startPipelines starts the pipeline engine (docs/pipelines.md): this
// process's workers, and its bid to be the scheduler. With several
// processes on one PostgreSQL store, one schedules and all work.
func (a *App) startPipelines(ctx context.Context) error {
	if a.cfg.Pipeline.Disabled {
		a.log.Info("pipelines: disabled in this process (pipeline.disabled)")
		return nil
	}
	e, err := a.pipelineEngine(ctx, pipeline.Options{Workers: a.cfg.Pipeline.Workers})
	if err != nil {
		return err
	}
	if err := e.Start(ctx); err != nil {
		return err
	}
	a.pipelines = e
	a.log.Info("pipelines: started", slog.Int("workers", a.cfg.Pipeline.Workers), slog.String("timezone", a.cfg.Pipeline.Timezone))
	return nil
}

// pipelineEngine builds the engine with the seed's pipelines over the
// app's store and services.
func (a *App) pipelineEngine(ctx context.Context, opts pipeline.Options) (*pipeline.Engine, error) {
	calc, err := a.calculation(ctx)
	if err != nil {
		return nil, err
	}
	return newPipelineEngine(a.cfg, a.st, a.log, seed.Deps{Store: a.st, Calc: calc, ERP: a.erp, Rollup: a.rollup}, opts)
}

// OpenPipelines builds the pipeline engine for a one-off command (greenlang
// pipeline …) over st, with its own calculation service, ERP syncer and
// IoT roll-up. The caller starts it if it should run tasks. A nil logger
// discards logs.
func OpenPipelines(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger, opts pipeline.Options) (*pipeline.Engine, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	calc, err := calculation.NewWithStored(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("app: factor library: %w", err)
	}
	cat, err := telemetry.LoadCatalogue()
	if err != nil {
		return nil, err
	}
	log := logger.With("component", "erp")
	syncer := erp.NewSyncer(st, ERPRegistry(), erp.NewPoster(st, calc, log), log)
	return newPipelineEngine(cfg, st, logger, seed.Deps{Store: st, Calc: calc, ERP: syncer, Rollup: iot.NewRollup(st, calc, cat, logger)}, opts)
}

func newPipelineEngine(cfg config.Config, st *store.Store, logger *slog.Logger, deps seed.Deps, opts pipeline.Options) (*pipeline.Engine, error) {
	loc, err := time.LoadLocation(cfg.Pipeline.Timezone)
	if err != nil {
		return nil, fmt.Errorf("app: pipeline.timezone: %w", err)
	}
	deps.Log = logger
	if err := qualityDeps(cfg, &deps); err != nil {
		return nil, err
	}
	backupDeps(cfg, &deps)
	opts.Logger, opts.Location = logger, loc
	e, err := pipeline.New(st, seed.Pipelines(deps), opts)
	if err != nil {
		return nil, fmt.Errorf("app: pipelines: %w", err)
	}
	return e, nil
}

func (a *App) stopPipelines(ctx context.Context) {
	if a.pipelines == nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, a.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := a.pipelines.Stop(sctx); err != nil {
		a.log.Warn("pipelines: stopped with task attempts running; their leases will expire and they will run again", slog.Any("err", err))
	}
}

// Pipelines is the running engine, or nil when pipelines are disabled.
func (a *App) Pipelines() *pipeline.Engine {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pipelines
}
