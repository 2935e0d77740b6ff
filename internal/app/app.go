// Package app is GreenLang's composition root (the app room of the
// architecture): it opens each port from its configured URL, wires the
// services and the HTTP API, and starts and stops them in order.
//
// The lifecycle follows Caddy: New only validates, Start connects, and Stop
// copes with a half-finished Start and with being called twice.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/mqtt"
	"github.com/greenlang/greenlang/internal/observe"
	"github.com/greenlang/greenlang/internal/oidclogin"
	"github.com/greenlang/greenlang/internal/outbox"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/kafkastream"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
	"github.com/greenlang/greenlang/internal/stream/schemareg"
	"github.com/greenlang/greenlang/internal/stream/schemareg/catalog"
	"github.com/greenlang/greenlang/internal/web"
)

// Options tune how the platform starts.
type Options struct {
	// Migrate applies pending store migrations at start instead of refusing
	// to start (serve --migrate).
	Migrate bool
	// Version is the build's version, shown in metrics.
	Version string
	// Registry receives every metric; nil makes a fresh observe.NewRegistry.
	Registry *prometheus.Registry
}

// HTTP server timeouts. Handlers that need longer extend their own deadline
// with http.ResponseController.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
)

// App is the running platform: the store, its maintenance loop, the event
// stream with the outbox relay feeding it, and the HTTP server.
type App struct {
	cfg  config.Config
	log  *slog.Logger
	opts Options
	reg  *prometheus.Registry

	mu       sync.Mutex
	started  bool
	stopped  bool
	st       *store.Store
	ln       net.Listener
	srv      *http.Server
	served   chan struct{} // closed when the HTTP server's Serve returns
	failed   chan error    // receives the HTTP server's error if it dies
	stopMain context.CancelFunc
	mainDone chan struct{} // closed when the maintenance loop returns
	stream   *stream.Stream
	relay    *outbox.Relay
	stopRel  context.CancelFunc
	relDone  chan struct{} // closed when the outbox relay and the processors return
	mqtt     mqtt.Transport
	calc     *calculation.Service // see calculation
	// stopIngest ends the IoT ingest, which then stores what it accepted;
	// ingestDone is closed when it has.
	stopIngest  context.CancelFunc
	ingestDone  chan struct{}
	stopHandler context.CancelFunc // ends the MQTT handler's waits and the Commander
	cmdDone     chan struct{}      // closed when the Commander and the roll-up return
	erp         *erp.Syncer
	erpCtx      context.Context // ends at Stop: syncs started through the API
	stopERP     context.CancelFunc
	erpDone     chan struct{} // closed when the ERP scheduler returns
	rollup      *iot.Rollup   // the IoT roll-up, when MQTT runs
	pipelines   *pipeline.Engine
}

// New checks cfg and returns an App that has not touched the disk or the
// network yet. A nil logger discards logs.
func New(cfg config.Config, logger *slog.Logger, opts Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registry
	if reg == nil {
		reg = observe.NewRegistry()
	}
	return &App{cfg: cfg, log: logger, opts: opts, reg: reg, failed: make(chan error, 1)}, nil
}

// Start creates the data directory, opens and checks the store, starts the
// maintenance loop and the HTTP server. ctx bounds start-up only; Stop ends
// what Start began. On error Start undoes its work before returning.
func (a *App) Start(ctx context.Context) (err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return errors.New("app: already started")
	}
	a.started = true
	defer func() {
		if err != nil {
			a.stopLocked(context.WithoutCancel(ctx))
		}
	}()

	if err := os.MkdirAll(a.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("app: creating data directory %s: %v", a.cfg.DataDir, unwrapPath(err))
	}
	keys, err := loadKeyring(a.cfg, a.log, true)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, a.cfg, store.Options{Logger: a.log, Registerer: a.reg, Keys: keys, AdminURL: a.cfg.Store.AdminURL})
	if err != nil {
		return err
	}
	a.st = st
	if err := a.checkSchema(ctx); err != nil {
		return err
	}

	// The first maintenance runs before anything writes: on PostgreSQL it
	// attaches this month's partitions, and a write racing an ATTACH can be
	// routed by the old partition map into the DEFAULT partition, whose
	// constraint then refuses it ("violates partition constraint").
	a.maintainOnce(ctx)
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopMain, a.mainDone = cancel, make(chan struct{})
	go a.maintain(mctx, a.mainDone)

	if err := a.startStream(ctx); err != nil {
		return err
	}
	if err := a.startIoT(ctx); err != nil {
		return err
	}
	if err := a.startERP(ctx); err != nil {
		return err
	}
	if err := a.startPipelines(ctx); err != nil {
		return err
	}
	return a.startHTTP()
}

