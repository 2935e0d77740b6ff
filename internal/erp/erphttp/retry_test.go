package erphttp

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestRetryAfterSeconds429Storm(t *testing.T) {
	s := newScript(t,
		status(429, "Retry-After", "1"),
		status(429, "Retry-After", "7"),
		status(429, "Retry-After", "0"),
		status(429, "Retry-After", "3"),
		status(200))
	fc := newFakeClock()
	c := New("sap", nil, fakeConfig(fc, 0.5))
	resp, err := get(t, c, s.srv.URL+"/po")
	checkOK(t, resp, err)
	want := []time.Duration{time.Second, 7 * time.Second, 0, 3 * time.Second}
	if got := fc.Sleeps(); !slices.Equal(got, want) {
		t.Fatalf("sleeps %v, want %v", got, want)
	}
	if s.hits.Load() != 5 {
		t.Fatalf("hits %d, want 5", s.hits.Load())
	}
	if c.BreakerState() != "closed" {
		t.Fatalf("breaker %s after success, want closed", c.BreakerState())
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	fc := newFakeClock()
	at := fc.Now().Add(90 * time.Second).Format(http.TimeFormat)
	s := newScript(t, status(503, "Retry-After", at), status(200))
	c := New("oracle", nil, fakeConfig(fc, 0.5))
	resp, err := get(t, c, s.srv.URL)
	checkOK(t, resp, err)
	if got := fc.Sleeps(); !slices.Equal(got, []time.Duration{90 * time.Second}) {
		t.Fatalf("sleeps %v, want [1m30s]", got)
	}
}

func TestRetryAfterCapped(t *testing.T) {
	fc := newFakeClock()
	s := newScript(t, status(429, "Retry-After", "3600"), status(429, "Retry-After", "100"), status(200))
	cfg := fakeConfig(fc, 0.5)
	cfg.MaxRetryAfter = 0 // default 2 min
	c := New("wd", nil, cfg)
	mustOK(t)(get(t, c, s.srv.URL))
	if got := fc.Sleeps(); !slices.Equal(got, []time.Duration{2 * time.Minute, 100 * time.Second}) {
		t.Fatalf("sleeps %v, want [2m 1m40s]", got)
	}
	cfg.MaxRetryAfter = 10 * time.Second
	fc2 := newFakeClock()
	cfg.Sleep, cfg.Now = fc2.Sleep, fc2.Now
	s2 := newScript(t, status(429, "Retry-After", "3600"), status(200))
	mustOK(t)(get(t, New("wd2", nil, cfg), s2.srv.URL))
	if got := fc2.Sleeps(); !slices.Equal(got, []time.Duration{10 * time.Second}) {
		t.Fatalf("sleeps %v, want [10s]", got)
	}
}

func Test503ThenSuccessUsesBackoff(t *testing.T) {
	s := newScript(t, status(503), status(200))
	fc := newFakeClock()
	c := New("d365", nil, fakeConfig(fc, 0.5))
	mustOK(t)(get(t, c, s.srv.URL))
	// No Retry-After: full jitter, 0.5 · min(30 s, 500 ms·2^0).
	if got := fc.Sleeps(); !slices.Equal(got, []time.Duration{250 * time.Millisecond}) {
		t.Fatalf("sleeps %v, want [250ms]", got)
	}
}

func Test500RetriedOnlyWhenIdempotent(t *testing.T) {
	t.Run("GET", func(t *testing.T) {
		s := newScript(t, status(500), status(502), status(504), status(200))
		c := New("c", nil, fakeConfig(newFakeClock(), 0.1))
		mustOK(t)(get(t, c, s.srv.URL))
		if s.hits.Load() != 4 {
			t.Fatalf("hits %d, want 4", s.hits.Load())
		}
	})
	t.Run("POST", func(t *testing.T) {
		s := newScript(t, status(500), status(200))
		fc := newFakeClock()
		c := New("c", nil, fakeConfig(fc, 0.1))
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL, strings.NewReader(`{"a":1}`))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 || s.hits.Load() != 1 || len(fc.Sleeps()) != 0 {
			t.Fatalf("status %d hits %d sleeps %v; want the 500 back after one attempt", resp.StatusCode, s.hits.Load(), fc.Sleeps())
		}
	})
	t.Run("POST marked idempotent", func(t *testing.T) {
		s := newScript(t, status(500), status(200))
		c := New("c", nil, fakeConfig(newFakeClock(), 0.1))
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL, strings.NewReader(`{"a":1}`))
		mustOK(t)(c.Do(Idempotent(req)))
		if s.hits.Load() != 2 {
			t.Fatalf("hits %d, want 2", s.hits.Load())
		}
	})
	t.Run("POST 503 is retried", func(t *testing.T) {
		s := newScript(t, status(503), status(200))
		c := New("c", nil, fakeConfig(newFakeClock(), 0.1))
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL, strings.NewReader(`{"a":1}`))
		mustOK(t)(c.Do(req))
		if s.hits.Load() != 2 {
			t.Fatalf("hits %d, want 2", s.hits.Load())
		}
	})
}

