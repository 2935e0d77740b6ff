package erphttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"
)

// Client sends requests to one ERP connection with rate limiting, a circuit
// breaker, per-attempt timeouts and retries. It is safe for concurrent use
// and also implements http.RoundTripper, so it can be an http.Client's
// Transport.
type Client struct {
	name    string
	base    http.RoundTripper
	cfg     Config
	log     *slog.Logger
	limiter *rate.Limiter // nil: unlimited
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}]
	m       *metrics

	mu       sync.Mutex
	openedAt time.Time // when the breaker last opened, by cfg.Now
}

// New returns the client of the ERP connection called name (which labels its
// logs, errors and metrics), sending through base (http.DefaultTransport if
// nil).
func New(name string, base http.RoundTripper, cfg Config) *Client {
	if base == nil {
		base = http.DefaultTransport
	}
	cfg = cfg.withDefaults()
	c := &Client{
		name: name,
		base: base,
		cfg:  cfg,
		log:  cfg.Logger.With(slog.String("connection", name)),
		m:    newMetrics(cfg.Registerer),
	}
	if cfg.RatePerSecond > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.RatePerSecond), cfg.Burst)
	}
	failures := uint32(cfg.BreakerFailures)
	c.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1, // one probe in half-open
		Timeout:     cfg.BreakerOpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool {
			return n.ConsecutiveFailures >= failures
		},
		IsExcluded:    func(err error) bool { return errors.Is(err, errExcluded) },
		OnStateChange: c.onStateChange,
	})
	return c
}

// Name returns the connection name given to New.
func (c *Client) Name() string { return c.name }

// BreakerState returns the circuit breaker's state: "closed", "open" or
// "half-open".
func (c *Client) BreakerState() string { return c.breaker.State().String() }

// RoundTrip implements http.RoundTripper; it is Do.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) { return c.Do(req) }

var (
	// ErrCircuitOpen is matched (errors.Is) by the error of a request refused
	// because the connection's circuit breaker is open or half-open with its
	// probe in flight. The error is a *CircuitOpenError.
	ErrCircuitOpen = errors.New("circuit breaker open")

	errFailure  = errors.New("erphttp: attempt failed")   // breaker: failure
	errExcluded = errors.New("erphttp: attempt excluded") // breaker: ignored
)

// CircuitOpenError is the error of a request refused by the circuit breaker.
type CircuitOpenError struct {
	Conn   string
	Method string
	URL    string // redacted
	// HalfOpen: the breaker is half-open and its one probe is in flight.
	HalfOpen bool
	// RetryAt is when the breaker will let a probe through (zero if HalfOpen).
	RetryAt time.Time
	// In is RetryAt less the time of refusal.
	In time.Duration
}

func (e *CircuitOpenError) Error() string {
	if e.HalfOpen {
		return fmt.Sprintf("erphttp: connection %q: circuit breaker half-open with its probe in flight; refusing %s %s; retry when the probe has succeeded",
			e.Conn, e.Method, e.URL)
	}
	return fmt.Sprintf("erphttp: connection %q: circuit breaker open; refusing %s %s; it will let a probe through at %s (in %s)",
		e.Conn, e.Method, e.URL, e.RetryAt.UTC().Format(time.RFC3339), e.In.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrCircuitOpen) true.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// Error is the error of a request that failed and was not (or no longer)
// retried.
type Error struct {
	Conn     string
	Method   string
	URL      string // redacted: no user info, credential-like query values hidden
	Attempts int    // attempts sent
	// StatusCode and Status are those of the last response received (0 and
	// "" if none).
	StatusCode int
	Status     string
	// Err is the last transport error, or the reason the retries stopped
	// (context done, circuit breaker open, body not replayable); may be nil.
	Err error
	// Reason says in words why no further attempt was made.
	Reason string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("erphttp: connection %q: %s %s failed after %d attempt", e.Conn, e.Method, e.URL, e.Attempts)
	if e.Attempts != 1 {
		s += "s"
	}
	if e.StatusCode != 0 {
		s += "; last status " + e.Status
	}
	if e.Err != nil {
		s += "; last error: " + e.Err.Error()
	}
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

type idempotentKey struct{}

// Idempotent returns req marked as safe to repeat, so that Do retries it on
// 5xx, transport errors and timeouts even if its method is POST or PATCH.
func Idempotent(req *http.Request) *http.Request {
	return req.WithContext(WithIdempotent(req.Context()))
}

// WithIdempotent marks requests made with ctx as safe to repeat (see
// Idempotent).
func WithIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// IsIdempotent reports whether Do may repeat req after a 5xx, transport
// error or timeout: GET, HEAD, PUT, DELETE, OPTIONS and TRACE are; so is a
// request with an Idempotency-Key (or X-Idempotency-Key) header, as in
// net/http, or one marked with Idempotent.
func IsIdempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodTrace:
		return true
	}
	if v, _ := req.Context().Value(idempotentKey{}).(bool); v {
		return true
	}
	_, k1 := req.Header["Idempotency-Key"]
	_, k2 := req.Header["X-Idempotency-Key"]
	return k1 || k2
}

