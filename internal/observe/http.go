package observe

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// UnmatchedRoute is the route label of requests no pattern matched.
const UnmatchedRoute = "unmatched"

// HTTPMetrics records the request count, latency and in-flight requests of
// an HTTP handler.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewHTTPMetrics registers the HTTP series on reg. Registering on a registry
// that already has them reuses the existing series, so several handlers can
// share one registry.
func NewHTTPMetrics(reg prometheus.Registerer) (*HTTPMetrics, error) {
	m := &HTTPMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "greenlang", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "greenlang", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to serve HTTP requests, by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "greenlang", Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	var err error
	if m.requests, err = Register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = Register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.inFlight, err = Register(reg, m.inFlight); err != nil {
		return nil, err
	}
	return m, nil
}

// Register registers c with reg (nil: none), or returns the collector of
// the same description already registered, so that several components (or
// several instances of one) can share a registry.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, err
}

// Middleware wraps next, which should be (or end in) an http.ServeMux. The
// route label is the pattern the mux matched (Request.Pattern, read after
// next returns), not the raw path, so the series stay few.
func (m *HTTPMetrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		sw := NewStatusWriter(w)
		next.ServeHTTP(sw, r)
		route := Route(r)
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(sw.Status())).Inc()
		m.duration.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
	})
}

// Route is the mux pattern that served r, or UnmatchedRoute.
func Route(r *http.Request) string {
	if r.Pattern == "" {
		return UnmatchedRoute
	}
	return r.Pattern
}

// StatusWriter remembers the status code written through it.
type StatusWriter struct {
	http.ResponseWriter
	status int
}

// NewStatusWriter wraps w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter { return &StatusWriter{ResponseWriter: w} }

// WriteHeader records the final code and passes it on.
func (w *StatusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write passes b on, recording an implicit 200.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Status is the code written, 200 when the handler wrote nothing.
func (w *StatusWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
