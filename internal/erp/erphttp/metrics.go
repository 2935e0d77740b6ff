package erphttp

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/greenlang/greenlang/internal/observe"
)

// metrics are the Prometheus counters of a Client. With no Registerer they
// are still counted (unregistered), which keeps the code free of nil checks.
type metrics struct {
	attempts      *prometheus.CounterVec // connection, result
	retries       *prometheus.CounterVec // connection, reason
	breakerChange *prometheus.CounterVec // connection, from, to
	refused       *prometheus.CounterVec // connection
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greenlang_erp_http_attempts_total",
			Help: "HTTP attempts to ERP systems, by connection and result (status code, \"timeout\" or \"error\").",
		}, []string{"connection", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greenlang_erp_http_retries_total",
			Help: "Retries of HTTP requests to ERP systems, by connection and reason.",
		}, []string{"connection", "reason"}),
		breakerChange: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greenlang_erp_http_breaker_state_changes_total",
			Help: "Circuit breaker state changes, by connection and states.",
		}, []string{"connection", "from", "to"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greenlang_erp_http_breaker_refusals_total",
			Help: "Requests refused at once because the connection's circuit breaker was open.",
		}, []string{"connection"}),
	}
	for _, c := range []**prometheus.CounterVec{&m.attempts, &m.retries, &m.breakerChange, &m.refused} {
		// A conflicting, different collector: count privately rather than fail.
		if shared, err := observe.Register(reg, *c); err == nil {
			*c = shared
		}
	}
	return m
}