// startStream opens the event stream (reconciling the topic catalogue) and
// starts the outbox relay that publishes what the store's writes emitted.
func (a *App) startStream(ctx context.Context) error {
	s, serde, err := OpenStream(ctx, a.cfg, a.log)
	if err != nil {
		return err
	}
	a.stream = s
	a.relay = &outbox.Relay{Store: a.st, Stream: s, Logger: a.log}
	if serde != nil {
		a.relay.Transcode = serde.TranscodeJSON
	}
	stats := func(f func(outbox.Stats) float64) func() float64 { return func() float64 { return f(a.relay.Stats()) } }
	a.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "greenlang_outbox_published_total",
			Help: "Events the outbox relay published to the stream and marked."}, stats(func(s outbox.Stats) float64 { return float64(s.Published) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "greenlang_outbox_failures_total",
			Help: "Failed outbox relay attempts (claim, publish or mark); each is retried."}, stats(func(s outbox.Stats) float64 { return float64(s.Failed) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "greenlang_outbox_transcode_failures_total",
			Help: "Events the relay published as stored (JSON) because re-encoding them as Avro failed."}, stats(func(s outbox.Stats) float64 { return float64(s.TranscodeFailed) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "greenlang_outbox_lag_seconds",
			Help: "Age of the oldest event of the relay's latest claim; 0 when the outbox was empty."}, stats(func(s outbox.Stats) float64 { return s.Lag.Seconds() })),
	)
	procs, err := a.processors(ctx, s)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopRel, a.relDone = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.relay.Run(rctx); err != nil && rctx.Err() == nil {
			a.log.Error("outbox relay stopped", slog.Any("err", err))
		}
	})
	names := make([]string, len(procs))
	for i, p := range procs {
		names[i] = p.name
		wg.Go(func() {
			if err := p.run(rctx); err != nil && rctx.Err() == nil {
				a.log.Error("stream processor stopped", slog.String("processor", p.name), slog.Any("err", err))
			}
		})
	}
	go func() {
		wg.Wait()
		close(a.relDone)
	}()
	a.log.Info("event stream open", slog.String("driver", s.Driver()), slog.Any("processors", names))
	return nil
}

// lagGauge is the consumer lag of group on topic, asked of the engine at
// each scrape (-1 when the engine does not answer within a second).
func (a *App) lagGauge(s *stream.Stream, group, topic string) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "greenlang_stream_consumer_lag",
		Help:        "Messages of a topic its consumer group has not acknowledged yet; -1 when the engine did not answer.",
		ConstLabels: prometheus.Labels{"group": group, "topic": topic}}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := s.Lag(ctx, group, topic)
		if err != nil {
			a.log.Debug("consumer lag unavailable", slog.String("group", group), slog.String("topic", topic), slog.Any("err", err))
			return -1
		}
		return float64(n)
	})
}

