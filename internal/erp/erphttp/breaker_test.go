package erphttp

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// flaky answers 500 while failing is set, else 200.
func flaky(failing *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			status(500)(w, r)
			return
		}
		status(200)(w, r)
	}
}

func TestBreakerOpensRefusesHalfOpensCloses(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	s := newScript(t, flaky(&failing))
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	fc := newFakeClock()
	cfg := Config{
		MaxAttempts:     1, // one attempt per call, so calls count failures one to one
		BreakerFailures: 3,
		BreakerOpenFor:  300 * time.Millisecond, // gobreaker reads the real clock
		RatePerSecond:   -1,
		Sleep:           fc.Sleep,
		Registerer:      reg,
		Logger:          debugLogger(logs),
	}
	c := New("sap-prod", nil, cfg)

	for i := range 3 {
		if _, err := get(t, c, s.srv.URL); err == nil {
			t.Fatalf("call %d: want an error", i)
		}
	}
	if c.BreakerState() != "open" {
		t.Fatalf("breaker %s after 3 failures, want open", c.BreakerState())
	}

	start := time.Now()
	_, err := get(t, c, s.srv.URL+"/x?token=zzz")
	if el := time.Since(start); el > 250*time.Millisecond || len(fc.Sleeps()) != 0 {
		t.Errorf("refusal took %s, want at once", el)
	}
	if !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("err %v, want ErrCircuitOpen", err)
	}
	var coe *CircuitOpenError
	if !errors.As(err, &coe) || coe.HalfOpen || coe.RetryAt.IsZero() || coe.In > 300*time.Millisecond {
		t.Fatalf("circuit error %+v", coe)
	}
	for _, want := range []string{`"sap-prod"`, "open", "probe", "GET"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err.Error(), want)
		}
	}
	if strings.Contains(err.Error(), "zzz") {
		t.Errorf("%q leaks the token", err.Error())
	}
	if s.hits.Load() != 3 {
		t.Fatalf("server saw %d requests, want 3 (the refused one must not reach it)", s.hits.Load())
	}

	// After the open period one probe goes through; its success closes it.
	time.Sleep(400 * time.Millisecond)
	failing.Store(false)
	mustOK(t)(get(t, c, s.srv.URL))
	if c.BreakerState() != "closed" {
		t.Fatalf("breaker %s after a good probe, want closed", c.BreakerState())
	}
	mustOK(t)(get(t, c, s.srv.URL))

	out := scrape(t, reg)
	for _, want := range []string{
		`greenlang_erp_http_breaker_state_changes_total{connection="sap-prod",from="closed",to="open"} 1`,
		`greenlang_erp_http_breaker_state_changes_total{connection="sap-prod",from="open",to="half-open"} 1`,
		`greenlang_erp_http_breaker_state_changes_total{connection="sap-prod",from="half-open",to="closed"} 1`,
		`greenlang_erp_http_breaker_refusals_total{connection="sap-prod"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !strings.Contains(logs.String(), "circuit breaker open") {
		t.Errorf("no log of the breaker opening:\n%s", logs.String())
	}
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	s := newScript(t, flaky(&failing))
	c := New("c", nil, Config{MaxAttempts: 1, BreakerFailures: 2, BreakerOpenFor: 300 * time.Millisecond, RatePerSecond: -1})
	for range 2 {
		_, _ = get(t, c, s.srv.URL)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := get(t, c, s.srv.URL); err == nil || errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("probe: err %v, want the server's failure", err)
	}
	if _, err := get(t, c, s.srv.URL); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("after a failed probe: err %v, want ErrCircuitOpen", err)
	}
	if s.hits.Load() != 3 {
		t.Fatalf("hits %d, want 3", s.hits.Load())
	}
}

func TestBreakerHalfOpenAllowsOneProbe(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	probeIn := make(chan struct{})
	release := make(chan struct{})
	s := newScript(t, func(w http.ResponseWriter, r *http.Request) {
		if !failing.Load() {
			close(probeIn)
			<-release
		}
		flaky(&failing)(w, r)
	})
	c := New("c", nil, Config{MaxAttempts: 1, BreakerFailures: 1, BreakerOpenFor: 30 * time.Millisecond, RatePerSecond: -1})
	_, _ = get(t, c, s.srv.URL)
	time.Sleep(50 * time.Millisecond)
	failing.Store(false)
	done := make(chan error, 1)
	go func() {
		resp, err := get(t, c, s.srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-probeIn
	_, err := get(t, c, s.srv.URL)
	var coe *CircuitOpenError
	if !errors.As(err, &coe) || !coe.HalfOpen {
		t.Fatalf("second request during the probe: err %v, want a half-open refusal", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if c.BreakerState() != "closed" {
		t.Fatalf("breaker %s, want closed", c.BreakerState())
	}
}

func TestBreakerIgnores4xx(t *testing.T) {
	s := newScript(t, status(404))
	c := New("c", nil, Config{MaxAttempts: 1, BreakerFailures: 2, RatePerSecond: -1})
	for range 10 {
		resp, err := get(t, c, s.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if c.BreakerState() != "closed" {
		t.Fatalf("breaker %s after 404s, want closed", c.BreakerState())
	}
}

func TestBreakerOpensMidRetry(t *testing.T) {
	s := newScript(t, status(503))
	cfg := fakeConfig(newFakeClock(), 0.5)
	cfg.BreakerFailures = 2
	cfg.MaxAttempts = 5
	_, err := get(t, New("c", nil, cfg), s.srv.URL)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrCircuitOpen) || e.Attempts != 2 || e.StatusCode != 503 {
		t.Fatalf("err %v", err)
	}
	if s.hits.Load() != 2 {
		t.Fatalf("hits %d, want 2", s.hits.Load())
	}
}