func Test4xxNotRetried(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 409, 422} {
		s := newScript(t, status(code), status(200))
		fc := newFakeClock()
		c := New("c", nil, fakeConfig(fc, 0.5))
		resp, err := get(t, c, s.srv.URL)
		if err != nil {
			t.Fatalf("%d: Do: %v", code, err)
		}
		resp.Body.Close()
		if resp.StatusCode != code || s.hits.Load() != 1 || len(fc.Sleeps()) != 0 {
			t.Fatalf("%d: got status %d after %d hits, sleeps %v", code, resp.StatusCode, s.hits.Load(), fc.Sleeps())
		}
	}
	// 408 is retried for an idempotent request.
	s := newScript(t, status(408), status(200))
	mustOK(t)(get(t, New("c", nil, fakeConfig(newFakeClock(), 0.5)), s.srv.URL))
	if s.hits.Load() != 2 {
		t.Fatalf("408: hits %d, want 2", s.hits.Load())
	}
}

func TestPerAttemptTimeoutRetried(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := newScript(t,
		func(w http.ResponseWriter, r *http.Request) {
			select { // hang until the client gives up
			case <-r.Context().Done():
			case <-release:
			}
		},
		status(200))
	cfg := fakeConfig(newFakeClock(), 0.5)
	cfg.Timeout = 100 * time.Millisecond
	c := New("c", nil, cfg)
	start := time.Now()
	mustOK(t)(get(t, c, s.srv.URL))
	if s.hits.Load() != 2 {
		t.Fatalf("hits %d, want 2", s.hits.Load())
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %s", el)
	}
}

func TestTimeoutOnPostNotRetried(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := newScript(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	cfg := fakeConfig(newFakeClock(), 0.5)
	cfg.Timeout = 50 * time.Millisecond
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL, strings.NewReader("x"))
	_, err := New("c", nil, cfg).Do(req)
	var e *Error
	if !errors.As(err, &e) || e.Attempts != 1 || !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), "not idempotent") {
		t.Fatalf("err %v", err)
	}
}

func TestMaxAttemptsExhausted(t *testing.T) {
	s := newScript(t, status(502))
	fc := newFakeClock()
	cfg := fakeConfig(fc, 0.5)
	cfg.MaxAttempts = 3
	c := New("sap-prod", nil, cfg)
	resp, err := get(t, c, s.srv.URL+"/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV/A_PurchaseOrder?sap-client=100&password=hunter2&access_token=abc")
	if resp != nil {
		t.Fatal("want no response")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err %T %v, want *Error", err, err)
	}
	if e.Attempts != 3 || e.StatusCode != 502 || s.hits.Load() != 3 || len(fc.Sleeps()) != 2 {
		t.Fatalf("attempts %d status %d hits %d sleeps %v", e.Attempts, e.StatusCode, s.hits.Load(), fc.Sleeps())
	}
	msg := err.Error()
	for _, want := range []string{`"sap-prod"`, "GET", "/A_PurchaseOrder", "sap-client=100", "3 attempts", "502 Bad Gateway"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	for _, secret := range []string{"hunter2", "abc"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q leaks %q", msg, secret)
		}
	}
}