// Do sends req, retrying as the package documentation says. A response that
// is not retried (2xx, 3xx, most 4xx, a 5xx to a non-idempotent request) is
// returned as is, with a nil error; the caller must close its body. When
// retries are exhausted or impossible the error is an *Error and the
// response nil; a request refused by the breaker before any attempt gets a
// *CircuitOpenError.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	safeURL := RedactURL(req.URL)
	idem := IsIdempotent(req)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	bodyUsed := false
	closeReqBody := func() {
		if !bodyUsed && req.Body != nil {
			req.Body.Close()
		}
	}

	var last struct {
		code   int
		status string
		err    error
	}
	fail := func(attempts int, err error, reason string) error {
		e := &Error{Conn: c.name, Method: method, URL: safeURL, Attempts: attempts,
			StatusCode: last.code, Status: last.status, Err: err, Reason: reason}
		attrs := []slog.Attr{slog.String("method", method), slog.String("url", safeURL),
			slog.Int("attempts", attempts), slog.String("reason", reason)}
		if last.code != 0 {
			attrs = append(attrs, slog.Int("status", last.code))
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "erphttp: request failed", attrs...)
		return e
	}

	for attempt := 1; ; attempt++ {
		if err := c.waitRate(ctx); err != nil {
			closeReqBody()
			return nil, fail(attempt-1, sanitizeErr(err), "stopped while waiting for the rate limiter")
		}
		done, err := c.breaker.Allow()
		if err != nil {
			closeReqBody()
			c.m.refused.WithLabelValues(c.name).Inc()
			coe := c.circuitError(method, safeURL, err)
			if attempt == 1 {
				c.log.LogAttrs(ctx, slog.LevelWarn, "erphttp: refused, circuit breaker open",
					slog.String("method", method), slog.String("url", safeURL))
				return nil, coe
			}
			return nil, fail(attempt-1, coe, "circuit breaker opened")
		}

		areq, cancel, err := c.attemptRequest(req, attempt)
		if err != nil {
			done(errExcluded)
			return nil, fail(attempt-1, err, "could not replay the request body")
		}
		bodyUsed = true
		resp, err := c.base.RoundTrip(areq)

		var reason string // retry reason, "" if not retryable
		retryable := false
		var wait time.Duration
		if err != nil {
			err = sanitizeErr(err)
			resp = nil
			var te *TokenError
			switch {
			case ctx.Err() != nil: // the caller gave up: not the server's fault
				done(errExcluded)
				cancel()
				c.m.attempts.WithLabelValues(c.name, "canceled").Inc()
				return nil, fail(attempt, ctx.Err(), "context done")
			case errors.As(err, &te):
				done(errExcluded) // the token endpoint is not this breaker's business
				c.m.attempts.WithLabelValues(c.name, "token_error").Inc()
				reason, retryable = "token_error", idem && te.Temporary()
			case areq.Context().Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
				done(errFailure)
				c.m.attempts.WithLabelValues(c.name, "timeout").Inc()
				reason, retryable = "timeout", idem
				err = fmt.Errorf("attempt timed out after %s: %w", c.cfg.Timeout, err)
			default:
				done(errFailure)
				c.m.attempts.WithLabelValues(c.name, "error").Inc()
				reason, retryable = "transport_error", idem
			}
			last.err = err
			cancel()
			if !retryable {
				why := "not retried: " + method + " is not idempotent (mark it with erphttp.Idempotent if repeating it is safe)"
				if reason == "token_error" && idem {
					why = "not retried: the token endpoint refused the credentials"
				}
				return nil, fail(attempt, err, why)
			}
			wait = c.backoff(attempt - 1)
		} else {
			code := resp.StatusCode
			c.m.attempts.WithLabelValues(c.name, strconv.Itoa(code)).Inc()
			if code >= 500 || code == http.StatusTooManyRequests {
				done(errFailure)
			} else {
				done(nil)
			}
			switch code {
			case http.StatusTooManyRequests, http.StatusServiceUnavailable:
				retryable = true
			case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusRequestTimeout:
				retryable = idem
			}
			if !retryable {
				resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
				return resp, nil
			}
			reason = strconv.Itoa(code)
			last.code, last.status, last.err = code, resp.Status, nil
			if last.status == "" {
				last.status = strconv.Itoa(code) + " " + http.StatusText(code)
			}
			wait = c.backoff(attempt - 1)
			if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
				if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now()); ok {
					wait = min(d, c.cfg.MaxRetryAfter)
				}
			}
			drain(resp)
			cancel()
		}

		if attempt >= c.cfg.MaxAttempts {
			return nil, fail(attempt, last.err, "attempts exhausted")
		}
		if !replayable {
			return nil, fail(attempt, last.err,
				"not retried: the request body cannot be replayed because req.GetBody is nil; build the request with http.NewRequest from a *bytes.Reader, *bytes.Buffer or *strings.Reader, or set GetBody")
		}
		c.m.retries.WithLabelValues(c.name, reason).Inc()
		attrs := []slog.Attr{slog.String("method", method), slog.String("url", safeURL),
			slog.Int("attempt", attempt), slog.String("reason", reason), slog.String("wait", wait.String())}
		if last.err != nil {
			attrs = append(attrs, slog.String("error", last.err.Error()))
		}
		c.log.LogAttrs(ctx, slog.LevelInfo, "erphttp: retrying", attrs...)
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil, fail(attempt, err, "context done while waiting to retry")
		}
	}
}