// OpenStream opens cfg's event stream with every driver the binary
// carries; opening reconciles the topic catalogue. With a schema registry
// configured it first registers the payload schemas (docs/schemas.md) and
// returns the Avro serde, which the stream then decodes with; without one
// the serde is nil and events are JSON. The caller closes the stream.
func OpenStream(ctx context.Context, cfg config.Config, logger *slog.Logger) (*stream.Stream, *schemareg.Serde, error) {
	var serde *schemareg.Serde
	opts := stream.Options{Logger: logger, Namespace: cfg.Stream.Namespace}
	if cfg.Stream.SchemaRegistryURL != "" {
		var err error
		serde, err = schemareg.NewWithOptions(ctx, cfg.Stream.SchemaRegistryURL, schemareg.Options{Namespace: cfg.Stream.Namespace}, catalog.Schemas()...)
		if err != nil {
			return nil, nil, fmt.Errorf("app: registering the event schemas with %s: %w", config.RedactURL(cfg.Stream.SchemaRegistryURL), err)
		}
		for _, r := range serde.Registrations() {
			logger.Info("event schema registered", slog.String("topic", r.Topic), slog.String("subject", r.Subject), slog.Int("id", r.ID))
		}
		opts.Decoder = serde
	}
	reg := stream.NewRegistry()
	natsstream.Register(reg)
	kafkastream.Register(reg)
	s, err := reg.Open(ctx, cfg.Stream.URL, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("app: opening the event stream %s: %w", config.RedactURL(cfg.Stream.URL), err)
	}
	return s, serde, nil
}

// Stream is the open event stream; nil before Start.
func (a *App) Stream() *stream.Stream {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stream
}

// checkSchema creates the schema in a new, empty database (the first
// "serve" on a fresh machine) and refuses a database whose schema is out of
// date unless migrating was asked for (serve --migrate): migrating a
// database in use is an operator's decision.
func (a *App) checkSchema(ctx context.Context) error {
	// Emptiness first: reading the migration status creates goose's version table.
	fresh, err := a.st.Empty(ctx)
	if err != nil {
		return err
	}
	pending, err := a.st.PendingMigrations(ctx)
	if err != nil || pending == 0 {
		return err
	}
	if !fresh && !a.opts.Migrate {
		return fmt.Errorf("store schema is out of date: %d migration(s) pending; run \"greenlang migrate up\" or start with --migrate", pending)
	}
	versions, err := a.st.Migrate(ctx)
	if err != nil {
		return err
	}
	msg := "store migrated"
	if fresh {
		msg = "new database initialized"
	}
	a.log.Info(msg, slog.String("driver", a.st.Driver()), slog.Any("versions", versions))
	return nil
}

// maintain runs store maintenance now and then every interval until ctx
// ends. Failures are logged; the next run tries again.
func (a *App) maintain(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(a.cfg.MaintenanceInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.maintainOnce(ctx)
	}
}

// maintainOnce runs the store's maintenance, logging a failure: the next
// round tries again.
func (a *App) maintainOnce(ctx context.Context) {
	start := time.Now()
	err := a.st.Maintain(ctx)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		a.log.Error("store maintenance failed", slog.Any("err", err))
	default:
		a.log.Debug("store maintenance done", slog.Duration("duration", time.Since(start)))
	}
}

func (a *App) startHTTP() error {
	// The API and the dashboard share their caches: one process computes
	// an organization's totals and calculation service once.
	totals, services := calculation.NewTotalsCache(0), calculation.NewServices(0)
	wo := web.Options{Store: a.st, Logger: a.log, MaxUploadBytes: int64(a.cfg.HTTP.MaxUploadMiB) << 20, Version: a.opts.Version,
		ERP: a.erp, Background: a.erpCtx, Totals: totals, Services: services, Pipelines: a.pipelines}
	if o := a.cfg.Web.OIDC; o.Issuer != "" {
		wo.OIDC = &web.OIDCOptions{ButtonLabel: o.ButtonLabel, Config: oidclogin.Config{Issuer: o.Issuer, ClientID: o.ClientID,
			ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL, Scopes: o.Scopes}}
		a.log.Info("dashboard: single sign-on with an OpenID Connect provider", slog.String("issuer", o.Issuer))
	}
	site, err := web.New(wo)
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	handler := httpapi.NewHandler(httpapi.HandlerOptions{
		Pages:     site.Mount,
		Totals:    totals,
		Services:  services,
		Logger:    a.log,
		Registry:  a.reg,
		Version:   a.opts.Version,
		Checks:    []httpapi.Check{{Name: "store", Probe: a.st.Ping}},
		Store:     a.st,
		ERP:       a.erp,
		Pipelines: a.pipelines,
		// Syncs started through the API end with the ERP scheduler.
		Background:     a.erpCtx,
		MaxUploadBytes: int64(a.cfg.HTTP.MaxUploadMiB) << 20,
		RateLimit:      httpapi.RateLimit{PerSecond: float64(a.cfg.HTTP.RateLimit), Burst: a.cfg.HTTP.RateLimitBurst},
	})
	srv := &http.Server{
		Addr:              a.cfg.HTTP.Addr,
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	if a.cfg.HTTP.TLS() {
		cert, err := tls.LoadX509KeyPair(a.cfg.HTTP.TLSCertFile, a.cfg.HTTP.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("app: loading TLS certificate %s and key %s: %v", a.cfg.HTTP.TLSCertFile, a.cfg.HTTP.TLSKeyFile, unwrapPath(err))
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", a.cfg.HTTP.Addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			err = oe.Err
		}
		return fmt.Errorf("app: listening on %s: %v", a.cfg.HTTP.Addr, err)
	}
	a.ln, a.srv, a.served = ln, srv, make(chan struct{})
	go func() {
		defer close(a.served)
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.failed <- fmt.Errorf("app: serving HTTP on %s: %w", ln.Addr(), err)
		}
	}()
	return nil
}