func TestTransportErrorRetriedAndNamed(t *testing.T) {
	s := newScript(t, status(200))
	url := s.srv.URL
	s.srv.Close() // connection refused from now on
	cfg := fakeConfig(newFakeClock(), 0.5)
	cfg.MaxAttempts = 2
	_, err := get(t, New("ns", nil, cfg), url)
	var e *Error
	if !errors.As(err, &e) || e.Attempts != 2 || e.Err == nil || e.StatusCode != 0 {
		t.Fatalf("err %v", err)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	cfg := Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}
	ceil := func(n int) time.Duration {
		return min(cfg.MaxBackoff, cfg.MinBackoff<<n)
	}
	// Highest draw: the ceiling itself, growing then capped.
	cfg.Rand = func() float64 { return 1 }
	c := New("b", nil, cfg)
	var prev time.Duration
	for n := range 10 {
		d := c.backoff(n)
		if d != ceil(n) {
			t.Fatalf("backoff(%d) = %s with Rand=1, want %s", n, d, ceil(n))
		}
		if d < prev {
			t.Fatalf("backoff shrank: %s < %s", d, prev)
		}
		prev = d
	}
	if c.backoff(1000) != cfg.MaxBackoff {
		t.Fatalf("huge n not capped: %s", c.backoff(1000))
	}
	// Random draws stay within [0, ceiling].
	r := rand.New(rand.NewPCG(1, 2))
	cfg.Rand = r.Float64
	c = New("b", nil, cfg)
	for n := range 10 {
		for range 200 {
			if d := c.backoff(n); d < 0 || d > ceil(n) {
				t.Fatalf("backoff(%d) = %s outside [0, %s]", n, d, ceil(n))
			}
		}
	}
	// Through Do: the waits between attempts follow the same law.
	s := newScript(t, status(500))
	fc := newFakeClock()
	dcfg := fakeConfig(fc, 0.75)
	dcfg.MinBackoff, dcfg.MaxBackoff, dcfg.MaxAttempts = 100*time.Millisecond, time.Second, 6
	dcfg.BreakerFailures = 100
	_, err := get(t, New("b", nil, dcfg), s.srv.URL)
	if err == nil {
		t.Fatal("want an error")
	}
	want := []time.Duration{75 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond, 750 * time.Millisecond}
	if got := fc.Sleeps(); !slices.Equal(got, want) {
		t.Fatalf("sleeps %v, want %v", got, want)
	}
}

func TestBodyReplayedOnRetry(t *testing.T) {
	s := newScript(t, status(503), status(429, "Retry-After", "1"), status(500), status(201))
	c := New("c", nil, fakeConfig(newFakeClock(), 0.5))
	payload := `{"CompanyCode":"1010","Amount":"12.50"}`
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL, bytes.NewReader([]byte(payload)))
	resp, err := c.Do(Idempotent(req))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	bodies := s.Bodies()
	if len(bodies) != 4 {
		t.Fatalf("%d requests, want 4", len(bodies))
	}
	for i, b := range bodies {
		if b != payload {
			t.Fatalf("attempt %d body %q, want %q", i+1, b, payload)
		}
	}
}

func TestUnreplayableBodyNotRetried(t *testing.T) {
	s := newScript(t, status(503), status(200))
	fc := newFakeClock()
	c := New("c", nil, fakeConfig(fc, 0.5))
	req, _ := http.NewRequest(http.MethodPut, s.srv.URL, io.NopCloser(strings.NewReader("data")))
	if req.GetBody != nil {
		t.Fatal("test needs a body without GetBody")
	}
	_, err := c.Do(req)
	if err == nil || !strings.Contains(err.Error(), "cannot be replayed") || !strings.Contains(err.Error(), "GetBody") {
		t.Fatalf("err %v, want it to say the body cannot be replayed", err)
	}
	if s.hits.Load() != 1 || len(fc.Sleeps()) != 0 {
		t.Fatalf("hits %d sleeps %v", s.hits.Load(), fc.Sleeps())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"12", 12 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(time.Minute).Format(http.TimeFormat), time.Minute, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"Fri, 02 Jan 2026 03:05:05 GMT", time.Minute, true},
		{"99999999999999999", time.Duration(1<<63 - 1).Truncate(time.Second), true},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newScript(t, status(429, "Retry-After", "1"), status(503), status(200))
	cfg := fakeConfig(newFakeClock(), 0.5)
	cfg.Registerer = reg
	c := New("sap", nil, cfg)
	New("other", nil, cfg) // a second client on the same registerer
	mustOK(t)(get(t, c, s.srv.URL))
	out := scrape(t, reg)
	for _, want := range []string{
		`greenlang_erp_http_attempts_total{connection="sap",result="429"} 1`,
		`greenlang_erp_http_attempts_total{connection="sap",result="503"} 1`,
		`greenlang_erp_http_attempts_total{connection="sap",result="200"} 1`,
		`greenlang_erp_http_retries_total{connection="sap",reason="429"} 1`,
		`greenlang_erp_http_retries_total{connection="sap",reason="503"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s\n%s", want, out)
		}
	}
}

// scrape renders reg in the Prometheus text format.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestRedactURL(t *testing.T) {
	in := "https://user:pw@host.example/api?sap-client=100&client_secret=s&Password=p&apikey=k&$filter=a%20eq%201&oauth_signature=x#frag"
	req, _ := http.NewRequest("GET", in, nil)
	got := RedactURL(req.URL)
	for _, bad := range []string{"user", "pw@", "=s&", "=p&", "=k&", "=x", "frag"} {
		if strings.Contains(got, bad) {
			t.Errorf("%s contains %q", got, bad)
		}
	}
	for _, good := range []string{"host.example/api", "sap-client=100", "%24filter=a+eq+1", "client_secret=REDACTED"} {
		if !strings.Contains(got, good) {
			t.Errorf("%s lacks %q", got, good)
		}
	}
}