// attemptRequest clones req for one attempt, with the per-attempt timeout and
// (from the second attempt on) a fresh body from GetBody.
func (c *Client) attemptRequest(req *http.Request, attempt int) (*http.Request, context.CancelFunc, error) {
	var (
		actx   context.Context
		cancel context.CancelFunc
	)
	if c.cfg.Timeout > 0 {
		actx, cancel = context.WithTimeout(req.Context(), c.cfg.Timeout)
	} else {
		actx, cancel = context.WithCancel(req.Context())
	}
	areq := req.Clone(actx)
	if attempt > 1 && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, nil, fmt.Errorf("GetBody: %w", err)
		}
		areq.Body = body
	}
	return areq, cancel, nil
}

// waitRate takes one token from the connection's bucket, sleeping for it.
func (c *Client) waitRate(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.limiter == nil {
		return nil
	}
	now := c.cfg.Now()
	r := c.limiter.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("rate limiter burst %d admits no request", c.cfg.Burst)
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := c.cfg.Sleep(ctx, d); err != nil {
			r.CancelAt(c.cfg.Now())
			return err
		}
	}
	return nil
}

// backoff returns the wait before retry n (0-based): full jitter in
// [0, min(MaxBackoff, MinBackoff·2^n)).
func (c *Client) backoff(n int) time.Duration {
	ceil := float64(c.cfg.MinBackoff) * math.Pow(2, float64(n))
	if ceil > float64(c.cfg.MaxBackoff) || math.IsInf(ceil, 0) {
		ceil = float64(c.cfg.MaxBackoff)
	}
	r := c.cfg.Rand()
	if r < 0 || math.IsNaN(r) {
		r = 0
	}
	if r > 1 {
		r = 1
	}
	return time.Duration(r * ceil)
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		const maxSecs = int64(math.MaxInt64 / int64(time.Second))
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func (c *Client) onStateChange(_ string, from, to gobreaker.State) {
	if to == gobreaker.StateOpen {
		c.mu.Lock()
		c.openedAt = c.cfg.Now()
		c.mu.Unlock()
	}
	c.m.breakerChange.WithLabelValues(c.name, from.String(), to.String()).Inc()
	level := slog.LevelInfo
	if to == gobreaker.StateOpen {
		level = slog.LevelWarn
	}
	c.log.LogAttrs(context.Background(), level, "erphttp: circuit breaker "+to.String(),
		slog.String("from", from.String()), slog.String("to", to.String()),
		slog.String("open_for", c.cfg.BreakerOpenFor.String()))
}

func (c *Client) circuitError(method, safeURL string, err error) *CircuitOpenError {
	e := &CircuitOpenError{Conn: c.name, Method: method, URL: safeURL}
	if errors.Is(err, gobreaker.ErrTooManyRequests) {
		e.HalfOpen = true
		return e
	}
	c.mu.Lock()
	e.RetryAt = c.openedAt.Add(c.cfg.BreakerOpenFor)
	c.mu.Unlock()
	e.In = max(e.RetryAt.Sub(c.cfg.Now()), 0)
	return e
}

// drain reads a little of a response body so the connection can be reused,
// and closes it.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// cancelBody releases the attempt's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