// Addr is the address the HTTP server listens on, with the real port when
// http.addr asked for port 0; "" before Start.
func (a *App) Addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// MQTTAddr is the embedded MQTT broker's TCP address once started ("" with
// an external broker or none).
func (a *App) MQTTAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.mqtt.(*mqtt.Embedded); ok {
		return e.Addr()
	}
	return ""
}

// Store is the open relational store; nil before Start.
func (a *App) Store() *store.Store {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// Failed delivers the error of an HTTP server that stopped on its own. The
// caller should then Stop.
func (a *App) Failed() <-chan error { return a.failed }

// Stop drains in-flight HTTP requests (for up to http.shutdown_timeout, then
// closes the rest), stops the maintenance loop and the outbox relay, and
// closes the stream and the store, in that order. It is safe after a failed or partial Start and when called again.
func (a *App) Stop(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopLocked(ctx)
}

func (a *App) stopLocked(ctx context.Context) error {
	if a.stopped || !a.started {
		return nil
	}
	a.stopped = true
	var errs []error

	if a.srv != nil {
		sctx, cancel := context.WithTimeout(ctx, a.cfg.HTTP.ShutdownTimeout)
		err := a.srv.Shutdown(sctx)
		cancel()
		if err != nil {
			a.log.Warn("http requests still running at shutdown timeout; closing them", slog.Any("err", err))
			if cerr := a.srv.Close(); cerr != nil {
				errs = append(errs, fmt.Errorf("app: closing HTTP server: %w", cerr))
			}
		}
		<-a.served
	}

	a.stopPipelines(ctx)
	a.stopERPScheduler()

	// Devices stop being read before the stream closes: the ingest
	// publishes what it stores.
	if err := a.stopIoT(ctx); err != nil {
		errs = append(errs, err)
	}

	if a.stopMain != nil {
		a.stopMain()
		<-a.mainDone
	}

	if a.stopRel != nil {
		a.stopRel()
		<-a.relDone
	}
	if a.stream != nil {
		if err := a.stream.Close(); err != nil {
			errs = append(errs, fmt.Errorf("app: closing the event stream: %w", err))
		}
	}

	if a.st != nil {
		if err := a.st.Close(); err != nil {
			errs = append(errs, fmt.Errorf("app: closing store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// OpenStore opens the configured store for one-off commands (migrate,
// audit): no HTTP, no metrics, no schema check. The secret key is used when
// configured or already on disk; none is generated. The caller closes the
// store.
func OpenStore(ctx context.Context, cfg config.Config, logger *slog.Logger) (*store.Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	keys, err := loadKeyring(cfg, logger, false)
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg, store.Options{Logger: logger, Keys: keys, AdminURL: cfg.Store.AdminURL})
}

// openStore opens cfg's store with every driver the binary carries and
// checks that it answers.
func openStore(ctx context.Context, cfg config.Config, opts store.Options) (*store.Store, error) {
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	pgstore.Register(reg)
	st, err := reg.Open(ctx, cfg.Store.URL, opts)
	if err != nil {
		return nil, err
	}
	if err := st.Ping(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	return st, nil
}
