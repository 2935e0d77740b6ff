package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// metrics are the store's Prometheus series: one histogram of operation
// latency and the connection pool, read on scrape.
type metrics struct {
	ops *prometheus.HistogramVec
}

func newMetrics(d driver.Driver, reg prometheus.Registerer) *metrics {
	m := &metrics{ops: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "greenlang", Subsystem: "store", Name: "operation_duration_seconds",
		Help:        "Duration of store operations by operation and outcome.",
		ConstLabels: prometheus.Labels{"driver": d.Name()},
		Buckets:     []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"op", "outcome"})}
	if reg != nil {
		reg.MustRegister(m.ops, &poolCollector{d: d})
	}
	return m
}

func (m *metrics) observe(op string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.ops.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
}

var (
	poolMax     = prometheus.NewDesc("greenlang_store_pool_max_connections", "Largest number of connections the pool may open.", []string{"driver"}, nil)
	poolOpen    = prometheus.NewDesc("greenlang_store_pool_open_connections", "Connections open now.", []string{"driver"}, nil)
	poolInUse   = prometheus.NewDesc("greenlang_store_pool_in_use_connections", "Connections in use now.", []string{"driver"}, nil)
	poolIdle    = prometheus.NewDesc("greenlang_store_pool_idle_connections", "Idle connections now.", []string{"driver"}, nil)
	poolWaits   = prometheus.NewDesc("greenlang_store_pool_waits_total", "Times a caller waited for a connection.", []string{"driver"}, nil)
	poolWaitSec = prometheus.NewDesc("greenlang_store_pool_wait_seconds_total", "Time spent waiting for connections.", []string{"driver"}, nil)
)

type poolCollector struct{ d driver.Driver }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMax, poolOpen, poolInUse, poolIdle, poolWaits, poolWaitSec} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st, n := c.d.Stats(), c.d.Name()
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.MaxConns), n)
	ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(st.OpenConns), n)
	ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(st.InUse), n)
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(st.Idle), n)
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(st.WaitCount), n)
	ch <- prometheus.MustNewConstMetric(poolWaitSec, prometheus.CounterValue, st.WaitDuration.Seconds(), n)
}
