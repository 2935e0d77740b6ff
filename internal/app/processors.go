package app

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/aggregator"
	"github.com/greenlang/greenlang/internal/processor/alertsink"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/processor/kpi"
	"github.com/greenlang/greenlang/internal/processor/supplychain"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
)

// running is one stream processor instance serve runs.
type running struct {
	name string
	run  func(ctx context.Context) error
}

// calculation is the calculation service (the built-in factor library and
// the store's published sets) the aggregator and the IoT roll-up share:
// loaded once, at the first call.
func (a *App) calculation(ctx context.Context) (*calculation.Service, error) {
	if a.calc == nil {
		svc, err := calculation.NewWithStored(ctx, a.st)
		if err != nil {
			return nil, fmt.Errorf("app: factor library: %w", err)
		}
		a.calc = svc
	}
	return a.calc, nil
}

// processors builds every stream processor serve runs (docs/processors.md),
// each a consumer group on its input topic with its counters and lag as
// metrics.
func (a *App) processors(ctx context.Context, s *stream.Stream) ([]running, error) {
	svc, err := a.calculation(ctx)
	if err != nil {
		return nil, err
	}
	// Organizations are never deleted, so one found stays known: the
	// aggregator asks once per organization, not once per activity. An
	// unknown one is asked again (it may be created later).
	var found sync.Map // uuid.UUID -> struct{}
	known := func(ctx context.Context, org uuid.UUID) (bool, error) {
		if _, ok := found.Load(org); ok {
			return true, nil
		}
		_, err := a.st.OrganizationGet(ctx, org)
		if store.CodeOf(err) == store.CodeNotFound {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		found.Store(org, struct{}{})
		return true, nil
	}
	agg, err := aggregator.New(svc, aggregator.Config{Known: known, Lateness: a.cfg.Stream.AllowedLateness})
	if err != nil {
		return nil, err
	}
	kpis, err := kpi.New(kpi.Config{Lateness: a.cfg.Stream.AllowedLateness})
	if err != nil {
		return nil, err
	}
	det, err := a.anomalyDetector()
	if err != nil {
		return nil, err
	}
	// The supply-chain windows are daily, with their own (24 h) lateness.
	sc, err := supplychain.New(supplychain.Config{})
	if err != nil {
		return nil, err
	}
	sink, err := alertsink.New(alertsink.Config{Known: known})
	if err != nil {
		return nil, err
	}
	cfg := func(name, topic string) processor.Config { return processor.Config{Name: name, Topic: topic} }
	// Sensor readings come by the thousand per second from the IoT
	// ingest: their consumers commit per 2,000 inputs or half a second,
	// whichever comes first, so checkpoints and their transactions are
	// few. The offset window (stored as runs, so its width costs nothing
	// when inputs come in order) exceeds a batch plus the driver's
	// prefetch; the event-id window keeps its default.
	readings := func(c processor.Config) processor.Config {
		if c.Topic == stream.TopicIoTSensorReadings {
			c.BatchSize, c.BatchWait, c.DedupWindow = 2000, 500*time.Millisecond, 4096
		}
		return c
	}
	adds := []func() (running, error){
		func() (running, error) {
			return addProcessor(a, s, cfg(aggregator.Name, stream.TopicEmissionsRaw), agg)
		},
		func() (running, error) {
			return addProcessor(a, s, readings(cfg(anomaly.Name, stream.TopicIoTSensorReadings)), det)
		},
	}
	for _, in := range kpi.Inputs() {
		adds = append(adds, func() (running, error) { return addProcessor(a, s, cfg(in.Name, in.Topic), kpis) })
	}
	for _, in := range supplychain.Inputs() {
		adds = append(adds, func() (running, error) { return addProcessor(a, s, cfg(in.Name, in.Topic), sc) })
	}
	for _, in := range alertsink.Inputs() {
		adds = append(adds, func() (running, error) { return addProcessor(a, s, readings(cfg(in.Name, in.Topic)), sink) })
	}
	var out []running
	for _, add := range adds {
		r, err := add()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// addProcessor makes the runner of handler h, consumer group cfg.Name on
// cfg.Topic, and registers its metrics. The store, stream and logger are
// the app's.
func addProcessor[S any](a *App, s *stream.Stream, cfg processor.Config, h processor.Handler[S]) (running, error) {
	name, topic := cfg.Name, cfg.Topic
	cfg.Store, cfg.Stream, cfg.Logger = a.st, s, a.log
	r, err := processor.New(cfg, h)
	if err != nil {
		return running{}, err
	}
	count := func(f func(processor.Stats) int64) func() float64 {
		return func() float64 { return float64(f(r.Stats())) }
	}
	labels := prometheus.Labels{"processor": name}
	a.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "greenlang_processor_applied_total", ConstLabels: labels,
			Help: "Input events a stream processor applied to its state."}, count(func(s processor.Stats) int64 { return s.Applied })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "greenlang_processor_dead_lettered_total", ConstLabels: labels,
			Help: "Input events a stream processor sent to the dead-letter topic."}, count(func(s processor.Stats) int64 { return s.DeadLettered })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "greenlang_processor_failures_total", ConstLabels: labels,
			Help: "Failed batch attempts of a stream processor; each is retried."}, count(func(s processor.Stats) int64 { return s.Failures })),
		a.lagGauge(s, name, topic),
	)
	return running{name: name, run: r.Run}, nil
}

// anomalyDetector is the anomaly detector the configuration's anomaly.*
// settings describe: by default the robust (median/MAD) z-score, so one
// spike in a window does not hide the next, and the built-in threshold
// rules.
func (a *App) anomalyDetector() (*anomaly.Handler, error) {
	c := a.cfg.Anomaly
	cfg := anomaly.Config{Lateness: a.cfg.Stream.AllowedLateness, Robust: c.Statistic != config.AnomalyZScore,
		Window: c.Window, WarmUp: c.WarmUp}
	if c.ZThreshold != "" {
		z, err := decimal.NewFromString(c.ZThreshold)
		if err != nil {
			return nil, fmt.Errorf("app: anomaly.z_threshold: %w", err)
		}
		cfg.ZScore = z
	}
	if f := c.ThresholdsFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("app: anomaly.thresholds_file: %w", err)
		}
		if cfg.Thresholds, err = anomaly.ParseThresholds(b); err != nil {
			return nil, fmt.Errorf("app: anomaly.thresholds_file %s: %w", f, err)
		}
	}
	det, err := anomaly.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("app: anomaly detector: %w", err)
	}
	return det, nil
}
