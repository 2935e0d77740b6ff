// Package httpapi is GreenLang's JSON HTTP API (the httpapi room of the
// architecture): health and readiness probes, Prometheus metrics, the
// /api/v1 routes of the device registry and alerts behind API tokens
// (docs/api.md), and RFC 9457 problem responses, on the standard library's
// ServeMux.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/observe"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/ratelimit"
	"github.com/greenlang/greenlang/internal/store"
)

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Logger receives one access-log record per request; nil discards them.
	Logger *slog.Logger
	// Registry is served on /metrics and receives the HTTP metrics; nil
	// makes a fresh observe.NewRegistry.
	Registry *prometheus.Registry
	// Checks are the readiness probes /readyz runs.
	Checks []Check
	// Version is the platform version, reported as greenlang_build_info.
	Version string
	// Store serves the /api/v1 routes; nil leaves them out.
	Store *store.Store
	// ERP runs the ERP test and sync routes; nil makes them answer 503.
	ERP *erp.Syncer
	// Pipelines runs the pipeline routes; nil makes them answer 503.
	Pipelines *pipeline.Engine
	// Background bounds work a request starts and does not wait for (an
	// ERP sync); nil means none outlives its server's process.
	Background context.Context
	// MaxUploadBytes bounds an uploaded activity file; 0 is
	// MaxActivityFileBytes.
	MaxUploadBytes int64
	// PasswordHashing is the argon2id cost of users' passwords; zero is
	// password.Default.
	PasswordHashing password.Params
	// RateLimit limits requests per API token and failed authentications
	// per client address.
	RateLimit RateLimit
	// Pages mounts more routes (the dashboard's) on the same mux; nil none.
	Pages func(*http.ServeMux)
	// Totals and Services cache emission totals and organizations'
	// calculation services; give the dashboard the same ones so a process
	// computes each once. Nil makes fresh ones.
	Totals   *calculation.TotalsCache
	Services *calculation.Services
}

// NewHandler returns the API's root handler.
func NewHandler(opts HandlerOptions) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registry
	if reg == nil {
		reg = observe.NewRegistry()
	}
	version := opts.Version
	if version == "" {
		version = "unknown"
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "greenlang", Name: "build_info",
		Help:        "Always 1; the version label says which GreenLang is running.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	buildInfo.Set(1)
	_ = reg.Register(buildInfo) // a second handler on the same registry keeps the first one's

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handleHealthz)
	mux.Handle("GET /readyz", readyHandler(opts.Checks))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
		EnableOpenMetrics: true,
	}))
	if opts.Store != nil {
		a := &api{st: opts.Store, log: logger, erp: opts.ERP, bg: opts.Background, pipelines: opts.Pipelines,
			maxUpload: opts.MaxUploadBytes, hashing: opts.PasswordHashing, totals: opts.Totals, services: opts.Services}
		if a.totals == nil {
			a.totals = calculation.NewTotalsCache(0)
		}
		if a.services == nil {
			a.services = calculation.NewServices(0)
		}
		if a.maxUpload <= 0 {
			a.maxUpload = MaxActivityFileBytes
		}
		if a.hashing == (password.Params{}) {
			a.hashing = password.Default
		}
		rl := opts.RateLimit.withDefaults()
		if rl.PerSecond > 0 {
			a.tokenLimit = ratelimit.New(rate.Limit(rl.PerSecond), rl.Burst)
		}
		a.failLimit = ratelimit.New(rate.Limit(rl.FailedPerMinute/60), 10)
		a.mount(mux, version)
	}

	if opts.Pages != nil {
		opts.Pages(mux)
	}
	var h http.Handler = problemMux{mux}
	h = accessLog(logger, h)
	if m, err := observe.NewHTTPMetrics(reg); err == nil {
		h = m.Middleware(h)
	} else {
		logger.Error("http metrics disabled", slog.Any("err", err))
	}
	return h
}

// accessLog logs each request once it is served. Probes and scrapes are
// logged at debug level so they do not drown the rest.
func accessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := observe.NewStatusWriter(w)
		next.ServeHTTP(sw, r)
		route := observe.Route(r)
		level := slog.LevelInfo
		switch route {
		case "GET /healthz", "GET /readyz", "GET /metrics":
			level = slog.LevelDebug
		}
		logger.LogAttrs(r.Context(), level, "http request",
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", sw.Status()),
			slog.Duration("duration", time.Since(start)),
		)
	})
}
