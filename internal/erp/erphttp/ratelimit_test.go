package erphttp

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestRateLimitPacesRequests(t *testing.T) {
	s := newScript(t, status(200))
	// 20/s with a burst of 1: 6 requests need 5 waits of 50 ms.
	c := New("c", nil, Config{RatePerSecond: 20, Burst: 1})
	start := time.Now()
	for range 6 {
		mustOK(t)(get(t, c, s.srv.URL))
	}
	el := time.Since(start)
	if el < 200*time.Millisecond || el > 3*time.Second {
		t.Fatalf("6 requests at 20/s took %s, want about 250ms", el)
	}
}

func TestRateLimitFakeClock(t *testing.T) {
	s := newScript(t, status(200))
	fc := newFakeClock()
	cfg := fakeConfig(fc, 0.5)
	cfg.RatePerSecond, cfg.Burst = 2, 1
	c := New("c", nil, cfg)
	for range 4 {
		mustOK(t)(get(t, c, s.srv.URL))
	}
	var total time.Duration
	for _, d := range fc.Sleeps() {
		total += d
	}
	if total != 1500*time.Millisecond {
		t.Fatalf("waited %s (%v), want 1.5s", total, fc.Sleeps())
	}
}

func TestRateLimitWaitStopsOnCancel(t *testing.T) {
	s := newScript(t, status(200))
	c := New("c", nil, Config{RatePerSecond: 0.1, Burst: 1}) // next token in 10 s
	mustOK(t)(get(t, c, s.srv.URL))

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.srv.URL, nil)
	start := time.Now()
	_, err := c.Do(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("cancel took %s to stop the wait", el)
	}
	if s.hits.Load() != 1 {
		t.Fatalf("hits %d, want 1", s.hits.Load())
	}
	// An already-cancelled context does not wait at all.
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, s.srv.URL, nil)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}
