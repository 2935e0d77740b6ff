package erphttp

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
	if reg != nil {
		m.attempts = register(reg, m.attempts)
		m.retries = register(reg, m.retries)
		m.breakerChange = register(reg, m.breakerChange)
		m.refused = register(reg, m.refused)
	}
	return m
}

// register registers c, or returns the collector already registered under
// the same name so that several clients can share one Registerer.
func register(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
		// A conflicting, different collector: count privately rather than fail.
	}
	return c
}
