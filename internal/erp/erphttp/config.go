package erphttp

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied by [New] to zero fields of [Config].
const (
	DefaultTimeout         = 30 * time.Second
	DefaultMaxAttempts     = 5
	DefaultMinBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
	DefaultRatePerSecond   = 10.0
	DefaultBurst           = 10
	DefaultBreakerFailures = 5
	DefaultBreakerOpenFor  = 30 * time.Second
	DefaultMaxRetryAfter   = 2 * time.Minute
)

// Config tunes a [Client]. The zero value is usable: every zero field takes
// its default.
type Config struct {
	// Timeout bounds one attempt, from sending the request to the end of
	// reading the response body (like http.Client.Timeout). Default 30 s;
	// negative means no per-attempt timeout.
	Timeout time.Duration
	// MaxAttempts is the number of attempts including the first. Default 5.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the exponential backoff: before retry n
	// (n = 0 for the first retry) the wait is uniform in
	// [0, min(MaxBackoff, MinBackoff·2^n)) ("full jitter"). Defaults 500 ms
	// and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// RatePerSecond and Burst set the connection's token bucket. Defaults
	// 10/s and 10. A negative RatePerSecond disables rate limiting.
	RatePerSecond float64
	Burst         int
	// BreakerFailures consecutive failed attempts open the circuit breaker
	// (default 5); it stays open for BreakerOpenFor (default 30 s), then
	// lets one probe through.
	BreakerFailures int
	BreakerOpenFor  time.Duration
	// MaxRetryAfter caps the wait a server asks for with Retry-After.
	// Default 2 min.
	MaxRetryAfter time.Duration

	// Logger receives retry, breaker and failure records. Default: discard.
	Logger *slog.Logger
	// Registerer, if set, gets the client's Prometheus counters (shared by
	// all clients registered on it, labelled by connection name).
	Registerer prometheus.Registerer

	// Sleep waits d or until ctx is done (returning ctx.Err()). Default: a
	// timer. Used for backoff, Retry-After and rate-limit waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand returns a float in [0, 1) for the jitter. Default math/rand/v2.
	Rand func() float64
}

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.RatePerSecond == 0 {
		c.RatePerSecond = DefaultRatePerSecond
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.BreakerFailures <= 0 {
		c.BreakerFailures = DefaultBreakerFailures
	}
	if c.BreakerOpenFor <= 0 {
		c.BreakerOpenFor = DefaultBreakerOpenFor
	}
	if c.MaxRetryAfter <= 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Sleep == nil {
		c.Sleep = sleepCtx
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	return c
}

// sleepCtx is the default Config.Sleep.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
